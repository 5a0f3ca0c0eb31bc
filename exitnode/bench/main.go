// Command bench measures the exit node against going direct and against
// tinyproxy, with one load generator (wrk) on loopback, in one run:
//
//	go run ./exitnode/bench [-duration 5s] [-rounds 3] [-connections 16]
//
// It needs wrk and tinyproxy on PATH (Debian: apt-get install wrk
// tinyproxy). The upstream is a small Go server in a child process; the exit
// node runs in this process with private destinations allowed, once with no
// transformer, once with a .js transformer that adds a header, and once with
// an executable transformer. The table gives requests per second and the
// p50/p99 latency wrk reports, and what each proxy adds to going direct.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/membrane-dev/membrane-dev/exitnode"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "upstream" {
		serveUpstream()
		return
	}
	duration := flag.Duration("duration", 5*time.Second, "how long wrk runs each case")
	conns := flag.Int("connections", 16, "wrk connections")
	threads := flag.Int("threads", 2, "wrk threads")
	rounds := flag.Int("rounds", 3, "runs of every case; the table gives the median")
	profile := flag.String("cpuprofile", "",
		"write a CPU profile of this process (the exit node) to `file`")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*duration, *conns, *threads, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// serveUpstream answers every request with a short body, as an API would.
func serveUpstream() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
}

type result struct {
	name     string
	rps      float64
	p50, p99 time.Duration
	errors   string
}

// target is one way to reach the upstream: direct, or through a proxy.
type target struct {
	name, proxy, token string
}

func run(duration time.Duration, conns, threads, rounds int) error {
	for _, tool := range []string{"wrk", "tinyproxy"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install wrk tinyproxy)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "exitnode-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	upAddr, stopUp, err := startUpstream()
	if err != nil {
		return err
	}
	defer stopUp()
	url := "http://" + upAddr + "/v1/item"

	targets, stop, err := startProxies(dir)
	defer stop()
	if err != nil {
		return err
	}

	// Rounds interleave the cases, so a change in the machine's load
	// touches every case alike; the table gives each case's median.
	runs := make([][]result, len(targets))
	for round := 1; round <= rounds; round++ {
		for i, tg := range targets {
			r, err := runWrk(dir, tg.name, url, tg.proxy, tg.token, duration, conns, threads)
			if err != nil {
				return err
			}
			runs[i] = append(runs[i], r)
			fmt.Fprintf(os.Stderr, "round %d  %-28s %9.0f req/s  p50 %-9s p99 %s\n",
				round, r.name, r.rps, r.p50, r.p99)
		}
	}
	results := make([]result, len(targets))
	for i := range runs {
		results[i] = median(runs[i])
	}
	printTable(results, duration, conns, rounds)
	return nil
}

// startProxies starts every way to reach the upstream: direct, the exit
// node in its four set-ups, and tinyproxy.
func startProxies(dir string) ([]target, func(), error) {
	var stops []func()
	stop := func() {
		for _, s := range stops {
			s()
		}
	}
	targets := []target{{name: "direct"}}

	js := filepath.Join(dir, "transformer.js")
	os.WriteFile(js, []byte(`export default function (req, { env }) {
  req.headers["Authorization"] = ["Bearer " + (env.BENCH_KEY || "k-123456")];
  return req;
}
`), 0o644)
	sh := filepath.Join(dir, "transformer.sh")
	os.WriteFile(sh, []byte("#!/bin/sh\nexec cat\n"), 0o755)
	cases := []struct {
		name, transformer string
		worker            bool
	}{
		{"exit node", "", false},
		{"exit node, .js transformer", js, false},
		{"exit node, sh transformer", sh, false},
		// cat answers each line as it reads it, so the same script is a
		// worker too: this measures the exit node's side of worker mode.
		{"exit node, sh worker", sh, true},
	}
	for i, c := range cases {
		tokenFile := filepath.Join(dir, fmt.Sprintf("token%d", i))
		url, token, s, err := startExitNode(tokenFile, c.transformer, c.worker)
		if err != nil {
			return nil, stop, err
		}
		stops = append(stops, s)
		targets = append(targets, target{c.name, url, token})
	}

	tp, s, err := startTinyproxy(dir)
	if err != nil {
		return nil, stop, err
	}
	stops = append(stops, s)
	return append(targets, target{name: "tinyproxy", proxy: tp}), stop, nil
}

