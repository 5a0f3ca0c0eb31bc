package dap

import (
	"log/slog"
	"sort"
	"sync"
)

// pool keeps replayers parked at event boundaries spread over the history,
// so that going back starts from the nearest one instead of the start of
// the log. A parked replayer is used up once it moves on; the pool refills
// in the background, one replay at a time so that it never starves the
// session.
//
// The grid is every spacing-th event. Besides it the pool keeps replayers
// near the event the session is stopped in (the focus): one at its start,
// which makes stepping back within the event cost one event, and two at
// the start of the event before, one to scan it and one to stop in it
// when running back.
type pool struct {
	hist    *history
	spacing int
	logger  *slog.Logger

	mu      sync.Mutex
	parked  map[int][]*replayer // boundary event index -> parked replayers
	focus   int                 // -1: none
	wake    chan struct{}
	closed  bool
	idle    *sync.Cond
	working bool
	broken  bool // parking failed: the history cannot be replayed that far
	done    chan struct{}
}

func newPool(h *history, spacing int, logger *slog.Logger) *pool {
	if spacing <= 0 {
		spacing = max(64, len(h.events)/16)
	}
	p := &pool{hist: h, spacing: spacing, logger: logger, parked: map[int][]*replayer{},
		focus: -1, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.idle = sync.NewCond(&p.mu)
	go p.refill()
	p.poke()
	return p
}

// gridCopies is how many replayers each grid boundary keeps: running back
// scans a stretch with one and stops in it with the other.
const gridCopies = 2

// grid lists the boundaries the pool keeps a replayer at.
func (p *pool) grid() []int {
	var g []int
	for i := p.spacing; i < len(p.hist.events); i += p.spacing {
		g = append(g, i)
	}
	return g
}

func (p *pool) poke() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take removes and returns the parked replayer nearest before target, or a
// fresh one that starts from the beginning of the log.
func (p *pool) take(target Point) *replayer {
	p.mu.Lock()
	best := -1
	for b, rs := range p.parked {
		if len(rs) == 0 || b > target.Event || b <= best {
			continue
		}
		best = b
	}
	var r *replayer
	if best >= 0 {
		rs := p.parked[best]
		r = rs[len(rs)-1]
		p.parked[best] = rs[:len(rs)-1]
	}
	p.mu.Unlock()
	p.poke()
	if r == nil {
		return newReplayer(p.hist)
	}
	return r
}

// setFocus asks for a replayer parked at the start of event i.
func (p *pool) setFocus(i int) {
	p.mu.Lock()
	p.focus = i
	p.mu.Unlock()
	p.poke()
}

// wanted is the next boundary to fill, the focus first; -1 when none.
func (p *pool) wanted() int {
	if p.broken {
		return -1
	}
	for at, n := range p.focusWants() {
		if len(p.parked[at]) < n {
			return at
		}
	}
	g := p.grid()
	// Later boundaries first: a fresh replayer serves the early history.
	for copies := 1; copies <= gridCopies; copies++ {
		for i := len(g) - 1; i >= 0; i-- {
			if len(p.parked[g[i]]) < copies {
				return g[i]
			}
		}
	}
	return -1
}

// focusWants says how many replayers are wanted where around the focus.
func (p *pool) focusWants() map[int]int {
	w := map[int]int{}
	// No replay stops at the start of an event before the history's start.
	if p.focus >= p.hist.start.Event && p.focus < len(p.hist.events) {
		w[p.focus] = 1
		if p.focus > p.hist.start.Event {
			w[p.focus-1] = 2
		}
	}
	return w
}

// refill parks replayers where they are wanted until closed.
func (p *pool) refill() {
	defer close(p.done)
	for range p.wake {
		for {
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				return
			}
			b := p.wanted()
			p.working = b >= 0
			if b < 0 {
				p.evict()
				p.idle.Broadcast()
				p.mu.Unlock()
				break
			}
			p.mu.Unlock()

			r := p.takeBelow(b)
			h := r.resume(goal{kind: goalPoint, target: Point{Event: b}})
			if h.err != nil || h.end || h.at != (Point{Event: b}) {
				if h.err != nil {
					p.logger.Warn("dap: parking a replay failed", "event", b, "err", h.err)
				}
				r.kill()
				p.mu.Lock()
				p.working, p.broken = false, true
				p.idle.Broadcast()
				p.mu.Unlock()
				continue
			}
			p.mu.Lock()
			p.parked[b] = append(p.parked[b], r)
			p.mu.Unlock()
		}
	}
}

// takeBelow takes the nearest parked replayer before b that is not on the
// grid, else starts fresh: grid replayers are costly to rebuild.
func (p *pool) takeBelow(b int) *replayer {
	p.mu.Lock()
	defer p.mu.Unlock()
	onGrid := map[int]bool{}
	for _, g := range p.grid() {
		onGrid[g] = true
	}
	wants := p.focusWants()
	best := -1
	for at, rs := range p.parked {
		if len(rs) > wants[at] && at < b && at > best && !onGrid[at] {
			best = at
		}
	}
	// A focus far from any spare replayer is cheaper to reach from the grid.
	if _, ok := wants[b]; ok {
		for _, g := range p.grid() {
			if g < b && g > best && len(p.parked[g]) > 0 {
				best = g
			}
		}
	}
	if best < 0 {
		return newReplayer(p.hist)
	}
	rs := p.parked[best]
	r := rs[len(rs)-1]
	p.parked[best] = rs[:len(rs)-1]
	return r
}

// evict kills parked replayers that are neither on the grid nor at the
// focus. p.mu is held.
func (p *pool) evict() {
	keep := map[int]bool{}
	for at := range p.focusWants() {
		keep[at] = true
	}
	for _, g := range p.grid() {
		keep[g] = true
	}
	var at []int
	for b := range p.parked {
		at = append(at, b)
	}
	sort.Ints(at)
	for _, b := range at {
		if keep[b] {
			continue
		}
		for _, r := range p.parked[b] {
			r.kill()
		}
		delete(p.parked, b)
	}
}

// waitIdle blocks until the pool has nothing left to fill.
func (p *pool) waitIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed && (p.working || p.wanted() >= 0) {
		p.idle.Wait()
	}
}

// close stops refilling and ends every parked replayer.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.idle.Broadcast()
	close(p.wake)
	p.mu.Unlock()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rs := range p.parked {
		for _, r := range rs {
			r.kill()
		}
	}
	p.parked = map[int][]*replayer{}
}
