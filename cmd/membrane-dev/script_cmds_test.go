package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func scriptSetup(env *testscript.Env) error {
	env.Setenv("NO_COLOR", "1")
	env.Setenv("HOME", env.WorkDir)
	env.Setenv("XDG_CONFIG_HOME", env.WorkDir+"/.config")
	// Each scenario gets its own copy of the examples, as a user who cloned
	// the repository would have them.
	return os.CopyFS(env.WorkDir, os.DirFS("../../examples"))
}

// scriptCmds are the verbs scenarios use beyond testscript's own: each does
// what a user would do by hand with curl, a text editor or a shell.
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"freeport":   cmdFreeport,
		"waithttp":   cmdWaitHTTP,
		"httpget":    cmdHTTPGet,
		"upstream":   cmdUpstream,
		"hits":       cmdHits,
		"corrupt":    cmdCorrupt,
		"truncate":   cmdTruncate,
		"waitlog":    cmdWaitLog,
		"sleep":      cmdSleep,
		"callmany":   cmdCallMany,
		"replace":    cmdReplace,
		"renameover": cmdRenameOver,
	}
}

// freeport VAR: sets VAR to a free loopback HOST:PORT.
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	addr := ln.Addr().String()
	ln.Close()
	ts.Setenv(args[0], addr)
}

// waithttp URL: waits up to 60 s for the URL to answer.
func cmdWaitHTTP(ts *testscript.TestScript, neg bool, args []string) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(args[0])
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("%s did not answer within 60 s", args[0])
}

// httpget URL: prints the response status and body.
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	resp, err := http.Get(args[0])
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%d %s\n", resp.StatusCode, b)
}

var upstreams sync.Map // URL -> *upstream

type upstream struct {
	srv  *httptest.Server
	hits atomic.Int64
}

// upstream VAR [stop]: starts a loopback HTTP server that answers
// {"celsius": 21, "path": P, "auth": HEADER} and sets VAR to its URL;
// with "stop", stops the server VAR names.
func cmdUpstream(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 2 && args[1] == "stop" {
		u, ok := upstreams.Load(ts.Getenv(args[0]))
		if !ok {
			ts.Fatalf("no upstream at $%s", args[0])
		}
		u.(*upstream).srv.Close()
		return
	}
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"celsius": 21, "path": %q, "auth": %q, "key": %q}`, r.URL.Path,
			r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"))
	}))
	ts.Defer(u.srv.Close)
	upstreams.Store(u.srv.URL, u)
	ts.Setenv(args[0], u.srv.URL)
}

// hits VAR N: the upstream VAR names has been asked exactly N times.
func cmdHits(ts *testscript.TestScript, neg bool, args []string) {
	u, ok := upstreams.Load(ts.Getenv(args[0]))
	if !ok {
		ts.Fatalf("no upstream at $%s", args[0])
	}
	want, _ := strconv.Atoi(args[1])
	if got := u.(*upstream).hits.Load(); (got == int64(want)) == neg {
		ts.Fatalf("upstream was asked %d times, want %d", got, want)
	}
}

// corrupt FILE OFFSET COUNT: overwrites COUNT bytes at OFFSET with garbage.
func cmdCorrupt(ts *testscript.TestScript, neg bool, args []string) {
	f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_RDWR, 0)
	ts.Check(err)
	defer f.Close()
	off, _ := strconv.ParseInt(args[1], 0, 64)
	n, _ := strconv.Atoi(args[2])
	garbage := make([]byte, n)
	for i := range garbage {
		garbage[i] = byte(0xA5 ^ i)
	}
	_, err = f.WriteAt(garbage, off)
	ts.Check(err)
}

// truncate FILE SIZE: cuts the file to SIZE bytes.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	size, _ := strconv.ParseInt(args[1], 0, 64)
	ts.Check(os.Truncate(ts.MkAbs(args[0]), size))
}

// waitlog DIR REGEXP [SECONDS]: waits until `membrane-dev log` of DIR shows
// a line matching REGEXP, reading the live run's copy through the command.
func cmdWaitLog(ts *testscript.TestScript, neg bool, args []string) {
	secs := 30
	if len(args) > 2 {
		secs, _ = strconv.Atoi(args[2])
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	var last string
	for time.Now().Before(deadline) {
		var out strings.Builder
		code := run([]string{"log", "--dir", ts.MkAbs(args[0])}, &out, io.Discard)
		last = out.String()
		if code == 0 && re.MatchString(last) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Fatalf("the log never showed %q within %d s; it was:\n%s", args[1], secs, last)
}

// sleep DURATION: waits, for scenarios about time.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// callmany N URL: sends N concurrent GETs to URL and prints how many got 200.
func cmdCallMany(ts *testscript.TestScript, neg bool, args []string) {
	n, _ := strconv.Atoi(args[0])
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(args[1])
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(ts.Stdout(), "%d ok\n", ok.Load())
}

// replace FILE OLD NEW: edits a file in place, as an editor saving would.
func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	if !strings.Contains(string(b), args[1]) {
		ts.Fatalf("%s does not contain %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(p, []byte(strings.Replace(string(b), args[1], args[2], 1)), 0o644))
}

// renameover FILE OLD NEW: saves an edit the way many editors do, writing a
// temporary file and renaming it over the original.
func cmdRenameOver(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	tmp := p + ".tmp~"
	ts.Check(os.WriteFile(tmp, []byte(strings.Replace(string(b), args[1], args[2], 1)), 0o644))
	ts.Check(os.Rename(tmp, p))
}
