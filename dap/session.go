package dap

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/google/go-dap"
	"github.com/membrane-dev/membrane-dev/wal"
)

// Session is one debug session on one connection.
type Session struct {
	cfg    Config
	conn   io.ReadWriteCloser
	logger *slog.Logger

	wmu  sync.Mutex // guards w and seq
	w    *bufio.Writer
	seq  int
	done chan struct{}

	// mu guards what follows. The reader goroutine holds it while a handler
	// runs; the execution goroutine holds it while it installs a stop.
	mu         sync.Mutex
	launch     LaunchArguments
	dir        string
	release    func()
	hist       *history
	pool       *pool
	cur        *replayer
	at         halt
	running    bool
	exec       sync.WaitGroup
	nextBp     int
	lineBps    map[string][]*breakpoint // by file relative to the program and source reference
	progress   bool                     // the client shows progress events
	fnBps      []*breakpoint
	exceptions bool
	bps        *breakpoints
	refs       *refs
	sources    map[int]sourceRef
	sourceIDs  map[sourceRef]int
}

type sourceRef struct{ hash, file string }

func newSession(cfg Config, conn io.ReadWriteCloser) *Session {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Session{cfg: cfg, conn: conn, logger: cfg.Logger, w: bufio.NewWriter(conn),
		done: make(chan struct{}), lineBps: map[string][]*breakpoint{},
		sources: map[int]sourceRef{}, sourceIDs: map[sourceRef]int{}}
}

// serve reads requests until the client goes away or disconnects.
func (s *Session) serve(ctx context.Context) error {
	defer s.shutdown()
	go func() {
		select {
		case <-ctx.Done():
			s.conn.Close()
		case <-s.done:
		}
	}()
	r := bufio.NewReader(s.conn)
	for {
		msg, bad, err := readMessage(r)
		if err != nil && bad == nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || ctx.Err() != nil {
				return nil
			}
			select {
			case <-s.done:
				return nil
			default:
			}
			var be *dap.BaseProtocolError
			if errors.As(err, &be) {
				// The framing is lost; nothing more can be read reliably.
				return fmt.Errorf("reading a message: %w", err)
			}
			return err
		}
		if bad != nil {
			s.sendError(bad, errIDUser, err)
			continue
		}
		req, ok := msg.(dap.RequestMessage)
		if !ok {
			continue // responses to reverse requests and events are not expected
		}
		s.handle(req)
		select {
		case <-s.done:
			return nil
		default:
		}
	}
}

// handle dispatches one request. A panic becomes an error response: one
// broken handler must not end the session.
func (s *Session) handle(req dap.RequestMessage) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("dap: handler panicked", "command", req.GetRequest().Command,
				"panic", p, "stack", string(debug.Stack()))
			s.sendError(req.GetRequest(), errIDInternal,
				fmt.Errorf("internal error while handling %s: %v", req.GetRequest().Command, p))
		}
	}()
	var err error
	switch r := req.(type) {
	case *dap.InitializeRequest: // required
		err = s.onInitialize(r)
	case *dap.LaunchRequest: // required
		err = s.onLaunch(r)
	case *dap.AttachRequest: // required; a replay has nothing to attach to
		err = userf("attach is not supported: launch with a program's directory instead")
	case *dap.ConfigurationDoneRequest: // supportsConfigurationDoneRequest
		err = s.onConfigurationDone(r)
	case *dap.DisconnectRequest: // required
		err = s.onDisconnect(r)
	case *dap.TerminateRequest: // supportsTerminateRequest
		err = s.onTerminate(r)
	case *dap.RestartRequest: // supportsRestartRequest
		err = s.onRestart(r)
	case *dap.SetBreakpointsRequest: // required
		err = s.onSetBreakpoints(r)
	case *dap.SetFunctionBreakpointsRequest: // supportsFunctionBreakpoints
		err = s.onSetFunctionBreakpoints(r)
	case *dap.SetExceptionBreakpointsRequest: // required with exceptionBreakpointFilters
		err = s.onSetExceptionBreakpoints(r)
	case *dap.ThreadsRequest: // required
		err = s.onThreads(r)
	case *dap.StackTraceRequest: // required
		err = s.onStackTrace(r)
	case *dap.ScopesRequest: // required
		err = s.onScopes(r)
	case *dap.VariablesRequest: // required
		err = s.onVariables(r)
	case *dap.SourceRequest: // required: sources served from the log
		err = s.onSource(r)
	case *dap.EvaluateRequest: // supportsEvaluateForHovers, watch and repl
		err = s.onEvaluate(r)
	case *dap.ExceptionInfoRequest: // supportsExceptionInfoRequest
		err = s.onExceptionInfo(r)
	case *dap.SetVariableRequest: // supportsSetVariable is false: history is immutable
		err = userError{ErrImmutable}
	case *dap.ContinueRequest: // required
		err = s.onContinue(r)
	case *dap.NextRequest: // required
		err = s.onStep(r, &r.Request, stepOver)
	case *dap.StepInRequest: // required
		err = s.onStep(r, &r.Request, stepIn)
	case *dap.StepOutRequest: // required
		err = s.onStep(r, &r.Request, stepOut)
	case *dap.PauseRequest: // required
		err = s.onPause(r)
	case *dap.StepBackRequest: // supportsStepBack
		err = s.onStepBack(r)
	case *dap.ReverseContinueRequest: // supportsStepBack
		err = s.onReverseContinue(r)
	case *EventsRequest: // membrane/events: the log's timeline
		err = s.onEvents(r)
	case *SeekRequest: // membrane/seek: jump to the start of an event
		err = s.onSeek(r)
	default:
		err = userError{fmt.Errorf("%w: %s", errUnsupported, req.GetRequest().Command)}
	}
	if err != nil {
		id := errIDUser
		var ue userError
		if !errors.As(err, &ue) && !errors.Is(err, errRunning) &&
			!errors.Is(err, errNotLaunched) && !errors.Is(err, errNotStarted) {
			id = errIDInternal
		}
		s.sendError(req.GetRequest(), id, err)
	}
}

