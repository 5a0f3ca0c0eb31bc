// Package wal owns a program's log: the bbolt database at
// DIR/.membrane/log.db that holds every record of the program's history in
// seq order, the content-addressed code versions those records refer to,
// checkpoints, and a small meta bucket for the runtime.
//
// The log frames records; it does not interpret them. Kinds and data belong
// to package runtime, and the only kind the log knows is "checkpoint",
// because Compact may only cut the log there.
//
// # Durability
//
// Append writes in one transaction and returns once bbolt has fsync'd it;
// its caller (the runtime's Runner) batches events so that concurrent callers
// share those fsyncs (group commit). Seqs
// count from 1 without gaps; the log refuses a record that does not follow
// (ErrSeqGap) rather than store history out of order.
//
// # Damage
//
// Every stored value is framed as a format byte, a CRC-32C of the payload,
// then the payload, and every read checks the frame. The head bucket keeps
// the first and last seq, so records missing at either end are noticed too.
// bbolt memory-maps the file and trusts it: before opening a file the log
// compares its size with the high-water mark on its meta page, and every
// access runs under a guard that turns a memory fault or a bbolt panic into
// ErrDamaged. A damaged log is reported, never silently repaired.
//
// # Concurrency
//
// A Log is safe for concurrent use. One process at a time may open a log for
// writing; others wait at most Options.Timeout and then get ErrLocked. Read
// works in chunks and calls back outside any transaction, so a long replay
// does not hold up commits; WriteSnapshot gives another process a consistent
// copy to read.
package wal
