package dap

import (
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/go-dap"
)

// start runs fn on the execution goroutine: it moves the replay and returns
// the replayer now current and where it stopped. s.mu is held by the caller
// and by the goroutine when it installs the stop, never while it runs.
func (s *Session) start(fn func() (*replayer, halt)) {
	s.running = true
	s.refs = nil
	s.exec.Add(1)
	go func() {
		defer s.exec.Done()
		defer func() {
			if p := recover(); p != nil {
				s.logger.Error("dap: a move panicked", "panic", p, "stack", string(debug.Stack()))
				s.mu.Lock()
				s.running = false
				s.refs = newRefs()
				s.mu.Unlock()
				s.output("stderr", fmt.Sprintf("internal error in the debugger: %v\n", p))
			}
		}()
		done := s.slowMove()
		r, h := fn()
		done()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.running = false
		if r != s.cur && s.cur != nil {
			s.cur.kill()
		}
		s.cur, s.at = r, h
		s.refs = newRefs()
		select {
		case <-s.done:
			return
		default:
		}
		s.reportStop(h)
	}()
}

// slowProgress is how long a move runs before the client is shown
// progress: going far back replays much of the history.
var slowProgress = 300 * time.Millisecond

// slowMove shows progress for a move that takes long, when the client
// shows progress; the function it returns ends it.
func (s *Session) slowMove() func() {
	s.mu.Lock()
	show := s.progress
	s.mu.Unlock()
	if !show {
		return func() {}
	}
	var mu sync.Mutex
	started, finished := false, false
	t := time.AfterFunc(slowProgress, func() {
		mu.Lock()
		defer mu.Unlock()
		if finished {
			return
		}
		started = true
		ev := &dap.ProgressStartEvent{Event: newEvent("progressStart")}
		ev.Body.ProgressId = "move"
		ev.Body.Title = "Replaying the log to the point asked for"
		s.send(ev)
	})
	return func() {
		t.Stop()
		mu.Lock()
		defer mu.Unlock()
		finished = true
		if started {
			ev := &dap.ProgressEndEvent{Event: newEvent("progressEnd")}
			ev.Body.ProgressId = "move"
			s.send(ev)
		}
	}
}

// reportStop sends the stopped event for a halt. s.mu is held.
func (s *Session) reportStop(h halt) {
	if h.err != nil {
		s.output("stderr", "The replay failed: "+h.err.Error()+"\n")
	}
	ev := &StoppedEvent{Event: newEvent("stopped")}
	b := &ev.Body
	b.Reason = h.reason
	if b.Reason == "" || b.Reason == "goto" && h.at == s.hist.start {
		b.Reason = "entry"
	}
	b.ThreadId = 1
	b.AllThreadsStopped = true
	b.Description = s.hist.describe(h.at)
	if h.at.Event < len(s.hist.events) {
		b.Seq = s.hist.events[h.at.Event].Seq
	}
	if h.end && h.div == nil {
		b.Reason = "end"
	}
	b.Text = h.text
	b.HitBreakpointIds = h.bps
	s.pool.setFocus(min(h.at.Event, len(s.hist.events)-1))
	s.send(ev)
}

// goTo brings a replayer to exactly p: cur when p is ahead of it, else
// the parked one nearest before p. It runs on the execution goroutine,
// which may read s.cur without s.mu: no handler changes it while running
// is set.
func (s *Session) goTo(cur *replayer, p Point) (*replayer, halt) {
	r := cur
	if r == nil || r.dead || !r.pos.Less(p) {
		r = s.pool.take(p)
	}
	return r, r.resume(goal{kind: goalPoint, target: p})
}

// ready checks that the session can move: launched, configured, stopped.
// s.mu is held.
func (s *Session) ready() error {
	if s.hist == nil {
		return errNotLaunched
	}
	if s.running {
		return errRunning
	}
	if s.cur == nil {
		return errNotStarted
	}
	return nil
}

func (s *Session) onContinue(r *dap.ContinueRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	resp := &dap.ContinueResponse{Response: newResponse(&r.Request)}
	resp.Body.AllThreadsContinued = true
	s.send(resp)
	cur, at, bps, exc := s.cur, s.at, s.bps, s.exceptions
	s.start(func() (*replayer, halt) {
		rp := cur
		if bps.hasHitConditions() && rp.countsFor != bps {
			// Hit counts run from the start of the recording: count them
			// again with a replay from there.
			rp = newReplayer(s.hist)
			rp.resume(goal{kind: goalScan, target: at.at, bps: bps})
		}
		return rp, rp.resume(goal{kind: goalRun, bps: bps, exceptions: exc,
			console: s.programOutput})
	})
	return nil
}

// programOutput shows a line the program printed while the replay moves
// forward through it.
func (s *Session) programOutput(level, text string) {
	category := "stdout"
	if level == "warn" || level == "error" {
		category = "stderr"
	}
	s.output(category, text)
}

