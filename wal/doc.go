// Package wal owns a program's log: a bbolt database under DIR/.membrane/.
//
// It stores records in seq order with checksums, the content-addressed code
// versions they refer to, and checkpoints. It knows how records are framed,
// not what they mean: kinds belong to package runtime.
package wal
