package watch

import (
	"slices"
	"testing"
	"time"
)

// The collector's policy, driven with explicit times.
func TestCollector(t *testing.T) {
	const quiet, maxWait = 25 * time.Millisecond, 500 * time.Millisecond
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

	t.Run("nothing open", func(t *testing.T) {
		c := newCollector(quiet, maxWait)
		if _, ok := c.due(); ok {
			t.Fatal("an empty collector has a burst due")
		}
		c.settle(ms(1000))
		if b, ok := c.ready(); ok {
			t.Fatalf("an empty collector is ready with %v", b)
		}
	})

	t.Run("one burst settles after quiet", func(t *testing.T) {
		c := newCollector(quiet, maxWait)
		c.add("b.ts", ms(0))
		c.add("a.ts", ms(3))
		c.add("b.ts", ms(10))
		at, ok := c.due()
		if !ok || !at.Equal(ms(35)) {
			t.Fatalf("due = %v, %v; want %v", at, ok, ms(35))
		}

		c.settle(ms(34))
		if _, ok := c.ready(); ok {
			t.Fatal("ready before the quiet period passed")
		}
		c.settle(ms(35))
		b, ok := c.ready()
		if !ok || !slices.Equal(b.Paths, []string{"a.ts", "b.ts"}) {
			t.Fatalf("ready = %v, %v; want [a.ts b.ts]", b.Paths, ok)
		}
		if _, ok := c.due(); ok {
			t.Fatal("a burst is still open after it settled")
		}

		c.delivered()
		if _, ok := c.ready(); ok {
			t.Fatal("still ready after delivery")
		}
	})

	t.Run("a stream settles at max wait", func(t *testing.T) {
		c := newCollector(quiet, maxWait)
		for n := 0; n <= 490; n += 10 {
			c.add("a.ts", ms(n))
		}
		at, _ := c.due()
		if !at.Equal(ms(500)) {
			t.Fatalf("due = %v, want the burst's start plus MaxWait, %v", at, ms(500))
		}
		c.settle(ms(500))
		if _, ok := c.ready(); !ok {
			t.Fatal("not ready at MaxWait")
		}
	})

	t.Run("bursts join while the receiver is busy", func(t *testing.T) {
		c := newCollector(quiet, maxWait)
		c.add("a.ts", ms(0))
		c.settle(ms(25))
		c.add("c.ts", ms(100))
		c.add("a.ts", ms(101))
		c.settle(ms(126))

		b, ok := c.ready()
		if !ok || !slices.Equal(b.Paths, []string{"a.ts", "c.ts"}) {
			t.Fatalf("ready = %v, %v; want [a.ts c.ts]", b.Paths, ok)
		}
	})

	t.Run("a burst opened after delivery starts afresh", func(t *testing.T) {
		c := newCollector(quiet, maxWait)
		c.add("a.ts", ms(0))
		c.settle(ms(25))
		c.delivered()
		c.add("b.ts", ms(1000))
		at, _ := c.due()
		if !at.Equal(ms(1025)) {
			t.Fatalf("due = %v, want %v", at, ms(1025))
		}
		c.settle(ms(1025))
		b, _ := c.ready()
		if !slices.Equal(b.Paths, []string{"b.ts"}) {
			t.Fatalf("ready = %v, want [b.ts]", b.Paths)
		}
	})
}
