package wal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// openTemp opens a fresh log in a new program directory.
func openTemp(t *testing.T, opts Options) (*Log, string) {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, dir
}

// rec makes a record with a recognisable payload.
func rec(seq uint64, kind string) Record {
	return Record{
		Seq:  seq,
		Kind: kind,
		Time: 1_700_000_000_000 + int64(seq),
		Data: json.RawMessage(fmt.Sprintf(`{"marker":"payload-of-record-%06d"}`, seq)),
	}
}

// appendRange appends records from..to, one Append each, all of kind "call"
// unless kinds says otherwise.
func appendRange(t *testing.T, l *Log, from, to uint64, kinds map[uint64]string) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		kind := "call"
		if k, ok := kinds[seq]; ok {
			kind = k
		}
		if err := l.Append([]Record{rec(seq, kind)}, nil); err != nil {
			t.Fatalf("append %d: %v", seq, err)
		}
	}
}

func readAll(t *testing.T, l *Log, from uint64) []Record {
	t.Helper()
	var got []Record
	if err := l.Read(from, func(r Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("read from %d: %v", from, err)
	}
	return got
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	_, dir := openTemp(t, Options{})
	for path, want := range map[string]os.FileMode{
		filepath.Join(dir, ".membrane"): 0o700 | os.ModeDir,
		Path(dir):                       0o600,
	} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode(), want)
		}
	}
}

func TestRoundTripAcrossReopen(t *testing.T) {
	l, dir := openTemp(t, Options{})
	if l.FirstSeq() != 1 || l.LastSeq() != 0 {
		t.Fatalf("empty log: first %d last %d, want 1 0", l.FirstSeq(), l.LastSeq())
	}
	code := NewCodeVersion("index.ts", "var x = 1;", `{"version":3}`,
		map[string]string{"index.ts": "let x = 1;", "lib/a.ts": "export {}"})
	batch := []Record{rec(1, "deploy"), rec(2, "call"), rec(3, "result")}
	batch[2].Event = 2
	if err := l.Append(batch, []CodeVersion{code}); err != nil {
		t.Fatal(err)
	}
	if err := l.SetMeta("runtime", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.FirstSeq() != 1 || l.LastSeq() != 3 {
		t.Errorf("reopened: first %d last %d, want 1 3", l.FirstSeq(), l.LastSeq())
	}
	if got := readAll(t, l, 0); !reflect.DeepEqual(got, batch) {
		t.Errorf("records after reopen:\n got %+v\nwant %+v", got, batch)
	}
	got, err := l.Get(3)
	if err != nil || !reflect.DeepEqual(got, batch[2]) {
		t.Errorf("Get(3) = %+v, %v", got, err)
	}
	cv, err := l.Code(code.Hash)
	if err != nil || !reflect.DeepEqual(cv, code) {
		t.Errorf("Code = %+v, %v", cv, err)
	}
	if v, err := l.Meta("runtime"); err != nil || string(v) != "v1" {
		t.Errorf("Meta = %q, %v", v, err)
	}
	if _, err := l.Meta("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Meta of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := l.Code("0000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Code of a missing hash: %v, want ErrNotFound", err)
	}
	if _, err := l.Get(4); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(4): %v, want ErrNotFound", err)
	}
	if err := l.Append([]Record{rec(4, "call")}, nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Append on a read-only log: %v, want ErrReadOnly", err)
	}
}

func TestAppendChecksSeqs(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	appendRange(t, l, 1, 3, nil)

	for _, tt := range []struct {
		name string
		recs []Record
	}{
		{"repeat", []Record{rec(3, "call")}},
		{"skip", []Record{rec(5, "call")}},
		{"start over", []Record{rec(1, "call")}},
		{"gap inside", []Record{rec(4, "call"), rec(6, "call")}},
		{"reordered", []Record{rec(5, "call"), rec(4, "call")}},
	} {
		err := l.Append(tt.recs, nil)
		if !errors.Is(err, ErrSeqGap) {
			t.Errorf("%s: err = %v, want ErrSeqGap", tt.name, err)
		}
		if l.LastSeq() != 3 {
			t.Fatalf("%s: LastSeq = %d after a refused append, want 3", tt.name, l.LastSeq())
		}
	}
	if _, err := l.Get(4); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused batch left record 4 behind: %v", err)
	}
	err := l.Append([]Record{rec(5, "call")}, nil)
	if want := "cannot take record 5: the next seq is 4"; err == nil ||
		!strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to say %q", err, want)
	}

	if err := l.Append([]Record{{Seq: 4}}, nil); err == nil {
		t.Error("a record without a kind was accepted")
	}
	bad := NewCodeVersion("index.ts", "a", "", nil)
	bad.Bundle = "b"
	if err := l.Append([]Record{rec(4, "deploy")}, []CodeVersion{bad}); err == nil {
		t.Error("a code version whose hash does not match its content was accepted")
	}
	if err := l.Append([]Record{rec(4, "call"), rec(5, "call")}, nil); err != nil {
		t.Fatalf("a following batch was refused: %v", err)
	}
	if l.LastSeq() != 5 {
		t.Errorf("LastSeq = %d, want 5", l.LastSeq())
	}
}

