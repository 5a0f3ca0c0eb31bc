// Package runtime runs a program deterministically on goja.
//
// It owns the Machine, a pure state machine from inputs to outputs: given the
// same code and the same input records it produces the same output records,
// byte for byte. The Machine does no I/O of its own. Time, randomness,
// fetch responses and timer firings all arrive as input records; fetch
// requests, console lines, timers set and results leave as output records.
//
// The Runner drives a Machine live: it takes inputs from callers, the HTTP
// endpoint and the clock, writes them to the log with their outputs, and only
// lets an effect escape (a result, a fetch, a console line) once its records
// are durable.
//
// This package knows nothing of editors, the debugger or the exit node.
package runtime
