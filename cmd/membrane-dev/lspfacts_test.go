package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/control"
	"github.com/membrane-dev/membrane-dev/lsp"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

// factsProgram has an action that keeps state, one that returns nothing
// and one that throws from a file in a subfolder.
var factsProgram = map[string]string{
	"index.ts": `import { state } from "membrane";
import { explode } from "./lib/boom";

state.count ??= 0;

export function add({ n }: { n: number }) {
  state.count += n;
  state.names ??= [];
  return { count: state.count };
}

export function quiet() {}

export function fail({ why }: { why: string }) {
  return explode(why);
}
`,
	"lib/boom.ts": `// Throws, two lines in.
export function explode(why: string): never {
  throw new Error("boom: " + why);
}
`,
}

func writeProgram(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// cliCall runs `membrane-dev call` in this process, as a user would.
func cliCall(t testing.TB, dir, action, args string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run([]string{"call", "--dir", dir, action, args}, &out, &errOut)
	return strings.TrimSpace(out.String() + errOut.String()), code
}

// recordAt reads one record of a stopped program's log.
func recordAt(t *testing.T, dir string, seq uint64) wal.Record {
	t.Helper()
	l, err := wal.Open(dir, wal.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec, err := l.Get(seq)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestLSPFactsFromAStoppedLog(t *testing.T) {
	dir := writeProgram(t, factsProgram)
	facts := newLogFacts()

	// A file outside any program, or a path the server should not send.
	if _, err := facts.Actions(""); !errors.Is(err, errNoProgram) {
		t.Fatalf("with no program directory: %v", err)
	}
	if _, err := facts.StateFields("prog"); err == nil {
		t.Fatal("a relative program directory was taken")
	}

	// Before anything ran there is no log, and nothing to say.
	acts, err := facts.Actions(dir)
	if err != nil || len(acts) != 0 {
		t.Fatalf("with no log: %v, %v", acts, err)
	}
	if fields, err := facts.StateFields(dir); err != nil || len(fields) != 0 {
		t.Fatalf("state fields with no log: %v, %v", fields, err)
	}

	began := time.Now().Add(-time.Second)
	for i, args := range []string{`{"n": 1}`, `{"n": 2}`, `{"n": 4}`} {
		if out, code := cliCall(t, dir, "add", args); code != 0 {
			t.Fatalf("call %d: exit %d: %s", i, code, out)
		}
	}
	for _, why := range []string{"first", "second"} {
		if out, code := cliCall(t, dir, "fail", fmt.Sprintf(`{"why": %q}`, why)); code == 0 {
			t.Fatalf("fail did not fail: %s", out)
		}
	}
	if out, code := cliCall(t, dir, "quiet", "{}"); code != 0 {
		t.Fatalf("quiet: exit %d: %s", code, out)
	}
	ended := time.Now().Add(time.Second)

	acts, err = facts.Actions(dir)
	if err != nil {
		t.Fatal(err)
	}
	add := acts["add"]
	if add.Calls != 3 || add.Failures != 0 || add.LastFailure != nil {
		t.Fatalf("add: %+v", add)
	}
	if add.LastResult != `{"count":7}` {
		t.Fatalf("add's last result is %s", add.LastResult)
	}
	if add.LastCall.Before(began) || add.LastCall.After(ended) {
		t.Fatalf("add was last called at %s, not between %s and %s", add.LastCall, began, ended)
	}
	var cd runtime.CallData
	rec := recordAt(t, dir, add.LastSeq)
	if json.Unmarshal(rec.Data, &cd); rec.Kind != runtime.KindCall || cd.Action != "add" ||
		!strings.Contains(string(cd.Args), "4") {
		t.Fatalf("add's last seq %d is %s %s", add.LastSeq, rec.Kind, rec.Data)
	}

	fail := acts["fail"]
	if fail.Calls != 2 || fail.Failures != 2 || fail.LastFailure == nil {
		t.Fatalf("fail: %+v", fail)
	}
	lf := fail.LastFailure
	if lf.File != "lib/boom.ts" || lf.Line != 3 || lf.Column < 3 || lf.Message != "boom: second" {
		t.Fatalf("fail's last failure: %+v", *lf)
	}
	if lf.Seq != fail.LastSeq {
		t.Fatalf("the failure is at event %d, the last call at %d", lf.Seq, fail.LastSeq)
	}
	if q := acts["quiet"]; q.Calls != 1 || q.LastResult != `{"$type":"undefined"}` {
		t.Fatalf("quiet: %+v", q)
	}

	fields, err := facts.StateFields(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fields, []string{"count", "names"}) {
		t.Fatalf("state fields %v", fields)
	}

	// The editor runs an action: the result comes back and the history,
	// read again only past what was read before, counts it.
	res, err := facts.Call(dir, "add", json.RawMessage(`{"n": 10}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(res) != `{"count":17}` {
		t.Fatalf("Call returned %s", res)
	}
	acts, err = facts.Actions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a := acts["add"]; a.Calls != 4 || a.LastResult != `{"count":17}` || a.LastSeq <= add.LastSeq {
		t.Fatalf("after Call, add: %+v", a)
	}

	_, err = facts.Call(dir, "fail", json.RawMessage(`{"why": "third"}`))
	if err == nil || !strings.Contains(err.Error(), "boom: third at lib/boom.ts:3:") {
		t.Fatalf("a throwing Call gave %v", err)
	}
	if _, err := facts.Call(dir, "nope", nil); err == nil ||
		!strings.Contains(err.Error(), `no action "nope"`) {
		t.Fatalf("an unknown action gave %v", err)
	}
	acts, err = facts.Actions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f := acts["fail"]; f.Failures != 3 || f.LastFailure.Message != "boom: third" {
		t.Fatalf("after a failing Call, fail: %+v", f)
	}
}

func TestLSPFactsStateAfterACheckpoint(t *testing.T) {
	dir := writeProgram(t, factsProgram)
	if out, code := cliCall(t, dir, "add", `{"n": 1}`); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"checkpoint", "--dir", dir}, &out, &errOut); code != 0 {
		t.Fatalf("checkpoint: exit %d: %s%s", code, &out, &errOut)
	}
	if fields, err := newLogFacts().StateFields(dir); err != nil ||
		!slices.Equal(fields, []string{"count", "names"}) {
		t.Fatalf("state fields after a checkpoint: %v, %v", fields, err)
	}
}

func TestStateFieldsOfTaggedState(t *testing.T) {
	for _, tc := range []struct {
		state string
		want  []string
	}{
		{`{"b": 1, "a": {"x": 2}}`, []string{"a", "b"}},
		{`{"$id": 1, "me": {"$ref": 1}}`, []string{"me"}},
		{`{"$type": "object", "value": {"$type": 1, "z": 2}}`, []string{"$type", "z"}},
		{`{"$type": "object", "class": "Store", "value": {"items": []}}`, []string{"items"}},
		{`{"$type": "map", "entries": [["k", 1]]}`, nil},
		{`{}`, []string{}},
		{`42`, nil},
		{``, nil},
	} {
		got, err := stateFields(json.RawMessage(tc.state))
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("stateFields(%s) = %v, %v; want %v", tc.state, got, err, tc.want)
		}
	}
}

// TestLSPFactsCountScheduledCalls: a call the program scheduled for itself
// is a call of that action too, with its result.
func TestLSPFactsCountScheduledCalls(t *testing.T) {
	dir := writeProgram(t, map[string]string{"index.ts": `import { root } from "membrane";

export function later() {
  root.tick({ n: 3 }).$invokeIn(0.05);
  return "scheduled";
}

export function tick({ n }: { n: number }) {
  return n * 2;
}
`})
	p, err := startLive(dir, liveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if err := firstDeploy(t.Context(), p, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	ctl, err := control.Listen(dir, newControlHandler(p))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	if _, err := callAction(t.Context(), p, "later", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}

	facts := newLogFacts()
	facts.snapshotGap = 0
	var tick lsp.ActionFacts
	eventually(t, "the scheduled tick in the history", func() bool {
		acts, err := facts.Actions(dir)
		if err != nil {
			t.Fatal(err)
		}
		tick = acts["tick"]
		return tick.Calls > 0
	})
	if tick.Calls != 1 || tick.LastResult != "6" {
		t.Fatalf("tick: %+v", tick)
	}
}

// selfCommand is this binary run as membrane-dev with args.
func selfCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MEMBRANE_DEV_TEST_MAIN=1")
	cmd.Stderr = os.Stderr
	return cmd
}

// startWatchingRun starts `membrane-dev run DIR` as a real process that
// deploys on save, and waits until other commands can reach it.
func startWatchingRun(t *testing.T, dir string) {
	t.Helper()
	cmd := selfCommand("run", dir, "--addr", "127.0.0.1:0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	eventually(t, "the run serving", func() bool {
		c, err := control.Dial(dir)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// eventually polls cond until it holds or 60 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 60 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLSPFactsFromALiveRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real process")
	}
	dir := writeProgram(t, factsProgram)
	if out, code := cliCall(t, dir, "fail", `{"why": "before the run"}`); code == 0 {
		t.Fatalf("fail did not fail: %s", out)
	}
	startWatchingRun(t, dir)
	facts := newLogFacts()

	// The log is the run's now: the history comes from its copy.
	acts, err := facts.Actions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f := acts["fail"]; f.Calls != 1 || f.LastFailure == nil ||
		f.LastFailure.Message != "boom: before the run" {
		t.Fatalf("fail, read from the live run: %+v", f)
	}
	if m, err := facts.RunBuildError(dir); err != nil || m != nil {
		t.Fatalf("build error of a good run: %+v, %v", m, err)
	}

	// Calls go through the run, and state reads what the run holds now.
	if res, err := facts.Call(dir, "add", json.RawMessage(`{"n": 5}`)); err != nil ||
		string(res) != `{"count":5}` {
		t.Fatalf("Call through the run: %s, %v", res, err)
	}
	fields, err := facts.StateFields(dir)
	if err != nil || !slices.Equal(fields, []string{"count", "names"}) {
		t.Fatalf("state fields from the run: %v, %v", fields, err)
	}
	if st := facts.dir(dir).status; st == nil || !strings.Contains(string(st.State), `"count":5`) {
		t.Fatalf("state was not read from the run's status: %+v", st)
	}
	acts, err = facts.Actions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a := acts["add"]; a.Calls != 1 || a.LastResult != `{"count":5}` {
		t.Fatalf("add, read from the live run after a call: %+v", a)
	}

	// Many editor requests at once read one consistent history.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a, err := facts.Actions(dir); err != nil || a["add"].Calls != 1 {
				t.Errorf("a concurrent read: %+v, %v", a["add"], err)
			}
			if _, err := facts.StateFields(dir); err != nil {
				t.Errorf("a concurrent state read: %v", err)
			}
		}()
	}
	wg.Wait()

	// A save that does not build: the run keeps serving and says why.
	index := filepath.Join(dir, "index.ts")
	good, _ := os.ReadFile(index)
	broken := strings.Replace(string(good), "state.count += n;", "state.count += ;", 1)
	if err := os.WriteFile(index, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	var bad *bundle.Message
	eventually(t, "the run's build error", func() bool {
		var err error
		if bad, err = facts.RunBuildError(dir); err != nil {
			t.Fatal(err)
		}
		return bad != nil
	})
	if bad.File != "index.ts" || bad.Line != 7 {
		t.Fatalf("the build error is at %s:%d, not index.ts:7", bad.File, bad.Line)
	}

	// Fixed, it deploys and the error clears.
	if err := os.WriteFile(index, good, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the build error clearing", func() bool {
		m, err := facts.RunBuildError(dir)
		if err != nil {
			t.Fatal(err)
		}
		return m == nil
	})
}

// liveWithCalls starts a program in this process with n calls in its log,
// one in ten of them failing.
func liveWithCalls(b *testing.B, n int) (string, *live) {
	dir := writeProgram(b, factsProgram)
	p, err := startLive(dir, liveOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if err := firstDeploy(ctx, p, io.Discard, io.Discard); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		action, args := "add", `{"n": 1}`
		if i%10 == 0 {
			action, args = "fail", `{"why": "x"}`
		}
		if _, err := callAction(ctx, p, action, json.RawMessage(args)); err != nil {
			b.Fatal(err)
		}
	}
	return dir, p
}

// BenchmarkLSPFactsActions measures what a lens refresh costs on a stopped
// program whose log did not change, and the first read of a fresh cache.
func BenchmarkLSPFactsActions(b *testing.B) {
	dir, p := liveWithCalls(b, 2000)
	if err := p.close(); err != nil {
		b.Fatal(err)
	}

	b.Run("unchanged", func(b *testing.B) {
		facts := newLogFacts()
		if _, err := facts.Actions(dir); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := facts.Actions(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			acts, err := newLogFacts().Actions(dir)
			if err != nil || acts["add"].Calls != 1800 {
				b.Fatalf("%+v, %v", acts["add"], err)
			}
		}
	})
}

// lspProcess is an editor's end of `membrane-dev lsp` running as a real
// process: it keeps the diagnostics the server publishes.
type lspProcess struct {
	protocol.UnimplementedClient

	mu    sync.Mutex
	diags map[uri.URI][]protocol.Diagnostic
}

func (e *lspProcess) PublishDiagnostics(_ context.Context,
	p *protocol.PublishDiagnosticsParams) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.diags[p.URI] = p.Diagnostics
	return nil
}

func (e *lspProcess) messages(u uri.URI) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, d := range e.diags[u] {
		msg, _ := d.Message.(protocol.String)
		out = append(out, fmt.Sprintf("%d: %s", d.Range.Start.Line+1, msg))
	}
	return out
}

// pipes joins a process's standard output and input into one connection.
type pipes struct {
	io.Reader
	io.WriteCloser
}

// TestLSPShowsTheLog starts `membrane-dev lsp` as an editor would and checks
// that the lenses count what the log holds and that a recorded failure is
// shown at the line where it was thrown.
func TestLSPShowsTheLog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real process")
	}
	dir := writeProgram(t, factsProgram)
	for _, c := range [][2]string{{"add", `{"n": 1}`}, {"add", `{"n": 2}`}, {"fail", `{"why": "x"}`}} {
		cliCall(t, dir, c[0], c[1])
	}

	cmd := selfCommand("lsp")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ed := &lspProcess{diags: map[uri.URI][]protocol.Diagnostic{}}
	_, conn, srv := protocol.NewClient(ctx, ed,
		jsonrpc2.NewHeaderStream(pipes{stdout, stdin}))
	t.Cleanup(func() {
		_ = srv.Shutdown(ctx)
		_ = srv.Exit(ctx)
		conn.Close()
		_ = cmd.Wait()
	})
	if _, err := srv.Initialize(ctx, &protocol.InitializeParams{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Initialized(ctx, &protocol.InitializedParams{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index.ts", "lib/boom.ts"} {
		path := filepath.Join(dir, name)
		src, _ := os.ReadFile(path)
		err := srv.DidOpen(ctx, &protocol.DidOpenTextDocumentParams{
			TextDocument: protocol.TextDocumentItem{URI: uri.File(path), LanguageID: "typescript",
				Version: 1, Text: string(src)}})
		if err != nil {
			t.Fatal(err)
		}
	}

	lenses, err := srv.CodeLens(ctx, &protocol.CodeLensParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: uri.File(filepath.Join(dir, "index.ts"))}})
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, l := range lenses {
		titles = append(titles, fmt.Sprintf("%d: %s", l.Range.Start.Line+1, l.Command.Title))
	}
	for _, want := range []string{"6: 2 calls · last ", "12: no calls yet", "14: 1 call · last "} {
		if !slices.ContainsFunc(titles, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("no lens starts %q; the lenses: %q", want, titles)
		}
	}

	boom := uri.File(filepath.Join(dir, "lib/boom.ts"))
	eventually(t, "the recorded failure in lib/boom.ts", func() bool {
		return slices.ContainsFunc(ed.messages(boom), func(s string) bool {
			return strings.HasPrefix(s, "3: fail failed at event ") && strings.HasSuffix(s, ": boom: x")
		})
	})
}

// BenchmarkLSPFactsLiveRefresh measures a lens refresh while a run is live
// and its log grew by one call: a status request, a copy of the log and a
// scan of what is new.
func BenchmarkLSPFactsLiveRefresh(b *testing.B) {
	dir, p := liveWithCalls(b, 2000)
	defer p.close()
	ctl, err := control.Listen(dir, newControlHandler(p))
	if err != nil {
		b.Fatal(err)
	}
	defer ctl.Close()
	facts := newLogFacts()
	facts.snapshotGap, facts.statusTTL = 0, 0
	if _, err := facts.Actions(dir); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		if _, err := callAction(b.Context(), p, "add", json.RawMessage(`{"n": 1}`)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := facts.Actions(dir); err != nil {
			b.Fatal(err)
		}
	}
}