func TestCodeVersionsAreStoredOnce(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	code := NewCodeVersion("index.js", "1", "{}", map[string]string{"index.js": "1"})
	for seq := uint64(1); seq <= 3; seq++ {
		if err := l.Append([]Record{rec(seq, "deploy")}, []CodeVersion{code}); err != nil {
			t.Fatal(err)
		}
	}
	report, err := l.Verify(nil)
	if err != nil {
		t.Fatal(err)
	}
	if report.CodeVersions != 1 || report.Records != 3 {
		t.Errorf("report = %+v, want 1 code version and 3 records", report)
	}
	// The hash covers every field, and the order of sources does not matter.
	other := NewCodeVersion("index.js", "1", "{}", map[string]string{"index.js": "2"})
	if other.Hash == code.Hash {
		t.Error("different sources gave the same hash")
	}
	if NewCodeVersion("a", "bc", "", nil).Hash == NewCodeVersion("ab", "c", "", nil).Hash {
		t.Error("moving a byte between fields kept the hash")
	}
}

func TestReadFromTheMiddle(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	// More records than one chunk, to cross chunk boundaries.
	const n = chunkRecords*2 + 17
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = rec(uint64(i+1), "call")
	}
	if err := l.Append(recs, nil); err != nil {
		t.Fatal(err)
	}
	for _, from := range []uint64{0, 1, 2, chunkRecords, chunkRecords + 1, n, n + 1, n + 100} {
		got := readAll(t, l, from)
		start := max(from, 1)
		var want []Record
		if start <= n {
			want = recs[start-1:]
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("Read(%d) gave %d records, want %d", from, len(got), len(want))
		}
	}

	stop := errors.New("enough")
	var seen []uint64
	err := l.Read(10, func(r Record) error {
		seen = append(seen, r.Seq)
		if len(seen) == 3 {
			return stop
		}
		return nil
	})
	if err != stop || !reflect.DeepEqual(seen, []uint64{10, 11, 12}) {
		t.Errorf("stopping early: seen %v, err %v", seen, err)
	}
}

func TestCheckpoints(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	appendRange(t, l, 1, 6, map[uint64]string{3: KindCheckpoint, 6: KindCheckpoint})

	put := func(seq uint64, data string) error {
		return l.PutCheckpoint(Checkpoint{Seq: seq, Runtime: "r1", Data: json.RawMessage(data)})
	}
	for _, seq := range []uint64{6, 0, 3} {
		if err := put(seq, fmt.Sprintf(`{"n":%d}`, seq)); err != nil {
			t.Fatalf("put %d: %v", seq, err)
		}
	}
	if err := put(3, `{"n":"replaced"}`); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{2, 7} {
		if err := put(seq, `{}`); !errors.Is(err, ErrNotCheckpoint) {
			t.Errorf("put %d: %v, want ErrNotCheckpoint", seq, err)
		}
	}
	cps, err := l.Checkpoints()
	if err != nil {
		t.Fatal(err)
	}
	want := []Checkpoint{
		{Seq: 0, Runtime: "r1", Data: json.RawMessage(`{"n":0}`)},
		{Seq: 3, Runtime: "r1", Data: json.RawMessage(`{"n":"replaced"}`)},
		{Seq: 6, Runtime: "r1", Data: json.RawMessage(`{"n":6}`)},
	}
	if !reflect.DeepEqual(cps, want) {
		t.Errorf("checkpoints:\n got %+v\nwant %+v", cps, want)
	}
}

