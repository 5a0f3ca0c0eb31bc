package wal

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Checkpoint is a point a program can restart from without replaying the log
// before it. Its data belong to package runtime.
type Checkpoint struct {
	Seq     uint64          `json:"seq"`     // its "checkpoint" record; 0 = start of log
	Runtime string          `json:"runtime"` // runtime version that made it
	Data    json.RawMessage `json:"data"`    // opaque to the log
}

// PutCheckpoint stores cp, replacing any checkpoint with the same Seq, in one
// fsync'd transaction. cp.Seq must be 0 (the start of a log that was never
// compacted) or the seq of a record of kind "checkpoint"; otherwise the error
// is ErrNotCheckpoint.
func (l *Log) PutCheckpoint(cp Checkpoint) error {
	if cp.Runtime == "" {
		return fmt.Errorf("put checkpoint %d: its runtime version is empty", cp.Seq)
	}
	payload, err := marshal(cp)
	if err != nil {
		return fmt.Errorf("put checkpoint %d: %w", cp.Seq, err)
	}

	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.update(fmt.Sprintf("writing checkpoint %d", cp.Seq), func(tx *bolt.Tx) error {
		if err := l.checkCheckpointRecord(tx, cp.Seq); err != nil {
			return err
		}
		return tx.Bucket(bucketCheckpoints).Put(seqKey(cp.Seq), frame(payload))
	})
}

// checkCheckpointRecord checks that seq can carry a checkpoint.
func (l *Log) checkCheckpointRecord(tx *bolt.Tx, seq uint64) error {
	if seq == 0 {
		if l.FirstSeq() > 1 {
			return l.errorf(ErrNotCheckpoint, nil,
				"cannot take a checkpoint at the start: records before %d were compacted away",
				l.FirstSeq())
		}
		return nil
	}
	v := tx.Bucket(bucketRecords).Get(seqKey(seq))
	if v == nil {
		return l.errorf(ErrNotCheckpoint, nil, "has no record %d", seq)
	}
	rec, err := l.decodeAt(seq, v)
	if err != nil {
		return err
	}
	if rec.Kind != KindCheckpoint {
		return l.errorf(ErrNotCheckpoint, nil, "has a %q record at %d, not a %q", rec.Kind, seq,
			KindCheckpoint)
	}
	return nil
}

// Checkpoints returns every stored checkpoint in ascending Seq.
func (l *Log) Checkpoints() ([]Checkpoint, error) {
	var cps []Checkpoint
	err := l.view("reading checkpoints", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCheckpoints).ForEach(func(k, v []byte) error {
			cp, err := l.decodeCheckpoint(k, v)
			if err != nil {
				return err
			}
			cps = append(cps, cp)
			return nil
		})
	})
	return cps, err
}

func (l *Log) decodeCheckpoint(k, v []byte) (Checkpoint, error) {
	var cp Checkpoint
	if len(k) != 8 {
		return cp, l.damagedf("a checkpoint has a malformed key")
	}
	seq := keySeq(k)
	if err := unframeJSON("checkpoint", v, &cp); err != nil {
		return cp, l.damagedf("checkpoint %d %s", seq, reasonOf(err))
	}
	if cp.Seq != seq {
		return cp, l.damagedf("checkpoint %d says it is checkpoint %d", seq, cp.Seq)
	}
	return cp, nil
}

// Compact drops every record with seq < before, and the checkpoints that
// belong to them, then rewrites the file so that it shrinks. before must be
// the seq of a record of kind "checkpoint" with a stored Checkpoint;
// otherwise the error is ErrNotCheckpoint and nothing changes. Code versions
// are all kept.
//
// The records are dropped in one transaction; the rewrite comes after. If the
// rewrite fails the log is still whole and compacted, only not smaller.
func (l *Log) Compact(before uint64) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()

	err := l.update(fmt.Sprintf("compacting it before %d", before), func(tx *bolt.Tx) error {
		if before == 0 {
			return l.errorf(ErrNotCheckpoint, nil, "cannot be compacted before 0")
		}
		if err := l.checkCheckpointRecord(tx, before); err != nil {
			return err
		}
		if tx.Bucket(bucketCheckpoints).Get(seqKey(before)) == nil {
			return l.errorf(ErrNotCheckpoint, nil,
				"has no stored checkpoint for record %d, so it cannot be compacted there", before)
		}
		for _, name := range [][]byte{bucketRecords, bucketCheckpoints} {
			if err := deleteBefore(tx.Bucket(name), before); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketHead).Put(keyFirst, seqKey(max(before, l.FirstSeq())))
	})
	if err != nil {
		return err
	}
	l.first.Store(max(before, l.FirstSeq()))

	if err := l.rewrite(); err != nil {
		l.logger.Warn("wal: compacted log not rewritten", "path", l.path, "err", err)
		return fmt.Errorf("the log %s was compacted but could not be made smaller: %w",
			l.path, err)
	}
	return nil
}

// deleteBefore deletes the keys of b below seq.
func deleteBefore(b *bolt.Bucket, seq uint64) error {
	c := b.Cursor()
	for k, _ := c.First(); k != nil && keySeq(k) < seq; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return fmt.Errorf("delete %d: %w", keySeq(k), err)
		}
	}
	return nil
}

// rewrite copies the live data into a fresh file beside the log and renames
// it over the log, so pages freed by Compact go back to the file system. The
// new file is opened, and so locked, before the rename: no other process can
// slip in between. Callers hold l.wmu.
func (l *Log) rewrite() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		return l.errorf(ErrClosed, nil, "is closed")
	}

	tmp := l.path + ".compact"
	_ = os.Remove(tmp) // a leftover of an earlier failed rewrite
	dst, err := l.openBolt(tmp)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = dst.Close()
			_ = os.Remove(tmp)
		}
	}()

	copyAll := func() error { return bolt.Compact(dst, l.db, 64<<20) }
	if err := l.guard("rewriting it", copyAll); err != nil {
		return err
	}
	if err := dst.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	ok = true
	if err := syncDir(filepath.Dir(l.path)); err != nil {
		l.logger.Warn("wal: directory not synced after rewrite", "path", l.path, "err", err)
	}
	old := l.db
	l.db = dst
	if err := old.Close(); err != nil {
		return fmt.Errorf("close the old file: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
