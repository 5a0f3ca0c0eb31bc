package wal

import (
	"errors"

	bolt "go.etcd.io/bbolt"
)

// VerifyReport is what Verify found.
type VerifyReport struct {
	FirstSeq     uint64 // as the head says
	LastSeq      uint64
	Records      uint64 // records read and found whole
	CodeVersions int    // code versions whose content matches their hash
	Checkpoints  int
	// Problems lists what is wrong, in the order found, at most
	// maxProblems of them. Each is ErrDamaged.
	Problems []error
}

// maxProblems bounds VerifyReport.Problems: a badly damaged file would
// otherwise list every page.
const maxProblems = 100

// Verify reads the whole log in one transaction and checks every record's
// checksum, that seqs run without a gap from FirstSeq to LastSeq, that each
// record sits under its own seq, that each code version's content matches its
// hash, that each checkpoint is readable and belongs to a checkpoint record,
// and bbolt's own consistency check (Tx.Check). progress, if not nil, is
// called now and then with the items done so far and the total.
//
// The error is nil when nothing is wrong, and otherwise the first problem
// (ErrDamaged); the report lists all of them. On a writable log, commits wait
// while Verify runs.
func (l *Log) Verify(progress func(done, total uint64)) (VerifyReport, error) {
	v := &verifier{l: l, progress: progress}
	// bbolt's check is only safe beside writers in a writable transaction.
	// Lock order, everywhere: wmu before mu.
	if !l.readOnly {
		l.wmu.Lock()
		defer l.wmu.Unlock()
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.db == nil {
		return VerifyReport{}, l.errorf(ErrClosed, nil, "is closed")
	}
	err := l.guard("verifying it", func() error {
		tx, err := l.db.Begin(!l.readOnly)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		v.run(tx)
		return nil
	})
	if err != nil {
		v.problem(err)
	}
	if len(v.report.Problems) > 0 {
		return v.report, v.report.Problems[0]
	}
	return v.report, nil
}

type verifier struct {
	l           *Log
	progress    func(done, total uint64)
	done, total uint64
	report      VerifyReport
}

// problem records a problem; errors that are not already the log's damage
// errors are wrapped as such.
func (v *verifier) problem(err error) {
	if !errors.Is(err, ErrDamaged) {
		err = v.l.errorf(ErrDamaged, err, "is damaged: %v", err)
	}
	if len(v.report.Problems) < maxProblems {
		v.report.Problems = append(v.report.Problems, err)
	}
}

func (v *verifier) step() {
	v.done++
	if v.progress != nil && (v.done%1024 == 0 || v.done == v.total) {
		v.progress(v.done, v.total)
	}
}

func (v *verifier) run(tx *bolt.Tx) {
	l := v.l
	first, last, err := l.readHead(tx)
	if err != nil {
		// Carry on with the cached bounds, to find what else is wrong.
		v.problem(err)
		first, last = l.FirstSeq(), l.LastSeq()
	}
	v.report.FirstSeq, v.report.LastSeq = first, last
	if last+1 < first {
		return
	}
	for _, name := range [][]byte{bucketRecords, bucketCode, bucketCheckpoints, bucketMeta} {
		if tx.Bucket(name) == nil {
			return // readHead reported it
		}
	}
	codeBucket := tx.Bucket(bucketCode)
	v.total = last + 1 - first + uint64(codeBucket.Stats().KeyN)
	if v.progress != nil {
		v.progress(0, v.total)
	}

	v.records(tx, first, last)
	v.codeVersions(codeBucket)
	v.checkpoints(tx, first)
	v.metaValues(tx)

	// Every page of the log's buckets has now been read on this goroutine,
	// under guard; bbolt's check runs on a goroutine of its own, where a
	// fault could not be recovered, so it comes last.
	for err := range tx.Check() {
		v.problem(l.damagedf("bbolt's check failed: %v", err))
	}
	if v.progress != nil && v.done != v.total {
		v.progress(v.done, v.total)
	}
}

func (v *verifier) records(tx *bolt.Tx, first, last uint64) {
	l := v.l
	next := first
	c := tx.Bucket(bucketRecords).Cursor()
	for k, val := c.First(); k != nil; k, val = c.Next() {
		seq := keySeq(k)
		switch {
		case seq == 0:
			v.problem(l.damagedf("a record has a malformed key %x", k))
			continue
		case seq > next:
			v.problem(l.missing(next, seq-1))
		case seq < next:
			v.problem(l.damagedf("record %d is out of order", seq))
		}
		next = seq + 1
		if _, err := l.decodeAt(seq, val); err != nil {
			v.problem(err)
		} else {
			v.report.Records++
		}
		v.step()
	}
	if next <= last {
		v.problem(l.missing(next, last))
	}
}

func (v *verifier) codeVersions(b *bolt.Bucket) {
	l := v.l
	_ = b.ForEach(func(k, val []byte) error {
		v.step()
		var cv CodeVersion
		if err := unframeJSON("code version", val, &cv); err != nil {
			v.problem(l.damagedf("code version %s %s", k, reasonOf(err)))
			return nil
		}
		if cv.Hash != string(k) || cv.ContentHash() != cv.Hash {
			v.problem(l.damagedf("code version %s does not match its content", k))
			return nil
		}
		v.report.CodeVersions++
		return nil
	})
}

func (v *verifier) checkpoints(tx *bolt.Tx, first uint64) {
	l := v.l
	_ = tx.Bucket(bucketCheckpoints).ForEach(func(k, val []byte) error {
		cp, err := l.decodeCheckpoint(k, val)
		if err != nil {
			v.problem(err)
			return nil
		}
		if cp.Seq == 0 && first > 1 {
			v.problem(l.damagedf("checkpoint 0 survived compaction to %d", first))
			return nil
		}
		if cp.Seq != 0 {
			if err := l.checkCheckpointRecord(tx, cp.Seq); err != nil {
				v.problem(l.damagedf("checkpoint %d does not belong to a checkpoint record (%v)",
					cp.Seq, err))
				return nil
			}
		}
		v.report.Checkpoints++
		return nil
	})
}

func (v *verifier) metaValues(tx *bolt.Tx) {
	_ = tx.Bucket(bucketMeta).ForEach(func(k, val []byte) error {
		if _, err := unframe("meta value", val); err != nil {
			v.problem(v.l.damagedf("meta value %q %s", k, reasonOf(err)))
		}
		return nil
	})
}
