package wal

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// batch is one caller's records and code versions, encoded and checked
// before any transaction starts, so the transaction does only puts.
type batch struct {
	recs     []Record
	recVals  [][]byte
	code     []CodeVersion
	codeVals [][]byte
	err      error // set when the batch was refused; it is then skipped
}

func prepare(recs []Record, code []CodeVersion) *batch {
	b := &batch{recs: recs, code: code}
	for _, rec := range recs {
		if rec.Kind == "" {
			b.err = fmt.Errorf("append record %d: its kind is empty", rec.Seq)
			return b
		}
		v, err := EncodeRecord(rec)
		if err != nil {
			b.err = fmt.Errorf("append: %w", err)
			return b
		}
		b.recVals = append(b.recVals, v)
	}
	for _, cv := range code {
		if cv.Hash != cv.ContentHash() {
			b.err = fmt.Errorf("append code version %q: its hash does not match its content",
				cv.Hash)
			return b
		}
		payload, err := marshal(cv)
		if err != nil {
			b.err = fmt.Errorf("append code version %s: %w", cv.Hash, err)
			return b
		}
		b.codeVals = append(b.codeVals, frame(payload))
	}
	return b
}

// Append writes recs and code in one fsync'd transaction. The first record's
// seq must be LastSeq()+1 and the rest must follow it, or nothing is written
// and the error is ErrSeqGap. Code versions are stored once per hash; storing
// one again is harmless. Every record needs a kind, and every code version a
// Hash equal to its ContentHash.
func (l *Log) Append(recs []Record, code []CodeVersion) error {
	b := prepare(recs, code)
	if b.err != nil {
		return b.err
	}
	if err := l.commit([]*batch{b}); err != nil {
		return err
	}
	return b.err
}

// commit writes the batches that are not already refused in one transaction,
// in order. A batch whose seqs do not follow is refused on its own (its err
// set) and the others go ahead; a failure of the transaction itself is
// returned and nothing is written.
func (l *Log) commit(batches []*batch) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()

	last := l.LastSeq()
	writing := false
	for _, b := range batches {
		if b.err != nil {
			continue
		}
		for i, rec := range b.recs {
			if want := last + 1 + uint64(i); rec.Seq != want {
				b.err = l.errorf(ErrSeqGap, nil,
					"cannot take record %d: the next seq is %d", rec.Seq, want)
				break
			}
		}
		if b.err == nil {
			last += uint64(len(b.recs))
			writing = writing || len(b.recs)+len(b.code) > 0
		}
	}
	if !writing {
		return nil
	}

	err := l.update("appending to it", func(tx *bolt.Tx) error {
		records, code := tx.Bucket(bucketRecords), tx.Bucket(bucketCode)
		records.FillPercent = 1 // keys only ever grow: pack pages full
		for _, b := range batches {
			if b.err != nil {
				continue
			}
			for i, rec := range b.recs {
				if err := records.Put(seqKey(rec.Seq), b.recVals[i]); err != nil {
					return fmt.Errorf("put record %d: %w", rec.Seq, err)
				}
			}
			for i, cv := range b.code {
				if code.Get([]byte(cv.Hash)) != nil {
					continue
				}
				if err := code.Put([]byte(cv.Hash), b.codeVals[i]); err != nil {
					return fmt.Errorf("put code version %s: %w", cv.Hash, err)
				}
			}
		}
		return tx.Bucket(bucketHead).Put(keyLast, seqKey(last))
	})
	if err != nil {
		var werr *Error
		if !errors.As(err, &werr) {
			err = fmt.Errorf("append to the log %s: %w", l.path, err)
		}
		return err
	}
	l.last.Store(last)
	return nil
}
