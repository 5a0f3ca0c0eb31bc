package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options configure Open and OpenFile.
type Options struct {
	// ReadOnly opens the log with a shared lock and refuses every write.
	// Several read-only opens may share a file; a read-only open waits for a
	// writer to let go, for at most Timeout.
	ReadOnly bool

	// Timeout is how long to wait for the file lock before giving up with
	// ErrLocked. Zero (or less) means 2s; the log never waits forever.
	Timeout time.Duration

	// NoSync skips fsync on every commit.
	//
	// WARNING: with NoSync a crash or power loss can lose records that were
	// acknowledged, or leave the file damaged. It exists for tests and
	// benchmarks only; never set it for a program's real log.
	NoSync bool

	// Logger receives the log's rare diagnostics. Nil means silent.
	Logger *slog.Logger
}

const defaultTimeout = 2 * time.Second

// Bucket names. The head bucket holds the log's own bookkeeping: the format
// version and the first and last seq, which let the log notice records
// missing at either end.
var (
	bucketRecords     = []byte("records")
	bucketCode        = []byte("code")
	bucketCheckpoints = []byte("checkpoints")
	bucketMeta        = []byte("meta")
	bucketHead        = []byte("wal")

	keyFormat = []byte("format")
	keyFirst  = []byte("first")
	keyLast   = []byte("last")
)

const logFormat = 1

// Log is an open log file. Its methods are safe for concurrent use.
type Log struct {
	path     string
	readOnly bool
	opts     Options
	logger   *slog.Logger

	mu sync.RWMutex // guards db: Compact swaps it, Close clears it
	db *bolt.DB

	wmu   sync.Mutex // serialises writers, so seq checks and the head agree
	first atomic.Uint64
	last  atomic.Uint64
}

// Path is where the log of the program in dir lives: DIR/.membrane/log.db.
func Path(dir string) string {
	return filepath.Join(dir, ".membrane", "log.db")
}

// Open opens the log of the program in dir, creating DIR/.membrane (mode
// 0700) and the file (mode 0600) unless opts.ReadOnly is set.
func Open(dir string, opts Options) (*Log, error) {
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Join(dir, ".membrane"), 0o700); err != nil {
			return nil, fmt.Errorf("create the log directory: %w", err)
		}
	}
	return OpenFile(Path(dir), opts)
}

// OpenFile opens a log file anywhere, such as a copy made by WriteSnapshot.
// It creates the file (mode 0600) unless opts.ReadOnly is set.
func OpenFile(path string, opts Options) (*Log, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	l := &Log{path: path, readOnly: opts.ReadOnly, opts: opts, logger: opts.Logger}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if err := l.precheck(); err != nil {
		return nil, err
	}

	db, err := l.openBolt(path)
	if err != nil {
		return nil, err
	}
	l.db = db
	if err := l.guard("opening it", l.loadHead); err != nil {
		_ = l.guard("closing it", db.Close)
		return nil, err
	}
	return l, nil
}

// openBolt opens the bbolt file at path with the log's options, turning
// bbolt's errors into the log's.
func (l *Log) openBolt(path string) (*bolt.DB, error) {
	var db *bolt.DB
	err := l.guard("opening it", func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:         l.opts.Timeout,
			ReadOnly:        l.opts.ReadOnly,
			NoSync:          l.opts.NoSync,
			PreLoadFreelist: true, // read the freelist now, under guard
		})
		return err
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, l.errorf(ErrLocked, err,
			"is held by another process (gave up waiting for its lock after %s)", l.opts.Timeout)
	case errors.Is(err, fs.ErrNotExist):
		return nil, l.errorf(ErrNotFound, err, "does not exist")
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		return nil, l.errorf(ErrDamaged, err, "is damaged: it is not a readable bbolt file (%v)", err)
	case errors.Is(err, ErrDamaged):
		return nil, err
	default:
		return nil, fmt.Errorf("open the log %s: %w", path, err)
	}
}

// loadHead creates the buckets of a new log, or checks an existing log's
// head against its records, and caches the first and last seq.
func (l *Log) loadHead() error {
	if !l.readOnly {
		err := l.db.Update(func(tx *bolt.Tx) error {
			for _, name := range [][]byte{bucketRecords, bucketCode, bucketCheckpoints,
				bucketMeta} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			head, err := tx.CreateBucketIfNotExists(bucketHead)
			if err != nil {
				return err
			}
			if head.Get(keyFormat) != nil {
				return nil
			}
			if err := head.Put(keyFormat, seqKey(logFormat)); err != nil {
				return err
			}
			if err := head.Put(keyFirst, seqKey(1)); err != nil {
				return err
			}
			return head.Put(keyLast, seqKey(0))
		})
		if err != nil {
			return fmt.Errorf("initialise the log %s: %w", l.path, err)
		}
	}

	return l.db.View(func(tx *bolt.Tx) error {
		first, last, err := l.readHead(tx)
		if err != nil {
			return err
		}
		l.first.Store(first)
		l.last.Store(last)
		return nil
	})
}

