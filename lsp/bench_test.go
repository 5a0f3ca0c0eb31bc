package lsp

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// bigProgram is an entry file of 5,000 lines: 500 actions with a helper
// each.
func bigProgram() string {
	var b strings.Builder
	b.WriteString("import { state, root, sleep } from \"membrane\";\n")
	b.WriteString("state.total ??= 0;\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, `export async function action%d({ n = 1 }: { n?: number }) {
  const v%d = helper%d(n) + %d;
  state.total += v%d;
  await sleep(0);
  return v%d;
}
function helper%d(x: number): number {
  return x * 2;
}

`, i, i, i, i, i, i, i)
	}
	return b.String()
}

// timed runs f b.N times and reports the median and 95th percentile.
func timed(b *testing.B, f func()) {
	b.Helper()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		f()
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	at := func(q float64) float64 {
		return float64(durations[int(q*float64(len(durations)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
}

func bigSession(b *testing.B) *session {
	s := newSession(b, map[string]string{"index.ts": bigProgram()},
		sessionConfig{facts: &memFacts{fields: []string{"total"}}, debounce: defaultDebounce})
	s.open("index.ts")
	if lines := strings.Count(s.text("index.ts"), "\n"); lines < 5000 {
		b.Fatalf("the program has %d lines", lines)
	}
	return s
}

func BenchmarkCompletion(b *testing.B) {
	s := bigSession(b)
	params := &protocol.CompletionParams{
		TextDocumentPositionParams: s.docPos("index.ts", "state.total += v250;", 6)}
	timed(b, func() {
		res, err := s.srv.Completion(s.ctx(), params)
		if err != nil || len(res.(*protocol.CompletionList).Items) != 1 {
			b.Fatalf("completion = %v, %v", res, err)
		}
	})
}

func BenchmarkHover(b *testing.B) {
	s := bigSession(b)
	params := &protocol.HoverParams{
		TextDocumentPositionParams: s.docPos("index.ts", "sleep(0);\n  return v250", 1)}
	timed(b, func() {
		h, err := s.srv.Hover(s.ctx(), params)
		if err != nil || h == nil {
			b.Fatalf("hover = %v, %v", h, err)
		}
	})
}

// BenchmarkDiagnosticsAfterChange measures from sending a change to
// receiving the diagnostics that reflect it, debounce included: every other
// change breaks line 2,502, the next one mends it.
func BenchmarkDiagnosticsAfterChange(b *testing.B) {
	s := bigSession(b)
	good := s.text("index.ts")
	bad := strings.Replace(good, "return v250;", "return v250 +;", 1)
	line := s.pos("index.ts", "return v250;", 0).Line
	broken := false
	timed(b, func() {
		broken = !broken
		if broken {
			s.edit("index.ts", bad)
			s.waitDiags("index.ts", func(ds []protocol.Diagnostic) bool {
				return hasDiag(ds, line, sourceBuild, "")
			})
			return
		}
		s.edit("index.ts", good)
		s.waitDiags("index.ts", func(ds []protocol.Diagnostic) bool { return len(ds) == 0 })
	})
}

// BenchmarkAnalyze is the analysis of one 5,000-line file behind
// navigation and the runtime rules: esbuild's transform, goja's parse, the
// walk.
func BenchmarkAnalyze(b *testing.B) {
	src := bigProgram()
	for i := 0; i < b.N; i++ {
		if _, err := analyze("/p/index.ts", src); err != nil {
			b.Fatal(err)
		}
	}
}
