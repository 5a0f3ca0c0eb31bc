package wal

import "fmt"

// ErrDamaged means the log file cannot be trusted: a record fails its
// checksum, a record is missing, a page of the file holds garbage, or the
// file is not a log at all. Errors that mention a record name its seq.
var ErrDamaged error = &sentinel{msg: "the log is damaged"}

// ErrTruncated means the log file is shorter than its own meta page says it
// should be, as after a copy that stopped early or a disk that filled up.
// It is a kind of damage: errors.Is(err, ErrDamaged) holds for it too.
var ErrTruncated error = &sentinel{msg: "the log is truncated", parent: ErrDamaged}

// ErrLocked means another process holds the log file's lock and did not let
// go of it within Options.Timeout.
var ErrLocked error = &sentinel{msg: "the log is held by another process"}

// ErrNotFound means a record, code version, checkpoint or meta key is not in
// the log.
var ErrNotFound error = &sentinel{msg: "not found in the log"}

// ErrSeqGap means Append was given a record whose seq is not the next one:
// seqs count from 1 and are contiguous.
var ErrSeqGap error = &sentinel{msg: "record seq does not follow the last seq"}

// ErrNotCheckpoint means Compact was asked to cut the log at a seq that is not
// a record of kind "checkpoint" with a stored Checkpoint entry, or
// PutCheckpoint was given a seq that is not such a record.
var ErrNotCheckpoint error = &sentinel{msg: "not a checkpoint"}

// ErrReadOnly means a write was attempted on a log opened with ReadOnly.
var ErrReadOnly error = &sentinel{msg: "the log was opened read-only"}

// ErrClosed means the Log was used after Close.
var ErrClosed error = &sentinel{msg: "the log is closed"}

// sentinel is an error value that may belong to a broader one, so that
// ErrTruncated is also ErrDamaged.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }

// Error is what the log returns for a problem a user should read: one
// sentence naming the file, such as "the log .membrane/log.db is damaged:
// record 17 fails its checksum". errors.Is matches it against the sentinel it
// belongs to and against the cause it wraps, if any.
type Error struct {
	Path   string // the log file as it was given to Open or OpenFile
	Kind   error  // one of the sentinel errors above
	Detail string // the rest of the sentence after the path
	Err    error  // the underlying cause, or nil
}

func (e *Error) Error() string { return "the log " + e.Path + " " + e.Detail }

// Unwrap gives errors.Is and errors.As both the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// errorf builds an Error; format continues the sentence after the path.
func (l *Log) errorf(kind, cause error, format string, args ...any) error {
	return &Error{Path: l.path, Kind: kind, Detail: fmt.Sprintf(format, args...), Err: cause}
}

func (l *Log) damagedf(format string, args ...any) error {
	return l.errorf(ErrDamaged, nil, "is damaged: "+format, args...)
}

// missing reports records from..to (inclusive) as missing.
func (l *Log) missing(from, to uint64) error {
	if from == to {
		return l.damagedf("record %d is missing", from)
	}
	return l.damagedf("records %d to %d are missing", from, to)
}
