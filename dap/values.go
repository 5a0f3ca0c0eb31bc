package dap

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// child is one variable shown under an expanded value or scope.
type child struct {
	name  string
	value goja.Value // nil when raw is set
	raw   any        // a Go value, for the State and Event scopes decoded from JSON
	note  string     // shown instead of a value (an uninitialised binding)
}

// preview renders a value in one line; depth bounds how far into objects
// it looks.
func preview(v goja.Value, depth int) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if goja.IsNull(v) {
		return "null"
	}
	switch x := v.Export().(type) {
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return v.String()
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	o, ok := v.(*goja.Object)
	if !ok {
		if isBigInt(v) {
			return v.String() + "n"
		}
		return v.String()
	}
	switch class := classOf(o); class {
	case "Function":
		return "ƒ " + o.Get("name").String() + "()"
	case "Array":
		n := o.Get("length").ToInteger()
		if depth <= 0 {
			return fmt.Sprintf("Array(%d)", n)
		}
		var parts []string
		for i := int64(0); i < n && i < 8; i++ {
			parts = append(parts, preview(o.Get(strconv.FormatInt(i, 10)), depth-1))
		}
		if n > 8 {
			parts = append(parts, "…")
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case "Date":
		if f, ok := goja.AssertFunction(o.Get("toISOString")); ok {
			if s, err := f(o); err == nil {
				return s.String()
			}
		}
		return "Invalid Date"
	case "Error":
		return o.Get("name").String() + ": " + o.Get("message").String()
	case "Map", "Set":
		return fmt.Sprintf("%s(%d)", class, o.Get("size").ToInteger())
	}
	name := constructorName(o)
	if depth <= 0 {
		if name == "Object" {
			return "{…}"
		}
		return name
	}
	keys := o.Keys()
	var parts []string
	for i, k := range keys {
		if i == 5 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, k+": "+preview(o.Get(k), depth-1))
	}
	body := "{" + strings.Join(parts, ", ") + "}"
	if name != "Object" && name != "" {
		body = name + " " + body
	}
	return body
}

// classOf is the kind of object o is: goja's class name, or for Map and Set,
// which goja reports as plain objects, their constructor's name.
func classOf(o *goja.Object) string {
	class := o.ClassName()
	if class == "Object" {
		if c := constructorName(o); c == "Map" || c == "Set" {
			return c
		}
	}
	return class
}

func isBigInt(v goja.Value) bool {
	_, ok := v.Export().(interface{ Int64() int64 })
	return ok || strings.HasSuffix(fmt.Sprintf("%T", v.Export()), "big.Int")
}

func constructorName(o *goja.Object) string {
	c, ok := o.Get("constructor").(*goja.Object)
	if !ok {
		return "Object"
	}
	return c.Get("name").String()
}

// expandable says whether a value has children to show.
func expandable(v goja.Value) bool {
	o, ok := v.(*goja.Object)
	if !ok {
		return false
	}
	switch o.ClassName() {
	case "Function", "Date":
		return false
	}
	return true
}

// children lists what an object holds: array elements, Map entries, Set
// values, or own enumerable properties.
func children(vm *goja.Runtime, v goja.Value) []child {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	var out []child
	switch classOf(o) {
	case "Array":
		n := o.Get("length").ToInteger()
		for i := int64(0); i < n; i++ {
			k := strconv.FormatInt(i, 10)
			out = append(out, child{name: k, value: o.Get(k)})
		}
		return out
	case "Map", "Set":
		entries := iterate(vm, o)
		for i, e := range entries {
			if classOf(o) == "Set" {
				out = append(out, child{name: strconv.Itoa(i), value: e})
				continue
			}
			pair, _ := e.(*goja.Object)
			if pair == nil {
				continue
			}
			out = append(out, child{name: preview(pair.Get("0"), 0), value: pair.Get("1")})
		}
		return out
	}
	for _, k := range o.Keys() {
		out = append(out, child{name: k, value: o.Get(k)})
	}
	return out
}

// iterate collects what Map or Set.prototype.entries or values yields.
func iterate(vm *goja.Runtime, o *goja.Object) []goja.Value {
	method := "entries"
	if classOf(o) == "Set" {
		method = "values"
	}
	fn, ok := goja.AssertFunction(o.Get(method))
	if !ok {
		return nil
	}
	it, err := fn(o)
	if err != nil {
		return nil
	}
	ito := it.ToObject(vm)
	next, ok := goja.AssertFunction(ito.Get("next"))
	if !ok {
		return nil
	}
	var out []goja.Value
	for len(out) < 100000 {
		r, err := next(ito)
		if err != nil {
			break
		}
		ro := r.ToObject(vm)
		if ro.Get("done").ToBoolean() {
			break
		}
		out = append(out, ro.Get("value"))
	}
	return out
}

// previewRaw renders a value decoded from JSON.
func previewRaw(v any, depth int) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		if depth <= 0 {
			return fmt.Sprintf("Array(%d)", len(x))
		}
		var parts []string
		for i, e := range x {
			if i == 8 {
				parts = append(parts, "…")
				break
			}
			parts = append(parts, previewRaw(e, depth-1))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		if depth <= 0 {
			return "{…}"
		}
		keys := sortedKeys(x)
		var parts []string
		for i, k := range keys {
			if i == 5 {
				parts = append(parts, "…")
				break
			}
			parts = append(parts, k+": "+previewRaw(x[k], depth-1))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func rawChildren(v any) []child {
	switch x := v.(type) {
	case []any:
		out := make([]child, len(x))
		for i, e := range x {
			out[i] = child{name: strconv.Itoa(i), raw: e}
		}
		return out
	case map[string]any:
		var out []child
		for _, k := range sortedKeys(x) {
			out = append(out, child{name: k, raw: x[k]})
		}
		return out
	}
	return nil
}

func rawExpandable(v any) bool {
	switch v.(type) {
	case []any, map[string]any:
		return true
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// typeName is the DAP type of a value.
func typeName(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if goja.IsNull(v) {
		return "null"
	}
	if o, ok := v.(*goja.Object); ok {
		if o.ClassName() == "Function" {
			return "function"
		}
		return constructorName(o)
	}
	switch v.Export().(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64:
		return "number"
	}
	if isBigInt(v) {
		return "bigint"
	}
	return "symbol"
}
