package watch_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/membrane-dev/membrane-dev/watch"
)

// BenchmarkSaveToBatch measures the watcher's share of save-to-live latency:
// from a file write returning to its batch arriving. With the default
// options it is Quiet plus the watcher's own overhead, which the 1ms case
// shows.
func BenchmarkSaveToBatch(b *testing.B) {
	for _, quiet := range []time.Duration{0, time.Millisecond} {
		name := "quiet=default"
		if quiet > 0 {
			name = "quiet=" + quiet.String()
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "index.ts")
			if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
				b.Fatal(err)
			}
			w, err := watch.New(dir, watch.Options{Quiet: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()

			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				content := []byte(fmt.Sprintf("export const v = %d;", i))
				t0 := time.Now()
				if err := os.WriteFile(path, content, 0o644); err != nil {
					b.Fatal(err)
				}
				select {
				case <-w.Changes():
				case err := <-w.Errors():
					b.Fatal(err)
				case <-time.After(wait):
					b.Fatalf("no batch within %v", wait)
				}
				lat = append(lat, time.Since(t0))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// BenchmarkNew measures starting and stopping a watch on a tree of 201
// folders and 1000 files, the size of a program with a few dependencies.
func BenchmarkNew(b *testing.B) {
	dir := b.TempDir()
	for d := range 100 {
		for f := range 10 {
			path := filepath.Join(dir, fmt.Sprintf("pkg%d/sub/f%d.js", d, f))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		w, err := watch.New(dir, watch.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
