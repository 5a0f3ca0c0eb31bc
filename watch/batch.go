package watch

import (
	"sort"
	"time"
)

// Batch is the set of files that changed in one burst of changes.
type Batch struct {
	// Paths are relative to the watched folder, with forward slashes, sorted
	// and without duplicates. A path may name a file that no longer exists:
	// it was removed, or renamed away.
	Paths []string
}

// collector turns a stream of changed paths into batches. A burst is open
// from its first change until either Quiet passes without a change or MaxWait
// passes since its first change; then it settles. Settled paths wait until
// the receiver takes them, and bursts that settle meanwhile join them, so a
// receiver that falls behind gets one batch for everything it missed.
//
// It is a plain value driven with explicit times, so its policy can be
// tested without a clock; the Watcher's loop owns it.
type collector struct {
	quiet, maxWait time.Duration

	burst       map[string]bool
	first, last time.Time

	settled map[string]bool
	batch   Batch // settled, sorted; rebuilt only when a burst settles
}

func newCollector(quiet, maxWait time.Duration) *collector {
	return &collector{
		quiet:   quiet,
		maxWait: maxWait,
		burst:   make(map[string]bool),
		settled: make(map[string]bool),
	}
}

// add records a change to rel at now.
func (c *collector) add(rel string, now time.Time) {
	if len(c.burst) == 0 {
		c.first = now
	}
	c.last = now
	c.burst[rel] = true
}

// due reports when the open burst settles; ok is false when none is open.
func (c *collector) due() (at time.Time, ok bool) {
	if len(c.burst) == 0 {
		return time.Time{}, false
	}
	at = c.last.Add(c.quiet)
	if limit := c.first.Add(c.maxWait); limit.Before(at) {
		at = limit
	}
	return at, true
}

// settle closes the open burst if it is due at now.
func (c *collector) settle(now time.Time) {
	at, ok := c.due()
	if !ok || now.Before(at) {
		return
	}
	for p := range c.burst {
		c.settled[p] = true
	}
	clear(c.burst)

	paths := make([]string, 0, len(c.settled))
	for p := range c.settled {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	c.batch = Batch{Paths: paths}
}

// ready returns the batch waiting for the receiver; ok is false when there
// is none.
func (c *collector) ready() (b Batch, ok bool) {
	return c.batch, len(c.settled) > 0
}

// delivered forgets the settled paths once the receiver has them.
func (c *collector) delivered() {
	clear(c.settled)
	c.batch = Batch{}
}
