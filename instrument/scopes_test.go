package instrument

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

const scopeProgram = `"use strict";
const level = "module";
const shadow = "module";
function outer(a) {
  let level = "closure";
  let unused = "not captured";
  function inner(b) {
    const shadow = "local";
    const early = b + level.length;
    stop();
    let later = 1;
    return early + later;
  }
  return inner(a + 1);
}
function stop() {}
module.exports = outer(1);
let lateModule = 1;
`

// siteAt finds the statement site on a bundle line.
func siteAt(t *testing.T, res *Result, line int) Site {
	t.Helper()
	for _, s := range res.Sites {
		if s.Line == line && s.Kind == KindStmt {
			return s
		}
	}
	t.Fatalf("no statement site on line %d", line)
	return Site{}
}

// runToLine runs src with a breakpoint on line and calls fn at the first
// stop there.
func runToLine(t *testing.T, src string, line int, fn func(Stop)) {
	t.Helper()
	res, vm, h := hosted(t, src)
	site := siteAt(t, res, line)
	h.SetBreakpoint(site.ID, true)
	hits := 0
	h.OnStop(func(s Stop) {
		if !s.Reason.Has(ReasonBreakpoint) || s.Site.ID != site.ID {
			t.Errorf("stop at site %d (%v), want breakpoint at %d", s.Site.ID, s.Reason, site.ID)
		}
		hits++
		if hits == 1 {
			fn(s)
		}
	})
	wrap(t, vm, res.Code)
	if hits == 0 {
		t.Fatalf("line %d was never reached", line)
	}
}

func render(bs []Binding) string {
	var parts []string
	for _, b := range bs {
		switch {
		case b.Uninitialized:
			parts = append(parts, b.Name+"=<uninitialized>")
		case goja.IsUndefined(b.Value):
			parts = append(parts, b.Name+"=undefined")
		default:
			parts = append(parts, b.Name+"="+b.Value.String())
		}
	}
	return strings.Join(parts, " ")
}

func TestScopes(t *testing.T) {
	runToLine(t, scopeProgram, 10, func(s Stop) {
		sc, err := s.Scopes()
		if err != nil {
			t.Fatal(err)
		}
		// later is in its temporal dead zone; unused is not referenced by
		// inner, so it is not kept alive for it and not shown.
		if got, want := render(sc.Locals), "b=2 shadow=local early=9 later=<uninitialized>"; got != want {
			t.Errorf("locals: %s, want %s", got, want)
		}
		if got, want := render(sc.Closure), "level=closure"; got != want {
			t.Errorf("closure: %s, want %s", got, want)
		}
		mod := render(sc.Module)
		for _, want := range []string{"level=module", "shadow=module", "lateModule=<uninitialized>"} {
			if !strings.Contains(mod, want) {
				t.Errorf("module scope %q lacks %s", mod, want)
			}
		}
		if !goja.IsUndefined(sc.This) {
			t.Errorf("this = %v, want undefined in a strict function", sc.This)
		}
	})
}

func TestEvaluate(t *testing.T) {
	runToLine(t, scopeProgram, 10, func(s Stop) {
		for expr, want := range map[string]string{
			"early * 2":            "18",
			"shadow":               "local",    // locals over module
			"level":                "closure",  // closure over module
			"b + early":            "11",       // parameters too
			"typeof stop":          "function", // module functions
			"Math.max(b, 1)":       "2",        // globals still visible
			"[shadow, level] + ''": "local,closure",
		} {
			v, err := s.Evaluate(expr)
			if err != nil {
				t.Errorf("Evaluate(%q): %v", expr, err)
				continue
			}
			if v.String() != want {
				t.Errorf("Evaluate(%q) = %v, want %s", expr, v, want)
			}
		}
		for expr, want := range map[string]string{
			"later":          "ReferenceError",
			"lateModule":     "ReferenceError",
			"1); stop(); (1": "not a single expression",
			"nope(":          "Unexpected",
			"missing + 1":    "missing is not defined",
		} {
			_, err := s.Evaluate(expr)
			if !errors.Is(err, ErrEvaluate) || !strings.Contains(err.Error(), want) {
				t.Errorf("Evaluate(%q) error %v, want ErrEvaluate mentioning %q", expr, err, want)
			}
		}
	})
}

func TestTemporalDeadZones(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		locals    string
	}{{
		name: "a case jumped over a declaration",
		src: `function pick(k) {
  switch (k) {
    case 1: let s = "set";
    case 2: return k;
  }
}
module.exports = pick(2);`,
		line:   4,
		locals: "s=<uninitialized> k=2",
	}, {
		name: "a case fell through a declaration",
		src: `function pick(k) {
  switch (k) {
    case 1: let s = "set";
    case 2: return k;
  }
}
module.exports = pick(1);`,
		line:   4,
		locals: "s=set k=1",
	}, {
		name: "this before super",
		src: `class A { constructor() { this.a = 1 } }
class B extends A {
  constructor(x) {
    const before = x;
    super();
  }
}
module.exports = new B(5).a;`,
		line:   4,
		locals: "x=5 before=<uninitialized>",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runToLine(t, tc.src, tc.line, func(s Stop) {
				sc, err := s.Scopes()
				if err != nil {
					t.Fatal(err)
				}
				if got := render(sc.Locals); got != tc.locals {
					t.Errorf("locals: %s, want %s", got, tc.locals)
				}
				if strings.Contains(tc.name, "super") && sc.This != nil {
					t.Errorf("this before super() = %v, want unavailable", sc.This)
				}
			})
		})
	}
}

// TestBigFunctionScope covers functions with more bindings than probes
// list: they are read through one reader per call, and the code stays
// proportional to the function rather than to its square.
func TestBigFunctionScope(t *testing.T) {
	var b strings.Builder
	b.WriteString("function big(p) {\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "  var v%d = p + %d;\n", i, i)
	}
	b.WriteString("  {\n    const v7 = \"block\";\n    stop(v7);\n  }\n")
	b.WriteString("  let late = 1;\n  return v199 + late;\n}\nfunction stop() {}\n")
	b.WriteString("module.exports = big(1);\n")
	src := b.String()
	stopLine := 204

	res, err := Instrument(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Code) > 20*len(src) {
		t.Errorf("code grew from %d to %d bytes", len(src), len(res.Code))
	}
	if got := plainRun(t, src); got != "201" {
		t.Fatalf("plain run gave %s", got)
	}
	runToLine(t, src, stopLine, func(s Stop) {
		sc, err := s.Scopes()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, bd := range sc.Locals {
			if _, dup := got[bd.Name]; dup {
				t.Errorf("%s listed twice", bd.Name)
			}
			got[bd.Name] = render([]Binding{bd})
		}
		for name, want := range map[string]string{
			"v7":   "v7=block", // the block's binding shadows the function's
			"v0":   "v0=1",
			"v199": "v199=200",
			"p":    "p=1",
			"late": "late=<uninitialized>",
		} {
			if got[name] != want {
				t.Errorf("%s: got %q, want %q", name, got[name], want)
			}
		}
		// p, 200 vars and late, with the block's v7 in place of the
		// function's.
		if len(sc.Locals) != 202 {
			t.Errorf("%d locals, want 202", len(sc.Locals))
		}
		if v, err := s.Evaluate("v7 + v8"); err != nil || v.String() != "block9" {
			t.Errorf("Evaluate = %v, %v; want block9", v, err)
		}
	})
}
