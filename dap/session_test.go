package dap

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-dap"
)

// counter is the program a new user records: three calls of increment.
const counter = `import { state } from "membrane";

state.count ??= 0;

export function increment({ by = 1 }: { by?: number }) {
  const before: number = state.count;
  state.count = before + by;
  return state.count;
}

export function fail({ why }: { why: string }) {
  const message = "cannot: " + why;
  throw new Error(message);
}
`

var (
	lineBefore = func(t testing.TB) int { return lineOf(t, counter, "const before") }
	lineAssign = func(t testing.TB) int { return lineOf(t, counter, "state.count = before") }
	lineReturn = func(t testing.TB) int { return lineOf(t, counter, "return state.count") }
)

func threeCalls(t testing.TB) *program {
	return recordProgram(t, counter, `increment {"by": 1}`, `increment {"by": 2}`,
		`increment {"by": 3}`)
}

func bp(line int) dap.SourceBreakpoint { return dap.SourceBreakpoint{Line: line} }

func wantStop(t *testing.T, ev *StoppedEvent, reason string, seq uint64) {
	t.Helper()
	if ev.Body.Reason != reason || ev.Body.Seq != seq {
		t.Fatalf("stopped %q in event %d (%s), want %q in event %d",
			ev.Body.Reason, ev.Body.Seq, ev.Body.Description, reason, seq)
	}
}

