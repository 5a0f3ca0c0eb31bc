package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/control"
	"github.com/membrane-dev/membrane-dev/lsp"
	"github.com/membrane-dev/membrane-dev/replay"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

// This file answers the language server's questions about a program from
// what only its log and its live run know: each action's history, the
// fields of state, the live run's last build error, and calls made from
// the editor.
//
// Code lenses and diagnostics ask on every refresh, so answers are cached
// per program directory. A stopped program's history is folded in
// incrementally, from the last seq already read; a live run's log can only
// be read through a copy of the whole file, so it is copied at most once
// per snapshotGap, and only when the run says its log has grown.

func init() { lspFacts = newLogFacts() }

// logFacts is the lsp.Facts of this command.
type logFacts struct {
	// statusTTL is how long a live run's status is reused: long enough that
	// one diagnostics pass asks the run once, short enough to look live.
	statusTTL time.Duration
	// snapshotGap is the least time between two copies of a live run's log.
	snapshotGap time.Duration
	// readTimeout bounds one question to a live run or one open of the log.
	readTimeout time.Duration

	mu   sync.Mutex
	dirs map[string]*dirFacts
}

func newLogFacts() *logFacts {
	return &logFacts{
		statusTTL:   250 * time.Millisecond,
		snapshotGap: time.Second,
		readTimeout: 10 * time.Second,
		dirs:        map[string]*dirFacts{},
	}
}

// dirFacts is what is known of one program, and when it was learnt.
type dirFacts struct {
	mu sync.Mutex // one reader of this program at a time

	hist    history
	logStat fileStamp // the log file as it was when hist was last read
	copied  time.Time // when a live run's log was last copied

	status   *statusReply // the live run's, or nil when none was live
	statusAt time.Time

	stateKey    string // the log (salt and last seq) that fields were read from
	stateFields []string
}

// fileStamp tells whether a file may have changed since it was read.
type fileStamp struct {
	size    int64
	modTime time.Time
}

// errNoProgram is what the language server is told when it asks about a
// file that belongs to no program.
var errNoProgram = errors.New("the file is not part of a program: no index.ts or index.js above it")

// factsDir checks the program directory the language server names, which
// is absolute, or empty for a file outside any program.
func factsDir(dir string) (string, error) {
	if dir == "" {
		return "", errNoProgram
	}
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("the program directory %s is not an absolute path", dir)
	}
	return programDir(dir)
}

func (f *logFacts) dir(dir string) *dirFacts {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dirs[dir]
	if d == nil {
		d = &dirFacts{}
		f.dirs[dir] = d
	}
	return d
}

// question is one question about a program, answered while its facts are
// held: none other about the same program runs meanwhile.
type question struct {
	ctx  context.Context
	dir  string
	d    *dirFacts
	live *statusReply // the live run's status, or nil when none is live
}

// begin starts a question about the program in dirArg; end must follow
// when err is nil.
func (f *logFacts) begin(dirArg string) (q *question, end func(), err error) {
	dir, err := factsDir(dirArg)
	if err != nil {
		return nil, nil, err
	}
	d := f.dir(dir)
	d.mu.Lock()
	ctx, cancel := context.WithTimeout(context.Background(), f.readTimeout)
	end = func() {
		cancel()
		d.mu.Unlock()
	}
	st, err := f.liveStatus(ctx, dir, d)
	if err != nil {
		end()
		return nil, nil, err
	}
	return &question{ctx: ctx, dir: dir, d: d, live: st}, end, nil
}

// Actions returns the history of every action the log saw called.
func (f *logFacts) Actions(dirArg string) (map[string]lsp.ActionFacts, error) {
	q, end, err := f.begin(dirArg)
	if err != nil {
		return nil, err
	}
	defer end()
	ctx, dir, d := q.ctx, q.dir, q.d
	if st := q.live; st != nil {
		if st.LastSeq != d.hist.scanned && time.Since(d.copied) >= f.snapshotGap {
			if err := f.scan(ctx, dir, d); err != nil {
				return nil, err
			}
			d.copied = time.Now()
		}
		return d.hist.facts(), nil
	}

	fi, err := os.Stat(wal.Path(dir))
	if errors.Is(err, os.ErrNotExist) {
		d.hist, d.logStat = history{}, fileStamp{}
		return map[string]lsp.ActionFacts{}, nil
	}
	if err != nil {
		return nil, err
	}
	stamp := fileStamp{fi.Size(), fi.ModTime()}
	if stamp != d.logStat {
		if err := f.scan(ctx, dir, d); err != nil {
			return nil, err
		}
		// A file's time moves in coarse ticks: a write in the same tick as
		// the one just read would leave the stamp as it is. Trust only
		// stamps older than any tick.
		d.logStat = fileStamp{}
		if time.Since(stamp.modTime) > time.Second {
			d.logStat = stamp
		}
	}
	return d.hist.facts(), nil
}

