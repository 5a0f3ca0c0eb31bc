package dap

import (
	"github.com/dop251/goja"
	"github.com/membrane-dev/membrane-dev/instrument"
)

// evalIn evaluates expr in the frame of a stop. Programs import state from
// "membrane", which a bundle renames; so that conditions, log points and
// the REPL can say `state`, it is in scope unless the frame has its own.
func evalIn(vm *goja.Runtime, hs *host, s instrument.Stop, expr string) (goja.Value, error) {
	sc, err := s.Scopes()
	if err != nil {
		return nil, err
	}
	if !hasBinding(sc, "state") {
		if st := liveStateOf(vm, sc); st != nil {
			sc.Module = append(sc.Module, instrument.Binding{Name: "state", Value: st})
		}
	}
	return hs.h.Evaluate(sc, expr)
}

func hasBinding(sc *instrument.Scopes, name string) bool {
	for _, group := range [][]instrument.Binding{sc.Locals, sc.Closure, sc.Module} {
		for _, b := range group {
			if b.Name == name {
				return true
			}
		}
	}
	return false
}

// liveStateOf is require("membrane").state, reached through the require
// the bundle was given.
func liveStateOf(vm *goja.Runtime, sc *instrument.Scopes) goja.Value {
	for _, b := range sc.Module {
		if b.Name != "require" || b.Value == nil {
			continue
		}
		fn, ok := goja.AssertFunction(b.Value)
		if !ok {
			return nil
		}
		mod, err := fn(goja.Undefined(), vm.ToValue("membrane"))
		if err != nil {
			return nil
		}
		if o, ok := mod.(*goja.Object); ok {
			return o.Get("state")
		}
	}
	return nil
}
