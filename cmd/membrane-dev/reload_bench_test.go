package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/runtime"
)

// The benchmarks in this file measure what a user waits for after a change:
// from just before the file is written until the first HTTP response from
// the program's endpoint that comes from the new code. BenchmarkSaveToLive
// lets `run` deploy on save; BenchmarkRestartToLive stops `run` and starts
// it again for each change. Both drive the real binary as a process, and
// both apply the same 20 changes to the same small program.
// BenchmarkSaveToLiveParts times the steps of a deploy in this process.
//
//	go test -run '^$' -bench 'SaveToLive|RestartToLive' -benchtime 1x ./cmd/membrane-dev/

// reloadChanges is how many changes one round applies.
const reloadChanges = 20

// pollEvery is how often the endpoint is asked for its version while the
// new code is awaited. Each request is an endpoint event with a commit of
// its own, so a latency is late by at most one round trip and one interval.
const pollEvery = time.Millisecond

// liveWait bounds how long one change may take to go live before the
// benchmark gives up on it.
const liveWait = 30 * time.Second

// versionedProgram is a small program whose endpoint answers with its
// version, and which keeps a little state as a real program would.
func versionedProgram(version string) []byte {
	return []byte(fmt.Sprintf(`import { state } from "membrane";

state.hits ??= 0;

export function endpoint() {
  state.hits++;
  return %q;
}
`, version))
}

// benchRun is `membrane-dev run` started as a real process by a benchmark.
type benchRun struct {
	cmd     *exec.Cmd
	deploys chan time.Duration // the times `run` itself reports for its deploys
	exited  chan struct{}
}

// startBenchRun starts `membrane-dev run DIR --addr ADDR` and returns as
// soon as the process is started: callers find out it is live by polling its
// endpoint, as a user's browser would.
func startBenchRun(b *testing.B, dir, addr string) *benchRun {
	b.Helper()
	cmd := exec.Command(os.Args[0], "run", dir, "--addr", addr)
	cmd.Env = append(os.Environ(), "MEMBRANE_DEV_TEST_MAIN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	r := &benchRun{cmd: cmd, deploys: make(chan time.Duration, 4*reloadChanges),
		exited: make(chan struct{})}
	// A benchmark that fails half-way must not leave the run behind.
	b.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	go func() {
		defer close(r.exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if d, ok := parseDeployLine(sc.Text()); ok {
				select {
				case r.deploys <- d:
				default:
				}
			}
		}
	}()
	return r
}

// parseDeployLine reads the time out of the line `run` prints per deploy,
// "deployed HASH in DURATION".
func parseDeployLine(line string) (time.Duration, bool) {
	rest, ok := strings.CutPrefix(line, "deployed ")
	if !ok {
		return 0, false
	}
	_, took, ok := strings.Cut(rest, " in ")
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(took))
	return d, err == nil
}

// stop interrupts the run as Ctrl-C would and waits for it to exit.
func (r *benchRun) stop(b *testing.B) {
	b.Helper()
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		b.Fatal(err)
	}
	if err := r.cmd.Wait(); err != nil {
		b.Fatalf("run did not exit cleanly after an interrupt: %v", err)
	}
	<-r.exited
}

// freeAddr picks a loopback address no one listens on. A restarted run
// binds the same address again, so a poller can wait on it across restarts.
// The port lies below the systems' ephemeral ranges (32768 and up on Linux,
// 49152 and up elsewhere): a poller connecting while nothing listens could
// otherwise be given that very port as its own and connect to itself, which
// would keep the run from binding it.
func freeAddr(b *testing.B) string {
	b.Helper()
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	b.Fatal("found no free loopback port between 20000 and 32000")
	return ""
}

// poller asks the endpoint for its version until it sees the one awaited.
type poller struct {
	client *http.Client
	url    string
	rtts   []time.Duration // round trips of successful requests, for resolution
}

func newPoller(addr string) *poller {
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	return &poller{client: &http.Client{Transport: tr, Timeout: 5 * time.Second},
		url: "http://" + addr + "/version"}
}

// ask returns the version the endpoint answers with, or an error while
// nothing serves.
func (p *poller) ask() (string, error) {
	began := time.Now()
	resp, err := p.client.Get(p.url)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	p.rtts = append(p.rtts, time.Since(began))
	return string(body), nil
}

// await polls every pollEvery until the endpoint answers want, and returns
// the time from began to that answer.
func (p *poller) await(b *testing.B, began time.Time, want string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveWait)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var last string
	var lastErr error
	for {
		got, err := p.ask()
		if err == nil && got == want {
			return time.Since(began)
		}
		last, lastErr = got, err
		select {
		case <-ctx.Done():
			b.Fatalf("%q was not live within %v; the endpoint last said %q (%v)",
				want, liveWait, last, lastErr)
		case <-tick.C:
		}
	}
}

