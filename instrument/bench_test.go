package instrument

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// benchWorkload is plain code of the kind the debugger replays: recursion,
// loops, objects, arrays and closures, with no I/O.
const benchWorkload = `
"use strict";
function fib(n) {
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}
function tally(words) {
  const counts = {};
  for (const w of words) {
    counts[w] = (counts[w] || 0) + 1;
  }
  let best = "";
  for (const k in counts) {
    if (best === "" || counts[k] > counts[best]) best = k;
  }
  return best;
}
function run() {
  let total = fib(18);
  const words = [];
  for (let i = 0; i < 2000; i++) {
    words.push("w" + (i % 17));
  }
  const top = tally(words);
  const squares = words.map((w, i) => i * i).filter((x) => x % 3 === 0);
  total += squares.length + top.length;
  return total;
}
module.exports = { run };
`

// loadWorkload evaluates code in a fresh runtime and returns a function
// that calls its run() and checks the result.
func loadWorkload(b *testing.B, code string, instrument *Result) func() {
	vm := goja.New()
	if instrument != nil {
		if _, err := NewHost(vm, instrument); err != nil {
			b.Fatal(err)
		}
	}
	exports := wrap(b, vm, code).(*goja.Object)
	run, _ := goja.AssertFunction(exports.Get("run"))
	want, err := run(goja.Undefined())
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		got, err := run(goja.Undefined())
		if err != nil || got.ToInteger() != want.ToInteger() {
			b.Fatalf("run = %v, %v; want %v", got, err, want)
		}
	}
}

func benchRun(b *testing.B, code string, instrument *Result) {
	run := loadWorkload(b, code, instrument)
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}

// BenchmarkOverhead alternates the plain and the instrumented workload in
// every iteration and reports their time ratio, which stays meaningful on a
// machine whose speed drifts while the benchmark runs.
func BenchmarkOverhead(b *testing.B) {
	res, err := Instrument(benchWorkload, Options{})
	if err != nil {
		b.Fatal(err)
	}
	plain := loadWorkload(b, benchWorkload, nil)
	instrumented := loadWorkload(b, res.Code, res)
	var tp, ti time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		plain()
		t1 := time.Now()
		instrumented()
		tp += t1.Sub(t0)
		ti += time.Since(t1)
	}
	b.ReportMetric(float64(ti)/float64(tp), "x-plain")
}

func BenchmarkPlain(b *testing.B) {
	benchRun(b, benchWorkload, nil)
}

// BenchmarkInstrumented runs the same workload with every probe on the fast
// path: no target near, no breakpoint, not stepping.
func BenchmarkInstrumented(b *testing.B) {
	res, err := Instrument(benchWorkload, Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchRun(b, res.Code, res)
}

func BenchmarkInstrumentedNoEntrySites(b *testing.B) {
	res, err := Instrument(benchWorkload, Options{NoEntrySites: true})
	if err != nil {
		b.Fatal(err)
	}
	benchRun(b, res.Code, res)
}

// BenchmarkInstrument measures the rewriting itself on a bundle of about
// 200 KB made of renamed copies of the workload.
func BenchmarkInstrument(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 200_000; i++ {
		s := strings.NewReplacer("fib", "fib"+strconv.Itoa(i), "tally", "tally"+strconv.Itoa(i),
			"run", "run"+strconv.Itoa(i), `"use strict";`, "").Replace(benchWorkload)
		sb.WriteString(s)
	}
	bundle := sb.String()
	b.SetBytes(int64(len(bundle)))
	for b.Loop() {
		if _, err := Instrument(bundle, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
