package dap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	goruntime "runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-dap"
	"github.com/membrane-dev/membrane-dev/wal"
)

// manyCalls records n increments, call i adding i.
func manyCalls(t testing.TB, n int) *program {
	calls := make([]string, n)
	for i := range calls {
		calls[i] = fmt.Sprintf(`increment {"by": %d}`, i+1)
	}
	return recordProgram(t, counter, calls...)
}

func sum(n int) int { return n * (n + 1) / 2 }

// TestTimeTravelFromParkedReplays moves around a longer history with
// replays parked every few events, so that going back starts from them.
func TestTimeTravelFromParkedReplays(t *testing.T) {
	const n = 40
	p := manyCalls(t, n)
	c := startSession(t, 4)
	c.start(p.dir, true)
	c.setBreakpoints(p.dir+"/index.ts", bp(lineAssign(t)))

	for round := 0; round < 2; round++ {
		// Call k is event k (the deploy is event 0).
		wantStop(t, c.seek(p.events[30]), "goto", p.events[30])
		wantVars(t, c.scope("State"), map[string]string{"count": strconv.Itoa(sum(29))})

		ev := c.stepBack()
		wantStop(t, ev, "step", p.events[29])
		if got := c.top(); got != lineReturn(t) {
			t.Fatalf("stepBack landed on line %d, want %d", got, lineReturn(t))
		}
		wantVars(t, c.scope("Locals"), map[string]string{"by": "29"})
		wantVars(t, c.scope("State"), map[string]string{"count": strconv.Itoa(sum(29))})

		wantStop(t, c.reverseContinue(), "breakpoint", p.events[29])
		wantVars(t, c.scope("Locals"), map[string]string{"by": "29",
			"before": strconv.Itoa(sum(28))})
		wantStop(t, c.reverseContinue(), "breakpoint", p.events[28])
		wantVars(t, c.scope("Locals"), map[string]string{"by": "28"})

		wantStop(t, c.cont(), "breakpoint", p.events[29])
		wantVars(t, c.scope("Locals"), map[string]string{"by": "29"})
	}

	// A condition that holds once, far back: reverseContinue scans back
	// over several parked stretches to find it.
	c.setBreakpoints(p.dir+"/index.ts",
		dap.SourceBreakpoint{Line: lineAssign(t), Condition: "by === 3"})
	wantStop(t, c.seek(p.events[n]), "goto", p.events[n])
	wantStop(t, c.reverseContinue(), "breakpoint", p.events[3])
	wantVars(t, c.scope("Locals"), map[string]string{"by": "3", "before": "3"})
	wantStop(t, c.reverseContinue(), "entry", p.events[0])
}

func TestPause(t *testing.T) {
	p := manyCalls(t, 300)
	c := startSession(t, 0)
	c.start(p.dir, true)
	c.send(&dap.ContinueRequest{Request: request("continue")})
	expect[*dap.ContinueResponse](c)
	c.send(&dap.PauseRequest{Request: request("pause")})
	expect[*dap.PauseResponse](c)
	ev := expect[*StoppedEvent](c)
	if ev.Body.Reason != "pause" && ev.Body.Reason != "end" {
		t.Fatalf("after pause: stopped %q", ev.Body.Reason)
	}
	t.Logf("stopped %q in %s", ev.Body.Reason, ev.Body.Description)
	// Wherever it paused, the session answers and can go on.
	c.stack()
	c.scope("State")
}

func TestListenLoopbackOnly(t *testing.T) {
	if _, err := Listen("0.0.0.0:0"); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("listening on every address: %v", err)
	}
	if _, err := Listen("192.168.1.1:0"); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("listening on a LAN address: %v", err)
	}

	p := threeCalls(t)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- NewServer(Config{Open: openLog, Current: currentCode}).Serve(ctx, ln)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	ev := c.start(p.dir, false, bp(lineAssign(t)))
	wantStop(t, ev, "breakpoint", p.events[1])
	c.send(&dap.DisconnectRequest{Request: request("disconnect")})
	expect[*dap.DisconnectResponse](c)
	conn.Close()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
}

