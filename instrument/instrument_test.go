package instrument

import (
	"errors"
	"strings"
	"testing"
)

// Each case is a bundle whose module.exports the instrumented copy must
// reproduce, and the stops it makes with stepping on: "S3" is a statement on
// line 3, "E2" the entry of a function declared on line 2.
var constructCases = []struct {
	name  string
	src   string
	stops string
}{
	{
		name: "braceless if and else",
		src: `let n = 0
if (n === 0) n = 1; else n = 2
if (n === 0) n = 3
else if (n === 1) (n = 4)
module.exports = n`,
		stops: "S1 S2 S2 S3 S4 S4 S5",
	},
	{
		name: "labelled loops",
		src: `const seen = [];
outer: for (let i = 0; i < 3; i++)
  for (const j of [0, 1, 2]) {
    if (j > i) continue outer;
    if (i === 2) break outer;
    seen.push(i * 10 + j);
  }
module.exports = seen;`,
		stops: "S1 S2 S3 S4 S5 S6 S4 S4 S3 S4 S5 S6 S4 S5 S6 S4 S4 S3 S4 S5 S5 S8",
	},
	{
		name: "case clauses",
		src: `function kind(x) {
  switch (x) {
    case 1: let a = "one"; return a;
    case 2:
    case 3: return "few";
    default: return "many";
  }
}
module.exports = [kind(1), kind(3), kind(9)];`,
		stops: "S9 E1 S2 S3 S3 E1 S2 S5 E1 S2 S6",
	},
	{
		name: "hoisted function declarations",
		src: `module.exports = twice(3);
function twice(x) { return x * 2 }
if (true) { function inner() {} }`,
		stops: "S1 E2 S2 S3",
	},
	{
		name: "classes",
		src: `class Base { constructor(v) { this.v = v } get double() { return this.v * 2 } }
class Sub extends Base {
  static made = 0;
  static { Sub.made = -1 }
  constructor(v) { super(v); Sub.made++ }
}
class Plain { v = 7; extra = () => this.v + 1 }
const s = new Sub(4);
module.exports = [s.double, new Plain().extra(), Sub.made];`,
		stops: "S1 S2 E4 S4 S7 S8 E5 S5 E1 S1 S5 S9 E1 S1 E7 S7",
	},
	{
		name: "arrow expression bodies",
		src: `const obj = (x) => ({ x });
const paren = (x) => ((x) + 1);
const call = (f) => f((y) => (y).toString() + ")");
const nested = a => b => a + b;
module.exports = [obj(1), paren(2), call((g) => g(3)), nested(1)(2)];`,
		stops: "S1 S2 S3 S4 S5 E1 S1 E2 S2 E3 S3 E5 S5 E3 S3 E4 S4 E4 S4",
	},
	{
		name: "generators",
		src: `function* count(n) {
  for (let i = 0; i < n; i++) yield i;
}
module.exports = [...count(2)];`,
		stops: "S4 E1 S2 S2 S2",
	},
	{
		name: "async functions",
		src: `const out = [];
async function load(x) {
  out.push("start " + x);
  const v = await Promise.resolve(x * 2);
  out.push("got " + v);
  return v;
}
load(1);
load(2);
module.exports = out;`,
		stops: "S1 S8 E2 S3 S4 S9 E2 S3 S4 S10 S5 S6 S5 S6",
	},
	{
		name: "use strict stays first",
		src: `"use strict";
function sloppyThis() { return this === undefined }
function strictThis() {
  "use strict";
  return typeof this;
}
module.exports = [sloppyThis(), strictThis.call(undefined)];`,
		stops: "S7 E2 S2 E3 S5",
	},
	{
		name: "for let heads keep per-iteration bindings",
		src: `const fns = [];
for (let i = 0; i < 3; i++) fns.push(() => i);
let k = 0;
do k++; while (k < 2)
module.exports = fns.map((f) => f()).concat(k);`,
		stops: "S1 S2 S2 S2 S2 S3 S4 S4 S4 S5 E5 S5 E2 S2 E5 S5 E2 S2 E5 S5 E2 S2",
	},
	{
		name: "statements without semicolons",
		src: `let a = 1
let b = a
;[a, b] = [b + 1, a]
const t = String.raw` + "`x${a}`" + `
;(function () { a += 10 })()
module.exports = [a, b, t]`,
		stops: "S1 S2 S3 S4 S5 E5 S5 S6",
	},
	{
		name: "ends goja reports short and comments before tests",
		src: `class Counter {
  #n = 0;
  get n() { if (this.#n >= 0) return this.#n; return -1 }
  bump() { this.#n++; return this }
}
const c = new Counter();
let m
if (c) m = new Map()
const label = (h) => ({ text: ` + "`$(${h}) `" + ` + ")" });
if (
  // a comment before the test
  c.bump().n === 1
) m.set("k", label("x").text)
module.exports = [c.n, [...m.values()]];`,
		stops: "S1 S6 S7 S8 S8 S9 S10 E4 S4 S4 E3 S3 S3 S13 E9 S9 S14 E3 S3 S3",
	},
	{
		name: "try catch finally",
		src: `const log = [];
try { log.push(1); throw new Error("boom") }
catch ({ message }) { log.push(message) }
finally { log.push("done") }
module.exports = log;`,
		stops: "S1 S2 S2 S2 S3 S4 S5",
	},
}

func TestConstructs(t *testing.T) {
	for _, tc := range constructCases {
		t.Run(tc.name, func(t *testing.T) {
			want := plainRun(t, tc.src)
			res, err := Instrument(tc.src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, stops := stepThrough(t, res)
			if got != want {
				t.Errorf("instrumented exports %s, plain %s", got, want)
			}
			if s := strings.Join(stops, " "); s != tc.stops {
				t.Errorf("stops:\n got %s\nwant %s", s, tc.stops)
			}
		})
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Instrument("let x = 1;\nlet = = 2;", Options{Filename: "main.js"})
	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("err = %v, want ErrSyntax", err)
	}
	if !strings.Contains(err.Error(), "main.js:2:") {
		t.Errorf("error %q does not name main.js line 2", err)
	}
}
