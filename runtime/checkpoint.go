package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dop251/goja"
	"github.com/membrane-dev/membrane-dev/wal"
)

// Snapshot is what a checkpoint carries over: the only exact restart point
// a goja heap allows, because at a checkpoint nothing of the old heap is
// pending and nothing but `state` and the scheduled calls survive.
//
// A checkpoint is a deploy of the same code into a fresh heap built from the
// snapshot. The live run does exactly what a restart does (encode state,
// start a new runtime, decode it, evaluate the module), so the two cannot
// differ: the restart is the live run, replayed.
type Snapshot struct {
	Code      string          `json:"code"`
	State     json.RawMessage `json:"state"`
	Schedules []ScheduleData  `json:"schedules"`
	NextID    uint64          `json:"nextID"`
}

// Hash identifies a snapshot's content; the checkpoint record's output
// carries it so a replay can check that it made the same one.
func (s *Snapshot) Hash() string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// takeSnapshot encodes what carries over. It fails, naming what is pending,
// when the heap still has work the new one could not finish.
func (m *Machine) takeSnapshot() (*Snapshot, error) {
	if busy := m.Busy(); len(busy) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrBusy, strings.Join(busy, "; "))
	}
	if m.code == "" {
		return nil, errNoCode
	}
	v, err := m.js.encodeState(goja.Undefined())
	if err != nil {
		return nil, fmt.Errorf("state cannot be kept: %w", err)
	}
	return &Snapshot{Code: m.code, State: json.RawMessage(v.String()), Schedules: m.Schedules(),
		NextID: m.nextID}, nil
}

// checkpoint handles a checkpoint event: snapshot, fresh heap, same code.
func (m *Machine) checkpoint(in wal.Record) error {
	snap, err := m.takeSnapshot()
	if err != nil {
		return err
	}
	var d DeployData
	if err := json.Unmarshal(in.Data, &d); err == nil && d.Code != "" && d.Code != snap.Code {
		return fmt.Errorf("checkpoint %d names code %s but %s is serving", in.Seq, short(d.Code),
			short(snap.Code))
	}
	if _, err := m.restore(snap); err != nil {
		return err
	}
	m.lastSnapshot = snap
	return nil
}

// LastSnapshot is the snapshot the last checkpoint event made, for the log.
func (m *Machine) LastSnapshot() *Snapshot { return m.lastSnapshot }

// restore replaces the heap with one built from snap, keeping the Machine's
// code cache, clock and configuration.
func (m *Machine) restore(snap *Snapshot) ([]Output, error) {
	m.timers = map[uint64]*TimerData{}
	m.fetches = map[uint64]*FetchData{}
	m.inflight = map[uint64]string{}
	m.schedules = map[uint64]*ScheduleData{}
	for i := range snap.Schedules {
		s := snap.Schedules[i]
		m.schedules[s.ID] = &s
	}
	m.nextID = snap.NextID
	m.start = m.now
	m.out = nil
	if err := m.boot(); err != nil {
		return nil, err
	}
	m.rng = nil
	fix, err := m.js.restoreState(goja.Undefined(), m.vm.ToValue(string(snap.State)))
	if err != nil {
		return nil, fmt.Errorf("restoring state: %w", err)
	}
	v, err := m.load(snap.Code, nil)
	if err != nil {
		return nil, err
	}
	if err := m.evaluate(snap.Code, v); err != nil {
		if err := m.deployFailed(err); err != nil {
			return nil, err
		}
	} else {
		if fixFn, ok := goja.AssertFunction(fix); ok {
			if _, err := fixFn(goja.Undefined()); err != nil {
				return nil, fmt.Errorf("restoring state: %w", err)
			}
		}
		m.emit(KindDeployed, DeployedData{Code: snap.Code, Actions: m.Actions()}, 0)
	}
	m.emit(KindSnapshot, SnapshotData{Hash: snap.Hash()}, 0)
	return m.out, nil
}

// Restore makes a Machine from the snapshot of checkpoint record rec, as the
// live run made it at that event. The outputs are those of the checkpoint
// event itself.
func Restore(cfg Config, snap *Snapshot, rec wal.Record) (*Machine, []Output, error) {
	m, err := NewMachine(cfg)
	if err != nil {
		return nil, nil, err
	}
	m.now, m.seq, m.kind = rec.Time, rec.Seq, rec.Kind
	outs, err := m.restore(snap)
	if err != nil {
		return nil, nil, err
	}
	m.lastSnapshot = snap
	return m, outs, nil
}
