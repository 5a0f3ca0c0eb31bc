package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

// Start says where a replay begins.
type Start int

const (
	// FromLatest starts at the last checkpoint, as a restart does; its
	// snapshot must have been made by this runtime.
	FromLatest Start = iota
	// FromEarliest replays all the history the log holds: from seq 1, or
	// from the first checkpoint kept after a compaction.
	FromEarliest
)

// Options change what a replay does.
type Options struct {
	Start Start
	// Code, when set, runs in place of the latest recorded code version: the
	// history is checked against a change before it goes live.
	Code *wal.CodeVersion
	// To stops after event To; 0 replays to the end.
	To       uint64
	Deadline time.Duration
	// Progress is told how far the replay has come, now and then.
	Progress func(done, total uint64)
	// Event is called before each event is applied, with the Machine; the
	// debugger hooks in here.
	Event func(rec wal.Record, m *runtime.Machine)
	// Runtime, when set, adjusts the Machine's configuration before the
	// replay starts: the debugger sets its Transform and Setup hooks here.
	Runtime func(cfg *runtime.Config)
}

// Result is what a replay came to.
type Result struct {
	Machine    *runtime.Machine
	Checkpoint *Made  // the last checkpoint the replay made, if any
	Events     int    // events applied
	Last       uint64 // the last seq looked at
	Duration   time.Duration
	Divergence *Divergence
}

// Made is a checkpoint a replay made again, with this runtime.
type Made struct {
	Seq      uint64
	Snapshot *runtime.Snapshot
}

// ErrOtherRuntime means the checkpoint a restart would start from was made
// by another runtime version.
var ErrOtherRuntime = errors.New("the checkpoint was made by another runtime version")

type otherRuntimeError struct {
	seq  uint64
	made string
}

func (e *otherRuntimeError) Error() string {
	return fmt.Sprintf("the checkpoint at event %d was made by runtime %s and this is runtime %s; "+
		"run `membrane-dev replay --upgrade` to check the history on this runtime and move the "+
		"checkpoint over", e.seq, e.made, runtime.Version)
}

func (e *otherRuntimeError) Is(target error) bool { return target == ErrOtherRuntime }

// Salt is the log's random salt, from which every event's seed derives.
func Salt(l *wal.Log) ([]byte, error) {
	s, err := l.Meta("salt")
	if err != nil && !errors.Is(err, wal.ErrNotFound) {
		return nil, err
	}
	return s, nil
}

// Run replays the log l.
func Run(l *wal.Log, opts Options) (*Result, error) {
	began := time.Now()
	// A replay allocates much and keeps little: fewer collections pay off.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	salt, err := Salt(l)
	if err != nil {
		return nil, err
	}
	var latest string
	if opts.Code != nil {
		if latest, err = latestDeploy(l); err != nil {
			return nil, err
		}
	}
	cfg := runtime.Config{Salt: salt, Deadline: opts.Deadline, CaptureStacks: true,
		Code: func(hash string) (*wal.CodeVersion, error) {
			if opts.Code != nil && hash == latest {
				return opts.Code, nil
			}
			cv, err := l.Code(hash)
			return &cv, err
		}}
	if opts.Runtime != nil {
		opts.Runtime(&cfg)
	}

	res := &Result{}
	from, m, err := begin(l, cfg, opts.Start, res)
	if err != nil || res.Divergence != nil {
		res.Duration = time.Since(began)
		return res, err
	}
	res.Machine = m
	c := &comparer{res: res}
	total := l.LastSeq() - from + 1
	err = l.Read(from, func(rec wal.Record) error {
		if opts.To != 0 && rec.Seq > opts.To && runtime.IsInput(rec.Kind) {
			if err := c.finishEvent(); err != nil {
				return err
			}
			return errStop
		}
		res.Last = rec.Seq
		if opts.Progress != nil && rec.Seq%1024 == 0 {
			opts.Progress(rec.Seq-from+1, total)
		}
		switch {
		case runtime.IsNote(rec.Kind):
			return nil
		case runtime.IsInput(rec.Kind):
			if err := c.finishEvent(); err != nil {
				return err
			}
			if opts.Event != nil {
				opts.Event(rec, res.Machine)
			}
			outs, err := res.Machine.Apply(rec)
			res.Events++
			if err != nil {
				res.Divergence = &Divergence{Seq: rec.Seq, Kind: rec.Kind,
					Reason: "the replay failed: " + err.Error()}
				return errStop
			}
			c.startEvent(rec, outs)
			if rec.Kind == runtime.KindCheckpoint {
				res.Checkpoint = &Made{Seq: rec.Seq, Snapshot: res.Machine.LastSnapshot()}
			}
			return nil
		default:
			return c.output(rec)
		}
	})
	if err == nil {
		err = c.finishEvent()
	}
	if errors.Is(err, errStop) {
		err = nil
	}
	if opts.Progress != nil {
		opts.Progress(total, total)
	}
	res.Duration = time.Since(began)
	return res, err
}