func wantVars(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

func TestCapabilities(t *testing.T) {
	c := startSession(t, 0)
	caps := c.initialize()
	if !caps.SupportsStepBack || !caps.SupportsConditionalBreakpoints ||
		!caps.SupportsHitConditionalBreakpoints || !caps.SupportsLogPoints ||
		!caps.SupportsFunctionBreakpoints || !caps.SupportsEvaluateForHovers ||
		!caps.SupportsRestartRequest || !caps.SupportsTerminateRequest {
		t.Errorf("capabilities lack something: %+v", caps)
	}
	var filters []string
	for _, f := range caps.ExceptionBreakpointFilters {
		filters = append(filters, f.Filter)
	}
	if strings.Join(filters, ",") != "all,uncaught" {
		t.Errorf("exception filters %v", filters)
	}
}

func TestBreakpointHitsWithValues(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	ev := c.start(p.dir, false, bp(lineAssign(t)))
	wantStop(t, ev, "breakpoint", p.events[1])
	if !strings.Contains(ev.Body.Description, "call increment") {
		t.Errorf("description %q does not name the event", ev.Body.Description)
	}
	frames := c.stack()
	if frames[0].Line != lineAssign(t) || frames[0].Source == nil ||
		frames[0].Source.Path != filepath.Join(p.dir, "index.ts") {
		t.Fatalf("top frame %+v, want index.ts:%d", frames[0], lineAssign(t))
	}
	if frames[0].Source.SourceReference != 0 {
		t.Errorf("unchanged file served from the log: %+v", frames[0].Source)
	}
	wantVars(t, c.scope("Locals"), map[string]string{"by": "1", "before": "0"})
	wantVars(t, c.scope("State"), map[string]string{"count": "0"})

	ev = c.cont()
	wantStop(t, ev, "breakpoint", p.events[2])
	wantVars(t, c.scope("Locals"), map[string]string{"by": "2", "before": "1"})
	ev = c.cont()
	wantStop(t, ev, "breakpoint", p.events[3])
	wantVars(t, c.scope("Locals"), map[string]string{"by": "3", "before": "3"})
	ev = c.cont()
	if ev.Body.Reason != "end" {
		t.Fatalf("after the last hit: stopped %q, want the end", ev.Body.Reason)
	}
}

func TestStepping(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	c.start(p.dir, false, bp(lineBefore(t)))
	if ev := c.next(); ev.Body.Reason != "step" || c.top() != lineAssign(t) {
		t.Fatalf("next stopped %q at line %d, want line %d", ev.Body.Reason, c.top(), lineAssign(t))
	}
	c.next()
	if got := c.top(); got != lineReturn(t) {
		t.Fatalf("second next at line %d, want %d", got, lineReturn(t))
	}
	// Stepping out of the action leaves the event: it stops at the start
	// of the next one.
	ev := c.do(&dap.StepOutRequest{Request: request("stepOut")})
	wantStop(t, ev, "step", p.events[2])
}

func TestStepBack(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	c.start(p.dir, false, bp(lineAssign(t)))
	wantStop(t, c.cont(), "breakpoint", p.events[2])

	// The statement before, in the same event.
	ev := c.stepBack()
	wantStop(t, ev, "step", p.events[2])
	if got := c.top(); got != lineBefore(t) {
		t.Fatalf("stepBack landed on line %d, want %d", got, lineBefore(t))
	}
	wantVars(t, c.scope("Locals"), map[string]string{"by": "2"})

	// The statement before the action's first is the last one of the
	// previous call: the bundler's export glue in between is skipped.
	ev = c.stepBack()
	wantStop(t, ev, "step", p.events[1])
	if got := c.top(); got != lineReturn(t) {
		t.Fatalf("stepping back across events landed on line %d, want %d", got, lineReturn(t))
	}
	wantVars(t, c.scope("Locals"), map[string]string{"by": "1", "before": "0"})
	wantVars(t, c.scope("State"), map[string]string{"count": "1"})

	// Stepping in from the start of an event also skips the glue.
	wantStop(t, c.seek(p.events[2]), "goto", p.events[2])
	c.next()
	if got := c.top(); got != lineBefore(t) {
		t.Fatalf("a step from the start of an event stopped at line %d, want %d", got, lineBefore(t))
	}
	wantStop(t, c.stepBack(), "step", p.events[1])

	// And forward again from there.
	c.next()
	ev = c.cont()
	wantStop(t, ev, "breakpoint", p.events[2])
}

func TestReverseContinue(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	c.start(p.dir, false, bp(lineAssign(t)))
	c.cont()
	wantStop(t, c.cont(), "breakpoint", p.events[3])

	for _, want := range []struct {
		seq uint64
		by  string
	}{{p.events[2], "2"}, {p.events[1], "1"}} {
		ev := c.reverseContinue()
		wantStop(t, ev, "breakpoint", want.seq)
		if got := c.top(); got != lineAssign(t) {
			t.Fatalf("reverseContinue landed on line %d, want %d", got, lineAssign(t))
		}
		wantVars(t, c.scope("Locals"), map[string]string{"by": want.by})
	}
	ev := c.reverseContinue()
	wantStop(t, ev, "entry", p.events[0])

	// From the end of the recording it goes back to the last hit.
	c.cont()
	c.cont()
	c.cont()
	if ev := c.cont(); ev.Body.Reason != "end" {
		t.Fatalf("stopped %q, want the end", ev.Body.Reason)
	}
	wantStop(t, c.reverseContinue(), "breakpoint", p.events[3])
}

func TestConditionsHitCountsAndLogPoints(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	ev := c.start(p.dir, false, dap.SourceBreakpoint{Line: lineAssign(t), Condition: "by === 2"})
	wantStop(t, ev, "breakpoint", p.events[2])
	if ev := c.cont(); ev.Body.Reason != "end" {
		t.Fatalf("the condition let another hit through: %+v", ev.Body)
	}
	// The condition filters hits going back too.
	wantStop(t, c.reverseContinue(), "breakpoint", p.events[2])
	wantStop(t, c.reverseContinue(), "entry", p.events[0])

	// A hit count stops at the third hit only, counted from the start
	// even after moving around.
	c.setBreakpoints(filepath.Join(p.dir, "index.ts"),
		dap.SourceBreakpoint{Line: lineAssign(t), HitCondition: "3"})
	wantStop(t, c.cont(), "breakpoint", p.events[3])
	wantStop(t, c.seek(p.events[2]), "goto", p.events[2])
	wantStop(t, c.cont(), "breakpoint", p.events[3])

	// A log point prints and does not stop.
	c.setBreakpoints(filepath.Join(p.dir, "index.ts"),
		dap.SourceBreakpoint{Line: lineAssign(t), LogMessage: "adding {by} to {before}"})
	c.seek(p.events[0])
	if ev := c.cont(); ev.Body.Reason != "end" {
		t.Fatalf("a log point stopped: %+v", ev.Body)
	}
	got := strings.Join(c.out, "")
	for _, want := range []string{"adding 1 to 0\n", "adding 2 to 1\n", "adding 3 to 3\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("console lacks %q: %q", want, got)
		}
	}
}

