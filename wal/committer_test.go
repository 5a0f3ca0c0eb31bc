package wal

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// sequencer hands out seqs and submits under one lock, as the runtime does:
// the order of Submit calls is the order of seqs.
type sequencer struct {
	mu   sync.Mutex
	next uint64
	c    *Committer
}

func (s *sequencer) submit(kind string) (uint64, <-chan error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	return s.next, s.c.Submit([]Record{rec(s.next, kind)}, nil)
}

func TestCommitterManySubmitters(t *testing.T) {
	l, _ := openTemp(t, Options{}) // fsync on: commits take long enough to overlap
	c := NewCommitter(l)
	seqr := &sequencer{c: c}

	const goroutines, each = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, done := seqr.submit("call")
				errs <- <-done
			}
		}()
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a submitter saw %v", err)
		}
	}

	const n = goroutines * each
	got := readAll(t, l, 1)
	if len(got) != n {
		t.Fatalf("%d records in the log, want %d", len(got), n)
	}
	for i, r := range got {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i+1, r.Seq)
		}
	}
	st := c.Stats()
	if st.Submits != n || st.Records != n {
		t.Errorf("stats %+v, want %d submits and records", st, n)
	}
	if st.Commits >= st.Submits {
		t.Errorf("%d commits for %d submits: nothing was shared", st.Commits, st.Submits)
	}
	t.Logf("%d submits in %d commits", st.Submits, st.Commits)
}

func TestCommitterCoalescesWhileACommitIsInFlight(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	c := NewCommitter(l)

	// Hold the first commit until ten more submissions are queued.
	inFlight, release := make(chan struct{}), make(chan struct{})
	var sizes []int
	c.beforeCommit = func(n int) {
		sizes = append(sizes, n)
		if len(sizes) == 1 {
			close(inFlight)
			<-release
		}
	}

	first := c.Submit([]Record{rec(1, "call")}, nil)
	<-inFlight
	var rest []<-chan error
	for seq := uint64(2); seq <= 11; seq++ {
		rest = append(rest, c.Submit([]Record{rec(seq, "call")}, nil))
	}
	close(release)

	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for _, done := range rest {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Commits != 2 || st.Submits != 11 {
		t.Errorf("stats %+v, want 11 submits in 2 commits", st)
	}
	if len(sizes) != 2 || sizes[0] != 1 || sizes[1] != 10 {
		t.Errorf("commit sizes %v, want [1 10]", sizes)
	}
	if l.LastSeq() != 11 {
		t.Errorf("LastSeq = %d, want 11", l.LastSeq())
	}
}

// A lone submission is committed at once, by itself.
func TestCommitterLoneSubmitDoesNotWait(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	c := NewCommitter(l)
	defer c.Close()
	for seq := uint64(1); seq <= 5; seq++ {
		if err := <-c.Submit([]Record{rec(seq, "call")}, nil); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.Commits != seq {
			t.Fatalf("after %d lone submits, %d commits", seq, st.Commits)
		}
	}
}

// A submission with a seq gap fails alone; the others in its commit land.
func TestCommitterRefusesOnlyTheBadSubmission(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	c := NewCommitter(l)

	inFlight, release := make(chan struct{}), make(chan struct{})
	calls := 0
	c.beforeCommit = func(int) {
		calls++
		if calls == 1 {
			close(inFlight)
			<-release
		}
	}
	first := c.Submit([]Record{rec(1, "call")}, nil)
	<-inFlight
	good := c.Submit([]Record{rec(2, "call")}, nil)
	bad := c.Submit([]Record{rec(9, "call")}, nil)
	after := c.Submit([]Record{rec(3, "call")}, nil)
	close(release)

	for name, done := range map[string]<-chan error{"first": first, "good": good, "after": after} {
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := <-bad; !errors.Is(err, ErrSeqGap) {
		t.Errorf("bad: %v, want ErrSeqGap", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if l.LastSeq() != 3 {
		t.Errorf("LastSeq = %d, want 3", l.LastSeq())
	}
}

func TestCommitterCloseFlushesAndRefusesLater(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	c := NewCommitter(l)
	var dones []<-chan error
	for seq := uint64(1); seq <= 100; seq++ {
		dones = append(dones, c.Submit([]Record{rec(seq, "call")}, nil))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if l.LastSeq() != 100 {
		t.Errorf("after Close LastSeq = %d, want 100", l.LastSeq())
	}
	for _, done := range dones {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-c.Submit([]Record{rec(101, "call")}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("submit after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Reads run beside commits: each sees a contiguous prefix of the history.
func TestReadsBesideCommits(t *testing.T) {
	l, _ := openTemp(t, Options{NoSync: true})
	c := NewCommitter(l)
	seqr := &sequencer{c: c}
	const n = 3000

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 4 {
				if _, done := seqr.submit("call"); <-done != nil {
					t.Error("a submit failed")
					return
				}
			}
		}()
	}
	readerErr := make(chan error, 1)
	go func() {
		for l.LastSeq() < n {
			var next uint64 = 1
			err := l.Read(1, func(r Record) error {
				if r.Seq != next {
					return fmt.Errorf("read seq %d, want %d", r.Seq, next)
				}
				next++
				return nil
			})
			if err != nil {
				readerErr <- err
				return
			}
		}
		readerErr <- nil
	}()
	wg.Wait()
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Verify(nil); err != nil {
		t.Fatal(err)
	}
}