// TestSessionEndsItsReplays checks that a session that moved around and
// parked replays leaves no goroutine behind once the client goes away.
func TestSessionEndsItsReplays(t *testing.T) {
	p := manyCalls(t, 30)
	before := goruntime.NumGoroutine()

	server, conn := net.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- NewServer(Config{Open: openLog, Spacing: 4}).ServeConn(context.Background(), server)
	}()
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.start(p.dir, false, bp(lineAssign(t)))
	c.cont()
	c.stepBack()
	c.reverseContinue()
	c.seek(p.events[25])
	conn.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := goruntime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left over %d:\n%s", n, before, buf[:goruntime.Stack(buf, true)])
	}
}

// TestProgressOnLongMoves shows progress for a move that takes long: here
// every move, with the threshold at zero.
func TestProgressOnLongMoves(t *testing.T) {
	old := slowProgress
	slowProgress = 0
	t.Cleanup(func() { slowProgress = old })

	p := manyCalls(t, 300)
	c := startSession(t, 1_000_000) // no parked replays: going back replays from the start
	req := &dap.InitializeRequest{Request: request("initialize")}
	req.Arguments.SupportsProgressReporting = true
	c.send(req)
	expect[*dap.InitializeResponse](c)
	c.send(&dap.LaunchRequest{Request: request("launch"),
		Arguments: []byte(`{"program": "` + p.dir + `"}`)})
	expect[*dap.ProgressStartEvent](c) // the census
	expect[*dap.ProgressEndEvent](c)
	expect[*dap.LaunchResponse](c)
	expect[*dap.InitializedEvent](c)
	c.send(&dap.ConfigurationDoneRequest{Request: request("configurationDone")})
	expect[*StoppedEvent](c)

	c.send(&SeekRequest{Request: request("membrane/seek"),
		Arguments: SeekArguments{Seq: p.events[290]}})
	expect[*SeekResponse](c)
	start := expect[*dap.ProgressStartEvent](c)
	end := expect[*dap.ProgressEndEvent](c)
	if start.Body.ProgressId != end.Body.ProgressId {
		t.Errorf("progress %q ended as %q", start.Body.ProgressId, end.Body.ProgressId)
	}
	wantStop(t, expect[*StoppedEvent](c), "goto", p.events[290])
}

// TestCompactedLog debugs a log whose history before a checkpoint was
// dropped: the replay starts from the checkpoint's state.
func TestCompactedLog(t *testing.T) {
	p := recordProgram(t, counter, `increment {"by": 1}`, `increment {"by": 2}`, "checkpoint",
		`increment {"by": 3}`)
	l, err := wal.Open(p.dir, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cps, err := l.Checkpoints()
	if err != nil || len(cps) == 0 {
		t.Fatalf("checkpoints %v: %v", cps, err)
	}
	if err := l.Compact(cps[len(cps)-1].Seq); err != nil {
		t.Fatal(err)
	}
	l.Close()

	c := startSession(t, 0)
	ev := c.start(p.dir, false, bp(lineAssign(t)))
	wantStop(t, ev, "breakpoint", p.events[4])
	wantVars(t, c.scope("Locals"), map[string]string{"by": "3", "before": "3"})
	wantStop(t, c.stepBack(), "step", p.events[4])
	// The start is the first event after the checkpoint, which is restored
	// before anything runs.
	wantStop(t, c.reverseContinue(), "entry", p.events[4])
	c.send(&EventsRequest{Request: request("membrane/events")})
	if events := expect[*EventsResponse](c).Body.Events; len(events) != 2 ||
		events[0].Kind != "checkpoint" {
		t.Fatalf("events of the compacted log: %+v", events)
	}
}