func (s *Session) onStep(req dap.RequestMessage, r *dap.Request, kind stepKind) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	switch req.(type) {
	case *dap.NextRequest:
		s.send(&dap.NextResponse{Response: newResponse(r)})
	case *dap.StepInRequest:
		s.send(&dap.StepInResponse{Response: newResponse(r)})
	case *dap.StepOutRequest:
		s.send(&dap.StepOutResponse{Response: newResponse(r)})
	}
	cur, at, bps := s.cur, s.at, s.bps
	g := goal{kind: goalStep, step: kind, bps: bps, fromEvent: at.at.Event, fromInv: -1,
		fromHostID: -1, console: s.programOutput}
	if at.stop == nil {
		g.step = stepIn // from the start of an event, any step enters it
	} else {
		cur.do(func() {
			g.fromInv = at.stop.Invocation
			g.fromHostID = at.host.id
			g.fromDepth = stackDepth(cur.m.Runtime())
			if f := at.stop.Site.Func; f >= 0 && at.host.code.res.Funcs[f].Async {
				// Stepping over an await waits for the same call to resume,
				// in whichever event that happens.
				g.fromAsync = awaits(at.host.code, at.stop.Site.ID)
			}
		})
	}
	s.start(func() (*replayer, halt) { return cur, cur.resume(g) })
	return nil
}

func (s *Session) onPause(r *dap.PauseRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist == nil {
		return errNotLaunched
	}
	s.send(&dap.PauseResponse{Response: newResponse(&r.Request)})
	if s.running && s.cur != nil {
		s.cur.requestPause()
	}
	return nil
}

func (s *Session) onStepBack(r *dap.StepBackRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	s.send(&dap.StepBackResponse{Response: newResponse(&r.Request)})
	target := s.hist.before(s.at.at)
	s.start(func() (*replayer, halt) {
		rp, h := s.goTo(s.cur, target)
		// Statements of the bundler's glue are no place to stop: keep
		// going back over them.
		for h.err == nil && h.stop != nil && h.host.code.hidden[h.stop.Site.ID] {
			prev := rp
			rp, h = s.goTo(prev, s.hist.before(h.at))
			if prev != s.cur && prev != rp {
				prev.kill()
			}
		}
		if h.err == nil {
			h.reason = "step"
		}
		return rp, h
	})
	return nil
}

func (s *Session) onReverseContinue(r *dap.ReverseContinueRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	s.send(&dap.ReverseContinueResponse{Response: newResponse(&r.Request)})
	from, bps := s.at.at, s.bps
	s.start(func() (*replayer, halt) {
		target, bpIDs := s.previousHit(from, bps)
		rp, h := s.goTo(s.cur, target)
		if h.err == nil {
			h.reason, h.bps = "breakpoint", bpIDs
			if bpIDs == nil {
				h.reason = "entry"
			}
		}
		return rp, h
	})
	return nil
}

// previousHit finds the last breakpoint hit before from, scanning back one
// stretch of history at a time; with none it is the start of the
// recording. Hit conditions count from the start, so with any the scan
// starts there.
func (s *Session) previousHit(from Point, bps *breakpoints) (Point, []int) {
	start := s.hist.start
	if bps.empty() || !start.Less(from) {
		return start, nil
	}
	end := from
	for {
		var r *replayer
		if bps.hasHitConditions() {
			r = newReplayer(s.hist)
		} else {
			p := end
			if p.Step == 0 {
				p = Point{Event: p.Event - 1}
			}
			if p.Event < 0 {
				r = newReplayer(s.hist)
			} else {
				r = s.pool.take(p)
			}
		}
		begin := r.pos
		if !r.started {
			begin = start
		}
		h := r.resume(goal{kind: goalScan, target: end, bps: bps})
		r.kill()
		if h.err != nil {
			return start, nil
		}
		for i := len(h.hits) - 1; i >= 0; i-- {
			if h.hits[i].at.Less(from) {
				return h.hits[i].at, h.hits[i].bps
			}
		}
		if !start.Less(begin) {
			return start, nil
		}
		end = begin
	}
}

func (s *Session) onSeek(r *SeekRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	i, ok := s.hist.index[r.Arguments.Seq]
	if !ok {
		return userf("the log has no event %d", r.Arguments.Seq)
	}
	s.send(&SeekResponse{Response: newResponse(&r.Request)})
	s.start(func() (*replayer, halt) {
		rp, h := s.goTo(s.cur, Point{Event: i})
		if h.err == nil {
			h.reason = "goto"
		}
		return rp, h
	})
	return nil
}

// rebuild replaces the current replayer by a fresh one at the same point,
// after an evaluate that may have changed the program's heap. s.mu is held
// and the session is stopped.
func (s *Session) rebuild() {
	at := s.at
	r := s.pool.take(at.at)
	h := r.resume(goal{kind: goalPoint, target: at.at})
	if h.err != nil || h.at != at.at {
		r.kill()
		s.logger.Warn("dap: rebuilding the point after an evaluate failed",
			"point", fmt.Sprint(at.at), "err", h.err)
		return
	}
	s.cur.kill()
	h.reason, h.bps, h.text = at.reason, at.bps, at.text
	s.cur, s.at = r, h
	s.refs = newRefs()
}
