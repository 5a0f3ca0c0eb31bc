package runtime

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	jsonv2 "github.com/go-json-experiment/json"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/dop251/goja"
	nodeurl "github.com/dop251/goja_nodejs/url"
	"github.com/membrane-dev/membrane-dev/wal"
	"github.com/robfig/cron/v3"
)

func init() {
	// goja's Date uses the host's time zone for its local-time methods. A
	// program must read the same hours on every machine, so the process runs
	// in UTC. This is why runtime must not be imported by code that needs the
	// host's zone.
	time.Local = time.UTC
}

//go:embed prelude.js
var preludeSource string

var preludeProgram = goja.MustCompile("prelude.js", preludeSource, true)

// DefaultDeadline is how long one event may run before it is stopped and
// rolled back.
const DefaultDeadline = 10 * time.Second

// ErrRunaway is an event that ran past the deadline. The Machine that
// returned it is spent: its heap is half-changed and must be rebuilt.
var ErrRunaway = errors.New("ran past the deadline")

// ErrBusy is a checkpoint refused because the program has work pending.
var ErrBusy = errors.New("the program has work pending")

// CodeSource finds a code version by hash, usually in the log.
type CodeSource func(hash string) (*wal.CodeVersion, error)

// Config sets up a Machine.
type Config struct {
	Code          CodeSource
	Salt          []byte        // the log's random salt: seeds derive from it and the event seq
	Deadline      time.Duration // 0: DefaultDeadline
	CaptureStacks bool          // record where each output was produced (replay wants it)

	// Transform, when set, rewrites each bundle before it is compiled and
	// returns how a position in the rewritten script maps back to the
	// bundle. The debugger instruments code this way. TransformKey names the
	// rewriting, so that compiled programs are cached apart.
	Transform    func(bundle string) (code string, toBundle func(line, col int) (int, int), err error)
	TransformKey string

	// Setup runs on every fresh goja runtime after the runtime's own globals
	// and before any program code: the debugger installs its probes here.
	Setup func(vm *goja.Runtime)
}

// Output is one record a Machine produced while handling an event.
type Output struct {
	Kind  string
	Data  json.RawMessage
	Call  uint64  // for results, errors and responses: the seq of the call
	Stack []Frame // where it was produced, when Config.CaptureStacks is set
}