func TestCompactKeepsTheRest(t *testing.T) {
	l, dir := openTemp(t, Options{NoSync: true})
	big := strings.Repeat("x", 4000)
	code := NewCodeVersion("index.ts", "b", "{}", map[string]string{"index.ts": "s"})
	if err := l.Append([]Record{rec(1, "deploy")}, []CodeVersion{code}); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(2); seq <= 500; seq++ {
		r := rec(seq, "call")
		if seq == 400 || seq == 450 {
			r.Kind = KindCheckpoint
		}
		r.Data = json.RawMessage(fmt.Sprintf(`{"pad":%q}`, big))
		if err := l.Append([]Record{r}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, seq := range []uint64{0, 400} {
		cp := Checkpoint{Seq: seq, Runtime: "r1", Data: json.RawMessage(`{}`)}
		if err := l.PutCheckpoint(cp); err != nil {
			t.Fatal(err)
		}
	}

	if err := l.Compact(300); !errors.Is(err, ErrNotCheckpoint) {
		t.Errorf("compact at a call record: %v, want ErrNotCheckpoint", err)
	}
	if err := l.Compact(450); !errors.Is(err, ErrNotCheckpoint) {
		t.Errorf("compact at a checkpoint record with no checkpoint: %v, want ErrNotCheckpoint", err)
	}
	if l.FirstSeq() != 1 {
		t.Fatalf("a refused compaction moved FirstSeq to %d", l.FirstSeq())
	}

	before := fileSize(t, Path(dir))
	if err := l.Compact(400); err != nil {
		t.Fatal(err)
	}
	if after := fileSize(t, Path(dir)); after*2 > before {
		t.Errorf("compacting 80%% of the records took the file from %d to %d bytes", before, after)
	}
	if l.FirstSeq() != 400 || l.LastSeq() != 500 {
		t.Errorf("after compaction: first %d last %d, want 400 500", l.FirstSeq(), l.LastSeq())
	}
	got := readAll(t, l, 1)
	if len(got) != 101 || got[0].Seq != 400 || got[100].Seq != 500 {
		t.Fatalf("after compaction Read(1) gave %d records", len(got))
	}
	if _, err := l.Get(399); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(399) after compaction: %v, want ErrNotFound", err)
	}
	cps, err := l.Checkpoints()
	if err != nil || len(cps) != 1 || cps[0].Seq != 400 {
		t.Errorf("checkpoints after compaction: %+v, %v", cps, err)
	}
	if _, err := l.Code(code.Hash); err != nil {
		t.Errorf("compaction lost a code version: %v", err)
	}
	if err := l.Append([]Record{rec(501, "call")}, nil); err != nil {
		t.Fatalf("append after compaction: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	report, err := l.Verify(nil)
	if err != nil {
		t.Fatalf("verify after compaction: %v", err)
	}
	if report.FirstSeq != 400 || report.LastSeq != 501 || report.Records != 102 {
		t.Errorf("report after compaction: %+v", report)
	}
	if _, err := os.Stat(Path(dir) + ".compact"); !os.IsNotExist(err) {
		t.Errorf("the rewrite left its temporary file behind: %v", err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func TestSnapshotOpensWithTheSameRecords(t *testing.T) {
	l, dir := openTemp(t, Options{})
	appendRange(t, l, 1, 50, map[uint64]string{20: KindCheckpoint})
	code := NewCodeVersion("index.ts", "b", "{}", nil)
	if err := l.Append(nil, []CodeVersion{code}); err != nil {
		t.Fatal(err)
	}
	point := Checkpoint{Seq: 20, Runtime: "r1", Data: json.RawMessage(`1`)}
	if err := l.PutCheckpoint(point); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	n, err := l.WriteSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteSnapshot said %d bytes, wrote %d", n, buf.Len())
	}
	// The live log moves on; the copy stays as it was.
	appendRange(t, l, 51, 60, nil)

	copyPath := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cp, err := OpenFile(copyPath, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if cp.LastSeq() != 50 {
		t.Errorf("copy LastSeq = %d, want 50", cp.LastSeq())
	}
	if got, want := readAll(t, cp, 0), readAll(t, l, 0)[:50]; !reflect.DeepEqual(got, want) {
		t.Error("the copy's records differ from the log's")
	}
	if _, err := cp.Code(code.Hash); err != nil {
		t.Errorf("copy lacks the code version: %v", err)
	}
	if _, err := cp.Verify(nil); err != nil {
		t.Errorf("copy does not verify: %v", err)
	}
}

func TestClosedLog(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.Append([]Record{rec(1, "call")}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := l.Get(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
}

func TestReadOnlyOpenOfMissingLog(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir, Options{ReadOnly: true})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, ".membrane")); !os.IsNotExist(statErr) {
		t.Error("a read-only open created .membrane")
	}
}
