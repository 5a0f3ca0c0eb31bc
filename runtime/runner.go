package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/membrane-dev/membrane-dev/wal"
)

// The Runner's goroutines:
//
//   - the loop owns the Machine. It takes a request, applies it, then takes
//     every request already waiting and applies those too, and commits the
//     whole batch in one transaction: a lone call costs one commit and never
//     waits for company, while concurrent callers share fsyncs. Only once the
//     batch is durable does the loop let its effects out, in order: replies
//     to callers, console lines, fetches, timers. Nothing escapes before it
//     is durable.
//   - one goroutine per fetch in flight, and Go timers for the program's
//     timers and schedules; each turns what happened into a new request.
//   - callers block on their reply channel; a caller that hangs up does not
//     cancel its event.

// RunnerConfig sets up a Runner.
type RunnerConfig struct {
	Log       *wal.Log
	Machine   *Machine // restored from the log, see package replay
	Salt      []byte
	Deadline  time.Duration
	Transport http.RoundTripper // fetch goes through it; nil: http.DefaultTransport
	Now       func() time.Time  // nil: time.Now
	// Console receives the program's console lines once they are durable.
	Console func(level, text string)
	// Rebuild makes a fresh Machine from the log, after a runaway event.
	Rebuild func() (*Machine, error)
	// CheckpointEvery makes a checkpoint every N events, when nothing is
	// pending; 0: never.
	CheckpointEvery int
	Logger          *slog.Logger
}

// Reply is what became of a request once it was durable.
type Reply struct {
	Seq    uint64  // the event's seq
	Output *Output // the result, error, response or deploy outcome
	Err    error   // the request was not taken (busy, runaway, closed)
}

type request struct {
	kind  string
	data  json.RawMessage
	code  *wal.CodeVersion
	reply chan Reply // nil: nobody waits
	wait  bool       // reply on the settling output, not on the commit
}

// effects are what a batch of events lets out once it is durable.
type effects struct {
	replies  []pendingReply
	console  []ConsoleData
	fetches  []FetchData
	aborts   []uint64
	timers   []TimerData
	clears   []uint64
	scheds   []ScheduleData
	unscheds []uint64
	after    []func() // run once durable
}

// batch is the records of the events applied since the last commit.
type batch struct {
	recs  []wal.Record
	codes []wal.CodeVersion
	fx    effects
}

// maxBatch bounds the records of one commit.
const maxBatch = 4096

type pendingReply struct {
	ch    chan Reply
	reply Reply
}

// Runner drives a Machine live.
type Runner struct {
	cfg    RunnerConfig
	log    *wal.Log
	client *http.Client

	requests chan request
	inspects chan inspection
	loopDone chan struct{}
	failed   chan struct{} // closed when failure is set
	ctx      context.Context
	cancel   context.CancelFunc

	// Owned by the loop.
	m          *Machine
	nextSeq    uint64
	lastTime   int64
	waiters    map[uint64]chan Reply
	sinceCheck int

	closeMu sync.RWMutex // guards closed and the closing of requests
	closed  bool

	mu       sync.Mutex             // guards what follows
	armed    map[uint64]*time.Timer // timers and schedules armed, by id
	fetching map[uint64]context.CancelFunc
	failure  error
}

// ErrClosed is a request to a Runner that is shutting down.
var ErrClosed = errors.New("the program is shutting down")

// NewRunner starts driving cfg.Machine. Pending fetches are sent again and
// timers armed, as they were when the log ended.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Deadline == 0 {
		cfg.Deadline = DefaultDeadline
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{
		cfg: cfg, log: cfg.Log,
		client:   newFetchClient(cfg.Transport),
		requests: make(chan request, 256), inspects: make(chan inspection),
		nextSeq: cfg.Log.LastSeq() + 1, loopDone: make(chan struct{}),
		ctx: ctx, cancel: cancel,
		m: cfg.Machine, waiters: map[uint64]chan Reply{},
		armed: map[uint64]*time.Timer{}, fetching: map[uint64]context.CancelFunc{},
	}
	if last, err := r.log.Get(r.log.LastSeq()); err == nil {
		r.lastTime = last.Time
	}
	// What the restored heap has pending goes out again: it is in the log.
	r.release(effects{fetches: r.m.PendingFetches(), timers: r.m.PendingTimers(),
		scheds: r.m.Schedules()})
	go r.loop()
	return r
}

// Call runs an action and returns its outcome once it is durable.
func (r *Runner) Call(ctx context.Context, action string, args json.RawMessage) (Reply, error) {
	data, _ := json.Marshal(CallData{Action: action, Args: args})
	return r.do(ctx, request{kind: KindCall, data: data, wait: true})
}

