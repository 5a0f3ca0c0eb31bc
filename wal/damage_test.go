package wal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeLog makes a closed log of n records in a fresh program directory and
// returns the directory.
func writeLog(t *testing.T, n uint64) string {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	appendRange(t, l, 1, n, nil)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// recordOffset finds where record seq's payload sits in the file.
func recordOffset(t *testing.T, file []byte, seq uint64) int {
	t.Helper()
	marker := []byte(fmt.Sprintf("payload-of-record-%06d", seq))
	i := bytes.Index(file, marker)
	if i < 0 || bytes.Index(file[i+1:], marker) >= 0 {
		t.Fatalf("record %d's payload is not in the file exactly once", seq)
	}
	return i
}

func TestFlippedByteInARecordIsDamageNamingItsSeq(t *testing.T) {
	dir := writeLog(t, 40)
	file, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	file[recordOffset(t, file, 17)+5] ^= 0x01
	if err := os.WriteFile(Path(dir), file, 0o600); err != nil {
		t.Fatal(err)
	}

	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer l.Close()
	want := "the log " + Path(dir) + " is damaged: record 17 fails its checksum"

	var seen uint64
	err = l.Read(1, func(r Record) error { seen = r.Seq; return nil })
	if !errors.Is(err, ErrDamaged) || err.Error() != want {
		t.Errorf("Read: %v\nwant %s", err, want)
	}
	if seen != 16 {
		t.Errorf("Read handed out records up to %d, want up to 16", seen)
	}
	if _, err := l.Get(17); !errors.Is(err, ErrDamaged) {
		t.Errorf("Get(17): %v, want ErrDamaged", err)
	}
	if _, err := l.Get(18); err != nil {
		t.Errorf("Get(18), next to the damage: %v", err)
	}

	report, err := l.Verify(nil)
	if !errors.Is(err, ErrDamaged) || err.Error() != want {
		t.Errorf("Verify: %v\nwant %s", err, want)
	}
	if report.Records != 39 || len(report.Problems) != 1 {
		t.Errorf("report: %d good records, problems %v; want 39 and one problem",
			report.Records, report.Problems)
	}
}

func TestVerifyReportsProgress(t *testing.T) {
	dir := writeLog(t, 3000)
	l, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var calls int
	var last, total uint64
	report, err := l.Verify(func(done, tot uint64) {
		if done < last || tot != 3000 {
			t.Errorf("progress went %d -> %d of %d", last, done, tot)
		}
		calls++
		last, total = done, tot
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != total || calls < 3 {
		t.Errorf("progress ended at %d of %d after %d calls", last, total, calls)
	}
	if report.Records != 3000 || report.FirstSeq != 1 || report.LastSeq != 3000 {
		t.Errorf("report = %+v", report)
	}
}

func TestGarbageOverAPageIsDamageNotAPanic(t *testing.T) {
	for _, tt := range []struct {
		seq  uint64
		keep int // bytes of the page header left alone
	}{{1, 0}, {500, 0}, {1000, 0}, {1, 16}, {500, 16}, {1000, 16}} {
		seq := tt.seq
		t.Run(fmt.Sprintf("page of record %d after byte %d", seq, tt.keep), func(t *testing.T) {
			dir := writeLog(t, 1000)
			file, err := os.ReadFile(Path(dir))
			if err != nil {
				t.Fatal(err)
			}
			const pageSize = 4096
			page := recordOffset(t, file, seq) / pageSize * pageSize
			rand.New(rand.NewSource(int64(seq))).Read(file[page+tt.keep : page+pageSize])
			if err := os.WriteFile(Path(dir), file, 0o600); err != nil {
				t.Fatal(err)
			}

			for _, readOnly := range []bool{true, false} {
				l, err := Open(dir, Options{ReadOnly: readOnly})
				if err != nil {
					if !errors.Is(err, ErrDamaged) {
						t.Fatalf("open: %v, want ErrDamaged", err)
					}
					continue
				}
				err = l.Read(1, func(Record) error { return nil })
				if !errors.Is(err, ErrDamaged) {
					t.Errorf("Read: %v, want ErrDamaged", err)
				}
				if _, err := l.Verify(nil); !errors.Is(err, ErrDamaged) {
					t.Errorf("Verify: %v, want ErrDamaged", err)
				}
				_ = l.Close()
			}
		})
	}
}

func TestTruncatedFileIsRefused(t *testing.T) {
	dir := writeLog(t, 2000)
	file, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseBoltMeta(file[:4096])
	if err != nil {
		t.Fatal(err)
	}
	if m1, err := parseBoltMeta(file[m.pageSize:]); err == nil && m1.txid > m.txid {
		m = m1
	}
	want := int64(m.pgid) * int64(m.pageSize)
	cut := want - int64(m.pageSize)
	if err := os.Truncate(Path(dir), cut); err != nil {
		t.Fatal(err)
	}

	for _, readOnly := range []bool{true, false} {
		_, err := Open(dir, Options{ReadOnly: readOnly})
		if !errors.Is(err, ErrTruncated) || !errors.Is(err, ErrDamaged) {
			t.Fatalf("open: %v, want ErrTruncated (and ErrDamaged)", err)
		}
		msg := fmt.Sprintf("the log %s is truncated: it is %d bytes but its meta page says %d",
			Path(dir), cut, want)
		if err.Error() != msg {
			t.Errorf("message:\n got %s\nwant %s", err, msg)
		}
	}

	// Cut inside the meta pages, and to nothing.
	for _, size := range []int64{4096 + 100, 50, 0} {
		if err := os.Truncate(Path(dir), size); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir, Options{ReadOnly: true})
		if !errors.Is(err, ErrDamaged) {
			t.Errorf("open of a file cut to %d bytes: %v, want ErrDamaged", size, err)
		}
	}
}

// A file truncated after it was opened makes bbolt touch mapped pages past
// the end of the file: a SIGBUS, which must come back as damage.
func TestTruncatedWhileOpenIsDamageNotACrash(t *testing.T) {
	dir := writeLog(t, 2000)
	l, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Truncate(Path(dir), 2*4096); err != nil {
		t.Fatal(err)
	}
	err = l.Read(1, func(Record) error { return nil })
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Read: %v, want ErrDamaged", err)
	}
	if !strings.Contains(err.Error(), "bad page") {
		t.Errorf("Read: %v, want it to mention a bad page", err)
	}
	if _, err := l.Get(1500); !errors.Is(err, ErrDamaged) {
		t.Errorf("Get: %v, want ErrDamaged", err)
	}
}

func TestNotALog(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/.membrane", 0o700); err != nil {
		t.Fatal(err)
	}
	text := bytes.Repeat([]byte("this is not a database\n"), 1000)
	if err := os.WriteFile(Path(dir), text, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "meta pages") {
		t.Errorf("open of a text file: %v, want ErrDamaged about its meta pages", err)
	}
}

