package dap

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-dap"
	"github.com/membrane-dev/membrane-dev/replay"
	"github.com/membrane-dev/membrane-dev/wal"
)

// benchEvents is how many calls the benchmark log holds: 10,000 unless
// MEMBRANE_BENCH_CALLS says otherwise.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("MEMBRANE_BENCH_CALLS")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

var (
	benchOnce sync.Once
	benchProg *program
)

// benchProgram records the counter's increment benchEvents times, once per
// process. The directory outlives the benchmark that made it, so it is
// made by hand rather than with TempDir.
func benchProgram(b *testing.B) *program {
	benchOnce.Do(func() {
		calls := make([]string, benchEvents())
		for i := range calls {
			calls[i] = `increment {"by": 1}`
		}
		benchProg = recordProgram(&keepTB{B: b}, counter, calls...)
	})
	if benchProg == nil {
		b.Fatal("recording the benchmark log failed")
	}
	return benchProg
}

// keepTB hands recordProgram a temporary directory that is not removed when
// the first benchmark ends.
type keepTB struct{ *testing.B }

func (k *keepTB) TempDir() string {
	dir, err := os.MkdirTemp("", "membrane-dap-bench-")
	if err != nil {
		k.Fatal(err)
	}
	return dir
}

// benchSession starts a session on a pipe and keeps hold of it, so the
// benchmark can wait for its pool to refill between measurements.
func benchSession(b *testing.B, p *program) (*client, *Session) {
	server, conn := net.Pipe()
	s := newSession(Config{Open: openLog, Current: currentCode}, server)
	go s.serve(b.Context())
	c := &client{t: b, conn: conn, r: bufio.NewReader(conn)}
	b.Cleanup(func() { conn.Close() })
	c.start(p.dir, true)
	return c, s
}

func (s *Session) waitPool() {
	s.mu.Lock()
	p := s.pool
	s.mu.Unlock()
	p.waitIdle()
}

// measure times op b.N times after prepare, and reports the median and
// the 90th percentile.
func measure(b *testing.B, prepare func(i int), op func()) {
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		prepare(i)
		b.StartTimer()
		began := time.Now()
		op()
		durations = append(durations, time.Since(began))
	}
	b.StopTimer()
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*9/10].Microseconds())/1000, "p90-ms")
}

// BenchmarkForwardStep steps over statements and across events in the
// middle of the history.
func BenchmarkForwardStep(b *testing.B) {
	p := benchProgram(b)
	c, s := benchSession(b, p)
	c.seek(p.events[len(p.events)/2])
	s.waitPool()
	measure(b, func(int) {}, func() { c.next() })
}

// BenchmarkStepBack steps back from a random point of the history once the
// pool has refilled: within an event (from its second statement) and
// across events (from the start of an event to the last statement of the
// one before).
func BenchmarkStepBack(b *testing.B) {
	p := benchProgram(b)
	for _, within := range []bool{true, false} {
		name := "across-events"
		if within {
			name = "within-event"
		}
		b.Run(name, func(b *testing.B) {
			c, s := benchSession(b, p)
			rng := rand.New(rand.NewPCG(1, 2))
			measure(b, func(int) {
				c.seek(p.events[1+rng.IntN(len(p.events)-1)])
				if within {
					c.next()
					c.next()
				}
				s.waitPool()
			}, func() { c.stepBack() })
		})
	}
}

// BenchmarkReverseContinue runs back to the previous breakpoint hit from a
// random point: with a breakpoint every event hits, and with a condition
// that holds every 100th event.
func BenchmarkReverseContinue(b *testing.B) {
	p := benchProgram(b)
	for _, bpc := range []dap.SourceBreakpoint{
		{Line: lineAssign(b)},
		{Line: lineAssign(b), Condition: "before % 100 === 0"},
	} {
		name := "every-event"
		if bpc.Condition != "" {
			name = "every-100th-event"
		}
		b.Run(name, func(b *testing.B) {
			c, s := benchSession(b, p)
			c.setBreakpoints(p.dir+"/index.ts", bpc)
			rng := rand.New(rand.NewPCG(3, 4))
			measure(b, func(int) {
				c.seek(p.events[200+rng.IntN(len(p.events)-200)])
				s.waitPool()
			}, func() {
				if ev := c.reverseContinue(); ev.Body.Reason != "breakpoint" {
					b.Fatalf("reverseContinue stopped %q", ev.Body.Reason)
				}
			})
		})
	}
}

// BenchmarkBackWithoutWaiting is BenchmarkStepBack across events and
// BenchmarkReverseContinue with the sparse condition, one right after
// another without letting the pool refill in between: what a user who
// keeps jumping sees.
func BenchmarkBackWithoutWaiting(b *testing.B) {
	p := benchProgram(b)
	c, s := benchSession(b, p)
	c.setBreakpoints(p.dir+"/index.ts",
		dap.SourceBreakpoint{Line: lineAssign(b), Condition: "before % 100 === 0"})
	s.waitPool()
	rng := rand.New(rand.NewPCG(5, 6))
	back := true
	measure(b, func(int) {
		c.seek(p.events[200+rng.IntN(len(p.events)-200)])
		back = !back
	}, func() {
		if back {
			c.stepBack()
			return
		}
		c.reverseContinue()
	})
}

// BenchmarkReplayUnderDebugger compares a replay of the whole log with the
// probes in place and nothing to stop at, as a continue to the end is,
// with a plain replay.
func BenchmarkReplayUnderDebugger(b *testing.B) {
	p := benchProgram(b)
	l, err := wal.Open(p.dir, wal.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	h, err := newHistory(l, p.dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	var plain, debug time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		began := time.Now()
		res, err := replay.Run(l, replay.Options{Start: replay.FromEarliest})
		if err != nil || res.Divergence != nil {
			b.Fatal(err, res.Divergence)
		}
		plain += time.Since(began)

		began = time.Now()
		r := newReplayer(h)
		end := r.resume(goal{kind: goalRun})
		r.kill()
		if end.err != nil || end.div != nil || !end.end {
			b.Fatal(fmt.Sprint(end.err, end.div))
		}
		debug += time.Since(began)
	}
	b.ReportMetric(plain.Seconds()*1000/float64(b.N), "plain-ms")
	b.ReportMetric(debug.Seconds()*1000/float64(b.N), "debugger-ms")
	b.ReportMetric(float64(debug)/float64(plain), "ratio")
}

// TestMain removes the benchmark log, which outlives single benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchProg != nil {
		os.RemoveAll(benchProg.dir)
	}
	os.Exit(code)
}
