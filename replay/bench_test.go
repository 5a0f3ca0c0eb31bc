package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

// The counter example's increment, and a variant that fetches once a call.
const benchProgram = `import { state } from "membrane";
state.count ??= 0;
export function increment({ by = 1 }: { by?: number }) {
  state.count += by;
  return state.count;
}
export async function fetchOnce({ url }: { url: string }) {
  const res = await fetch(url);
  state.count += (await res.json()).n;
  return state.count;
}
`

// benchCalls is how many calls a recording holds: 100,000 unless
// MEMBRANE_BENCH_CALLS says otherwise.
func benchCalls() int {
	if n, err := strconv.Atoi(os.Getenv("MEMBRANE_BENCH_CALLS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

type recording struct {
	dir  string
	took time.Duration
	log  *wal.Log
}

var recordings sync.Map

// record makes a log of n calls of action through a real Runner with fsync
// on, 16 callers at once, and says how long that took. It is made once per
// action and kept for every benchmark that replays it.
func record(b *testing.B, action string, args func() json.RawMessage) *recording {
	if r, ok := recordings.Load(action); ok {
		return r.(*recording)
	}
	dir, err := os.MkdirTemp("", "membrane-bench-")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.ts"), []byte(benchProgram), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := bundle.Build(dir, bundle.Options{})
	if err != nil {
		b.Fatal(err)
	}
	l, err := wal.Open(dir, wal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	salt := []byte("bench")
	if err := l.SetMeta("salt", salt); err != nil {
		b.Fatal(err)
	}
	m, _ := runtime.NewMachine(runtime.Config{Salt: salt})
	r := runtime.NewRunner(runtime.RunnerConfig{Log: l, Machine: m, Salt: salt})
	ctx := context.Background()
	if _, err := r.Deploy(ctx, runtime.CodeVersionOf(p)); err != nil {
		b.Fatal(err)
	}
	n := benchCalls()
	began := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < 16; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := c; i < n; i += 16 {
				if _, err := r.Call(ctx, action, args()); err != nil {
					b.Error(err)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	rec := &recording{dir: dir, took: time.Since(began), log: l}
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	recordings.Store(action, rec)
	return rec
}

func benchReplay(b *testing.B, rec *recording, calls int) {
	b.ResetTimer()
	var events int
	for i := 0; i < b.N; i++ {
		res, err := Run(rec.log, Options{Start: FromEarliest})
		if err != nil {
			b.Fatal(err)
		}
		if res.Divergence != nil {
			b.Fatal(res.Divergence.Format())
		}
		events = res.Events
	}
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(events)/per.Seconds(), "events/s")
	b.ReportMetric(rec.took.Seconds()/per.Seconds(), "x-faster-than-recording")
	b.ReportMetric(float64(calls)/rec.took.Seconds(), "recorded-calls/s")
}

// BenchmarkReplayCounter replays 100,000 recorded increments.
func BenchmarkReplayCounter(b *testing.B) {
	rec := record(b, "increment", func() json.RawMessage { return json.RawMessage(`{"by":1}`) })
	benchReplay(b, rec, benchCalls())
}

// BenchmarkReplayFetch replays 100,000 recorded calls that each fetched
// once from a loopback server, which is stopped before the replay.
func BenchmarkReplayFetch(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"n": 1}`)
	}))
	args := json.RawMessage(fmt.Sprintf(`{"url": %q}`, srv.URL))
	rec := record(b, "fetchOnce", func() json.RawMessage { return args })
	srv.Close()
	benchReplay(b, rec, benchCalls())
}

// BenchmarkFloorDirectCalls is the floor a replay is measured against: the
// same exported function called 100,000 times straight in goja, with no log.
func BenchmarkFloorDirectCalls(b *testing.B) {
	p, err := bundle.Build(writeProgram(b), bundle.Options{})
	if err != nil {
		b.Fatal(err)
	}
	n := benchCalls()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		vm := goja.New()
		state := vm.NewObject()
		module := vm.NewObject()
		_ = module.Set("exports", vm.NewObject())
		fn, err := vm.RunString("(function (module, exports, require) {" + p.Bundle + "\n})")
		if err != nil {
			b.Fatal(err)
		}
		wrap, _ := goja.AssertFunction(fn)
		req := func(goja.FunctionCall) goja.Value {
			o := vm.NewObject()
			_ = o.Set("state", state)
			return o
		}
		if _, err := wrap(nil, module, module.Get("exports"), vm.ToValue(req)); err != nil {
			b.Fatal(err)
		}
		inc, _ := goja.AssertFunction(module.Get("exports").ToObject(vm).Get("increment"))
		args := vm.NewObject()
		_ = args.Set("by", 1)
		for j := 0; j < n; j++ {
			if _, err := inc(nil, args); err != nil {
				b.Fatal(err)
			}
		}
	}
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(n)/per.Seconds(), "calls/s")
}

func writeProgram(b *testing.B) string {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.ts"), []byte(benchProgram), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}