var errStop = errors.New("stop")

// begin makes the Machine the replay starts with, and says from which seq
// the records are to be applied.
func begin(l *wal.Log, cfg runtime.Config, start Start, res *Result) (uint64, *runtime.Machine, error) {
	cps, err := l.Checkpoints()
	if err != nil {
		return 0, nil, err
	}
	var cp *wal.Checkpoint
	switch {
	case start == FromLatest && len(cps) > 0:
		cp = &cps[len(cps)-1]
		if cp.Runtime != runtime.Version {
			return 0, nil, &otherRuntimeError{seq: cp.Seq, made: cp.Runtime}
		}
	case l.FirstSeq() > 1:
		for i := range cps {
			if cps[i].Seq >= l.FirstSeq() {
				cp = &cps[i]
				break
			}
		}
		if cp == nil {
			return 0, nil, fmt.Errorf("the log starts at event %d and holds no checkpoint to start from",
				l.FirstSeq())
		}
	}
	if cp == nil {
		m, err := runtime.NewMachine(cfg)
		return l.FirstSeq(), m, err
	}

	var snap runtime.Snapshot
	if err := json.Unmarshal(cp.Data, &snap); err != nil {
		return 0, nil, fmt.Errorf("the checkpoint at event %d does not decode: %w", cp.Seq, err)
	}
	rec, err := l.Get(cp.Seq)
	if err != nil {
		return 0, nil, err
	}
	m, outs, err := runtime.Restore(cfg, &snap, rec)
	if err != nil {
		return 0, nil, fmt.Errorf("restoring the checkpoint at event %d: %w", cp.Seq, err)
	}
	res.Events++
	res.Machine = m
	res.Checkpoint = &Made{Seq: cp.Seq, Snapshot: &snap}
	// The checkpoint's own outputs (the module's top level ran again) are
	// compared like any event's.
	c := &comparer{res: res}
	c.startEvent(rec, outs)
	err = l.Read(cp.Seq+1, func(r wal.Record) error {
		if r.Event != cp.Seq || runtime.IsInput(r.Kind) {
			return errStop
		}
		return c.output(r)
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, nil, err
	}
	if err := c.finishEvent(); err != nil && !errors.Is(err, errStop) {
		return 0, nil, err
	}
	next := cp.Seq + 1
	for {
		r, err := l.Get(next)
		if err != nil || r.Event != cp.Seq || runtime.IsInput(r.Kind) {
			break
		}
		next++
	}
	return next, m, nil
}

// latestDeploy is the code version of the last deploy in the log.
func latestDeploy(l *wal.Log) (string, error) {
	var latest string
	err := l.Read(l.FirstSeq(), func(rec wal.Record) error {
		if rec.Kind == runtime.KindDeploy || rec.Kind == runtime.KindCheckpoint {
			var d runtime.DeployData
			if json.Unmarshal(rec.Data, &d) == nil && d.Code != "" && rec.Kind == runtime.KindDeploy {
				latest = d.Code
			}
		}
		return nil
	})
	return latest, err
}