// Frame is a position in the program's original sources.
type Frame struct {
	Func   string `json:"func,omitempty"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

func (f Frame) String() string {
	if f.Func != "" {
		return fmt.Sprintf("%s (%s:%d:%d)", f.Func, f.File, f.Line, f.Column)
	}
	return fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
}

// Machine is a program's heap and everything pending in it. It is not safe
// for concurrent use; only Interrupt may be called from another goroutine.
type Machine struct {
	cfg Config
	vm  *goja.Runtime
	js  jsSide

	now   int64 // program clock for the current event, unix ms
	start int64 // program clock when this heap began
	seq   uint64
	kind  string
	rng   *rand.Rand
	out   []Output

	nextID    uint64
	code      string
	versions  map[string]*version
	timers    map[uint64]*TimerData
	fetches   map[uint64]*FetchData
	schedules map[uint64]*ScheduleData
	inflight  map[uint64]string // call seq -> action, for async actions not yet settled

	lastSnapshot *Snapshot

	mu     sync.Mutex // guards spent against Interrupt
	spent  bool
	broken error
}

// jsSide holds the prelude's functions the Go side calls.
type jsSide struct {
	obj            *goja.Object
	membrane       goja.Value
	setExports     goja.Callable
	invoke         goja.Callable
	invokeEndpoint goja.Callable
	fireTimer      goja.Callable
	deliverFetch   goja.Callable
	actionNames    goja.Callable
	encodeState    goja.Callable
	restoreState   goja.Callable
	stateJSON      goja.Callable
}

// NewMachine makes a Machine with no code yet: the first event of a log is
// a deploy.
func NewMachine(cfg Config) (*Machine, error) {
	if cfg.Deadline == 0 {
		cfg.Deadline = DefaultDeadline
	}
	m := &Machine{
		cfg:       cfg,
		versions:  map[string]*version{},
		timers:    map[uint64]*TimerData{},
		fetches:   map[uint64]*FetchData{},
		schedules: map[uint64]*ScheduleData{},
		inflight:  map[uint64]string{},
		nextID:    1,
	}
	if err := m.boot(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Machine) boot() error {
	vm := goja.New()
	vm.SetFieldNameMapper(goja.UncapFieldNameMapper())
	vm.SetTimeSource(func() time.Time { return time.UnixMilli(m.now) })
	vm.SetRandSource(func() float64 { return m.random().Float64() })
	m.vm = vm

	urlModule := vm.NewObject()
	_ = urlModule.Set("exports", vm.NewObject())
	nodeurl.Require(vm, urlModule)
	exports := urlModule.Get("exports").ToObject(vm)
	_ = vm.Set("URL", exports.Get("URL"))
	_ = vm.Set("URLSearchParams", exports.Get("URLSearchParams"))

	f, err := vm.RunProgram(preludeProgram)
	if err != nil {
		return fmt.Errorf("starting the runtime: %w", err)
	}
	fn, _ := goja.AssertFunction(f)
	side, err := fn(goja.Undefined(), m.hostObject(), vm.GlobalObject())
	if err != nil {
		return fmt.Errorf("starting the runtime: %w", err)
	}
	obj := side.ToObject(vm)
	get := func(name string) goja.Callable {
		c, ok := goja.AssertFunction(obj.Get(name))
		if !ok {
			panic("prelude lacks " + name)
		}
		return c
	}
	if m.cfg.Setup != nil {
		m.cfg.Setup(vm)
	}
	m.js = jsSide{
		obj: obj, membrane: obj.Get("membrane"),
		setExports: get("setExports"), invoke: get("invoke"),
		invokeEndpoint: get("invokeEndpoint"), fireTimer: get("fireTimer"),
		deliverFetch: get("deliverFetch"), actionNames: get("actionNames"),
		encodeState: get("encodeState"), restoreState: get("restoreState"),
		stateJSON: get("stateJSON"),
	}
	return nil
}

// Interrupt stops the event running now, from any goroutine. The Machine is
// spent afterwards.
func (m *Machine) Interrupt(reason error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.spent {
		m.vm.Interrupt(reason)
	}
}

// Code is the hash of the code version now serving.
func (m *Machine) Code() string { return m.code }

// AddCode makes a code version known before its deploy is in the log.
func (m *Machine) AddCode(cv *wal.CodeVersion) error {
	_, err := m.load(cv.Hash, cv)
	return err
}

// Apply handles one input record and returns what the program did.
func (m *Machine) Apply(in wal.Record) (outs []Output, err error) {
	if m.broken != nil {
		return nil, fmt.Errorf("the runtime must be rebuilt: %w", m.broken)
	}
	m.now, m.seq, m.kind, m.out, m.rng = in.Time, in.Seq, in.Kind, nil, nil

	watchdog.start(m)
	defer func() {
		watchdog.stop(m)
		var ie *goja.InterruptedError
		if errors.As(err, &ie) {
			m.mu.Lock()
			m.spent = true
			m.mu.Unlock()
			m.broken = ErrRunaway
			err = fmt.Errorf("event %d %w of %s", in.Seq, ErrRunaway, m.cfg.Deadline)
			outs = nil
		}
	}()

	if err := m.dispatch(in); err != nil {
		return nil, err
	}
	return m.out, nil
}

func (m *Machine) dispatch(in wal.Record) error {
	if bytes.Contains(in.Data, []byte(`"rolledBack"`)) {
		return m.consumeRolledBack(in)
	}
	switch in.Kind {
	case KindDeploy:
		var d DeployData
		if err := jsonv2.Unmarshal(in.Data, &d); err != nil {
			return badRecord(in, err)
		}
		return m.deploy(d.Code)
	case KindCheckpoint:
		return m.checkpoint(in)
	case KindCall:
		var d CallData
		if err := jsonv2.Unmarshal(in.Data, &d); err != nil {
			return badRecord(in, err)
		}
		return m.invoke(d.Action, d.Args)
	case KindEndpoint:
		m.inflight[in.Seq] = "the endpoint"
		return m.call(m.js.invokeEndpoint, goja.Undefined(), m.vm.ToValue(in.Seq),
			m.vm.ToValue(string(in.Data)), m.vm.ToValue(m.seq), m.vm.ToValue(m.now),
			m.vm.ToValue(m.kind))
	case KindTimer:
		var d TimerData
		if err := jsonv2.Unmarshal(in.Data, &d); err != nil {
			return badRecord(in, err)
		}
		return m.fireTimer(d.ID)
	case KindSchedule:
		var d ScheduleData
		if err := jsonv2.Unmarshal(in.Data, &d); err != nil {
			return badRecord(in, err)
		}
		return m.fireSchedule(d.ID)
	case KindUnschedule:
		var d ScheduleData
		if err := jsonv2.Unmarshal(in.Data, &d); err != nil {
			return badRecord(in, err)
		}
		m.unschedule(d.ID)
		return nil
	case KindFetchResponse, KindFetchError:
		var d FetchResponseData
		if err := jsonv2.Unmarshal(in.Data, &d); err != nil {
			return badRecord(in, err)
		}
		return m.deliver(d)
	}
	return fmt.Errorf("record %d has kind %q, which is not an event", in.Seq, in.Kind)
}

// consumeRolledBack handles an event whose first run ran past the deadline:
// it leaves the heap as if it was handled, without running program code
// again. A fetch whose handling ran away stays unsettled.
func (m *Machine) consumeRolledBack(in wal.Record) error {
	var d struct {
		ID         uint64 `json:"id"`
		RolledBack string `json:"rolledBack"`
	}
	if err := jsonv2.Unmarshal(in.Data, &d); err != nil {
		return badRecord(in, err)
	}
	switch in.Kind {
	case KindTimer:
		if t, ok := m.timers[d.ID]; ok && t.Interval > 0 {
			t.Due = m.now + t.Interval
			m.emit(KindTimerSet, t, 0)
		} else {
			delete(m.timers, d.ID)
		}
	case KindSchedule:
		s, ok := m.schedules[d.ID]
		if !ok {
			return nil
		}
		if s.Cron != "" {
			if sched, err := ParseCron(s.Cron); err == nil {
				s.Due = sched.Next(time.UnixMilli(m.now)).UnixMilli()
				m.emit(KindScheduleSet, s, 0)
			}
		} else {
			delete(m.schedules, d.ID)
		}
		m.emit(KindError, ResultData{Call: m.seq, Message: d.RolledBack}, m.seq)
	case KindFetchResponse, KindFetchError:
		delete(m.fetches, d.ID)
	case KindEndpoint:
		m.emit(KindResponse, ResponseData{Call: m.seq, Status: 500, Body: d.RolledBack + "\n"}, m.seq)
	}
	return nil
}

func badRecord(in wal.Record, err error) error {
	return fmt.Errorf("record %d (%s) does not decode: %w", in.Seq, in.Kind, err)
}

// call runs a prelude function as one top-level call: goja drains the
// promise jobs it queued, in FIFO order, before it returns.
func (m *Machine) call(fn goja.Callable, this goja.Value, args ...goja.Value) error {
	_, err := fn(this, args...)
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		return err
	}
	if err != nil {
		// The prelude catches program errors itself; anything else is ours.
		return fmt.Errorf("the runtime failed at event %d: %w", m.seq, err)
	}
	return nil
}

// invoke calls an action of the code now serving, for the current event; its
// outcome is a result or error output, now or when its promise settles.
func (m *Machine) invoke(action string, args json.RawMessage) error {
	return m.call(m.js.invoke, goja.Undefined(), m.vm.ToValue(m.seq), m.vm.ToValue(action),
		m.vm.ToValue(string(args)), m.vm.ToValue(m.seq), m.vm.ToValue(m.now), m.vm.ToValue(m.kind))
}

// random is the event's random source, seeded on first use.
func (m *Machine) random() *rand.Rand {
	if m.rng == nil {
		m.rng = rand.New(m.seedFor(m.seq))
	}
	return m.rng
}

// seedFor derives the random seed of event seq from the log's salt, so a
// replay draws the same numbers and two programs draw different ones.
func (m *Machine) seedFor(seq uint64) *rand.PCG {
	h := sha256.New()
	h.Write(m.cfg.Salt)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	h.Write(b[:])
	sum := h.Sum(nil)
	return rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16]))
}

func (m *Machine) emit(kind string, data any, call uint64) {
	raw, err := jsonv2.Marshal(data)
	if err != nil {
		panic(m.vm.NewGoError(err))
	}
	o := Output{Kind: kind, Data: raw, Call: call}
	if m.cfg.CaptureStacks && call == 0 {
		o.Stack = m.stack()
	}
	m.out = append(m.out, o)
}

func (m *Machine) allocID() uint64 {
	id := m.nextID
	m.nextID++
	return id
}

// ---- deploys ------------------------------------------------------------------

func (m *Machine) deploy(hash string) error {
	v, err := m.load(hash, nil)
	if err != nil {
		return err
	}
	if err := m.evaluate(hash, v); err != nil {
		return m.deployFailed(err)
	}
	m.emit(KindDeployed, DeployedData{Code: hash, Actions: m.Actions()}, 0)
	return nil
}

func (m *Machine) deployFailed(err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		return err
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		m.emit(KindDeployError, m.exceptionData(ex), 0)
		return nil
	}
	return err
}

// evaluate runs a code version's module afresh: its module variables start
// over, `state` is the same object, and what older code left pending keeps
// its own closures.
func (m *Machine) evaluate(hash string, v *version) error {
	fnv, err := m.vm.RunProgram(v.program)
	if err != nil {
		return err
	}
	fn, _ := goja.AssertFunction(fnv)
	module := m.vm.NewObject()
	exports := m.vm.NewObject()
	_ = module.Set("exports", exports)
	require := m.vm.ToValue(func(c goja.FunctionCall) goja.Value {
		name := c.Argument(0).String()
		if name == "membrane" {
			return m.js.membrane
		}
		panic(m.vm.NewTypeError("the module %q is not available in a program", name))
	})
	if _, err := fn(goja.Undefined(), module, exports, require); err != nil {
		return err
	}
	if _, err := m.js.setExports(goja.Undefined(), module); err != nil {
		return err
	}
	m.code = hash
	return nil
}

// Actions lists the action names of the code now serving.
func (m *Machine) Actions() []string {
	v, err := m.js.actionNames(goja.Undefined())
	if err != nil {
		return nil
	}
	var names []string
	_ = m.vm.ExportTo(v, &names)
	sort.Strings(names)
	return names
}

// ---- timers, schedules and fetches ---------------------------------------------

func (m *Machine) fireTimer(id uint64) error {
	t, ok := m.timers[id]
	if !ok {
		return nil // cleared before it fired
	}
	if t.Interval > 0 {
		t.Due = m.now + t.Interval
		m.emit(KindTimerSet, t, 0)
	} else {
		delete(m.timers, id)
	}
	return m.call(m.js.fireTimer, goja.Undefined(), m.vm.ToValue(id))
}

var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month |
	cron.Dow | cron.Descriptor)

// ParseCron reads a six-field cron expression (seconds first), in UTC.
func ParseCron(expr string) (cron.Schedule, error) { return cronParser.Parse(expr) }

func (m *Machine) fireSchedule(id uint64) error {
	s, ok := m.schedules[id]
	if !ok {
		return nil // cancelled before it fired
	}
	if s.Cron != "" {
		sched, err := ParseCron(s.Cron)
		if err != nil {
			return fmt.Errorf("schedule %d: %w", id, err)
		}
		// Firings missed while nothing ran are coalesced: the next one is
		// counted from now.
		s.Due = sched.Next(time.UnixMilli(m.now)).UnixMilli()
		m.emit(KindScheduleSet, s, 0)
	} else {
		delete(m.schedules, id)
	}
	return m.invoke(s.Action, s.Args)
}

func (m *Machine) unschedule(id uint64) bool {
	if _, ok := m.schedules[id]; !ok {
		return false
	}
	delete(m.schedules, id)
	m.emit(KindScheduleClear, ScheduleData{ID: id}, 0)
	return true
}

func (m *Machine) deliver(d FetchResponseData) error {
	if _, ok := m.fetches[d.ID]; !ok {
		return nil // aborted before the response came
	}
	delete(m.fetches, d.ID)
	headers := make([]any, len(d.Headers))
	for i, h := range d.Headers {
		headers[i] = []any{h[0], h[1]}
	}
	return m.call(m.js.deliverFetch, goja.Undefined(), m.vm.ToValue(d.ID),
		m.vm.ToValue(d.Error == ""), m.vm.ToValue(d.Status), m.vm.ToValue(d.StatusText),
		m.vm.ToValue(d.URL), m.vm.ToValue(headers), m.vm.ToValue(m.vm.NewArrayBuffer(d.Body)),
		m.vm.ToValue(d.Error))
}

// ---- what is pending -----------------------------------------------------------

// PendingFetches are requests sent whose response is not in the log yet,
// ordered by id. After a restart they are sent again.
func (m *Machine) PendingFetches() []FetchData {
	out := make([]FetchData, 0, len(m.fetches))
	for _, f := range m.fetches {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PendingTimers are the program's timers, ordered by due time.
func (m *Machine) PendingTimers() []TimerData {
	out := make([]TimerData, 0, len(m.timers))
	for _, t := range m.timers {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Due < out[j].Due || out[i].Due == out[j].Due && out[i].ID < out[j].ID
	})
	return out
}

// Schedules are the durable calls waiting to fire, ordered by due time.
func (m *Machine) Schedules() []ScheduleData {
	out := make([]ScheduleData, 0, len(m.schedules))
	for _, s := range m.schedules {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Due < out[j].Due || out[i].Due == out[j].Due && out[i].ID < out[j].ID
	})
	return out
}

// Busy lists, in words, what keeps the program from a checkpoint: timers,
// fetches and actions of the current heap still pending. Scheduled calls do
// not count: they are data and carry over.
func (m *Machine) Busy() []string {
	var why []string
	for _, t := range m.PendingTimers() {
		why = append(why, fmt.Sprintf("timer %d due %s", t.ID, time.UnixMilli(t.Due).UTC().Format(time.RFC3339)))
	}
	for _, f := range m.PendingFetches() {
		why = append(why, fmt.Sprintf("fetch %d of %s", f.ID, f.URL))
	}
	seqs := make([]uint64, 0, len(m.inflight))
	for s := range m.inflight {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for _, s := range seqs {
		why = append(why, fmt.Sprintf("%s called at event %d", m.inflight[s], s))
	}
	return why
}

// StateJSON is `state` now, in the tagged form.
func (m *Machine) StateJSON() (json.RawMessage, error) {
	v, err := m.js.stateJSON(goja.Undefined())
	if err != nil {
		return nil, err
	}
	return json.RawMessage(v.String()), nil
}

// Runtime exposes the goja runtime to the debugger, which reads scopes and
// evaluates expressions in it. Nothing else should touch it.
func (m *Machine) Runtime() *goja.Runtime { return m.vm }

// idempotencyKey is the key a non-idempotent fetch carries: derived from the
// log's salt and the fetch id, so the retry after a crash sends the same one.
func (m *Machine) idempotencyKey(id uint64) string {
	h := sha256.New()
	h.Write(m.cfg.Salt)
	fmt.Fprintf(h, "idempotency:%d", id)
	return hex.EncodeToString(h.Sum(nil)[:16])
}
