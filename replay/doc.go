// Package replay re-executes a program from its log in a fresh runtime,
// injecting the recorded inputs and comparing every output with the
// recording. The first mismatch is a divergence.
package replay
