package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/dap"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

func init() {
	var listen, logPath string
	cmd := &cobra.Command{
		Use:   "dap [--listen HOST:PORT]",
		Short: "Serve the Debug Adapter Protocol: time-travel debugging of a program's log",
		Long: `Serve the Debug Adapter Protocol on standard input and output, as VS Code's
debug adapter executables expect, or with --listen on a loopback address, as
nvim-dap's server adapters expect.

A launch request names the program's directory ("program"); the debugger
replays its log with breakpoints, stepping forward and back, and jumps to any
recorded event. "code": "current" replays the history against the files on
disk instead of the code that ran.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, closeLog, err := serverLogger(logPath)
			if err != nil {
				return err
			}
			defer closeLog()
			srv := dap.NewServer(dap.Config{Open: openForReading, Current: currentCode,
				Logger: logger})
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if listen == "" {
				return srv.ServeConn(ctx, stdio{cmd.InOrStdin(), cmd.OutOrStdout()})
			}
			ln, err := dap.Listen(listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "membrane-dev dap listening on %s\n", ln.Addr())
			return srv.Serve(ctx, ln)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "",
		"serve on `HOST:PORT` (loopback only) instead of standard input and output")
	cmd.Flags().StringVar(&logPath, "log", "", "append the server's own log to `FILE`")
	root.AddCommand(cmd)
}

// currentCode builds the program's files as they are on disk, for a launch
// with "code": "current".
func currentCode(dir string) (*wal.CodeVersion, error) {
	p, err := bundle.Build(dir, bundle.Options{})
	if err != nil {
		return nil, err
	}
	return runtime.CodeVersionOf(p), nil
}
