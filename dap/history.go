package dap

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/membrane-dev/membrane-dev/replay"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

// Point is a place in the replayed history: the event with index Event in
// history.events, and how many statements of it have run. Step 0 is the
// start of the event, before any of its code ran; Event == len(events) is
// the end of the recording.
type Point struct {
	Event int
	Step  uint64
}

// Less orders points in execution order.
func (p Point) Less(q Point) bool {
	return p.Event < q.Event || p.Event == q.Event && p.Step < q.Step
}

// event is one input record of the log.
type event struct {
	Seq     uint64
	Kind    string
	Time    int64
	Data    json.RawMessage
	Summary string
}

// history is what the debugger knows of a log: its events, the code that
// ran, and, once the census pass is done, how many statements each event
// ran and which events threw.
type history struct {
	log    *wal.Log
	dir    string
	events []event
	index  map[uint64]int // seq -> event index
	// start is the first point a replay can stop at: the start of the
	// first event, or, when the log begins with a checkpoint (history
	// before it was compacted away), the start of the event after it, as
	// the checkpoint is restored before any event runs.
	start   Point
	current *wal.CodeVersion
	latest  string // hash of the last deploy, which current replaces

	mu      sync.Mutex
	codes   map[string]*code // by the hash a deploy names
	totals  []uint64         // statements run per event, from the census
	thrown  map[int]string   // event index -> the error it ended with
	census  bool             // totals and thrown are complete
	censErr error
	diverge *replay.Divergence
}

func newHistory(l *wal.Log, dir string, current *wal.CodeVersion) (*history, error) {
	h := &history{log: l, dir: dir, current: current, index: map[uint64]int{},
		codes: map[string]*code{}, thrown: map[int]string{}}
	err := l.Read(l.FirstSeq(), func(rec wal.Record) error {
		switch {
		case runtime.IsInput(rec.Kind):
			h.index[rec.Seq] = len(h.events)
			h.events = append(h.events, event{Seq: rec.Seq, Kind: rec.Kind, Time: rec.Time,
				Data: rec.Data, Summary: summarize(rec)})
			if rec.Kind == runtime.KindDeploy {
				var d runtime.DeployData
				if json.Unmarshal(rec.Data, &d) == nil {
					h.latest = d.Code
				}
			}
		case rec.Kind == runtime.KindError || rec.Kind == runtime.KindDeployError:
			var d runtime.ResultData
			if json.Unmarshal(rec.Data, &d) == nil && !d.Unknown {
				h.thrown[h.index[rec.Event]] = errorText(d)
			}
		case rec.Kind == runtime.KindResponse:
			var d runtime.ResponseData
			if json.Unmarshal(rec.Data, &d) == nil && d.Error != nil {
				h.thrown[h.index[rec.Event]] = errorText(*d.Error)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the log: %w", err)
	}
	if len(h.events) == 0 {
		return nil, errors.New("the log holds no events to debug")
	}
	h.totals = make([]uint64, len(h.events))
	if l.FirstSeq() > 1 && h.events[0].Kind == runtime.KindCheckpoint {
		h.start = Point{Event: 1}
	}
	return h, nil
}

func errorText(d runtime.ResultData) string {
	if d.Stack != "" {
		return d.Stack
	}
	if d.Name != "" {
		return d.Name + ": " + d.Message
	}
	return d.Message
}

// summarize says in a few words what an event was.
func summarize(rec wal.Record) string {
	switch rec.Kind {
	case runtime.KindCall:
		var d runtime.CallData
		if json.Unmarshal(rec.Data, &d) == nil {
			return "call " + d.Action
		}
	case runtime.KindSchedule:
		var d runtime.ScheduleData
		if json.Unmarshal(rec.Data, &d) == nil && d.Action != "" {
			return "schedule " + d.Action
		}
	case runtime.KindEndpoint:
		var d runtime.EndpointData
		if json.Unmarshal(rec.Data, &d) == nil {
			return "endpoint " + d.Method + " " + d.Path
		}
	case runtime.KindDeploy, runtime.KindCheckpoint:
		var d runtime.DeployData
		if json.Unmarshal(rec.Data, &d) == nil && d.Code != "" {
			return rec.Kind + " " + short(d.Code)
		}
	case runtime.KindTimer, runtime.KindFetchResponse, runtime.KindFetchError:
		var d struct {
			ID uint64 `json:"id"`
		}
		if json.Unmarshal(rec.Data, &d) == nil {
			return fmt.Sprintf("%s %d", rec.Kind, d.ID)
		}
	}
	return rec.Kind
}

// describe names the event of a point for a stopped event.
func (h *history) describe(p Point) string {
	if p.Event >= len(h.events) {
		return fmt.Sprintf("end of the recording (after event %d)", h.events[len(h.events)-1].Seq)
	}
	e := h.events[p.Event]
	return fmt.Sprintf("event %d (%s)", e.Seq, e.Summary)
}

// codeFor finds the code a deploy names, instrumented; with current code
// the last deploy's is replaced by the files on disk.
func (h *history) codeFor(hash string) (*code, error) {
	h.mu.Lock()
	c, ok := h.codes[hash]
	h.mu.Unlock()
	if ok {
		return c, nil
	}
	var cv *wal.CodeVersion
	if h.current != nil && hash == h.latest {
		cv = h.current
	} else {
		v, err := h.log.Code(hash)
		if err != nil {
			return nil, fmt.Errorf("reading code version %s: %w", short(hash), err)
		}
		cv = &v
	}
	c, err := newCode(cv)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.codes[hash] = c
	h.mu.Unlock()
	return c, nil
}

// allCodes is every code version the log deploys, instrumented.
func (h *history) allCodes() ([]*code, error) {
	var out []*code
	seen := map[string]bool{}
	for _, e := range h.events {
		if e.Kind != runtime.KindDeploy && e.Kind != runtime.KindCheckpoint {
			continue
		}
		var d runtime.DeployData
		if json.Unmarshal(e.Data, &d) != nil || d.Code == "" || seen[d.Code] {
			continue
		}
		seen[d.Code] = true
		c, err := h.codeFor(d.Code)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// codeByHash returns an already loaded code version.
func (h *history) codeByHash(hash string) *code {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.codes[hash]
}

// noteTotal records how many statements event i ran.
func (h *history) noteTotal(i int, steps uint64) {
	h.mu.Lock()
	if i >= 0 && i < len(h.totals) {
		h.totals[i] = steps
	}
	h.mu.Unlock()
}

// total is how many statements event i ran, and whether that is known.
func (h *history) total(i int) (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i < 0 || i >= len(h.totals) {
		return 0, false
	}
	return h.totals[i], h.census
}

// before is the point of the statement that ran just before p: the
// previous statement of the same event, else the last statement of the
// closest earlier event that ran any, else the start of the recording.
func (h *history) before(p Point) Point {
	if p.Event > len(h.events) {
		p.Event = len(h.events)
	}
	if p.Step > 1 {
		return Point{p.Event, p.Step - 1}
	}
	for i := p.Event - 1; i >= h.start.Event; i-- {
		if n, _ := h.total(i); n > 0 {
			return Point{i, n}
		}
	}
	return h.start
}

// deadline is long enough that the runtime's runaway watchdog never stops
// an event that is paused in the debugger.
const deadline = 100 * 365 * 24 * time.Hour