func TestBreakpointPlacement(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	c.initialize()
	c.launch(LaunchArguments{Program: p.dir})
	blank := lineOf(t, counter, "state.count ??= 0") + 1 // an empty line
	got := c.setBreakpoints(filepath.Join(p.dir, "index.ts"), bp(blank), bp(1000))
	if !got[0].Verified || got[0].Line != lineOf(t, counter, "export function increment") {
		t.Errorf("a breakpoint on an empty line: %+v, want it moved to the next statement", got[0])
	}
	if !got[1].Verified || got[1].Line >= 1000 {
		t.Errorf("a breakpoint past the end: %+v", got[1])
	}
	other := c.setBreakpoints(filepath.Join(p.dir, "other.ts"), bp(1))
	if other[0].Verified || !strings.Contains(other[0].Message, "not part of the code that ran") {
		t.Errorf("a breakpoint in a file that never ran: %+v", other[0])
	}
}

func TestFunctionBreakpoint(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	c.initialize()
	c.launch(LaunchArguments{Program: p.dir})
	req := &dap.SetFunctionBreakpointsRequest{Request: request("setFunctionBreakpoints")}
	req.Arguments.Breakpoints = []dap.FunctionBreakpoint{{Name: "increment"}, {Name: "nope"}}
	c.send(req)
	resp := expect[*dap.SetFunctionBreakpointsResponse](c)
	if !resp.Body.Breakpoints[0].Verified || resp.Body.Breakpoints[1].Verified {
		t.Fatalf("function breakpoints %+v", resp.Body.Breakpoints)
	}
	c.send(&dap.ConfigurationDoneRequest{Request: request("configurationDone")})
	ev := expect[*StoppedEvent](c)
	wantStop(t, ev, "function breakpoint", p.events[1])
	if got := c.top(); got != lineBefore(t) {
		t.Errorf("stopped at line %d, want the first statement, %d", got, lineBefore(t))
	}
}

func TestExceptions(t *testing.T) {
	p := recordProgram(t, counter, `increment {"by": 1}`, `fail {"why": "no reason"}`,
		`increment {"by": 1}`)
	c := startSession(t, 0)
	c.initialize()
	c.launch(LaunchArguments{Program: p.dir})
	req := &dap.SetExceptionBreakpointsRequest{Request: request("setExceptionBreakpoints")}
	req.Arguments.Filters = []string{"uncaught"}
	c.send(req)
	expect[*dap.SetExceptionBreakpointsResponse](c)
	c.send(&dap.ConfigurationDoneRequest{Request: request("configurationDone")})
	ev := expect[*StoppedEvent](c)
	wantStop(t, ev, "exception", p.events[2])
	if !strings.Contains(ev.Body.Text, "cannot: no reason") {
		t.Errorf("exception text %q", ev.Body.Text)
	}
	if got := c.top(); got != lineOf(t, counter, "throw new Error") {
		t.Errorf("stopped at line %d, want the throw", got)
	}
	wantVars(t, c.scope("Locals"), map[string]string{"message": `"cannot: no reason"`})

	c.send(&dap.ExceptionInfoRequest{Request: request("exceptionInfo")})
	info := expect[*dap.ExceptionInfoResponse](c).Body
	if !strings.Contains(info.Description, "cannot: no reason") ||
		!strings.Contains(info.Details.StackTrace, "index.ts") {
		t.Errorf("exception info %+v %+v", info, info.Details)
	}
}

