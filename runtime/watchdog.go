package runtime

import (
	"sync"
	"time"
)

// watchdog stops events that run past their Machine's deadline. One
// goroutine serves every Machine in the process, so starting an event costs
// a map write rather than a timer.
var watchdog = &dog{running: map[*Machine]time.Time{}}

type dog struct {
	mu      sync.Mutex
	running map[*Machine]time.Time // Machine -> when its event must end
	ticking bool
}

func (d *dog) start(m *Machine) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running[m] = time.Now().Add(m.cfg.Deadline)
	if !d.ticking {
		d.ticking = true
		go d.tick()
	}
}

func (d *dog) stop(m *Machine) {
	d.mu.Lock()
	delete(d.running, m)
	d.mu.Unlock()
}

// tick checks a few times a second; it ends when nothing runs, so an idle
// process holds no goroutine for it.
func (d *dog) tick() {
	for {
		time.Sleep(20 * time.Millisecond)
		now := time.Now()
		d.mu.Lock()
		var late []*Machine
		for m, end := range d.running {
			if now.After(end) {
				late = append(late, m)
				delete(d.running, m)
			}
		}
		if len(d.running) == 0 && len(late) == 0 {
			d.ticking = false
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		for _, m := range late {
			m.Interrupt(ErrRunaway)
		}
	}
}
