package instrument

import (
	"fmt"
	"strings"

	"github.com/dop251/goja/ast"
)

// scope is a lexical scope of the bundle: the top level, a function, a block,
// a loop head, a catch clause or a switch body.
type scope struct {
	parent *scope
	names  []string
	// lexical maps let, const and class bindings to the offset of the
	// statement declaring them; they are in their temporal dead zone before
	// it. Other bindings (var, parameters, functions, catch parameters, loop
	// heads) are initialised before any probe in their scope runs.
	lexical map[string]int
	set     map[string]bool
	// inSwitch marks a switch body, where a case can jump over a
	// declaration: its lexical bindings may or may not be initialised.
	inSwitch bool
}

func newScope(parent *scope) *scope {
	return &scope{parent: parent, set: map[string]bool{}, lexical: map[string]int{}}
}

func (s *scope) declare(name string) {
	if name == "" || s.set[name] {
		return
	}
	s.set[name] = true
	s.names = append(s.names, name)
}

func (s *scope) declareLexical(name string, at int) {
	s.declare(name)
	s.lexical[name] = at
}

// state is what a probe knows statically about a binding.
type state uint8

const (
	initialised state = iota
	inTDZ             // certainly in its temporal dead zone
	mayBeTDZ          // read it inside try
)

// reader is what a probe at some site can see: the names, and the text that
// builds the array of their values (then this) on the slow path.
type reader struct {
	locals, closure []string
	values          string // array literal, placeholders where fixes fill in
	fixes           string // statements that read maybe-uninitialised bindings
	direct          int    // locals in values; the rest come from the shared reader
	shared          []int  // their indices in fnCtx.shared
}

// newReader lists the bindings visible from a site. Locals are read directly:
// a closure would make goja move every local it names from the stack to the
// heap, slowing the function down. For the same reason the closure group
// only holds bindings that the function already refers to, as V8 does.
// The top level is left to the module reader.
func (in *instrumenter) newReader(s siteRec) *reader {
	r := &reader{}
	p := in.prefix
	var vals []string
	var fixes strings.Builder
	add := func(name string, st state) {
		switch st {
		case initialised:
			vals = append(vals, name)
		case inTDZ:
			vals = append(vals, p+"U")
		case mayBeTDZ:
			fmt.Fprintf(&fixes, "try{%sv[%d]=%s}catch{%sv[%d]=%sU}", p, len(vals), name, p,
				len(vals), p)
			vals = append(vals, "0")
		}
	}

	seen := map[string]bool{"arguments": true}
	local := true
	for sc := s.sc; sc != nil && sc != in.module; sc = sc.parent {
		for _, n := range sc.names {
			if seen[n] || (!local && !s.fn.refs[n]) {
				continue
			}
			seen[n] = true
			if local && sc == s.fn.scope && s.fn.shared != nil {
				r.locals = append(r.locals, n)
				r.shared = append(r.shared, s.fn.sharedAt[n])
				continue
			}
			at, lexical := sc.lexical[n]
			st := initialised
			switch {
			case !lexical:
			case !local || sc.inSwitch:
				st = mayBeTDZ
			case at >= s.off:
				st = inTDZ
			}
			add(n, st)
			if local {
				r.locals = append(r.locals, n)
			} else {
				r.closure = append(r.closure, n)
			}
		}
		if sc == s.fn.scope {
			local = false
		}
	}
	r.direct = len(r.locals) - len(r.shared)
	if s.fn.thisUnsafe {
		add("this", mayBeTDZ)
	} else {
		add("this", initialised)
	}
	r.values = "[" + strings.Join(vals, ",") + "]"
	r.fixes = fixes.String()
	return r
}

// bindingNames appends the names a binding target declares.
func bindingNames(target ast.Expression, out []string) []string {
	switch t := target.(type) {
	case *ast.Identifier:
		out = append(out, t.Name.String())
	case *ast.ArrayPattern:
		for _, e := range t.Elements {
			out = bindingNames(e, out)
		}
		out = bindingNames(t.Rest, out)
	case *ast.ObjectPattern:
		for _, p := range t.Properties {
			switch p := p.(type) {
			case *ast.PropertyShort:
				out = append(out, p.Name.Name.String())
			case *ast.PropertyKeyed:
				out = bindingNames(p.Value, out)
			case *ast.SpreadElement:
				out = bindingNames(p.Expression, out)
			}
		}
		out = bindingNames(t.Rest, out)
	case *ast.AssignExpression: // a target with a default
		out = bindingNames(t.Left, out)
	case *ast.Binding:
		out = bindingNames(t.Target, out)
	}
	return out
}