// applyChange saves change n, the program at version "vN": a plain write for
// even n, and for odd n a save by rename, as editors with atomic saves do. It
// returns the version the endpoint answers with once the change is live.
func applyChange(b *testing.B, dir string, n int) string {
	b.Helper()
	version := fmt.Sprintf("v%d", n)
	src := versionedProgram(version)
	path := filepath.Join(dir, "index.ts")
	if n%2 == 0 {
		if err := os.WriteFile(path, src, 0o644); err != nil {
			b.Fatal(err)
		}
		return version
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, src, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return version
}

// newBenchProgram writes version 0 of the program into a fresh folder.
func newBenchProgram(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	src := versionedProgram("v0")
	if err := os.WriteFile(filepath.Join(dir, "index.ts"), src, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// serveBenchProgram starts `run` on version 0 of the program and waits
// until its endpoint answers.
func serveBenchProgram(b *testing.B) (dir, addr string, r *benchRun, p *poller) {
	b.Helper()
	dir = newBenchProgram(b)
	addr = freeAddr(b)
	r = startBenchRun(b, dir, addr)
	p = newPoller(addr)
	p.await(b, time.Now(), "v0")
	return dir, addr, r, p
}

// BenchmarkSaveToLive measures save-to-live latency with `run` deploying on
// save: 20 saves, alternating plain writes and saves by rename. deploy-p50-ms
// is `run`'s own account of the deploy (build, deploy event, evaluation); the
// rest of the latency is noticing the save, the watcher's quiet period and
// the poll (poll-p50-ms is one request's round trip). extra-deploys counts
// deploys beyond one per save, and should be 0.
func BenchmarkSaveToLive(b *testing.B) {
	dir, _, r, p := serveBenchProgram(b)
	awaitDeployLine(b, r, "v0")
	p.rtts = p.rtts[:0]

	var lat, deploys []time.Duration
	n := 0
	for b.Loop() {
		for range reloadChanges {
			n++
			began := time.Now()
			want := applyChange(b, dir, n)
			lat = append(lat, p.await(b, began, want))
			deploys = append(deploys, awaitDeployLine(b, r, want))
		}
	}
	r.stop(b)
	reportLatency(b, lat)
	b.ReportMetric(ms(percentile(deploys, 50)), "deploy-p50-ms")
	// A save that deploys twice (a half-written file seen on its own, say)
	// leaves a deploy line no save claimed.
	b.ReportMetric(float64(len(r.deploys)), "extra-deploys")
	b.ReportMetric(ms(percentile(p.rtts, 50)), "poll-p50-ms")
}

// BenchmarkRestartToLive applies the same 20 changes as BenchmarkSaveToLive,
// each by stopping `run` (an interrupt, then waiting for it to exit), writing
// the file and starting `run` again. The latency runs from the write to the
// first answer from the new code, as for a save; stop-p50-ms is the time
// the stop took beforehand, which a user waits for too.
func BenchmarkRestartToLive(b *testing.B) {
	dir, addr, r, p := serveBenchProgram(b)

	var lat, stops []time.Duration
	n := 0
	for b.Loop() {
		for range reloadChanges {
			n++
			stopped := time.Now()
			r.stop(b)
			stops = append(stops, time.Since(stopped))
			// The old connection died with the old process.
			p.client.CloseIdleConnections()

			began := time.Now()
			want := applyChange(b, dir, n)
			r = startBenchRun(b, dir, addr)
			lat = append(lat, p.await(b, began, want))
		}
	}
	r.stop(b)
	reportLatency(b, lat)
	b.ReportMetric(ms(percentile(stops, 50)), "stop-p50-ms")
}

// BenchmarkSaveToLiveParts splits a deploy on save into its steps, in this
// process and without the watcher: building with esbuild (build-p50-ms), the
// deploy event with its commit and the new module's evaluation
// (deploy-p50-ms), and the first endpoint call to the new code with its
// commit (call-p50-ms). The watcher's share is measured by the watch
// package's BenchmarkSaveToBatch.
func BenchmarkSaveToLiveParts(b *testing.B) {
	dir := newBenchProgram(b)
	p, err := startLive(dir, liveOptions{console: func(string, string) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := p.close(); err != nil {
			b.Error(err)
		}
	}()
	ctx := context.Background()

	var builds, deploys, calls []time.Duration
	n := 0
	for b.Loop() {
		for range reloadChanges {
			n++
			want := applyChange(b, dir, n)

			t0 := time.Now()
			prog, err := bundle.Build(dir, bundle.Options{})
			if err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			rep, err := p.runner.Deploy(ctx, runtime.CodeVersionOf(prog))
			if err != nil {
				b.Fatal(err)
			}
			if rep.Output == nil || rep.Output.Kind == runtime.KindDeployError {
				b.Fatalf("deploying %s failed: %+v", want, rep.Output)
			}
			t2 := time.Now()
			got := endpointBody(b, p)
			t3 := time.Now()
			if got != want {
				b.Fatalf("after deploying %s the endpoint says %q", want, got)
			}
			builds = append(builds, t1.Sub(t0))
			deploys = append(deploys, t2.Sub(t1))
			calls = append(calls, t3.Sub(t2))
		}
	}
	b.ReportMetric(ms(percentile(builds, 50)), "build-p50-ms")
	b.ReportMetric(ms(percentile(deploys, 50)), "deploy-p50-ms")
	b.ReportMetric(ms(percentile(calls, 50)), "call-p50-ms")
}

// endpointBody calls the endpoint of p in process and returns the body.
func endpointBody(b *testing.B, p *live) string {
	b.Helper()
	rep, err := p.runner.Endpoint(context.Background(),
		runtime.EndpointData{Method: "GET", Path: "/version"})
	if err != nil {
		b.Fatal(err)
	}
	if rep.Output == nil {
		b.Fatal("the endpoint gave no response")
	}
	var d runtime.ResponseData
	if err := json.Unmarshal(rep.Output.Data, &d); err != nil {
		b.Fatal(err)
	}
	return d.Body
}

// awaitDeployLine returns the time `run` printed for the deploy that made
// version live.
func awaitDeployLine(b *testing.B, r *benchRun, version string) time.Duration {
	b.Helper()
	select {
	case d := <-r.deploys:
		return d
	case <-time.After(liveWait):
		b.Fatalf("run served %s but printed no deploy line for it", version)
		return 0
	}
}

// reportLatency reports the median, the 95th percentile and the worst of
// the measured latencies, in milliseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 95)), "p95-ms")
	b.ReportMetric(ms(percentile(lat, 100)), "max-ms")
}

// percentile is the nearest-rank percentile q (0 < q <= 100) of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(q / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
