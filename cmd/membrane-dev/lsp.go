package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/membrane-dev/membrane-dev/lsp"
)

// lspFacts is what the language server knows of programs' logs and live
// runs: lenses, inlay hints, state completion and diagnostics from history.
// It is set by the file that wires the log and the runtime; while it is nil
// those features stay quiet and the rest of the server works.
var lspFacts lsp.Facts

func init() {
	var logPath string
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Serve the Language Server Protocol for program code on standard input and output",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, closeLog, err := serverLogger(logPath)
			if err != nil {
				return err
			}
			defer closeLog()
			return lsp.Serve(cmd.Context(), stdio{cmd.InOrStdin(), cmd.OutOrStdout()},
				lsp.Options{Facts: lspFacts, Logger: logger})
		},
	}
	cmd.Flags().StringVar(&logPath, "log", "", "append the server's own log to `FILE`")
	root.AddCommand(cmd)
}

// stdio joins standard input and output into the one connection the
// protocol runs on.
type stdio struct {
	in  io.Reader
	out io.Writer
}

func (s stdio) Read(p []byte) (int, error)  { return s.in.Read(p) }
func (s stdio) Write(p []byte) (int, error) { return s.out.Write(p) }
func (s stdio) Close() error                { return nil }
