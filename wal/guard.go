package wal

import (
	"fmt"
	"runtime/debug"
)

// guard runs fn so that damage in the file cannot kill the process. bbolt
// reads pages straight from its memory map: a page past the end of a
// truncated file raises SIGBUS, and a page of garbage makes bbolt panic. With
// panic-on-fault set on this goroutine the first becomes a panic too, and
// both are recovered here into ErrDamaged. The goroutine's previous setting
// is restored, so callers' goroutines are left as they were.
//
// Every path that touches the map goes through guard. bbolt's own
// transactions roll back on a panic, so no lock is left held.
func (l *Log) guard(what string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		r := recover()
		debug.SetPanicOnFault(old)
		if r != nil {
			l.logger.Error("wal: recovered from a bad page", "path", l.path, "op", what,
				"panic", fmt.Sprint(r))
			cause := fmt.Errorf("recovered: %v", r)
			err = l.errorf(ErrDamaged, cause, "is damaged: %s hit a bad page", what)
		}
	}()
	return fn()
}