func TestEventsAndSeek(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	c.start(p.dir, true)
	c.send(&EventsRequest{Request: request("membrane/events")})
	events := expect[*EventsResponse](c).Body.Events
	var got []string
	for _, e := range events {
		got = append(got, e.Summary)
	}
	if len(events) != 4 || events[0].Kind != "deploy" || events[3].Seq != p.events[3] ||
		strings.Join(got[1:], ",") != "call increment,call increment,call increment" {
		t.Fatalf("events %+v", events)
	}

	ev := c.seek(p.events[2])
	wantStop(t, ev, "goto", p.events[2])
	ev2 := c.scope("Event")
	if ev2["kind"] != `"call"` || !strings.Contains(ev2["data"], `action: "increment"`) {
		t.Errorf("event scope %v", ev2)
	}
	wantVars(t, c.scope("State"), map[string]string{"count": "1"})
	if !strings.Contains(c.stack()[0].Name, "call increment") {
		t.Errorf("frame at the start of an event: %+v", c.stack()[0])
	}
	// Back and forth.
	wantStop(t, c.seek(p.events[1]), "goto", p.events[1])
	wantStop(t, c.seek(p.events[3]), "goto", p.events[3])
	wantVars(t, c.scope("State"), map[string]string{"count": "3"})
}

