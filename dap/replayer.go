package dap

import (
	"encoding/json"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"
	"sync/atomic"

	"github.com/dop251/goja"
	"github.com/membrane-dev/membrane-dev/instrument"
	"github.com/membrane-dev/membrane-dev/replay"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

// goalKind says what a replayer runs for once resumed.
type goalKind int

const (
	goalPoint goalKind = iota // stop exactly at target; probes count but do not stop
	goalRun                   // stop at breakpoints, exceptions, a pause, or the end
	goalStep                  // stop where the step (next, in, out) ends
	goalScan                  // note breakpoint hits, stop at target
)

// stepKind is the kind of a forward step.
type stepKind int

const (
	stepIn stepKind = iota
	stepOver
	stepOut
)

// goal is what a replayer was resumed for.
type goal struct {
	kind   goalKind
	target Point
	bps    *breakpoints
	// exceptions makes goalRun stop where an event that threw ends.
	exceptions bool
	// console, when set, is told each line the program prints.
	console func(level, text string)

	// Where a step started: the kind of step, the call it was in (the host
	// of its code version and the invocation), how many frames of program
	// code were on the stack, and the event.
	step       stepKind
	fromHostID int
	fromInv    int64
	fromDepth  int
	fromEvent  int
	fromAsync  bool // the step is over an await: only the same call ends it
}

// hit is a breakpoint hit noted by a scan.
type hit struct {
	at  Point
	bps []int
}

// halt is where a replayer stopped and why.
type halt struct {
	at     Point
	reason string // a DAP stopped reason
	text   string // for exceptions: the error or the divergence
	bps    []int  // breakpoint ids for reason "breakpoint"
	end    bool   // the replay is over
	div    *replay.Divergence
	err    error // the replay failed to start or run
	stop   *instrument.Stop
	host   *host
	hits   []hit // a scan's hits, in order
}

// host is the probe host of one code version in one replayer's runtime.
type host struct {
	id   int
	code *code
	h    *instrument.Host
}

// command is sent to a replayer that is stopped.
type command struct {
	resume *goal
	do     func()
	done   chan any // receives what do panicked with, or nil
	kill   bool
}

// replayer is one replay of the log on its own goroutine. It is driven
// from one goroutine at a time, its holder: resume, do and kill block until
// it answers. started, dead, pos and countsFor belong to the holder; m
// through counts belong to the replay's goroutine and to do functions,
// which run there while it is stopped.
type replayer struct {
	hist    *history
	cmds    chan command
	halts   chan halt
	started bool
	dead    bool
	pos     Point // where it is stopped, valid while stopped

	m      *runtime.Machine
	hosts  []*host
	active *host // the host of the code deployed last: its counter is the step
	ev     int
	goal   goal
	hits   []hit
	counts map[int]int // breakpoint id -> hits so far, for hit conditions

	// countsFor is the breakpoint set whose hits counts holds from the start
	// of the recording, nil when they are partial.
	countsFor *breakpoints

	pause   atomic.Bool
	hmu     sync.Mutex // guards pauseTo against requestPause
	pauseTo []*instrument.Host
}

// requestPause stops a running replay at the next statement or event. It
// is safe from any goroutine.
func (r *replayer) requestPause() {
	r.pause.Store(true)
	r.hmu.Lock()
	defer r.hmu.Unlock()
	for _, h := range r.pauseTo {
		h.RequestPause()
	}
}

func newReplayer(h *history) *replayer {
	return &replayer{hist: h, cmds: make(chan command), halts: make(chan halt, 1), ev: -1,
		counts: map[int]int{}}
}

// resume starts or continues the replay toward g and waits for it to stop.
func (r *replayer) resume(g goal) halt {
	if r.dead {
		return halt{err: errors.New("the replay is over"), end: true}
	}
	switch {
	case !r.started && (g.kind == goalRun || g.kind == goalScan):
		r.countsFor = g.bps
	case g.kind == goalPoint || g.bps != r.countsFor:
		r.countsFor = nil
	}
	r.pause.Store(false)
	if !r.started {
		r.started = true
		r.goal = g
		go r.run()
	} else {
		r.cmds <- command{resume: &g}
	}
	h := <-r.halts
	r.pos = h.at
	if h.err != nil {
		r.kill()
	}
	return h
}

// do runs fn on the replayer's goroutine while it is stopped.
func (r *replayer) do(fn func()) {
	if !r.started || r.dead {
		fn()
		return
	}
	done := make(chan any, 1)
	r.cmds <- command{do: fn, done: done}
	if p := <-done; p != nil {
		panic(p) // on the caller's goroutine, where the handler's recover is
	}
}

// kill ends the replay and its goroutine.
func (r *replayer) kill() {
	if r.started && !r.dead {
		r.dead = true
		r.cmds <- command{kill: true}
	}
}

// runDo runs fn and returns what it panicked with, if anything.
func runDo(fn func()) (p any) {
	defer func() { p = recover() }()
	fn()
	return nil
}

func (r *replayer) run() {
	defer func() {
		// A bug below must not take the process down: the replay ends, and
		// whoever waits for it hears why.
		if p := recover(); p != nil {
			r.wait(halt{err: fmt.Errorf("internal error in the replay: %v", p), end: true,
				at: Point{Event: len(r.hist.events)}})
		}
	}()
	opts := replay.Options{Start: replay.FromEarliest, Code: r.hist.current, Deadline: deadline,
		Event: r.onEvent,
		Runtime: func(cfg *runtime.Config) {
			cfg.Transform = transform
			cfg.TransformKey = transformKey
			cfg.Setup = r.setup
		}}
	res, err := replay.Run(r.hist.log, opts)
	if r.ev >= 0 && r.active != nil {
		r.hist.noteTotal(r.ev, r.active.h.Steps())
	}
	h := halt{at: Point{Event: len(r.hist.events)}, end: true, reason: "step", hits: r.hits}
	if err != nil {
		h.err = err
	} else if res.Divergence != nil {
		h.div = res.Divergence
		h.reason = "exception"
		h.text = res.Divergence.Format()
		if i, ok := r.hist.index[res.Divergence.Seq]; ok {
			h.at = Point{Event: i}
		}
	}
	if res != nil && res.Machine != nil {
		r.m = res.Machine
	}
	r.hits = nil
	r.wait(h)
}

// setup runs on each fresh runtime. A replay that starts from a checkpoint
// evaluates its code before the first event hook: install that host now.
func (r *replayer) setup(vm *goja.Runtime) {
	r.tapConsole(vm)
	l := r.hist.log
	if l.FirstSeq() <= 1 {
		return
	}
	rec, err := l.Get(l.FirstSeq())
	if err != nil || rec.Kind != runtime.KindCheckpoint {
		return
	}
	var d runtime.DeployData
	if json.Unmarshal(rec.Data, &d) == nil {
		r.install(vm, d.Code)
	}
}

// install puts the probe host of a code version into the runtime, before
// that code is evaluated.
func (r *replayer) install(vm *goja.Runtime, hash string) {
	c, err := r.hist.codeFor(hash)
	if err != nil {
		return // the deploy fails in the runtime too, and says why
	}
	ih, err := instrument.NewHost(vm, c.res)
	if err != nil {
		return
	}
	hs := &host{id: len(r.hosts), code: c, h: ih}
	ih.OnStop(func(s instrument.Stop) { r.onStop(hs, s) })
	r.hosts = append(r.hosts, hs)
	r.active = hs
	r.hmu.Lock()
	r.pauseTo = append(r.pauseTo, ih)
	r.hmu.Unlock()
}

// onEvent is called before each event is applied: an event boundary.
func (r *replayer) onEvent(rec wal.Record, m *runtime.Machine) {
	r.m = m
	if r.ev >= 0 && r.active != nil {
		r.hist.noteTotal(r.ev, r.active.h.Steps())
	}
	r.ev = r.hist.index[rec.Seq]
	if rec.Kind == runtime.KindDeploy || rec.Kind == runtime.KindCheckpoint {
		var d runtime.DeployData
		if json.Unmarshal(rec.Data, &d) == nil {
			r.install(m.Runtime(), d.Code)
		}
	}
	for _, hs := range r.hosts {
		hs.h.ResetSteps()
	}
	at := Point{Event: r.ev}
	if (r.goal.kind == goalRun || r.goal.kind == goalStep) && r.pause.Swap(false) {
		r.wait(halt{at: at, reason: "pause"})
	} else if h, ok := r.boundaryHalt(at); ok {
		r.wait(h)
	}
	r.arm()
}

// boundaryHalt says whether the goal ends at the start of the event.
func (r *replayer) boundaryHalt(at Point) (halt, bool) {
	g := &r.goal
	switch g.kind {
	case goalPoint, goalScan:
		if !at.Less(g.target) {
			return halt{at: at, reason: "goto", hits: r.takeHits()}, true
		}
	case goalRun:
		if g.exceptions {
			if text, ok := r.hist.thrown[at.Event]; ok {
				if n, _ := r.hist.total(at.Event); n == 0 {
					return halt{at: at, reason: "exception", text: text}, true
				}
			}
		}
	case goalStep:
		// A step that leaves its event stops at the start of the next one
		// whose code runs, so stepping never skips over history silently;
		// a step over an await goes on to where the call resumes.
		if at.Event > g.fromEvent && !(g.step == stepOver && g.fromAsync) {
			if n, known := r.hist.total(at.Event); !known || n > 0 {
				return halt{at: at, reason: "step"}, true
			}
		}
	}
	return halt{}, false
}

func (r *replayer) takeHits() []hit {
	h := r.hits
	r.hits = nil
	return h
}

// arm sets the probes for the goal within the current event.
func (r *replayer) arm() {
	g := &r.goal
	for _, hs := range r.hosts {
		hs.h.ClearBreakpoints()
		hs.h.SetTarget(0)
		hs.h.SetStepping(false)
		if g.bps != nil && g.kind != goalPoint {
			for _, site := range g.bps.sitesOf(hs.code) {
				hs.h.SetBreakpoint(site, true)
			}
		}
	}
	if r.active == nil {
		return
	}
	switch g.kind {
	case goalPoint, goalScan:
		if g.target.Event == r.ev && g.target.Step > 0 {
			r.active.h.SetTarget(g.target.Step)
		}
	case goalRun:
		if g.exceptions {
			if _, ok := r.hist.thrown[r.ev]; ok {
				if n, _ := r.hist.total(r.ev); n > 0 {
					r.active.h.SetTarget(n)
				}
			}
		}
	case goalStep:
		for _, hs := range r.hosts {
			hs.h.SetStepping(true)
		}
	}
}

// onStop runs inside a probe on the runtime's goroutine.
func (r *replayer) onStop(hs *host, s instrument.Stop) {
	step := s.Step
	if hs != r.active && r.active != nil {
		step = r.active.h.Steps()
	}
	at := Point{Event: r.ev, Step: step}
	g := &r.goal
	var h halt
	stop := false
	switch g.kind {
	case goalPoint:
		stop = s.Reason.Has(instrument.ReasonTarget) && !at.Less(g.target)
		h = halt{reason: "goto"}
	case goalScan:
		if s.Reason.Has(instrument.ReasonBreakpoint) {
			if ids := r.breakpointHits(hs, s, true); len(ids) > 0 {
				r.hits = append(r.hits, hit{at: at, bps: ids})
			}
		}
		stop = s.Reason.Has(instrument.ReasonTarget) && !at.Less(g.target)
		h = halt{reason: "goto", hits: r.takeHitsIf(stop)}
	case goalRun:
		if s.Reason.Has(instrument.ReasonPause) {
			stop, h = true, halt{reason: "pause"}
			break
		}
		if s.Reason.Has(instrument.ReasonBreakpoint) {
			if ids := r.breakpointHits(hs, s, false); len(ids) > 0 {
				reason := "breakpoint"
				if g.bps.allFunctions(ids) {
					reason = "function breakpoint"
				}
				stop, h = true, halt{reason: reason, bps: ids}
				break
			}
		}
		if g.exceptions && s.Reason.Has(instrument.ReasonTarget) {
			if text, ok := r.hist.thrown[r.ev]; ok {
				stop, h = true, halt{reason: "exception", text: text}
			}
		}
	case goalStep:
		stop = !hs.code.hidden[s.Site.ID] && r.stepEnds(hs, s)
		h = halt{reason: "step"}
		if s.Reason.Has(instrument.ReasonBreakpoint) {
			if ids := r.breakpointHits(hs, s, false); len(ids) > 0 {
				stop, h = true, halt{reason: "breakpoint", bps: ids}
			}
		}
		if s.Reason.Has(instrument.ReasonPause) {
			stop, h.reason = true, "pause"
		}
	}
	if !stop {
		return
	}
	h.at, h.stop, h.host = at, &s, hs
	r.wait(h)
	r.arm()
}

func (r *replayer) takeHitsIf(stop bool) []hit {
	if !stop {
		return nil
	}
	return r.takeHits()
}

// stepEnds decides whether a step stops at this probe.
func (r *replayer) stepEnds(hs *host, s instrument.Stop) bool {
	g := &r.goal
	if g.step == stepIn || !s.Reason.Has(instrument.ReasonStep) {
		return g.step == stepIn && s.Reason.Has(instrument.ReasonStep)
	}
	same := hs.id == g.fromHostID && s.Invocation == g.fromInv
	depth := stackDepth(r.m.Runtime())
	switch g.step {
	case stepOver:
		if same {
			return true
		}
		return depth < g.fromDepth && !g.fromAsync
	case stepOut:
		return depth < g.fromDepth && !same
	}
	return true
}

// stackDepth counts the frames of program code on the stack.
func stackDepth(vm *goja.Runtime) int {
	n := 0
	for _, f := range vm.CaptureCallStack(0, nil) {
		if len(f.SrcName()) > 5 && f.SrcName()[:5] == "code/" {
			n++
		}
	}
	return n
}

// breakpointHits returns the breakpoints at the stop's site whose
// condition holds and whose hit condition is met; log points print their
// message instead. A scan counts hits but prints nothing.
func (r *replayer) breakpointHits(hs *host, s instrument.Stop, scan bool) []int {
	bps := r.goal.bps
	if bps == nil {
		return nil
	}
	var ids []int
	for _, bp := range bps.at(hs.code, s.Site.ID) {
		if bp.condition != "" {
			v, err := evalIn(r.m.Runtime(), hs, s, bp.condition)
			if err != nil || !v.ToBoolean() {
				continue
			}
		}
		r.counts[bp.id]++
		if !bp.hitMatches(r.counts[bp.id]) {
			continue
		}
		if bp.logMessage != "" {
			if !scan && bps.output != nil {
				bps.output(bp, interpolate(bp.logMessage, func(expr string) (goja.Value, error) {
					return evalIn(r.m.Runtime(), hs, s, expr)
				}))
			}
			continue
		}
		ids = append(ids, bp.id)
	}
	return ids
}

// wait reports a halt and serves commands until one resumes or kills the
// replay.
func (r *replayer) wait(h halt) {
	r.halts <- h
	for cmd := range r.cmds {
		switch {
		case cmd.kill:
			goruntime.Goexit()
		case cmd.do != nil:
			cmd.done <- runDo(cmd.do)
		case cmd.resume != nil:
			r.goal = *cmd.resume
			if h.end {
				// Nothing runs after the end: report it again.
				h.hits = nil
				r.halts <- h
				continue
			}
			if h.stop == nil && (r.goal.kind == goalPoint || r.goal.kind == goalScan) {
				if again, ok := r.boundaryHalt(h.at); ok {
					again.hits = r.takeHits()
					r.halts <- again
					continue
				}
			}
			return
		}
	}
}
