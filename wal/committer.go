package wal

import (
	"sync"
	"sync/atomic"
)

// Committer shares fsyncs between concurrent writers (group commit).
//
// One goroutine commits. A submission that finds it idle is committed at
// once, alone: nothing ever waits for company. Submissions that arrive while
// a commit is in flight queue up and all go into the next transaction, in the
// order they were submitted. Each submitter learns the result of the commit
// that held its records.
//
// The runtime submits from one goroutine per event, in seq order, with seqs
// already assigned; the order of Submit calls is the order of commits.
type Committer struct {
	l *Log

	mu      sync.Mutex
	pending []submission
	closed  bool

	wake chan struct{} // capacity 1: "there may be work"
	done chan struct{} // closed when the commit goroutine has exited

	submits atomic.Uint64
	commits atomic.Uint64
	records atomic.Uint64

	// beforeCommit, if set (by tests), is called with the number of
	// submissions about to be committed together.
	beforeCommit func(n int)
}

type submission struct {
	b    *batch
	done chan error
}

// CommitterStats count what a Committer did, for tests and benchmarks.
type CommitterStats struct {
	Submits uint64 // calls to Submit
	Commits uint64 // transactions committed (or attempted)
	Records uint64 // records in successful commits
}

// NewCommitter starts a Committer writing to l. Close it before closing l.
func NewCommitter(l *Log) *Committer {
	c := &Committer{l: l, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

// Submit queues recs and code to be appended as by Log.Append, and returns a
// channel that receives the result once the commit holding them is durable
// (or failed). The channel is buffered: nobody has to read it.
//
// A submission whose records do not follow the ones submitted before it
// fails with ErrSeqGap on its own; the others in its commit go ahead.
func (c *Committer) Submit(recs []Record, code []CodeVersion) <-chan error {
	done := make(chan error, 1)
	c.submits.Add(1)
	b := prepare(recs, code) // encode in the caller's goroutine, outside the lock
	if b.err != nil {
		done <- b.err
		return done
	}

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		done <- c.l.errorf(ErrClosed, nil, "is closed to new submissions")
		return done
	}
	c.pending = append(c.pending, submission{b: b, done: done})
	c.mu.Unlock()

	select {
	case c.wake <- struct{}{}:
	default: // already woken
	}
	return done
}

func (c *Committer) run() {
	defer close(c.done)
	for range c.wake {
		for {
			c.mu.Lock()
			subs, closed := c.pending, c.closed
			c.pending = nil
			c.mu.Unlock()

			if len(subs) == 0 {
				if closed {
					return
				}
				break
			}
			c.commit(subs)
		}
	}
}

func (c *Committer) commit(subs []submission) {
	if c.beforeCommit != nil {
		c.beforeCommit(len(subs))
	}
	batches := make([]*batch, len(subs))
	for i, s := range subs {
		batches[i] = s.b
	}
	err := c.l.commit(batches)
	c.commits.Add(1)
	for _, s := range subs {
		if err != nil {
			s.done <- err
			continue
		}
		if s.b.err == nil {
			c.records.Add(uint64(len(s.b.recs)))
		}
		s.done <- s.b.err
	}
}

// Close commits what was submitted before it and stops the Committer.
// Submissions after Close fail with ErrClosed. It does not close the Log.
func (c *Committer) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.done
	return nil
}

// Stats reports what the Committer has done so far.
func (c *Committer) Stats() CommitterStats {
	return CommitterStats{
		Submits: c.submits.Load(),
		Commits: c.commits.Load(),
		Records: c.records.Load(),
	}
}
