package dap

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-dap"
	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

// client drives a session the way an editor does, over a net.Pipe.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	seq  int
	out  []string // console output seen so far
	done chan error
}

// startSession serves one session on a pipe with a server that opens logs
// and builds current code for real.
func startSession(t testing.TB, spacing int) *client {
	t.Helper()
	server, conn := net.Pipe()
	srv := NewServer(Config{Open: openLog, Current: currentCode, Spacing: spacing})
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn), done: make(chan error, 1)}
	go func() { c.done <- srv.ServeConn(context.Background(), server) }()
	t.Cleanup(func() {
		conn.Close()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Error("the session did not end after the client went away")
		}
	})
	return c
}

func openLog(_ context.Context, dir string) (*wal.Log, func(), error) {
	l, err := wal.Open(dir, wal.Options{ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	return l, func() { l.Close() }, nil
}

func currentCode(dir string) (*wal.CodeVersion, error) {
	p, err := bundle.Build(dir, bundle.Options{})
	if err != nil {
		return nil, err
	}
	return runtime.CodeVersionOf(p), nil
}

// send writes a request, numbering it, and returns its seq.
func (c *client) send(req dap.RequestMessage) int {
	c.t.Helper()
	c.seq++
	r := req.GetRequest()
	r.Seq, r.Type = c.seq, "request"
	c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if err := dap.WriteProtocolMessage(c.conn, req); err != nil {
		c.t.Fatalf("send %s: %v", r.Command, err)
	}
	return c.seq
}

// request builds a request of command with arguments.
func request(command string) dap.Request {
	return dap.Request{ProtocolMessage: dap.ProtocolMessage{Type: "request"}, Command: command}
}

// read reads the next message. Stopped events come back as *StoppedEvent so
// that their seq field is kept.
func (c *client) read() dap.Message {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	content, err := dap.ReadBaseMessage(c.r)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if strings.Contains(string(content), `"event":"stopped"`) {
		ev := &StoppedEvent{}
		if err := json.Unmarshal(content, ev); err != nil {
			c.t.Fatalf("decode stopped: %v", err)
		}
		return ev
	}
	msg, err := codec.DecodeMessage(content)
	if err != nil {
		c.t.Fatalf("decode %s: %v", content, err)
	}
	if o, ok := msg.(*dap.OutputEvent); ok {
		c.out = append(c.out, o.Body.Output)
	}
	return msg
}

// expect reads until a message of type T, failing on an error response.
func expect[T dap.Message](c *client) T {
	c.t.Helper()
	for {
		msg := c.read()
		if m, ok := msg.(T); ok {
			return m
		}
		if e, ok := msg.(*dap.ErrorResponse); ok {
			c.t.Fatalf("%s failed: %s", e.Command, e.Message)
		}
	}
}

// expectError reads until an error response.
func (c *client) expectError() *dap.ErrorResponse {
	c.t.Helper()
	for {
		if e, ok := c.read().(*dap.ErrorResponse); ok {
			return e
		}
	}
}

func (c *client) initialize() dap.Capabilities {
	c.t.Helper()
	req := &dap.InitializeRequest{Request: request("initialize")}
	req.Arguments.AdapterID = "membrane"
	req.Arguments.LinesStartAt1 = true
	req.Arguments.ColumnsStartAt1 = true
	c.send(req)
	return expect[*dap.InitializeResponse](c).Body
}

func (c *client) launch(args LaunchArguments) {
	c.t.Helper()
	raw, _ := json.Marshal(args)
	c.send(&dap.LaunchRequest{Request: request("launch"), Arguments: raw})
	expect[*dap.LaunchResponse](c)
	expect[*dap.InitializedEvent](c)
}

// start initializes, launches, sets breakpoints on lines of index.ts and
// finishes the configuration, returning the first stop.
func (c *client) start(dir string, stopOnEntry bool, bps ...dap.SourceBreakpoint) *StoppedEvent {
	c.t.Helper()
	c.initialize()
	c.launch(LaunchArguments{Program: dir, StopOnEntry: stopOnEntry})
	if len(bps) > 0 {
		c.setBreakpoints(filepath.Join(dir, "index.ts"), bps...)
	}
	c.send(&dap.ConfigurationDoneRequest{Request: request("configurationDone")})
	expect[*dap.ConfigurationDoneResponse](c)
	return expect[*StoppedEvent](c)
}

func (c *client) setBreakpoints(path string, bps ...dap.SourceBreakpoint) []dap.Breakpoint {
	c.t.Helper()
	req := &dap.SetBreakpointsRequest{Request: request("setBreakpoints")}
	req.Arguments.Source = dap.Source{Path: path}
	req.Arguments.Breakpoints = bps
	c.send(req)
	return expect[*dap.SetBreakpointsResponse](c).Body.Breakpoints
}

// do sends a request that moves the program and returns the stop.
func (c *client) do(req dap.RequestMessage) *StoppedEvent {
	c.t.Helper()
	c.send(req)
	return expect[*StoppedEvent](c)
}

func (c *client) cont() *StoppedEvent {
	return c.do(&dap.ContinueRequest{Request: request("continue")})
}

func (c *client) stepBack() *StoppedEvent {
	return c.do(&dap.StepBackRequest{Request: request("stepBack")})
}

func (c *client) reverseContinue() *StoppedEvent {
	return c.do(&dap.ReverseContinueRequest{Request: request("reverseContinue")})
}

func (c *client) next() *StoppedEvent { return c.do(&dap.NextRequest{Request: request("next")}) }

func (c *client) seek(seq uint64) *StoppedEvent {
	req := &SeekRequest{Request: request("membrane/seek")}
	req.Arguments.Seq = seq
	return c.do(req)
}

func (c *client) stack() []dap.StackFrame {
	c.t.Helper()
	req := &dap.StackTraceRequest{Request: request("stackTrace")}
	req.Arguments.ThreadId = 1
	c.send(req)
	return expect[*dap.StackTraceResponse](c).Body.StackFrames
}

// top is the line of the innermost frame.
func (c *client) top() int {
	c.t.Helper()
	return c.stack()[0].Line
}

func (c *client) scopes(frame int) []dap.Scope {
	c.t.Helper()
	req := &dap.ScopesRequest{Request: request("scopes")}
	req.Arguments.FrameId = frame
	c.send(req)
	return expect[*dap.ScopesResponse](c).Body.Scopes
}

func (c *client) variables(ref int) []dap.Variable {
	c.t.Helper()
	req := &dap.VariablesRequest{Request: request("variables")}
	req.Arguments.VariablesReference = ref
	c.send(req)
	return expect[*dap.VariablesResponse](c).Body.Variables
}

// scope reads a scope of the top frame by name as name=value pairs.
func (c *client) scope(name string) map[string]string {
	c.t.Helper()
	for _, s := range c.scopes(1) {
		if s.Name == name {
			out := map[string]string{}
			for _, v := range c.variables(s.VariablesReference) {
				out[v.Name] = v.Value
			}
			return out
		}
	}
	c.t.Fatalf("no scope %s", name)
	return nil
}

func (c *client) evaluate(expr, context string) (*dap.EvaluateResponse, *dap.ErrorResponse) {
	c.t.Helper()
	req := &dap.EvaluateRequest{Request: request("evaluate")}
	req.Arguments.Expression = expr
	req.Arguments.FrameId = 1
	req.Arguments.Context = context
	c.send(req)
	for {
		switch m := c.read().(type) {
		case *dap.EvaluateResponse:
			return m, nil
		case *dap.ErrorResponse:
			return nil, m
		}
	}
}

// program is a TypeScript program recorded with its calls.
type program struct {
	dir    string
	events []uint64 // seqs of the input events: the deploy, then each call
}

// recordProgram builds src as index.ts and records a deploy and the calls
// through a real Runner, as `membrane-dev run` would.
func recordProgram(t testing.TB, src string, calls ...string) *program {
	t.Helper()
	dir := t.TempDir()
	l, err := wal.Open(dir, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("test")
	if err := l.SetMeta("salt", salt); err != nil {
		t.Fatal(err)
	}
	m, err := runtime.NewMachine(runtime.Config{Salt: salt})
	if err != nil {
		t.Fatal(err)
	}
	r := runtime.NewRunner(runtime.RunnerConfig{Log: l, Machine: m, Salt: salt})
	ctx := context.Background()
	deploy := func(src string) {
		if err := os.WriteFile(filepath.Join(dir, "index.ts"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := bundle.Build(dir, bundle.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Deploy(ctx, runtime.CodeVersionOf(p)); err != nil {
			t.Fatal(err)
		}
	}
	deploy(src)
	for _, call := range calls {
		if call == "checkpoint" {
			if _, err := r.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if next, ok := strings.CutPrefix(call, "deploy "); ok {
			// A new version of index.ts, deployed as a save would.
			deploy(next)
			continue
		}
		action, args, _ := strings.Cut(call, " ")
		if args == "" {
			args = "{}"
		}
		if _, err := r.Call(ctx, action, json.RawMessage(args)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	prog := &program{dir: dir}
	err = l.Read(1, func(rec wal.Record) error {
		if runtime.IsInput(rec.Kind) {
			prog.events = append(prog.events, rec.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return prog
}

// lineOf finds the 1-based line of src holding marker.
func lineOf(t testing.TB, src, marker string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("no line holds %q", marker)
	return 0
}