// Endpoint hands an HTTP request to the program's endpoint.
func (r *Runner) Endpoint(ctx context.Context, d EndpointData) (Reply, error) {
	data, _ := json.Marshal(d)
	return r.do(ctx, request{kind: KindEndpoint, data: data, wait: true})
}

// Deploy makes cv the code that serves. The reply's Output is a deployed or
// a deploy.error record.
func (r *Runner) Deploy(ctx context.Context, cv *wal.CodeVersion) (Reply, error) {
	data, _ := json.Marshal(DeployData{Code: cv.Hash})
	return r.do(ctx, request{kind: KindDeploy, data: data, code: cv})
}

// Checkpoint makes a checkpoint now, or fails with ErrBusy naming what is
// pending.
func (r *Runner) Checkpoint(ctx context.Context) (Reply, error) {
	return r.do(ctx, request{kind: KindCheckpoint, data: json.RawMessage(`{}`)})
}

// Unschedule cancels a scheduled call.
func (r *Runner) Unschedule(ctx context.Context, id uint64) (Reply, error) {
	data, _ := json.Marshal(ScheduleData{ID: id})
	return r.do(ctx, request{kind: KindUnschedule, data: data})
}

// Inspect runs fn on the loop goroutine, between two events, with the
// Machine. fn must not keep the Machine.
func (r *Runner) Inspect(ctx context.Context, fn func(*Machine)) error {
	done := make(chan struct{})
	select {
	case r.inspects <- inspection{fn, done}:
	case <-r.loopDone:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type inspection struct {
	fn   func(*Machine)
	done chan struct{}
}

func (r *Runner) do(ctx context.Context, req request) (Reply, error) {
	req.reply = make(chan Reply, 1)
	if err := r.enqueue(req); err != nil {
		return Reply{}, err
	}
	select {
	case rep := <-req.reply:
		return rep, rep.Err
	case <-ctx.Done():
		// The event goes on without its caller: it is in the log already
		// or will be, and an action is never cancelled by a hang-up.
		return Reply{}, ctx.Err()
	}
}

func (r *Runner) enqueue(req request) error {
	if err := r.Err(); err != nil {
		return err
	}
	r.closeMu.RLock()
	defer r.closeMu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	r.requests <- req
	return nil
}

// Close stops taking requests, lets the events taken finish and their
// effects out, and stops timers and fetches: they are in the log and resume
// at the next start.
func (r *Runner) Close() error {
	r.closeMu.Lock()
	if r.closed {
		r.closeMu.Unlock()
		return nil
	}
	r.closed = true
	close(r.requests)
	r.closeMu.Unlock()
	<-r.loopDone
	r.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.armed {
		t.Stop()
	}
	return r.failure
}

// Failed is closed when the Runner stops on a failure of its own, such as a
// log that cannot be written; Err says which.
func (r *Runner) Failed() <-chan struct{} { return r.failed }

// Err is the failure that stopped the Runner, if one did.
func (r *Runner) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failure
}

func (r *Runner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failure == nil {
		r.failure = err
		close(r.failed)
		r.cfg.Logger.Error("membrane-dev: runner stopped", "err", err)
	}
}

// ---- the loop ------------------------------------------------------------------

func (r *Runner) loop() {
	defer close(r.loopDone)
	for {
		var b batch
		select {
		case req, ok := <-r.requests:
			if !ok {
				return
			}
			r.handle(req, &b)
		case insp := <-r.inspects:
			insp.fn(r.m)
			close(insp.done)
			continue
		}
		open := r.drain(&b)
		r.flush(&b)
		if !open {
			return
		}
	}
}

// drain applies the requests already waiting, without waiting for more. It
// says false once the request channel is closed.
func (r *Runner) drain(b *batch) bool {
	for len(b.recs) < maxBatch {
		select {
		case req, ok := <-r.requests:
			if !ok {
				return false
			}
			r.handle(req, b)
		default:
			return true
		}
	}
	return true
}

// flush commits the batch and, once it is durable, lets its effects out.
func (r *Runner) flush(b *batch) {
	if len(b.recs) > 0 {
		if err := r.log.Append(b.recs, b.codes); err != nil {
			r.fail(fmt.Errorf("the log could not be written: %w", err))
			for _, p := range b.fx.replies {
				p.ch <- Reply{Seq: p.reply.Seq, Err: r.Err()}
			}
			return
		}
	}
	r.release(b.fx)
	*b = batch{}
}

func (r *Runner) handle(req request, b *batch) {
	if err := r.Err(); err != nil {
		r.replyNow(req, Reply{Err: err})
		return
	}
	if req.kind == KindCheckpoint {
		if busy := r.m.Busy(); len(busy) > 0 {
			r.replyNow(req, Reply{Err: fmt.Errorf("%w: %s", ErrBusy, strings.Join(busy, "; "))})
			return
		}
		data, _ := json.Marshal(DeployData{Code: r.m.Code()})
		req.data = data
	}
	if req.code != nil {
		if err := r.m.AddCode(req.code); err != nil {
			r.replyNow(req, Reply{Err: err})
			return
		}
	}

	now := r.cfg.Now().UnixMilli()
	r.lastTime = max(r.lastTime, now)
	rec := wal.Record{Seq: r.nextSeq, Kind: req.kind, Time: r.lastTime, Data: req.data}
	if req.wait && (req.kind == KindCall || req.kind == KindEndpoint) {
		r.waiters[rec.Seq] = req.reply
	}
	outs, err := r.m.Apply(rec)
	if errors.Is(err, ErrRunaway) {
		delete(r.waiters, rec.Seq)
		r.rollback(req, rec, b)
		return
	}
	if err != nil {
		delete(r.waiters, rec.Seq)
		r.replyNow(req, Reply{Seq: rec.Seq, Err: err})
		if req.kind != KindCheckpoint {
			r.fail(fmt.Errorf("event %d: %w", rec.Seq, err))
		}
		return
	}
	r.add(b, rec, outs, req.code)
	if req.reply != nil && !req.wait {
		rep := Reply{Seq: rec.Seq}
		for i := range outs {
			switch outs[i].Kind {
			case KindDeployed, KindDeployError, KindScheduleClear:
				rep.Output = &outs[i]
			}
		}
		b.fx.replies = append(b.fx.replies, pendingReply{req.reply, rep})
	}
	if req.kind == KindCheckpoint {
		snap := r.m.LastSnapshot()
		b.fx.after = append(b.fx.after, func() { r.saveCheckpoint(rec.Seq, snap) })
		r.sinceCheck = 0
	}
	r.maybeCheckpoint(b)
}

// add puts an event and its outputs into the batch as records, with the
// effects to let out once they are durable.
func (r *Runner) add(b *batch, rec wal.Record, outs []Output, code *wal.CodeVersion) {
	b.recs = append(b.recs, rec)
	for i, o := range outs {
		b.recs = append(b.recs, wal.Record{Seq: rec.Seq + uint64(i) + 1, Kind: o.Kind, Event: rec.Seq,
			Time: rec.Time, Data: o.Data})
		r.collect(&b.fx, outs[i])
	}
	if code != nil {
		b.codes = append(b.codes, *code)
	}
	r.nextSeq += uint64(1 + len(outs))
	r.sinceCheck++
}

func (r *Runner) collect(fx *effects, o Output) {
	switch o.Kind {
	case KindResult, KindError, KindResponse:
		if ch, ok := r.waiters[o.Call]; ok {
			delete(r.waiters, o.Call)
			oc := o
			fx.replies = append(fx.replies, pendingReply{ch, Reply{Seq: o.Call, Output: &oc}})
		}
	case KindConsole:
		fx.console = append(fx.console, decode[ConsoleData](o))
	case KindFetch:
		fx.fetches = append(fx.fetches, decode[FetchData](o))
	case KindFetchAbort:
		fx.aborts = append(fx.aborts, decode[FetchData](o).ID)
	case KindTimerSet:
		fx.timers = append(fx.timers, decode[TimerData](o))
	case KindTimerClear:
		fx.clears = append(fx.clears, decode[TimerData](o).ID)
	case KindScheduleSet:
		fx.scheds = append(fx.scheds, decode[ScheduleData](o))
	case KindScheduleClear:
		fx.unscheds = append(fx.unscheds, decode[ScheduleData](o).ID)
	}
}

// decode reads an output the Machine made itself, which always decodes.
func decode[T any](o Output) T {
	var v T
	_ = json.Unmarshal(o.Data, &v)
	return v
}

func (r *Runner) replyNow(req request, rep Reply) {
	if req.reply != nil {
		req.reply <- rep
	}
}

func (r *Runner) maybeCheckpoint(b *batch) {
	if r.cfg.CheckpointEvery <= 0 || r.sinceCheck < r.cfg.CheckpointEvery || len(r.m.Busy()) > 0 {
		return
	}
	r.handle(request{kind: KindCheckpoint}, b)
}

func (r *Runner) saveCheckpoint(seq uint64, snap *Snapshot) {
	data, err := json.Marshal(snap)
	if err == nil {
		err = r.log.PutCheckpoint(wal.Checkpoint{Seq: seq, Runtime: Version, Data: data})
	}
	if err != nil {
		r.cfg.Logger.Warn("membrane-dev: checkpoint not saved", "seq", seq, "err", err)
	}
}