// send writes one message, numbering it.
func (s *Session) send(msg dap.Message) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.seq++
	switch m := msg.(type) {
	case dap.ResponseMessage:
		m.GetResponse().Seq = s.seq
	case dap.EventMessage:
		m.GetEvent().Seq = s.seq
	case *StoppedEvent:
		m.Seq = s.seq
	}
	if err := dap.WriteProtocolMessage(s.w, msg); err != nil {
		s.logger.Warn("dap: write failed", "err", err)
		return
	}
	if err := s.w.Flush(); err != nil {
		s.logger.Warn("dap: write failed", "err", err)
	}
}

func newResponse(req *dap.Request) dap.Response {
	return dap.Response{ProtocolMessage: dap.ProtocolMessage{Type: "response"},
		Command: req.Command, RequestSeq: req.Seq, Success: true}
}

func newEvent(name string) dap.Event {
	return dap.Event{ProtocolMessage: dap.ProtocolMessage{Type: "event"}, Event: name}
}

func (s *Session) sendError(req *dap.Request, id int, err error) {
	resp := &dap.ErrorResponse{Response: newResponse(req)}
	resp.Success = false
	msg := err.Error()
	resp.Message = msg
	resp.Body.Error = &dap.ErrorMessage{Id: id, Format: strings.ReplaceAll(msg, "{", "{{"),
		ShowUser: id < errIDInternal}
	s.send(resp)
}

// output sends text to the debug console.
func (s *Session) output(category, text string) {
	ev := &dap.OutputEvent{Event: newEvent("output")}
	ev.Body.Category = category
	ev.Body.Output = text
	s.send(ev)
}

func (s *Session) onInitialize(r *dap.InitializeRequest) error {
	s.mu.Lock()
	s.progress = r.Arguments.SupportsProgressReporting
	s.mu.Unlock()
	resp := &dap.InitializeResponse{Response: newResponse(&r.Request)}
	c := &resp.Body
	c.SupportsConfigurationDoneRequest = true
	c.SupportsStepBack = true
	c.SupportsConditionalBreakpoints = true
	c.SupportsHitConditionalBreakpoints = true
	c.SupportsLogPoints = true
	c.SupportsFunctionBreakpoints = true
	c.SupportsEvaluateForHovers = true
	c.SupportsRestartRequest = true
	c.SupportsTerminateRequest = true
	c.SupportsSetVariable = false
	c.SupportsExceptionInfoRequest = true
	c.SupportsDelayedStackTraceLoading = false
	c.ExceptionBreakpointFilters = []dap.ExceptionBreakpointsFilter{
		{Filter: "all", Label: "All Errors",
			Description: "Stop where an event ends with an error, whether or not a caller handles it"},
		{Filter: "uncaught", Label: "Uncaught Errors",
			Description: "Stop where an action, endpoint or deploy ends with an error", Default: true},
	}
	s.send(resp)
	return nil
}