func TestSourceFromLogAfterChange(t *testing.T) {
	p := threeCalls(t)
	changed := "// a comment that moves every line down\n\n" + counter
	if err := os.WriteFile(filepath.Join(p.dir, "index.ts"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startSession(t, 0)
	// Set on the file as it is now, the breakpoint binds to the same
	// statement in the code that ran, and the stop shows that code.
	c.start(p.dir, false, bp(lineOf(t, changed, "state.count = before")))
	top := c.stack()[0]
	if top.Line != lineAssign(t) || top.Source.SourceReference == 0 {
		t.Fatalf("top frame %+v: want line %d served from the log", top, lineAssign(t))
	}
	req := &dap.SourceRequest{Request: request("source")}
	req.Arguments.SourceReference = top.Source.SourceReference
	req.Arguments.Source = top.Source
	c.send(req)
	if got := expect[*dap.SourceResponse](c).Body.Content; got != counter {
		t.Errorf("served source is not the one that ran:\n%s", got)
	}

	// A breakpoint set in the source shown from the log binds at its line.
	set := &dap.SetBreakpointsRequest{Request: request("setBreakpoints")}
	set.Arguments.Source = *top.Source
	set.Arguments.Breakpoints = []dap.SourceBreakpoint{bp(lineReturn(t))}
	c.send(set)
	got := expect[*dap.SetBreakpointsResponse](c).Body.Breakpoints
	if !got[0].Verified || got[0].Line != lineReturn(t) {
		t.Fatalf("breakpoint in the log's source: %+v", got[0])
	}
	wantStop(t, c.cont(), "breakpoint", p.events[1])
	if line := c.top(); line != lineReturn(t) {
		t.Errorf("stopped at line %d, want %d", line, lineReturn(t))
	}
}

func TestEvaluateLeavesHistoryAlone(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	c.start(p.dir, false, bp(lineAssign(t)))
	c.cont()
	if r, e := c.evaluate("before + by", "watch"); e != nil || r.Body.Result != "3" {
		t.Fatalf("watch: %+v %+v", r, e)
	}
	if r, e := c.evaluate("state.count = 100", "repl"); e != nil || r.Body.Result != "100" {
		t.Fatalf("repl assignment: %+v %+v", r, e)
	}
	if r, _ := c.evaluate("state.count", "hover"); r == nil || r.Body.Result != "1" {
		t.Fatalf("after an assignment state.count is %+v, want history's 1", r)
	}
	if _, e := c.evaluate("nosuch", "repl"); e == nil || !strings.Contains(e.Message, "nosuch") {
		t.Errorf("evaluating an unknown name: %+v", e)
	}
	wantStop(t, c.cont(), "breakpoint", p.events[3])
	wantVars(t, c.scope("Locals"), map[string]string{"before": "3"})

	req := &dap.SetVariableRequest{Request: request("setVariable")}
	req.Arguments.Name = "by"
	req.Arguments.Value = "5"
	c.send(req)
	if e := c.expectError(); !strings.Contains(e.Message, "history is immutable") {
		t.Errorf("setVariable: %s", e.Message)
	}
}

func TestMalformedMessages(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	c.initialize()
	body := `{"seq": 5, "type": "request", "command": "launch", "arguments": 7}`
	if err := dap.WriteBaseMessage(c.conn, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if e := c.expectError(); e.RequestSeq != 5 {
		t.Errorf("error for a bad launch answers request %d", e.RequestSeq)
	}
	if err := dap.WriteBaseMessage(c.conn, []byte(`{not json`)); err != nil {
		t.Fatal(err)
	}
	c.expectError()
	c.send(&dap.Request{ProtocolMessage: dap.ProtocolMessage{Type: "request"}, Command: "fly"})
	if e := c.expectError(); !strings.Contains(e.Message, "does not support") {
		t.Errorf("unknown command: %s", e.Message)
	}
	c.send(&dap.LaunchRequest{Request: request("launch"), Arguments: []byte(`{"program": ""}`)})
	c.expectError()
	// The session goes on.
	ev := c.start(p.dir, true)
	wantStop(t, ev, "entry", p.events[0])
}

func TestCurrentCodeDivergence(t *testing.T) {
	p := threeCalls(t)
	changed := strings.Replace(counter, "before + by", "before + by * 2", 1)
	if err := os.WriteFile(filepath.Join(p.dir, "index.ts"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startSession(t, 0)
	c.initialize()
	c.launch(LaunchArguments{Program: p.dir, Code: "current"})
	c.send(&dap.ConfigurationDoneRequest{Request: request("configurationDone")})
	ev := expect[*StoppedEvent](c)
	wantStop(t, ev, "exception", p.events[1])
	if !strings.Contains(ev.Body.Text, "event") {
		t.Errorf("divergence text %q", ev.Body.Text)
	}
}

func TestRestartAndTerminate(t *testing.T) {
	p := threeCalls(t)
	c := startSession(t, 0)
	c.start(p.dir, false, bp(lineAssign(t)))
	c.cont()
	ev := c.do(&dap.RestartRequest{Request: request("restart")})
	wantStop(t, ev, "breakpoint", p.events[1])
	c.send(&dap.TerminateRequest{Request: request("terminate")})
	expect[*dap.TerminateResponse](c)
	expect[*dap.TerminatedEvent](c)
	c.send(&dap.DisconnectRequest{Request: request("disconnect")})
	expect[*dap.DisconnectResponse](c)
	select {
	case err := <-c.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end after disconnect")
	}
	c.done <- nil // for the cleanup's wait
}

// TestTwoCodeVersions debugs a history with a deploy in the middle: a
// breakpoint binds in both versions, each stop shows the code that ran, and
// the file served from the log is the old one where it differs from disk.
func TestTwoCodeVersions(t *testing.T) {
	v2 := strings.Replace(counter, "const before: number = state.count;",
		"// version two\n  const before: number = state.count * 1;", 1)
	p := recordProgram(t, counter, `increment {"by": 1}`, "deploy "+v2, `increment {"by": 2}`)
	c := startSession(t, 0)
	c.start(p.dir, false, bp(lineOf(t, v2, "state.count = before")))

	top := c.stack()[0]
	if top.Line != lineAssign(t) || top.Source.SourceReference == 0 {
		t.Fatalf("stop in the first version at %+v, want line %d from the log", top, lineAssign(t))
	}
	wantVars(t, c.scope("Locals"), map[string]string{"by": "1"})

	ev := c.cont()
	wantStop(t, ev, "breakpoint", p.events[3])
	top = c.stack()[0]
	if top.Line != lineOf(t, v2, "state.count = before") || top.Source.SourceReference != 0 {
		t.Fatalf("stop in the second version at %+v", top)
	}
	wantVars(t, c.scope("Locals"), map[string]string{"by": "2", "before": "1"})

	// Back into the first version, across the deploy.
	wantStop(t, c.reverseContinue(), "breakpoint", p.events[1])
	wantVars(t, c.scope("Locals"), map[string]string{"by": "1", "before": "0"})
}

// asyncProgram sleeps between two statements: the call event runs the
// first, a timer event later runs the rest.
const asyncProgram = `import { state, sleep } from "membrane";

export async function slow({ ms }: { ms: number }) {
  const a = 1;
  await sleep(ms / 1000);
  const b = a + 1;
  return b;
}
`

func TestStepOverAwait(t *testing.T) {
	p := recordProgram(t, asyncProgram, `slow {"ms": 20}`)
	if len(p.events) != 3 {
		t.Fatalf("recorded events %v, want the deploy, the call and the timer", p.events)
	}
	c := startSession(t, 0)
	ev := c.start(p.dir, false, bp(lineOf(t, asyncProgram, "await sleep")))
	wantStop(t, ev, "breakpoint", p.events[1])
	ev = c.next()
	wantStop(t, ev, "step", p.events[2])
	if got := c.top(); got != lineOf(t, asyncProgram, "const b") {
		t.Fatalf("stepping over the await stopped at line %d, want %d", got,
			lineOf(t, asyncProgram, "const b"))
	}
	wantVars(t, c.scope("Locals"), map[string]string{"a": "1", "ms": "20"})

	// Stepping back mirrors it: the statement before is the await.
	wantStop(t, c.stepBack(), "step", p.events[1])
	if got := c.top(); got != lineOf(t, asyncProgram, "await sleep") {
		t.Fatalf("stepping back over the await stopped at line %d", got)
	}
}

func TestErrorsBeforeAndAtLaunch(t *testing.T) {
	c := startSession(t, 0)
	c.initialize()
	c.send(&dap.StackTraceRequest{Request: request("stackTrace")})
	if e := c.expectError(); !strings.Contains(e.Message, "send launch first") {
		t.Errorf("stackTrace before launch: %s", e.Message)
	}
	raw := []byte(`{"program": "` + t.TempDir() + `"}`)
	c.send(&dap.LaunchRequest{Request: request("launch"), Arguments: raw})
	if e := c.expectError(); e.Body.Error == nil || !e.Body.Error.ShowUser {
		t.Errorf("launching a directory without a log: %+v", e)
	}
	c.send(&dap.LaunchRequest{Request: request("launch"),
		Arguments: []byte(`{"program": "x", "code": "tomorrow"}`)})
	if e := c.expectError(); !strings.Contains(e.Message, `"recorded" or "current"`) {
		t.Errorf("a bad code setting: %s", e.Message)
	}

	p := threeCalls(t)
	c.launch(LaunchArguments{Program: p.dir})
	got := c.setBreakpoints(filepath.Join(p.dir, "index.ts"),
		dap.SourceBreakpoint{Line: lineAssign(t), HitCondition: "often"})
	if got[0].Verified || !strings.Contains(got[0].Message, "hit condition") {
		t.Errorf("a hit condition that is not a count: %+v", got[0])
	}
	c.send(&dap.StepBackRequest{Request: request("stepBack")})
	if e := c.expectError(); !strings.Contains(e.Message, "send configurationDone") {
		t.Errorf("stepBack before configurationDone: %s", e.Message)
	}
}

func TestProgramOutput(t *testing.T) {
	const src = `import { state } from "membrane";
state.count ??= 0;
export function increment({ by = 1 }: { by?: number }) {
  state.count += by;
  console.log("count is", state.count, { by });
  console.warn("careful");
  return state.count;
}
`
	p := recordProgram(t, src, `increment {"by": 1}`, `increment {"by": 2}`)
	c := startSession(t, 0)
	if ev := c.start(p.dir, false); ev.Body.Reason != "end" {
		t.Fatalf("stopped %q, want the end", ev.Body.Reason)
	}
	got := strings.Join(c.out, "")
	if !strings.Contains(got, "count is 1 {by: 1}\ncareful\ncount is 3 {by: 2}\n") {
		t.Fatalf("the program's output as the replay ran: %q", got)
	}
	// Jumping prints nothing; running forward again prints what it passes.
	c.out = nil
	c.seek(p.events[2])
	c.cont()
	if got := strings.Join(c.out, ""); got != "count is 3 {by: 2}\ncareful\n" {
		t.Fatalf("output after a jump back and a continue: %q", got)
	}
}

// TestPanicBecomesErrorResponse breaks a session on purpose (a history
// without a log) and checks that the handler's panic comes back as an
// error response and the session keeps answering.
func TestPanicBecomesErrorResponse(t *testing.T) {
	server, conn := net.Pipe()
	defer conn.Close()
	s := newSession(Config{}, server)
	s.dir = t.TempDir()
	s.hist = &history{index: map[uint64]int{1: 0}, codes: map[string]*code{},
		events: []event{{Seq: 1, Kind: "deploy", Data: []byte(`{"code":"abc"}`)}}}
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}

	req := &dap.SetBreakpointsRequest{Request: request("setBreakpoints")}
	req.Seq = 7
	req.Arguments.Source.Path = filepath.Join(s.dir, "index.ts")
	go s.handle(req)
	e := c.expectError()
	if e.RequestSeq != 7 || !strings.Contains(e.Message, "internal error") ||
		e.Body.Error == nil || e.Body.Error.Id != errIDInternal {
		t.Fatalf("panic answered with %+v", e)
	}
	go s.handle(&dap.ThreadsRequest{Request: request("threads")})
	expect[*dap.ThreadsResponse](c)
}

func TestStructuredValuesExpandAndPage(t *testing.T) {
	const src = `import { state } from "membrane";
export function fill() {
  const tags = new Set(["a", "b"]);
  const byName = new Map<string, number>([["x", 1], ["y", 2]]);
  const list = Array.from({ length: 250 }, (_, i) => i * 2);
  const nested = { inner: { deep: true }, when: new Date(0) };
  state.done = true; // stop here
  return list.length + tags.size + byName.size + (nested.inner.deep ? 1 : 0);
}
`
	p := recordProgram(t, src, "fill")
	c := startSession(t, 0)
	ev := c.start(p.dir, false, bp(lineOf(t, src, "stop here")))
	wantStop(t, ev, "breakpoint", p.events[1])

	vars := map[string]dap.Variable{}
	for _, s := range c.scopes(1) {
		if s.Name == "Locals" {
			for _, v := range c.variables(s.VariablesReference) {
				vars[v.Name] = v
			}
		}
	}
	names := func(ref int) map[string]string {
		out := map[string]string{}
		for _, v := range c.variables(ref) {
			out[v.Name] = v.Value
		}
		return out
	}
	if v := vars["tags"]; v.Value != "Set(2)" || v.VariablesReference == 0 {
		t.Fatalf("tags: %+v", v)
	}
	wantVars(t, names(vars["tags"].VariablesReference), map[string]string{"0": `"a"`, "1": `"b"`})
	if v := vars["byName"]; v.Value != "Map(2)" {
		t.Fatalf("byName: %+v", v)
	}
	wantVars(t, names(vars["byName"].VariablesReference), map[string]string{`"x"`: "1", `"y"`: "2"})
	wantVars(t, names(vars["nested"].VariablesReference),
		map[string]string{"inner": "{deep: true}", "when": "1970-01-01T00:00:00.000Z"})

	list := vars["list"]
	if list.IndexedVariables != 250 {
		t.Fatalf("list: %+v", list)
	}
	req := &dap.VariablesRequest{Request: request("variables")}
	req.Arguments.VariablesReference = list.VariablesReference
	req.Arguments.Filter = "indexed"
	req.Arguments.Start = 100
	req.Arguments.Count = 3
	c.send(req)
	page := expect[*dap.VariablesResponse](c).Body.Variables
	if len(page) != 3 || page[0].Name != "100" || page[0].Value != "200" || page[2].Value != "204" {
		t.Fatalf("a page of the array: %+v", page)
	}
}

// TestOneStopPerLine: a line with two statements stops once per run of it,
// and a one-line function stops in its body.
func TestOneStopPerLine(t *testing.T) {
	const src = `export function pick({ x }: { x: number }) {
  if (x > 1) return "big";
  return "small";
}
export const twice = ({ x }: { x: number }) => { return x * 2; };
`
	p := recordProgram(t, src, `pick {"x": 5}`, `twice {"x": 4}`)
	c := startSession(t, 0)
	ev := c.start(p.dir, false, bp(2), bp(5))
	// The line of twice runs once in the deploy, defining it.
	wantStop(t, ev, "breakpoint", p.events[0])
	wantStop(t, c.cont(), "breakpoint", p.events[1])
	if got := c.top(); got != 2 {
		t.Fatalf("stopped at line %d, want 2", got)
	}
	ev = c.cont()
	wantStop(t, ev, "breakpoint", p.events[2])
	wantVars(t, c.scope("Locals"), map[string]string{"x": "4"})
	if ev := c.cont(); ev.Body.Reason != "end" {
		t.Fatalf("stopped %q at line %d, want the end", ev.Body.Reason, c.top())
	}
}
