package runtime

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/wal"
	bolt "go.etcd.io/bbolt"
)

// benchRunner starts a Runner with the counter deployed, on a real log with
// fsync on.
func benchRunner(b *testing.B) *Runner {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.ts"), []byte(counter), 0o644); err != nil {
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
	m, err := NewMachine(Config{Salt: []byte("bench")})
	if err != nil {
		b.Fatal(err)
	}
	r := NewRunner(RunnerConfig{Log: l, Machine: m, Salt: []byte("bench")})
	b.Cleanup(func() { r.Close(); l.Close() })
	if _, err := r.Deploy(context.Background(), CodeVersionOf(p)); err != nil {
		b.Fatal(err)
	}
	return r
}

func benchCalls(b *testing.B, callers int) {
	r := benchRunner(b)
	args := json.RawMessage(`{"by": 1}`)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / callers
	for c := 0; c < callers; c++ {
		n := per
		if c == 0 {
			n += b.N % callers
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if _, err := r.Call(context.Background(), "increment", args); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkDurableCall1 is one caller calling the counter's increment
// through the Runner: each call is durable before it returns.
func BenchmarkDurableCall1(b *testing.B) { benchCalls(b, 1) }

// BenchmarkDurableCall16 is sixteen callers at once, sharing fsyncs.
func BenchmarkDurableCall16(b *testing.B) { benchCalls(b, 16) }

// BenchmarkRawCommit is the floor: one bbolt transaction with fsync per
// event and nothing else, on the same disk.
func BenchmarkRawCommit(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 96)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("r"))
			if err != nil {
				return err
			}
			var k [8]byte
			for j := 0; j < 8; j++ {
				k[j] = byte(uint64(i) >> (56 - 8*j))
			}
			return bk.Put(k[:], val)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkApplyCall is one call event applied to a Machine, with no log:
// the runtime's own share of a replay.
func BenchmarkApplyCall(b *testing.B) {
	f := newBenchFixture(b)
	raw, _ := json.Marshal(CallData{Action: "increment", Args: json.RawMessage(`{"by":1}`)})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.seq++
		if _, err := f.m.Apply(wal.Record{Seq: f.seq, Kind: KindCall, Time: 1, Data: raw}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

type benchFixture struct {
	m   *Machine
	seq uint64
}

func newBenchFixture(b *testing.B) *benchFixture {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.ts"), []byte(counter), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := bundle.Build(dir, bundle.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cv := CodeVersionOf(p)
	m, err := NewMachine(Config{Salt: []byte("bench"), CaptureStacks: true})
	if err != nil {
		b.Fatal(err)
	}
	_ = m.AddCode(cv)
	d, _ := json.Marshal(DeployData{Code: cv.Hash})
	if _, err := m.Apply(wal.Record{Seq: 1, Kind: KindDeploy, Time: 1, Data: d}); err != nil {
		b.Fatal(err)
	}
	return &benchFixture{m: m, seq: 1}
}
