package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/membrane-dev/membrane-dev/control"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/spf13/cobra"
)

// timerListEntry is one pending timer or scheduled call, as `timers` shows it.
type timerListEntry struct {
	ID     uint64          `json:"id"`
	Kind   string          `json:"kind"` // "timer", "interval", "invokeIn", "cron"
	Action string          `json:"action,omitempty"`
	Args   json.RawMessage `json:"args,omitempty"`
	Cron   string          `json:"cron,omitempty"`
	Due    time.Time       `json:"due"`
	Code   string          `json:"code"`
}

func listTimers(m *runtime.Machine) []timerListEntry {
	var out []timerListEntry
	for _, s := range m.Schedules() {
		kind := "scheduled"
		if s.Cron != "" {
			kind = "cron"
		}
		out = append(out, timerListEntry{ID: s.ID, Kind: kind, Action: s.Action, Args: s.Args, Cron: s.Cron,
			Due: time.UnixMilli(s.Due).UTC(), Code: s.Code})
	}
	for _, t := range m.PendingTimers() {
		kind := "timer"
		if t.Interval > 0 {
			kind = "interval"
		}
		out = append(out, timerListEntry{ID: t.ID, Kind: kind, Due: time.UnixMilli(t.Due).UTC(), Code: t.Code})
	}
	return out
}

func init() {
	var (
		dir    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "timers [--dir DIR] [--json]",
		Short: "List pending timers and scheduled calls",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := programDir(dir)
			if err != nil {
				return err
			}
			entries, err := pendingTimers(cmd, d)
			if err != nil {
				return err
			}
			return printTimers(cmd.OutOrStdout(), entries, asJSON)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the program directory (default: the current one)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON Lines")

	cancel := &cobra.Command{
		Use:   "cancel [--dir DIR] ID",
		Short: "Cancel a scheduled call",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return usagef("%q is not a timer id: ids are numbers, as `membrane-dev timers` lists them", args[0])
			}
			d, err := programDir(dir)
			if err != nil {
				return err
			}
			ok, err := cancelSchedule(cmd, d, id)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no scheduled call has id %d", id)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cancelled %d\n", id)
			return nil
		},
	}
	cancel.Flags().StringVar(&dir, "dir", "", "the program directory (default: the current one)")
	cmd.AddCommand(cancel)
	root.AddCommand(cmd)
}

func pendingTimers(cmd *cobra.Command, dir string) ([]timerListEntry, error) {
	if c, err := control.Dial(dir); err == nil {
		defer c.Close()
		var st statusReply
		err := c.Call(cmd.Context(), "GET", "/status", nil, &st)
		return st.Timers, err
	}
	l, done, err := openForReading(cmd.Context(), dir)
	if err != nil {
		return nil, err
	}
	defer done()
	m, err := recoverMachine(l, 0, progressBar(cmd.ErrOrStderr(), "reading"))
	if err != nil {
		return nil, err
	}
	return listTimers(m), nil
}

func cancelSchedule(cmd *cobra.Command, dir string, id uint64) (bool, error) {
	if c, err := control.Dial(dir); err == nil {
		defer c.Close()
		var r struct{ Cancelled bool }
		err := c.Call(cmd.Context(), "POST", "/unschedule", map[string]uint64{"id": id}, &r)
		return r.Cancelled, err
	}
	p, err := startLive(dir, liveOptions{})
	if err != nil {
		return false, err
	}
	defer p.close()
	rep, err := p.runner.Unschedule(cmd.Context(), id)
	return rep.Output != nil, err
}

func printTimers(w io.Writer, entries []timerListEntry, asJSON bool) error {
	if asJSON {
		for _, e := range entries {
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "%s\n", b)
		}
		return nil
	}
	if len(entries) == 0 {
		fmt.Fprintln(w, "no pending timers")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tCALLS\tNEXT\tCODE")
	for _, e := range entries {
		calls := "(callback)"
		if e.Action != "" {
			calls = e.Action + " " + string(compactJSON(e.Args))
			if e.Cron != "" {
				calls += "  cron " + e.Cron
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", e.ID, e.Kind, calls, e.Due.Format(time.RFC3339), shortHash(e.Code))
	}
	return tw.Flush()
}
