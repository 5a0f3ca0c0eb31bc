package dap

import (
	"errors"
	"fmt"
)

// ErrNotLoopback refuses a listen address that other machines could reach.
var ErrNotLoopback = errors.New("the debugger listens on loopback addresses only")

// Error ids: below 2000 are for the user to read, from 9000 internal.
const (
	errIDUser     = 1000
	errIDInternal = 9000
)

var (
	errUnsupported = errors.New("membrane-dev's debugger does not support the request")
	errNotLaunched = errors.New("no program is being debugged yet: send launch first")
	errRunning     = errors.New("the program is running: pause it first")
	errNotStarted  = errors.New("the replay has not started: send configurationDone first")
	// ErrImmutable refuses setVariable: a replay shows history, which
	// cannot be changed.
	ErrImmutable = errors.New("history is immutable: a replayed value cannot be changed")
)

// userError marks an error whose message the user should see as it is.
type userError struct{ err error }

func (e userError) Error() string { return e.err.Error() }
func (e userError) Unwrap() error { return e.err }

func userf(format string, args ...any) error { return userError{fmt.Errorf(format, args...)} }
