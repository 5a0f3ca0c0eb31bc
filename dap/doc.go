// Package dap serves the Debug Adapter Protocol: time-travel debugging of a
// program's log.
//
// A launch replays the log of a program under the debugger. goja has no
// debugger API, so every code version is instrumented (package instrument):
// a probe before each statement counts steps and calls into Go only when it
// must stop or decide. A place in history is a Point: an event of the log
// and how many statements of it have run. Replay is deterministic, so any
// Point, earlier ones included, is reached by replaying up to it with the
// probes counting but not stopping.
//
// The package owns the protocol, the session's breakpoints and stops, and
// the replays it drives. It does not touch the log (it only reads it), the
// runtime's behaviour (it hooks in through runtime.Config and
// replay.Options), or the command line.
//
// # Goroutines
//
// A Server runs one Session per connection. Each Session has:
//
//   - the reader goroutine, which reads requests and runs their handlers one
//     at a time under Session.mu. Handlers answer at once; those that move
//     the program (continue, the steps, stepBack, reverseContinue, seek,
//     restart, configurationDone) hand the move to the execution goroutine
//     and return, so that pause and disconnect are read while it runs.
//   - at most one execution goroutine at a time, which drives replayers and,
//     when they stop, takes Session.mu to install the stop and send the
//     stopped event. While it runs, handlers that need a stopped program
//     answer that it is running.
//   - one goroutine per replayer: a replay.Run of the log. It blocks inside
//     the replay's event hook (at the start of an event) or inside a probe
//     (at a statement) while stopped, and serves commands there: resume
//     toward a goal, run a function on its goroutine (every read of goja
//     values happens this way), or end. Whoever holds a replayer (the
//     execution goroutine, a handler while stopped, or the pool) is the only
//     one that talks to it, and waits for each answer.
//   - the pool's goroutine, which keeps replayers parked at the start of
//     events spread over the history and at the start of the event the
//     session is stopped in, refilling them one at a time in the
//     background. A jump back takes the nearest parked replayer instead of
//     replaying from the start.
//
// Writes to the connection are serialised by Session.wmu; log points print
// from replayer goroutines through it.
//
// # Stepping back
//
// stepBack goes to the Point one statement earlier, or to the last
// statement of the closest earlier event that ran one: a census replay at
// launch counts the statements of every event. reverseContinue replays the
// stretch from the nearest parked replayer up to the current Point noting
// breakpoint hits, then goes to the last one; with none it looks at the
// stretch before, and finally stops at the start of the recording. An
// evaluate that may have had side effects is followed by rebuilding the
// Point from a parked replayer, so history never changes.
package dap