// readHead reads the first and last seq from the head bucket and checks
// them against the record keys at both ends.
func (l *Log) readHead(tx *bolt.Tx) (first, last uint64, err error) {
	head := tx.Bucket(bucketHead)
	for _, name := range [][]byte{bucketRecords, bucketCode, bucketCheckpoints, bucketMeta} {
		if tx.Bucket(name) == nil || head == nil {
			return 0, 0, l.damagedf("it is not a membrane-dev log (bucket %q is missing)", name)
		}
	}
	format, firstKey, lastKey := head.Get(keyFormat), head.Get(keyFirst), head.Get(keyLast)
	if len(format) != 8 || len(firstKey) != 8 || len(lastKey) != 8 {
		return 0, 0, l.damagedf("its head is unreadable")
	}
	if f := binary.BigEndian.Uint64(format); f != logFormat {
		return 0, 0, l.damagedf("it has format %d, which this version does not know", f)
	}
	first, last = binary.BigEndian.Uint64(firstKey), binary.BigEndian.Uint64(lastKey)
	if first == 0 || last+1 < first {
		return 0, 0, l.damagedf("its head is inconsistent (first %d, last %d)", first, last)
	}

	c := tx.Bucket(bucketRecords).Cursor()
	k, _ := c.First()
	if last < first {
		if k != nil {
			return 0, 0, l.damagedf("it holds records its head does not count")
		}
		return first, last, nil
	}
	if k == nil {
		return 0, 0, l.missing(first, last)
	}
	if got := keySeq(k); got != first {
		return 0, 0, l.damagedf("record %d is missing", first)
	}
	k, _ = c.Last()
	if got := keySeq(k); got < last {
		return 0, 0, l.missing(got+1, last)
	} else if got > last {
		return 0, 0, l.damagedf("it holds records after %d that its head does not count", last)
	}
	return first, last, nil
}

// headBounds reads the first and last seq as tx sees them, without the
// checks readHead makes.
func headBounds(tx *bolt.Tx) (first, last uint64) {
	head := tx.Bucket(bucketHead)
	return keySeq(head.Get(keyFirst)), keySeq(head.Get(keyLast))
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

// keySeq decodes a record key; a key of the wrong length reads as 0, which
// is never a seq.
func keySeq(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

// Close closes the log. Closing twice is harmless.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		return nil
	}
	err := l.db.Close()
	l.db = nil
	if err != nil {
		return fmt.Errorf("close the log %s: %w", l.path, err)
	}
	return nil
}

// LastSeq is the seq of the last record, or 0 for an empty log.
func (l *Log) LastSeq() uint64 { return l.last.Load() }

// FirstSeq is the seq of the first record kept: 1, or after Compact the seq
// it was given.
func (l *Log) FirstSeq() uint64 { return l.first.Load() }

// view runs fn in a read transaction, guarded.
func (l *Log) view(what string, fn func(tx *bolt.Tx) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.db == nil {
		return l.errorf(ErrClosed, nil, "is closed")
	}
	return l.guard(what, func() error { return l.db.View(fn) })
}

// update runs fn in a write transaction, guarded. Callers hold l.wmu.
func (l *Log) update(what string, fn func(tx *bolt.Tx) error) error {
	if l.readOnly {
		return l.errorf(ErrReadOnly, nil, "was opened read-only")
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.db == nil {
		return l.errorf(ErrClosed, nil, "is closed")
	}
	return l.guard(what, func() error { return l.db.Update(fn) })
}

// Get returns the record with the given seq.
func (l *Log) Get(seq uint64) (Record, error) {
	var rec Record
	err := l.view(fmt.Sprintf("reading record %d", seq), func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRecords).Get(seqKey(seq))
		if v == nil {
			// The bounds come from this transaction, not the cached ones,
			// which may already count a commit this snapshot predates.
			first, last := headBounds(tx)
			if seq >= first && seq <= last {
				return l.damagedf("record %d is missing", seq)
			}
			return l.errorf(ErrNotFound, nil, "has no record %d", seq)
		}
		var err error
		rec, err = l.decodeAt(seq, v)
		return err
	})
	return rec, err
}

