package instrument

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// ErrEvaluate is returned when an expression cannot be evaluated in a frame:
// it does not parse, or it threw.
var ErrEvaluate = errors.New("cannot evaluate")

// Stop is one probe stopping. Its methods may only be called from inside
// the OnStop callback that received it.
type Stop struct {
	Site       Site
	Invocation int64  // id of the call of Site.Func that is running
	Step       uint64 // the step counter at this probe
	Reason     Reason

	host   *Host
	values goja.Value // array: direct Site.Locals, Site.Closure, then this
	shared goja.Value // the function's shared reader, for the other locals
}

// Binding is one variable in a scope.
type Binding struct {
	Name  string
	Value goja.Value // nil when Uninitialized
	// Uninitialized is true for a let, const or class binding read in its
	// temporal dead zone, before its declaration ran.
	Uninitialized bool
}

// Scopes are the bindings visible at a stop, grouped as a debugger shows
// them. Within a group inner bindings come first; a name shadowed by an
// inner group still appears in its own group.
type Scopes struct {
	Locals  []Binding // innermost function: parameters and enclosing blocks
	Closure []Binding // enclosing functions below the top level
	Module  []Binding // the bundle's top level
	// This is the frame's this; nil in a derived constructor before super().
	This goja.Value
}

// Scopes reads the bindings visible at the stop.
func (s Stop) Scopes() (*Scopes, error) {
	h := s.host
	vals, err := h.readValues(s.values, false)
	if err != nil {
		return nil, err
	}
	nl, nc := s.Site.direct, len(s.Site.Closure)
	if len(vals) != nl+nc+1 {
		return nil, fmt.Errorf("probe of site %d passed %d values, want %d",
			s.Site.ID, len(vals), nl+nc+1)
	}
	locals := vals[:nl:nl]
	if len(s.Site.shared) > 0 {
		fn, ok := goja.AssertFunction(s.shared)
		if !ok {
			return nil, fmt.Errorf("probe of site %d passed no shared reader", s.Site.ID)
		}
		arr, err := fn(goja.Undefined())
		if err != nil {
			return nil, fmt.Errorf("read function scope: %w", err)
		}
		all, err := h.readValues(arr, true)
		if err != nil {
			return nil, err
		}
		for _, i := range s.Site.shared {
			locals = append(locals, all[i])
		}
	}
	sc := &Scopes{
		Locals:  bindings(s.Site.Locals, locals),
		Closure: bindings(s.Site.Closure, vals[nl:nl+nc]),
		This:    vals[nl+nc].Value,
	}
	if h.module != nil {
		mod, err := h.module(goja.Undefined())
		if err != nil {
			return nil, fmt.Errorf("read module scope: %w", err)
		}
		mvals, err := h.readValues(mod, true)
		if err != nil {
			return nil, err
		}
		if len(mvals) == len(h.res.Module) {
			sc.Module = bindings(h.res.Module, mvals)
		}
	}
	return sc, nil
}

// Evaluate evaluates expr in the frame of the stop.
func (s Stop) Evaluate(expr string) (goja.Value, error) {
	sc, err := s.Scopes()
	if err != nil {
		return nil, err
	}
	return s.host.Evaluate(sc, expr)
}

func bindings(names []string, vals []Binding) []Binding {
	out := make([]Binding, len(names))
	for i, n := range names {
		out[i] = vals[i]
		out[i].Name = n
	}
	return out
}

// readValues unpacks an array of values, or with getters an array of
// functions to call. A getter that throws, or the host's placeholder, stands
// for a binding in its temporal dead zone.
func (h *Host) readValues(arr goja.Value, getters bool) ([]Binding, error) {
	obj, ok := arr.(*goja.Object)
	if !ok {
		return nil, errors.New("scope values are not an array")
	}
	n := int(obj.Get("length").ToInteger())
	out := make([]Binding, n)
	for i := range out {
		v := obj.Get(strconv.Itoa(i))
		if getters {
			get, ok := goja.AssertFunction(v)
			if !ok {
				return nil, errors.New("module reader returned a non-function")
			}
			var err error
			if v, err = get(goja.Undefined()); err != nil {
				out[i].Uninitialized = true
				continue
			}
		}
		if o, ok := v.(*goja.Object); ok && o == h.undef {
			out[i].Uninitialized = true
			continue
		}
		if v == nil {
			v = goja.Undefined()
		}
		out[i].Value = v
	}
	return out, nil
}

// Evaluate evaluates expr with the bindings of sc in scope, without direct
// eval: the expression becomes the body of a function whose parameters are
// the visible names, locals shadowing closure shadowing module shadowing
// globals. Bindings in their temporal dead zone are declared with let after
// the return, so that reading them throws as it would in the program.
func (h *Host) Evaluate(sc *Scopes, expr string) (goja.Value, error) {
	if err := checkExpression(expr); err != nil {
		return nil, err
	}
	var params, tdz []string
	var args []goja.Value
	seen := map[string]bool{"arguments": true, "eval": true}
	for _, group := range [][]Binding{sc.Locals, sc.Closure, sc.Module} {
		for _, b := range group {
			if seen[b.Name] {
				continue
			}
			seen[b.Name] = true
			if b.Uninitialized {
				tdz = append(tdz, b.Name)
				continue
			}
			params = append(params, b.Name)
			args = append(args, b.Value)
		}
	}
	src := "(function(" + strings.Join(params, ",") + "){return (\n" + expr + "\n);"
	if len(tdz) > 0 {
		src += "let " + strings.Join(tdz, ",") + ";"
	}
	src += "})"

	prog := h.evalCache[src]
	if prog == nil {
		p, err := goja.Compile("<eval>", src, false)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrEvaluate, expr, err)
		}
		if len(h.evalCache) > 256 {
			clear(h.evalCache)
		}
		h.evalCache[src] = p
		prog = p
	}
	fnv, err := h.vm.RunProgram(prog)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrEvaluate, expr, err)
	}
	fn, _ := goja.AssertFunction(fnv)
	this := sc.This
	if this == nil {
		this = goja.Undefined()
	}
	v, err := fn(this, args...)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrEvaluate, expr, errorMessage(err))
	}
	return v, nil
}

// checkExpression makes sure expr is one expression, so that it cannot
// close the function it is placed in.
func checkExpression(expr string) error {
	prog, err := parser.ParseFile(nil, "", "(\n"+expr+"\n)", 0, parser.WithDisableSourceMaps)
	if err == nil && len(prog.Body) == 1 {
		if _, ok := prog.Body[0].(*ast.ExpressionStatement); ok {
			return nil
		}
	}
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return fmt.Errorf("%w %q: %s", ErrEvaluate, expr, list[0].Message)
		}
	}
	return fmt.Errorf("%w %q: it is not a single expression", ErrEvaluate, expr)
}

// errorMessage is the JavaScript message of a thrown value, without goja's
// stack trace.
func errorMessage(err error) string {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.Value().String()
	}
	return err.Error()
}
