package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/control"
	"github.com/membrane-dev/membrane-dev/replay"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
	"github.com/spf13/cobra"
)

type replayFlags struct {
	dir     string
	code    string
	to      uint64
	upgrade bool
	asJSON  bool
}

// replaySummary is what `replay --json` prints.
type replaySummary struct {
	Events     int                `json:"events"`
	Last       uint64             `json:"last"`
	DurationMS float64            `json:"durationMs"`
	Matched    bool               `json:"matched"`
	Divergence *replay.Divergence `json:"divergence,omitempty"`
	State      json.RawMessage    `json:"state,omitempty"`
	Upgraded   *upgradeSummary    `json:"upgraded,omitempty"`
}

type upgradeSummary struct {
	Runtime    string `json:"runtime"`
	Checkpoint uint64 `json:"checkpoint"`
}

func init() {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay [--dir DIR] [--code SRC_DIR] [--to SEQ] [--upgrade] [--json]",
		Short: "Re-run the log and compare every output with the recording",
		Long: `Re-run the log in a fresh runtime and compare every output with the
recording. No real I/O happens: recorded responses are injected.

Exit status 0 means the replay matched; 1 means it diverged, and the report
names the event, what was recorded, what the replay produced, and where.

--code SRC_DIR replays against other source files in place of the latest
recorded version, to check a change before it goes live.
--to SEQ stops after event SEQ and prints the program's state there.
--upgrade replays the whole log on this runtime and, when it matches, makes
this runtime's checkpoint the one restarts start from.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return replayCommand(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", "", "the program directory (default: the current one)")
	fl.StringVar(&f.code, "code", "", "replay with the sources in `SRC_DIR` in place of the latest version")
	fl.Uint64Var(&f.to, "to", 0, "stop after event `SEQ` and print the state there")
	fl.BoolVar(&f.upgrade, "upgrade", false, "move the program onto this runtime when the replay matches")
	fl.BoolVar(&f.asJSON, "json", false, "print a JSON summary")
	root.AddCommand(cmd)
}

func replayCommand(cmd *cobra.Command, f replayFlags) error {
	if f.upgrade && (f.code != "" || f.to != 0) {
		return usagef("--upgrade replays the whole recorded history: it takes neither --code nor --to")
	}
	dir, err := programDir(f.dir)
	if err != nil {
		return err
	}
	opts := replay.Options{Start: replay.FromEarliest, To: f.to,
		Progress: progressBar(cmd.ErrOrStderr(), "replaying")}
	if f.code != "" {
		prog, err := bundle.Build(f.code, bundle.Options{})
		if err != nil {
			return err
		}
		opts.Code = runtime.CodeVersionOf(prog)
	}
	l, done, err := openForReading(cmd.Context(), dir)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			done()
		}
	}()
	if f.to != 0 && (f.to < l.FirstSeq() || f.to > l.LastSeq()) {
		return fmt.Errorf("the log holds events %d to %d, not %d", l.FirstSeq(), l.LastSeq(), f.to)
	}

	res, err := replay.Run(l, opts)
	if err != nil {
		return err
	}
	sum := replaySummary{Events: res.Events, Last: res.Last, Matched: res.Divergence == nil,
		DurationMS: float64(res.Duration.Microseconds()) / 1000, Divergence: res.Divergence}
	if f.to != 0 && res.Machine != nil && res.Divergence == nil {
		sum.Last = f.to
		sum.State, _ = res.Machine.StateJSON()
	}
	if f.upgrade && res.Divergence == nil {
		done() // the upgrade may open the log for writing
		closed = true
		if sum.Upgraded, err = upgrade(cmd, dir, res); err != nil {
			return err
		}
	}
	printReplay(cmd.OutOrStdout(), sum, f.asJSON)
	if res.Divergence != nil {
		return exitError{exitFailure}
	}
	return nil
}

// upgrade makes this runtime's snapshot at the last checkpoint the one
// restarts start from, in one write; a live run writes it for us.
func upgrade(cmd *cobra.Command, dir string, res *replay.Result) (*upgradeSummary, error) {
	sum := &upgradeSummary{Runtime: runtime.Version}
	if res.Checkpoint == nil {
		return sum, nil // no checkpoint: restarts replay from the start on any runtime
	}
	data, err := json.Marshal(res.Checkpoint.Snapshot)
	if err != nil {
		return nil, err
	}
	cp := wal.Checkpoint{Seq: res.Checkpoint.Seq, Runtime: runtime.Version, Data: data}
	sum.Checkpoint = cp.Seq
	if c, err := control.Dial(dir); err == nil {
		defer c.Close()
		return sum, c.Call(cmd.Context(), "POST", "/checkpoint-entry", cp, nil)
	}
	l, err := openLog(dir)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return sum, l.PutCheckpoint(cp)
}

func printReplay(w io.Writer, s replaySummary, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(s)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	took := time.Duration(s.DurationMS * float64(time.Millisecond)).Round(time.Millisecond)
	if s.Divergence != nil {
		fmt.Fprint(w, s.Divergence.Format())
		fmt.Fprintf(w, "replayed %d events in %s before the divergence\n", s.Events, took)
		return
	}
	fmt.Fprintf(w, "replayed %d events in %s: it matches the recording\n", s.Events, took)
	if s.State != nil {
		fmt.Fprintf(w, "state after event %d: %s\n", s.Last, compactJSON(s.State))
	}
	if u := s.Upgraded; u != nil {
		if u.Checkpoint != 0 {
			fmt.Fprintf(w, "restarts now start from runtime %s's checkpoint at event %d\n", u.Runtime, u.Checkpoint)
		} else {
			fmt.Fprintf(w, "the history matches on runtime %s; with no checkpoint, restarts replay it all\n", u.Runtime)
		}
	}
}
