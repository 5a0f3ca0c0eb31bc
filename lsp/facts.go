package lsp

import (
	"encoding/json"
	"time"

	"github.com/membrane-dev/membrane-dev/bundle"
)

// Facts is what the log and a live run know about a program. The command
// that starts the server supplies it; the server only reads through it, and
// a nil Facts leaves lenses, inlay hints, state completion and runtime
// diagnostics quiet. Every method takes the program directory, absolute.
type Facts interface {
	// Actions returns the history of each action that was ever called,
	// by action name.
	Actions(dir string) (map[string]ActionFacts, error)
	// StateFields returns the top-level field names of state as it is now:
	// from a live run, or from the last checkpoint.
	StateFields(dir string) ([]string, error)
	// RunBuildError returns the last build error a live run saw, or nil.
	RunBuildError(dir string) (*bundle.Message, error)
	// Call runs an action with args (a JSON object) and returns its result.
	Call(dir, action string, args json.RawMessage) (json.RawMessage, error)
}

// ActionFacts is the recorded history of one action.
type ActionFacts struct {
	Calls, Failures int
	LastCall        time.Time
	LastSeq         uint64   // seq of the last call; the Debug lens goes there
	LastResult      string   // JSON text of the last result, for inlay hints
	LastFailure     *Failure // the most recent failure, or nil
}

// Failure is an error an action threw, where it was thrown.
type Failure struct {
	File         string // relative to the program directory
	Line, Column int    // 1-based; Column in bytes
	Message      string
	Seq          uint64
}
