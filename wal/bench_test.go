package wal

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkRawCommit is the floor: one record per bbolt Update, fsync on,
// with none of the log's framing or checks.
func BenchmarkRawCommit(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val, err := EncodeRecord(rec(1, "call"))
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bucketRecords)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketRecords).Put(seqKey(uint64(i+1)), val)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend is one record per Log.Append, fsync on.
func BenchmarkAppend(b *testing.B) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.Append([]Record{rec(uint64(i+1), "call")}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead scans a log of 100,000 records, checking every checksum.
func BenchmarkRead(b *testing.B) {
	l, err := Open(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const n = 100_000
	recs := make([]Record, 0, 1000)
	for seq := uint64(1); seq <= n; seq++ {
		recs = append(recs, rec(seq, "call"))
		if len(recs) == cap(recs) {
			if err := l.Append(recs, nil); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		count := 0
		if err := l.Read(1, func(Record) error { count++; return nil }); err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("read %d records", count)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeRecord decodes one typical record, checksum included.
func BenchmarkDecodeRecord(b *testing.B) {
	r := rec(12345, "result")
	r.Event = 12344
	val, err := EncodeRecord(r)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(val)))
	for b.Loop() {
		if _, err := DecodeRecord(val); err != nil {
			b.Fatal(err)
		}
	}
}