// median picks the run with the median requests per second, keeping its
// latencies with it.
func median(runs []result) result {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b result) int { return cmp.Compare(a.rps, b.rps) })
	return sorted[len(sorted)/2]
}

func startUpstream() (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "upstream")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return "", nil, fmt.Errorf("upstream did not start: %w", err)
	}
	return strings.TrimSpace(line), func() { cmd.Process.Kill(); cmd.Wait() }, nil
}

func startExitNode(tokenFile, transformer string, worker bool) (string, string, func(), error) {
	srv, err := exitnode.New(exitnode.Config{
		Listen:            "127.0.0.1:0",
		TokenFile:         tokenFile,
		Transformer:       transformer,
		TransformerWorker: worker,
		TransformerEnv:    []string{"BENCH_KEY"},
		AllowPrivate:      true,
		// Access logging stays on, as in the command, written nowhere.
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		return "", "", nil, err
	}
	token, _, err := exitnode.LoadToken(tokenFile)
	if err != nil {
		return "", "", nil, err
	}
	ln, err := srv.Listen()
	if err != nil {
		return "", "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	return "http://" + ln.Addr().String(), token, func() { cancel(); <-done }, nil
}

func startTinyproxy(dir string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := filepath.Join(dir, "tinyproxy.conf")
	text := fmt.Sprintf("Port %d\nListen 127.0.0.1\nTimeout 60\nMaxClients 200\n"+
		"LogLevel Critical\nAllow 127.0.0.1\nDisableViaHeader Yes\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command("tinyproxy", "-d", "-c", conf)
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			cmd.Process.Kill()
			return "", nil, errors.New("tinyproxy did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr, func() { cmd.Process.Kill(); cmd.Wait() }, nil
}

// runWrk loads target, through proxy when one is given: wrk connects to the
// proxy and sends the target in absolute form.
func runWrk(dir, name, target, proxy, token string, d time.Duration,
	conns, threads int) (result, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", d.String(), "--latency"}
	connect := target
	if proxy != "" {
		script := filepath.Join(dir, "proxy.lua")
		host := strings.TrimPrefix(target, "http://")
		host = host[:strings.IndexByte(host, '/')]
		lua := fmt.Sprintf("wrk.path = %q\nwrk.headers[\"Host\"] = %q\n", target, host)
		if token != "" {
			lua += fmt.Sprintf("wrk.headers[\"Proxy-Authorization\"] = %q\n", "Bearer "+token)
		}
		if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
			return result{}, err
		}
		args = append(args, "-s", script)
		connect = proxy + "/"
	}
	out, err := exec.Command("wrk", append(args, connect)...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk for %s: %w\n%s", name, err, out)
	}
	return parseWrk(name, string(out))
}

var (
	rpsRe    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	pctRe    = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	errorsRe = regexp.MustCompile(`(?m)^\s+(Socket errors:.*|Non-2xx or 3xx responses:.*)$`)
)

func parseWrk(name, out string) (result, error) {
	r := result{name: name}
	m := rpsRe.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk for %s printed no Requests/sec:\n%s", name, out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range pctRe.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond,
			"s": time.Second}[p[3]]
		d := time.Duration(v * float64(unit))
		if p[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	var errs []string
	for _, e := range errorsRe.FindAllStringSubmatch(out, -1) {
		errs = append(errs, strings.TrimSpace(e[1]))
	}
	r.errors = strings.Join(errs, "; ")
	return r, nil
}

func printTable(results []result, d time.Duration, conns, rounds int) {
	fmt.Printf("wrk, %d connections, %s per run, loopback; median of %d rounds\n\n",
		conns, d, rounds)
	fmt.Println("| case | req/s | p50 | p99 | added p50 | added p99 | wrk notes |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	direct := results[0]
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
	for _, r := range results {
		added50, added99 := "", ""
		if r.name != direct.name {
			added50, added99 = ms(r.p50-direct.p50), ms(r.p99-direct.p99)
		}
		fmt.Printf("| %s | %.0f | %s | %s | %s | %s | %s |\n", r.name, r.rps, ms(r.p50), ms(r.p99),
			added50, added99, r.errors)
	}
}
