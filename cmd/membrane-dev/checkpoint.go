package main

import (
	"fmt"
	"os"
	"time"

	"github.com/membrane-dev/membrane-dev/control"
	"github.com/spf13/cobra"
)

func osPID() int { return os.Getpid() }

func init() {
	var (
		dir     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "checkpoint [--dir DIR] [--timeout DURATION]",
		Short: "Make a checkpoint, so restarts replay less of the log",
		Long: `Make a checkpoint, so restarts replay less of the log.

A checkpoint is a deploy of the same code once nothing is pending: the
module is evaluated afresh, so module variables start over and only state
and scheduled calls carry over. It waits up to --timeout for pending timers,
fetches and actions to finish, then fails naming what is still pending.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := programDir(dir)
			if err != nil {
				return err
			}
			var seq uint64
			if c, err := control.Dial(d); err == nil {
				defer c.Close()
				var r struct{ Seq uint64 }
				err := c.Call(cmd.Context(), "POST", "/checkpoint",
					map[string]time.Duration{"timeout": timeout}, &r)
				if err != nil {
					return err
				}
				seq = r.Seq
			} else {
				if !hasLog(d) {
					return fmt.Errorf("%s has no log yet: start it with `membrane-dev run`", d)
				}
				p, err := startLive(d, liveOptions{})
				if err != nil {
					return err
				}
				defer p.close()
				if seq, err = checkpointWithin(cmd.Context(), p, timeout); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "checkpoint at event %d\n", seq)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the program directory (default: the current one)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for pending work")
	root.AddCommand(cmd)
}
