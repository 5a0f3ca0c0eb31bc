package wal

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

// TestHelperAppendForever is not a test: run as a child process, it appends
// to the log in WAL_CRASH_DIR from four goroutines and prints each seq once
// its commit is acknowledged, until it is killed.
func TestHelperAppendForever(t *testing.T) {
	dir := os.Getenv("WAL_CRASH_DIR")
	if dir == "" {
		t.Skip("only runs as a child of TestAcknowledgedRecordsSurviveAKill")
	}
	l, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	acks := make(chan uint64)
	for range 4 {
		go func() {
			for {
				mu.Lock()
				seq := l.LastSeq() + 1
				err := l.Append([]Record{rec(seq, "call")}, nil)
				mu.Unlock()
				if err != nil {
					fmt.Println("error:", err)
					os.Exit(1)
				}
				acks <- seq
			}
		}()
	}
	out := bufio.NewWriter(os.Stdout)
	for seq := range acks {
		fmt.Fprintln(out, seq)
		_ = out.Flush()
	}
}

// Whatever a submitter saw acknowledged is in the log after the process
// dies, and the log is whole.
func TestAcknowledgedRecordsSurviveAKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppendForever$")
	cmd.Env = append(os.Environ(), "WAL_CRASH_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked uint64
	sc := bufio.NewScanner(stdout)
	for lines := 0; lines < 300 && sc.Scan(); lines++ {
		seq, err := strconv.ParseUint(sc.Text(), 10, 64)
		if err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("child said %q", sc.Text())
		}
		acked = max(acked, seq)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked == 0 {
		t.Fatal("the child acknowledged nothing")
	}

	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after the kill: %v", err)
	}
	defer l.Close()
	if l.LastSeq() < acked {
		t.Errorf("LastSeq %d after the kill, but %d was acknowledged", l.LastSeq(), acked)
	}
	report, err := l.Verify(nil)
	if err != nil {
		t.Fatalf("verify after the kill: %v", err)
	}
	if report.Records != l.LastSeq() {
		t.Errorf("%d whole records, LastSeq %d", report.Records, l.LastSeq())
	}
}

// A torn meta page (the write of a commit's meta cut short) makes bbolt fall
// back to the other one, which is the commit before; the log opens at that
// commit, whole.
func TestTornMetaPageFallsBackToTheOther(t *testing.T) {
	const n = 20
	dir := writeLog(t, n)
	file, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	m0, err := parseBoltMeta(file)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := parseBoltMeta(file[m0.pageSize:])
	if err != nil {
		t.Fatal(err)
	}
	// Break meta page 0's checksum: the log must find meta page 1 by itself.
	sum := boltMetaOffset + boltSumLen
	binary.NativeEndian.PutUint64(file[sum:], binary.NativeEndian.Uint64(file[sum:])+1)
	if err := os.WriteFile(Path(dir), file, 0o600); err != nil {
		t.Fatal(err)
	}

	want := uint64(n)
	if m0.txid > m1.txid {
		want = n - 1 // meta page 0 held the last commit
	}
	l, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer l.Close()
	if l.LastSeq() != want {
		t.Errorf("LastSeq = %d, want %d", l.LastSeq(), want)
	}
	if _, err := l.Verify(nil); err != nil {
		t.Errorf("verify: %v", err)
	}
}
