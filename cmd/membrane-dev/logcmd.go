package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/membrane-dev/membrane-dev/control"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
	"github.com/spf13/cobra"
)

func init() {
	var (
		dir       string
		asJSON    bool
		from      uint64
		limit     int
		verify    bool
		compactTo uint64
	)
	cmd := &cobra.Command{
		Use:   "log [--dir DIR] [--json] [--from SEQ] [--limit N] [--verify]",
		Short: "Print the program's log, or verify it",
		Long: `Print the program's log, or verify it.

--json prints JSON Lines, one record a line: {"seq", "kind", "event", "time",
"data"}. Values in data use the tagged form that "call" prints.
--verify checks every record's checksum, the order of seqs, the code
versions and the file's own structure.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := programDir(dir)
			if err != nil {
				return err
			}
			if limit < 0 {
				return usagef("--limit takes a positive number, not %d", limit)
			}
			l, done, err := openForReading(cmd.Context(), d)
			if err != nil {
				return err
			}
			defer done()
			if verify {
				return verifyLog(cmd.OutOrStdout(), cmd.ErrOrStderr(), l)
			}
			return printLog(cmd.OutOrStdout(), l, from, limit, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "dir", "", "the program directory (default: the current one)")
	fl.BoolVar(&asJSON, "json", false, "print JSON Lines")
	fl.Uint64Var(&from, "from", 0, "start at `SEQ` (inclusive)")
	fl.IntVar(&limit, "limit", 0, "print at most `N` records")
	fl.BoolVar(&verify, "verify", false, "check the log for damage")

	compact := &cobra.Command{
		Use:   "compact [--dir DIR] --before SEQ",
		Short: "Drop the history before a checkpoint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := programDir(dir)
			if err != nil {
				return err
			}
			if compactTo == 0 {
				return usagef("log compact needs --before SEQ, the seq of a checkpoint")
			}
			if c, err := control.Dial(d); err == nil {
				c.Close()
				return errors.New("stop the live run first: compaction rewrites the log file")
			}
			l, err := openLog(d)
			if err != nil {
				return err
			}
			defer l.Close()
			if err := l.Compact(compactTo); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "dropped the history before event %d\n", compactTo)
			return nil
		},
	}
	compact.Flags().StringVar(&dir, "dir", "", "the program directory (default: the current one)")
	compact.Flags().Uint64Var(&compactTo, "before", 0, "drop records before `SEQ`, a checkpoint")
	cmd.AddCommand(compact)
	root.AddCommand(cmd)
}

func printLog(w io.Writer, l *wal.Log, from uint64, limit int, asJSON bool) error {
	n := 0
	err := l.Read(max(from, l.FirstSeq()), func(rec wal.Record) error {
		if limit > 0 && n >= limit {
			return errStopRead
		}
		n++
		if asJSON {
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "%s\n", b)
			return err
		}
		_, err := fmt.Fprintln(w, describeRecord(rec))
		return err
	})
	if errors.Is(err, errStopRead) {
		return nil
	}
	return err
}

var errStopRead = errors.New("enough")

// describeRecord is one line a person reads: seq, time, kind, summary.
func describeRecord(rec wal.Record) string {
	t := time.UnixMilli(rec.Time).UTC().Format("2006-01-02 15:04:05.000")
	indent := ""
	if !runtime.IsInput(rec.Kind) && !runtime.IsNote(rec.Kind) {
		indent = "  "
	}
	return strings.TrimRight(fmt.Sprintf("%6d  %s  %s%-14s %s", rec.Seq, t, indent, rec.Kind,
		summarize(rec)), " ")
}

func summarize(rec wal.Record) string {
	var s string
	switch rec.Kind {
	case runtime.KindDeploy, runtime.KindCheckpoint:
		var d runtime.DeployData
		_ = json.Unmarshal(rec.Data, &d)
		s = "code " + shortHash(d.Code)
	case runtime.KindDeployed:
		var d runtime.DeployedData
		_ = json.Unmarshal(rec.Data, &d)
		s = "actions: " + strings.Join(d.Actions, ", ")
	case runtime.KindCall:
		var d runtime.CallData
		_ = json.Unmarshal(rec.Data, &d)
		s = d.Action + " " + string(compactJSON(d.Args))
	case runtime.KindResult:
		var d runtime.ResultData
		_ = json.Unmarshal(rec.Data, &d)
		s = fmt.Sprintf("of %d: %s", d.Call, compactJSON(d.Value))
	case runtime.KindError, runtime.KindDeployError:
		var d runtime.ResultData
		_ = json.Unmarshal(rec.Data, &d)
		s = d.Message
		if d.Call != 0 {
			s = fmt.Sprintf("of %d: %s", d.Call, d.Message)
		}
		if loc := firstFrame(d.Stack); loc != "" {
			s += " at " + loc
		}
	case runtime.KindConsole:
		var d runtime.ConsoleData
		_ = json.Unmarshal(rec.Data, &d)
		s = d.Level + ": " + d.Text
	case runtime.KindFetch:
		var d runtime.FetchData
		_ = json.Unmarshal(rec.Data, &d)
		s = fmt.Sprintf("%d %s %s", d.ID, d.Method, d.URL)
	case runtime.KindFetchResponse, runtime.KindFetchError:
		var d runtime.FetchResponseData
		_ = json.Unmarshal(rec.Data, &d)
		if d.Error != "" {
			s = fmt.Sprintf("%d failed: %s", d.ID, d.Error)
		} else {
			s = fmt.Sprintf("%d %d, %d bytes", d.ID, d.Status, len(d.Body))
		}
	case runtime.KindEndpoint:
		var d runtime.EndpointData
		_ = json.Unmarshal(rec.Data, &d)
		s = d.Method + " " + d.Path
	case runtime.KindResponse:
		var d runtime.ResponseData
		_ = json.Unmarshal(rec.Data, &d)
		s = fmt.Sprintf("of %d: %d", d.Call, d.Status)
	case runtime.KindTimerSet, runtime.KindTimer, runtime.KindTimerClear:
		var d runtime.TimerData
		_ = json.Unmarshal(rec.Data, &d)
		s = fmt.Sprintf("%d", d.ID)
		if d.Due != 0 {
			s += " due " + time.UnixMilli(d.Due).UTC().Format(time.RFC3339Nano)
		}
	case runtime.KindScheduleSet, runtime.KindSchedule, runtime.KindScheduleClear, runtime.KindUnschedule:
		var d runtime.ScheduleData
		_ = json.Unmarshal(rec.Data, &d)
		s = fmt.Sprintf("%d %s", d.ID, d.Action)
		if d.Cron != "" {
			s += " cron " + d.Cron
		}
		if d.Due != 0 {
			s += " due " + time.UnixMilli(d.Due).UTC().Format(time.RFC3339)
		}
	default:
		s = string(rec.Data)
	}
	s = strings.TrimSpace(s)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func firstFrame(stack string) string {
	if f := runtime.ParseStack(stack); len(f) > 0 {
		return fmt.Sprintf("%s:%d:%d", f[0].File, f[0].Line, f[0].Column)
	}
	return ""
}

func verifyLog(out, errOut io.Writer, l *wal.Log) error {
	rep, err := l.Verify(progressBar(errOut, "verifying"))
	if err != nil {
		if n := len(rep.Problems); n > 1 {
			return fmt.Errorf("%w (and %d more problem%s)", err, n-1, map[bool]string{true: "s"}[n > 2])
		}
		return err
	}
	fmt.Fprintf(out, "the log is sound: %d records (%d to %d), %d code versions, %d checkpoints\n",
		rep.Records, rep.FirstSeq, rep.LastSeq, rep.CodeVersions, rep.Checkpoints)
	return nil
}