// decodeAt decodes the record stored under seq, naming seq in any damage.
func (l *Log) decodeAt(seq uint64, v []byte) (Record, error) {
	rec, err := DecodeRecord(v)
	var fe *frameError
	if errors.As(err, &fe) {
		return Record{}, l.damagedf("record %d %s", seq, fe.reason)
	}
	if err != nil {
		return Record{}, err
	}
	if rec.Seq != seq {
		return Record{}, l.damagedf("record %d says it is record %d", seq, rec.Seq)
	}
	return rec, nil
}

// Read calls fn for each record from seq from (inclusive) to the end, in seq
// order, checking each checksum and that no seq is missing; damage is
// ErrDamaged naming the seq. A from below FirstSeq starts at FirstSeq.
// Records appended while Read runs are included. An error from fn stops the
// read and is returned as it is.
//
// Read works in chunks and calls fn outside any transaction, so a slow fn
// (a replay running beside a live program) never holds up commits.
func (l *Log) Read(from uint64, fn func(Record) error) error {
	next := max(from, l.FirstSeq())
	last := l.LastSeq()
	for {
		// A chunk that ends at damage still holds the good records before it.
		chunk, readErr := l.readChunk(next)
		for _, rec := range chunk {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if readErr != nil {
			return readErr
		}
		if len(chunk) == 0 {
			break
		}
		next = chunk[len(chunk)-1].Seq + 1
	}
	if next <= last {
		return l.missing(next, last)
	}
	return nil
}

// Limits of one chunk of Read: whichever is reached first.
const (
	chunkRecords = 512
	chunkBytes   = 4 << 20
)

func (l *Log) readChunk(next uint64) ([]Record, error) {
	var chunk []Record
	err := l.view(fmt.Sprintf("reading from record %d", next), func(tx *bolt.Tx) error {
		if first, _ := headBounds(tx); next < first {
			return l.errorf(ErrNotFound, nil,
				"no longer has record %d: it was compacted away during the read", next)
		}
		c := tx.Bucket(bucketRecords).Cursor()
		size := 0
		for k, v := c.Seek(seqKey(next)); k != nil; k, v = c.Next() {
			if seq := keySeq(k); seq != next {
				return l.damagedf("record %d is missing", next)
			}
			rec, err := l.decodeAt(next, v)
			if err != nil {
				return err
			}
			chunk = append(chunk, rec)
			next++
			size += len(v)
			if len(chunk) >= chunkRecords || size >= chunkBytes {
				break
			}
		}
		return nil
	})
	return chunk, err
}

// Code returns the code version with the given hash, or ErrNotFound.
func (l *Log) Code(hash string) (CodeVersion, error) {
	var cv CodeVersion
	err := l.view("reading code version "+hash, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCode).Get([]byte(hash))
		if v == nil {
			return l.errorf(ErrNotFound, nil, "has no code version %s", hash)
		}
		if err := unframeJSON("code version", v, &cv); err != nil {
			return l.damagedf("code version %s %s", hash, reasonOf(err))
		}
		if cv.Hash != hash {
			return l.damagedf("code version %s is stored under %s", cv.Hash, hash)
		}
		return nil
	})
	return cv, err
}

// reasonOf is the part of a frame error after its subject.
func reasonOf(err error) string {
	var fe *frameError
	if errors.As(err, &fe) {
		return fe.reason
	}
	return err.Error()
}

// Meta returns the value stored under key by SetMeta, or ErrNotFound.
func (l *Log) Meta(key string) ([]byte, error) {
	var out []byte
	err := l.view("reading meta "+key, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get([]byte(key))
		if v == nil {
			return l.errorf(ErrNotFound, nil, "has no meta key %q", key)
		}
		payload, err := unframe("meta value", v)
		if err != nil {
			return l.damagedf("meta value %q %s", key, reasonOf(err))
		}
		out = append([]byte(nil), payload...)
		return nil
	})
	return out, err
}

// SetMeta stores v under key in a small bucket kept for the runtime, in one
// fsync'd transaction. It is meant for small values.
func (l *Log) SetMeta(key string, v []byte) error {
	if key == "" {
		return errors.New("set meta: the key is empty")
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.update("writing meta "+key, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(key), frame(v))
	})
}

// WriteSnapshot writes a consistent copy of the log to w, as of one moment,
// without blocking writers for long. The copy opens with OpenFile.
func (l *Log) WriteSnapshot(w io.Writer) (int64, error) {
	var n int64
	err := l.view("copying it", func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		if err != nil {
			return fmt.Errorf("copy the log %s: %w", l.path, err)
		}
		return nil
	})
	return n, err
}