func (s *Session) onLaunch(r *dap.LaunchRequest) error {
	var args LaunchArguments
	if err := json.Unmarshal(r.Arguments, &args); err != nil {
		return userf("the launch arguments do not decode: %v", err)
	}
	if args.Program == "" {
		return userf(`launch needs "program": the program's directory`)
	}
	switch args.Code {
	case "", "recorded", "current":
	default:
		return userf(`launch's "code" is %q; it must be "recorded" or "current"`, args.Code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist != nil {
		return userf("a program is already being debugged in this session")
	}
	if err := s.open(args); err != nil {
		return err
	}
	s.send(&dap.LaunchResponse{Response: newResponse(&r.Request)})
	s.send(&dap.InitializedEvent{Event: newEvent("initialized")})
	return nil
}

// open reads the program's log and runs the census: one replay to the end
// that learns how many statements each event runs.
func (s *Session) open(args LaunchArguments) error {
	if s.cfg.Open == nil {
		return errors.New("the server cannot open logs")
	}
	dir, err := filepath.Abs(args.Program)
	if err != nil {
		return userf("program %q: %v", args.Program, err)
	}
	l, release, err := s.cfg.Open(context.Background(), dir)
	if err != nil {
		return userError{err}
	}
	var current *wal.CodeVersion
	if args.Code == "current" {
		if s.cfg.Current == nil {
			release()
			return errors.New("the server cannot build current code")
		}
		if current, err = s.cfg.Current(dir); err != nil {
			release()
			return userError{err}
		}
	}
	h, err := newHistory(l, dir, current)
	if err != nil {
		release()
		return userError{err}
	}
	if _, err := h.allCodes(); err != nil {
		release()
		return userError{err}
	}
	if s.progress {
		start := &dap.ProgressStartEvent{Event: newEvent("progressStart")}
		start.Body.ProgressId = "census"
		start.Body.Title = fmt.Sprintf("Replaying %d events of the log", len(h.events))
		s.send(start)
		defer func() {
			end := &dap.ProgressEndEvent{Event: newEvent("progressEnd")}
			end.Body.ProgressId = "census"
			s.send(end)
		}()
	}
	census := newReplayer(h)
	end := census.resume(goal{kind: goalRun})
	census.kill()
	if end.err != nil {
		release()
		return userError{fmt.Errorf("replaying the log: %w", end.err)}
	}
	h.mu.Lock()
	h.census = true
	h.diverge = end.div
	h.mu.Unlock()

	s.launch, s.dir, s.release, s.hist = args, dir, release, h
	s.pool = newPool(h, s.cfg.Spacing, s.logger)
	s.rebuildBreakpoints()
	return nil
}

func (s *Session) onConfigurationDone(r *dap.ConfigurationDoneRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist == nil {
		return errNotLaunched
	}
	s.send(&dap.ConfigurationDoneResponse{Response: newResponse(&r.Request)})
	s.begin()
	return nil
}

// begin starts the debugging from the start of the recording. s.mu is held.
func (s *Session) begin() {
	if s.launch.StopOnEntry {
		s.start(func() (*replayer, halt) {
			r, h := s.goTo(nil, s.hist.start)
			h.reason = "entry"
			return r, h
		})
		return
	}
	bps, exc := s.bps, s.exceptions
	s.start(func() (*replayer, halt) {
		r := newReplayer(s.hist)
		return r, r.resume(goal{kind: goalRun, bps: bps, exceptions: exc,
			console: s.programOutput})
	})
}

func (s *Session) onDisconnect(r *dap.DisconnectRequest) error {
	s.send(&dap.DisconnectResponse{Response: newResponse(&r.Request)})
	s.close()
	return nil
}

// onTerminate ends the debugging; the session itself ends with the
// disconnect request the client sends next, or when it goes away.
func (s *Session) onTerminate(r *dap.TerminateRequest) error {
	s.send(&dap.TerminateResponse{Response: newResponse(&r.Request)})
	s.send(&dap.TerminatedEvent{Event: newEvent("terminated")})
	return nil
}

func (s *Session) close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
}

// shutdown ends every replay and releases the log.
func (s *Session) shutdown() {
	s.close()
	s.mu.Lock()
	if s.cur != nil && s.running {
		s.cur.requestPause()
	}
	s.mu.Unlock()
	s.exec.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.kill()
		s.cur = nil
	}
	if s.pool != nil {
		s.pool.close()
	}
	if s.release != nil {
		s.release()
		s.release = nil
	}
}

func (s *Session) onRestart(r *dap.RestartRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist == nil {
		return errNotLaunched
	}
	if s.running {
		return errRunning
	}
	var args struct {
		Arguments *LaunchArguments `json:"arguments"`
	}
	if len(r.Arguments) > 0 && json.Unmarshal(r.Arguments, &args) == nil && args.Arguments != nil {
		s.launch.StopOnEntry = args.Arguments.StopOnEntry
	}
	s.send(&dap.RestartResponse{Response: newResponse(&r.Request)})
	if s.cur != nil {
		s.cur.kill()
		s.cur = nil
	}
	s.begin()
	return nil
}

func (s *Session) onThreads(r *dap.ThreadsRequest) error {
	resp := &dap.ThreadsResponse{Response: newResponse(&r.Request)}
	resp.Body.Threads = []dap.Thread{{Id: 1, Name: "program"}}
	s.send(resp)
	return nil
}

func (s *Session) onEvents(r *EventsRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist == nil {
		return errNotLaunched
	}
	resp := &EventsResponse{Response: newResponse(&r.Request)}
	resp.Body.Events = make([]EventInfo, len(s.hist.events))
	for i, e := range s.hist.events {
		resp.Body.Events[i] = EventInfo{Seq: e.Seq, Kind: e.Kind, Time: e.Time, Summary: e.Summary}
	}
	s.send(resp)
	return nil
}
