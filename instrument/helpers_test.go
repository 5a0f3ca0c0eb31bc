package instrument

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// wrap evaluates code the way the runtime evaluates a bundle: as the body
// of function(module, exports, require), returning module.exports.
func wrap(t testing.TB, vm *goja.Runtime, code string) goja.Value {
	t.Helper()
	fnv, err := vm.RunScript("bundle.js", "(function(module,exports,require){\n"+code+"\n})")
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	fn, _ := goja.AssertFunction(fnv)
	exports := vm.NewObject()
	module := vm.NewObject()
	_ = module.Set("exports", exports)
	require := func(name string) goja.Value {
		panic(vm.NewGoError(fmt.Errorf("require(%q) is not available", name)))
	}
	if _, err := fn(goja.Undefined(), module, exports, vm.ToValue(require)); err != nil {
		t.Fatalf("run: %v", err)
	}
	return module.Get("exports")
}

// exported renders module.exports after the job queue drained, so results
// of async code are included.
func exported(t testing.TB, vm *goja.Runtime, v goja.Value) string {
	t.Helper()
	js, err := vm.RunString("(v) => JSON.stringify(v)")
	if err != nil {
		t.Fatal(err)
	}
	fn, _ := goja.AssertFunction(js)
	s, err := fn(goja.Undefined(), v)
	if err != nil {
		t.Fatal(err)
	}
	return s.String()
}

// stepThrough runs the instrumented program with stepping on and returns
// module.exports and the stops, each as kind letter and bundle line
// ("S3" for a statement on line 3, "E2" for entering a function on line 2).
func stepThrough(t testing.TB, res *Result) (string, []string) {
	t.Helper()
	vm := goja.New()
	h, err := NewHost(vm, res)
	if err != nil {
		t.Fatal(err)
	}
	var stops []string
	h.SetStepping(true)
	h.OnStop(func(s Stop) {
		stops = append(stops, fmt.Sprintf("%s%d", strings.ToUpper(s.Site.Kind[:1]), s.Site.Line))
	})
	v := wrap(t, vm, res.Code)
	return exported(t, vm, v), stops
}

func plainRun(t testing.TB, src string) string {
	t.Helper()
	vm := goja.New()
	return exported(t, vm, wrap(t, vm, src))
}

// hosted instruments src and installs a Host for it in a fresh runtime.
func hosted(t testing.TB, src string) (*Result, *goja.Runtime, *Host) {
	t.Helper()
	res, err := Instrument(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vm := goja.New()
	h, err := NewHost(vm, res)
	if err != nil {
		t.Fatal(err)
	}
	return res, vm, h
}