// TestHelperHoldLock is not a test: run as a child process, it opens the log
// in WAL_HOLD_DIR, says "locked", and holds the log until stdin closes.
func TestHelperHoldLock(t *testing.T) {
	dir := os.Getenv("WAL_HOLD_DIR")
	if dir == "" {
		t.Skip("only runs as a child of TestSecondWriterIsLockedOut")
	}
	l, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = l.Close()
	os.Exit(0)
}

func TestSecondWriterIsLockedOut(t *testing.T) {
	dir := writeLog(t, 3)

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "WAL_HOLD_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child said %q, %v", line, err)
	}

	const timeout = 300 * time.Millisecond
	for _, readOnly := range []bool{false, true} {
		start := time.Now()
		_, err := Open(dir, Options{Timeout: timeout, ReadOnly: readOnly})
		waited := time.Since(start)
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("open (read-only %v) while another process holds the log: %v, want ErrLocked",
				readOnly, err)
		}
		if !strings.Contains(err.Error(), "is held by another process") {
			t.Errorf("message: %v", err)
		}
		// Generous bound: the point is that it gives up, not how fast.
		if waited > 10*timeout {
			t.Errorf("gave up after %v with a timeout of %v", waited, timeout)
		}
	}

	// Once the other process lets go, the log opens.
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	l, err := Open(dir, Options{Timeout: timeout})
	if err != nil {
		t.Fatalf("open after the other process exited: %v", err)
	}
	_ = l.Close()
}

func TestMissingRecordsAreDamage(t *testing.T) {
	dir := writeLog(t, 30)
	deleteKeys(t, Path(dir), 10, 11, 30)

	// The head still says 30: a missing last record stops the open.
	_, err := Open(dir, Options{ReadOnly: true})
	if !errors.Is(err, ErrDamaged) || !strings.HasSuffix(err.Error(), "record 30 is missing") {
		t.Fatalf("open: %v, want damage naming record 30", err)
	}

	dir = writeLog(t, 30)
	deleteKeys(t, Path(dir), 10, 11)
	l, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Read(1, func(Record) error { return nil }); !errors.Is(err, ErrDamaged) ||
		!strings.HasSuffix(err.Error(), "is damaged: record 10 is missing") {
		t.Errorf("Read: %v, want damage naming record 10", err)
	}
	if _, err := l.Get(11); !errors.Is(err, ErrDamaged) {
		t.Errorf("Get(11): %v, want ErrDamaged", err)
	}
	_, err = l.Verify(nil)
	if !errors.Is(err, ErrDamaged) || !strings.HasSuffix(err.Error(), "records 10 to 11 are missing") {
		t.Errorf("Verify: %v, want damage naming records 10 to 11", err)
	}
}

// deleteKeys removes records behind the log's back, as damage would.
func deleteKeys(t *testing.T, path string, seqs ...uint64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, seq := range seqs {
			if err := tx.Bucket(bucketRecords).Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