// scan folds into d what the log of dir holds past what was already read.
func (f *logFacts) scan(ctx context.Context, dir string, d *dirFacts) error {
	l, done, err := openForReading(ctx, dir)
	if err != nil {
		return err
	}
	defer done()
	salt, err := replay.Salt(l)
	if err != nil {
		return err
	}
	// Another log in the same place, or one that lost its end: start over.
	if string(salt) != d.hist.salt || l.LastSeq() < d.hist.scanned {
		d.hist = history{salt: string(salt)}
	}
	from := max(d.hist.scanned+1, l.FirstSeq())
	if from > l.LastSeq() {
		return nil
	}
	if err := l.Read(from, d.hist.fold); err != nil {
		return fmt.Errorf("reading the log of %s: %w", dir, err)
	}
	return nil
}

// StateFields returns the top-level field names of state, sorted: from the
// live run, or else from the log brought up to its end by a replay.
func (f *logFacts) StateFields(dirArg string) ([]string, error) {
	q, end, err := f.begin(dirArg)
	if err != nil {
		return nil, err
	}
	defer end()
	ctx, dir, d := q.ctx, q.dir, q.d
	if q.live != nil {
		return stateFields(q.live.State)
	}
	if !hasLog(dir) {
		return nil, nil
	}
	l, done, err := openForReading(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer done()
	salt, err := replay.Salt(l)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%x/%d", salt, l.LastSeq())
	if key == d.stateKey {
		return d.stateFields, nil
	}
	state, err := stoppedState(l)
	if err != nil {
		return nil, err
	}
	fields, err := stateFields(state)
	if err != nil {
		return nil, err
	}
	d.stateKey, d.stateFields = key, fields
	return fields, nil
}

// stoppedState is the state a program's log leaves it in. A replay from the
// last checkpoint gives state as the last event left it; when the replay
// cannot run (the checkpoint is another runtime's, or the history no longer
// matches), the last checkpoint's own snapshot is the best there is.
func stoppedState(l *wal.Log) (json.RawMessage, error) {
	res, err := replay.Run(l, replay.Options{Start: replay.FromLatest, Deadline: defaultDeadline()})
	if err == nil && res.Divergence == nil && res.Machine != nil {
		return res.Machine.StateJSON()
	}
	cps, cerr := l.Checkpoints()
	if cerr != nil || len(cps) == 0 {
		if err == nil {
			err = errors.New("bringing the program back diverged from its log")
		}
		return nil, fmt.Errorf("reading state: %w", err)
	}
	var snap runtime.Snapshot
	if err := json.Unmarshal(cps[len(cps)-1].Data, &snap); err != nil {
		return nil, fmt.Errorf("the checkpoint at event %d does not decode: %w", cps[len(cps)-1].Seq, err)
	}
	return snap.State, nil
}

// stateFields reads the top-level field names of state in the tagged form:
// a plain object, or {"$type": "object", "value": {...}} for one that is a
// class instance, is referred to twice, or has keys that look like tags.
func stateFields(state json.RawMessage) ([]string, error) {
	if len(state) == 0 {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(state, &obj); err != nil {
		return nil, nil // state is not an object: it has no fields
	}
	if tag, ok := obj["$type"]; ok {
		var t string
		_ = json.Unmarshal(tag, &t)
		if t != "object" {
			return nil, nil
		}
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(obj["value"], &inner); err != nil {
			return nil, fmt.Errorf("state's tagged form does not decode: %w", err)
		}
		obj = inner
	} else {
		delete(obj, "$id")
	}
	return slices.Sorted(maps.Keys(obj)), nil
}

// RunBuildError returns the last build error of the live run, or nil when
// its last build succeeded or no run is live.
func (f *logFacts) RunBuildError(dirArg string) (*bundle.Message, error) {
	q, end, err := f.begin(dirArg)
	if err != nil {
		return nil, err
	}
	defer end()
	if q.live == nil {
		return nil, nil
	}
	return q.live.BuildError, nil
}

// liveStatus asks the live run of dir how it is, reusing an answer younger
// than statusTTL. It returns nil when no run is live.
func (f *logFacts) liveStatus(ctx context.Context, dir string, d *dirFacts) (*statusReply, error) {
	if d.status != nil && time.Since(d.statusAt) < f.statusTTL {
		return d.status, nil
	}
	d.status = nil
	c, err := control.Dial(dir)
	if err != nil {
		return nil, nil
	}
	defer c.Close()
	var st statusReply
	if err := c.Call(ctx, "GET", "/status", nil, &st); err != nil {
		return nil, fmt.Errorf("asking the live run of %s: %w", dir, err)
	}
	d.status, d.statusAt = &st, time.Now()
	return &st, nil
}

// Call runs an action as `membrane-dev call` does: through the live run, or
// else by opening the log here. The program's console output is dropped,
// since standard output carries the protocol.
func (f *logFacts) Call(dirArg, action string, args json.RawMessage) (json.RawMessage, error) {
	dir, err := factsDir(dirArg)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	ctx, cancel := context.WithTimeout(context.Background(), defaultDeadline()+f.readTimeout)
	defer cancel()

	rep, err := callHere(ctx, dir, action, args)

	// What the call wrote should show at the next refresh, not a second on.
	d := f.dir(dir)
	d.mu.Lock()
	d.copied, d.status = time.Time{}, nil
	d.mu.Unlock()

	if err != nil {
		return nil, err
	}
	if e := rep.Error; e != nil {
		if e.Unknown {
			return nil, errors.New(e.Message)
		}
		msg := fmt.Sprintf("the action %s threw: %s", action, e.Message)
		if loc := firstFrame(e.Stack); loc != "" {
			msg += " at " + loc
		}
		return nil, errors.New(msg)
	}
	return compactJSON(rep.Value), nil
}

func callHere(ctx context.Context, dir, action string, args json.RawMessage) (callReply, error) {
	if c, err := control.Dial(dir); err == nil {
		defer c.Close()
		return callThrough(ctx, c, action, args)
	}
	p, err := startLive(dir, liveOptions{})
	if err != nil {
		return callReply{}, err
	}
	defer p.close()
	if err := firstDeploy(ctx, p, io.Discard, io.Discard); err != nil {
		return callReply{}, err
	}
	return callAction(ctx, p, action, args)
}

// history is each action's record, folded from the log in seq order.
type history struct {
	salt    string // the log's; another salt is another log
	scanned uint64 // the last seq folded in

	actions   map[string]*actionHistory
	pending   map[uint64]string               // calls with no outcome yet: seq to action
	schedules map[uint64]runtime.ScheduleData // scheduled calls not yet fired
}

type actionHistory struct {
	lsp.ActionFacts
	resultOf uint64 // the call whose result LastResult is
}

func (h *history) fold(rec wal.Record) error {
	h.scanned = rec.Seq
	switch rec.Kind {
	case runtime.KindCall:
		var c runtime.CallData
		if json.Unmarshal(rec.Data, &c) == nil {
			h.called(rec, c.Action)
		}
	case runtime.KindScheduleSet:
		var s runtime.ScheduleData
		if json.Unmarshal(rec.Data, &s) == nil {
			if h.schedules == nil {
				h.schedules = map[uint64]runtime.ScheduleData{}
			}
			h.schedules[s.ID] = s
		}
	case runtime.KindScheduleClear, runtime.KindUnschedule:
		var s runtime.ScheduleData
		if json.Unmarshal(rec.Data, &s) == nil {
			delete(h.schedules, s.ID)
		}
	case runtime.KindSchedule:
		var s runtime.ScheduleData
		if json.Unmarshal(rec.Data, &s) != nil {
			break
		}
		if set, ok := h.schedules[s.ID]; ok {
			if set.Cron == "" {
				delete(h.schedules, s.ID)
			}
			h.called(rec, set.Action)
		}
	case runtime.KindResult, runtime.KindError:
		var r runtime.ResultData
		if json.Unmarshal(rec.Data, &r) == nil {
			h.outcome(rec.Kind, r)
		}
	}
	return nil
}

func (h *history) called(rec wal.Record, action string) {
	if action == "" {
		return
	}
	if h.actions == nil {
		h.actions = map[string]*actionHistory{}
		h.pending = map[uint64]string{}
	}
	a := h.actions[action]
	if a == nil {
		a = &actionHistory{}
		h.actions[action] = a
	}
	a.Calls++
	a.LastCall = time.UnixMilli(rec.Time)
	a.LastSeq = rec.Seq
	h.pending[rec.Seq] = action
}

// outcome records what call r.Call came to. Asynchronous actions may settle
// out of order; the newest call's outcome is the one kept.
func (h *history) outcome(kind string, r runtime.ResultData) {
	name, ok := h.pending[r.Call]
	if !ok {
		return // a deploy's error, or a call from before a compaction
	}
	delete(h.pending, r.Call)
	a := h.actions[name]
	if kind == runtime.KindResult {
		if r.Call >= a.resultOf {
			a.LastResult, a.resultOf = string(compactJSON(r.Value)), r.Call
		}
		return
	}
	a.Failures++
	if a.LastFailure != nil && a.LastFailure.Seq > r.Call {
		return
	}
	fail := &lsp.Failure{Message: r.Message, Seq: r.Call}
	if frames := runtime.ParseStack(r.Stack); len(frames) > 0 {
		fail.File, fail.Line, fail.Column = frames[0].File, frames[0].Line, frames[0].Column
	}
	a.LastFailure = fail
}

// facts is a copy of the history for the language server to keep.
func (h *history) facts() map[string]lsp.ActionFacts {
	out := make(map[string]lsp.ActionFacts, len(h.actions))
	for name, a := range h.actions {
		af := a.ActionFacts
		if af.LastFailure != nil {
			f := *af.LastFailure
			af.LastFailure = &f
		}
		out[name] = af
	}
	return out
}
