package lsp

import (
	"errors"
	"testing"
)

// spanOf returns the span of the nth occurrence (from 0) of word, as a
// whole word, in src.
func spanOf(t *testing.T, src, word string, nth int) span {
	t.Helper()
	txt := newText(src)
	off := 0
	for i := 0; ; i++ {
		at := txt.findWordAfter(word, off)
		if at < 0 {
			t.Fatalf("occurrence %d of %q not found", nth, word)
		}
		if i == nth {
			return span{at, at + len(word)}
		}
		off = at + len(word)
	}
}

func TestAnalyzeResolvesScopes(t *testing.T) {
	src := `import { state as s } from "membrane";
import * as util from "./util";
type Shape = { x: number };
let x: number = 1;
export function f(x: Shape) {
  const y = x.x;
  { let x = 2; y + x; }
  return util.g(s, x);
}
export default class K { m() { return x; } }
for (const x of [1]) { x; }
try { f({ x: 1 }); } catch (x) { x; }
`
	fi, err := analyze("/p/index.ts", src)
	if err != nil {
		t.Fatal(err)
	}
	// Each use of x, in order, and the occurrence of x that declares it.
	want := map[int]int{
		3:  2,  // x.x in f: the parameter (the second x is a property)
		6:  5,  // y + x in the block
		7:  2,  // util.g(s, x): the parameter again
		8:  1,  // x in class K: the module's let
		10: 9,  // loop body
		13: 12, // catch body
	}
	for use, decl := range want {
		at := spanOf(t, src, "x", use)
		found := false
		for _, r := range fi.refs {
			if r.at != at {
				continue
			}
			found = true
			if r.d == nil || r.d.at != spanOf(t, src, "x", decl) {
				t.Errorf("use %d of x resolves to %+v, want occurrence %d", use, r.d, decl)
			}
		}
		if !found {
			t.Errorf("use %d of x at %v is not a reference", use, at)
		}
	}
	if b := fi.imports["s"]; b.spec != "membrane" || b.name != "state" {
		t.Errorf("import of s = %+v", b)
	}
	if b := fi.imports["util"]; b.spec != "./util" || b.name != "*" {
		t.Errorf("import of util = %+v", b)
	}
	if fi.exports["f"] != "f" || fi.exports["default"] != "K" {
		t.Errorf("exports = %v", fi.exports)
	}
	for _, m := range fi.members {
		if m.name == "Shape" || m.name == "number" {
			t.Errorf("a type leaked into the analysis: %v", m)
		}
	}
}

func TestAnalyzeRefusesWhatDoesNotParse(t *testing.T) {
	_, err := analyze("/p/index.ts", "export function (\n")
	if !errors.Is(err, errTransform) {
		t.Errorf("err = %v, want errTransform", err)
	}
}

func TestRules(t *testing.T) {
	cases := []struct {
		name, src, code string
		found           bool
	}{
		{"unknown action", `import { root } from "membrane"; root.nope({});`, "unknown-action", true},
		{"known action", `import { root } from "membrane"; root.go({});`, "unknown-action", false},
		{"root renamed", `import { root as r } from "membrane"; r.nope({});`, "unknown-action", true},
		{"another root", `const root = { nope() {} }; root.nope();`, "unknown-action", false},
		{"bad cron", `import { root } from "membrane"; root.go({}).$cron("* * *");`, "bad-cron", true},
		{"good cron", `import { root } from "membrane"; root.go({}).$cron("0 0 9 * * MON");`,
			"bad-cron", false},
		{"require", `const fs = require("fs");`, "refused-global", true},
		{"own require", `function require(x) { return x; } require("a");`, "refused-global", false},
		{"process.exit", `export function go() { process.exit(0); }`, "refused-global", true},
		{"top-level await", `await Promise.resolve(1);`, "refused-await", true},
		{"await in a function", `async function g() { await 1; }`, "refused-await", false},
		{"await in an arrow", `const g = async () => { await 1; };`, "refused-await", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fi, err := analyze("/p/index.js", c.src)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range checkRules(fi, map[string]bool{"go": true}, true) {
				if f.code == c.code {
					found = true
					if f.at.end <= f.at.start {
						t.Errorf("finding has an empty span: %+v", f)
					}
				}
			}
			if found != c.found {
				t.Errorf("%s found = %v, want %v", c.code, found, c.found)
			}
		})
	}
}
