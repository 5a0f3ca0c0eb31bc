package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/membrane-dev/membrane-dev/control"
	"github.com/spf13/cobra"
)

func init() {
	var dir string
	cmd := &cobra.Command{
		Use:   "call [--dir DIR] NAME [ARGS_JSON]",
		Short: "Call an action and print its result as JSON",
		Long: `Call an action and print its result as JSON.

ARGS_JSON is a JSON object; {} when omitted. Values JSON cannot hold are
printed in the tagged form "log --json" uses: {"$type": "bigint", "value":
"12"}, {"$type": "map", "entries": [[k, v]]}, {"$type": "undefined"}, and
objects reached twice carry "$id" and are referred to as {"$ref": id}.

While "membrane-dev run" is live for DIR the call goes through it; otherwise
the log is opened here.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw := "{}"
			if len(args) == 2 {
				raw = args[1]
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
				return usagef("the arguments %s are not a JSON object", quoteArg(raw))
			}
			return callCommand(cmd, dir, args[0], json.RawMessage(raw))
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the program directory (default: the current one)")
	root.AddCommand(cmd)
}

func quoteArg(s string) string {
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func callCommand(cmd *cobra.Command, dirArg, action string, args json.RawMessage) error {
	dir, err := programDir(dirArg)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var rep callReply
	if c, err := control.Dial(dir); err == nil {
		defer c.Close()
		rep, err = callThrough(ctx, c, action, args)
		if err != nil {
			return err
		}
	} else {
		p, err := startLive(dir, liveOptions{console: consolePrinter(cmd.ErrOrStderr(), cmd.ErrOrStderr())})
		if err != nil {
			return err
		}
		defer p.close()
		if err := firstDeploy(ctx, p, io.Discard, cmd.ErrOrStderr()); err != nil {
			return err
		}
		if rep, err = callAction(ctx, p, action, args); err != nil {
			return err
		}
	}
	if e := rep.Error; e != nil {
		if e.Unknown {
			return errors.New(e.Message)
		}
		return &programError{what: fmt.Sprintf("the action %s failed", action), d: *e}
	}
	fmt.Fprintln(cmd.OutOrStdout(), string(compactJSON(rep.Value)))
	return nil
}

func callThrough(ctx context.Context, c *control.Client, action string, args json.RawMessage) (callReply, error) {
	var rep callReply
	err := c.Call(ctx, "POST", "/call", callRequest{Action: action, Args: args}, &rep)
	return rep, err
}

func compactJSON(v json.RawMessage) []byte {
	if len(v) == 0 {
		return []byte(`{"$type":"undefined"}`)
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}
