// Package instrument rewrites a bundled program so that the time-travel
// debugger can stop inside it.
//
// goja has no debugger API, so the debugger runs an instrumented copy of the
// bundle: Instrument inserts a probe before every statement (and, unless told
// not to, at every function entry). A probe bumps a step counter kept in the
// bundle's own scope and calls into Go only when the counter reaches a target,
// when a breakpoint flag is set for its site, or while stepping. On that slow
// path it hands the host the site, the id of the current function invocation
// and the values of the bindings in scope. Host installs the Go side on a
// goja.Runtime and reports each stop to a callback that may block, which is
// how the debugger pauses.
//
// The package owns the rewriting, the site and function tables, the mapping
// from instrumented positions back to bundle positions, scope reading and
// frame evaluation. It knows nothing of the protocol, the log or source maps:
// positions are bundle positions, and the debugger maps them further.
//
// Positions: lines are 1-based and columns are 0-based UTF-16 code units, the
// convention of source maps. Insertions never contain a newline, so a line of
// the instrumented code is the same line of the bundle.
package instrument
