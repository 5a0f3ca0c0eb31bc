// Command membrane-dev runs, replays and debugs durable JavaScript and
// TypeScript programs. It wires the packages together; each command lives in
// a file of its own and registers itself with root in an init function.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes, as the product contract gives them.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks a command line that is wrong: an unknown flag, a missing
// argument, arguments that are not a JSON object. It exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitError carries an exit status chosen by a command (replay's 1 on a
// divergence) after the command already printed what the user must see.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

var root = &cobra.Command{
	Use:           "membrane-dev",
	Short:         "Run, replay and debug durable JavaScript and TypeScript programs",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.DisableDefaultCmd = true
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes one command line and returns its exit status. It never lets a
// panic reach the user as a Go stack trace.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "membrane-dev: internal error: %v\n", r)
			code = exitFailure
		}
	}()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "membrane-dev: %s\n", oneLine(err))
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailure
}
