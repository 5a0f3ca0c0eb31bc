package dap

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// breakpoint is one line, function or log breakpoint as placed in the code
// that ran.
type breakpoint struct {
	id           int
	function     string // set for a function breakpoint: the action name
	condition    string
	hitCondition string
	logMessage   string
	file         string           // relative to the program's directory
	line         int              // the line it was placed on
	sites        map[string][]int // code hash -> site ids
}

// hitMatches says whether the n-th hit of the breakpoint stops. The hit
// condition is a count with an optional operator: "3" and "==3" stop at
// the third hit, ">=3" and ">2" from the third on, "%3" every third.
func (b *breakpoint) hitMatches(n int) bool {
	c := strings.TrimSpace(b.hitCondition)
	if c == "" {
		return true
	}
	op := ""
	for _, p := range []string{">=", "<=", "==", ">", "<", "%", "="} {
		if strings.HasPrefix(c, p) {
			op, c = p, strings.TrimSpace(c[len(p):])
			break
		}
	}
	k, err := strconv.Atoi(c)
	if err != nil {
		return false
	}
	switch op {
	case ">=":
		return n >= k
	case "<=":
		return n <= k
	case ">":
		return n > k
	case "<":
		return n < k
	case "%":
		return k > 0 && n%k == 0
	}
	return n == k
}

// checkHitCondition reports a hit condition that cannot be read.
func checkHitCondition(c string) error {
	b := breakpoint{hitCondition: c}
	c = strings.TrimLeft(strings.TrimSpace(c), "<>=%")
	if _, err := strconv.Atoi(strings.TrimSpace(c)); err != nil && b.hitCondition != "" {
		return fmt.Errorf("the hit condition %q is not a count such as 3, >=3 or %%3", b.hitCondition)
	}
	return nil
}

// breakpoints is every breakpoint of a session at one moment. It is never
// changed once made, so replayers read it from their goroutines freely.
type breakpoints struct {
	list   []*breakpoint
	bySite map[string]map[int][]*breakpoint  // code hash -> site -> breakpoints
	output func(bp *breakpoint, text string) // log points print through it
}

func newBreakpoints(list []*breakpoint, output func(*breakpoint, string)) *breakpoints {
	b := &breakpoints{list: list, bySite: map[string]map[int][]*breakpoint{}, output: output}
	for _, bp := range list {
		for hash, sites := range bp.sites {
			m := b.bySite[hash]
			if m == nil {
				m = map[int][]*breakpoint{}
				b.bySite[hash] = m
			}
			for _, s := range sites {
				m[s] = append(m[s], bp)
			}
		}
	}
	return b
}

func (b *breakpoints) sitesOf(c *code) []int {
	var out []int
	for s := range b.bySite[c.cv.Hash] {
		out = append(out, s)
	}
	return out
}

func (b *breakpoints) at(c *code, site int) []*breakpoint {
	return b.bySite[c.cv.Hash][site]
}

func (b *breakpoints) hasHitConditions() bool {
	for _, bp := range b.list {
		if bp.hitCondition != "" {
			return true
		}
	}
	return false
}

func (b *breakpoints) empty() bool { return b == nil || len(b.list) == 0 }

// allFunctions says whether every breakpoint of ids is a function one.
func (b *breakpoints) allFunctions(ids []int) bool {
	for _, id := range ids {
		for _, bp := range b.list {
			if bp.id == id && bp.function == "" {
				return false
			}
		}
	}
	return true
}

// interpolate renders a log message: each {expression} is evaluated in the
// frame of the stop.
func interpolate(msg string, eval func(string) (goja.Value, error)) string {
	var out strings.Builder
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(msg[i:], '}')
		if j < 0 {
			break
		}
		out.WriteString(msg[:i])
		expr := msg[i+1 : i+j]
		if v, err := eval(expr); err != nil {
			out.WriteString("<" + err.Error() + ">")
		} else {
			out.WriteString(preview(v, 1))
		}
		msg = msg[i+j+1:]
	}
	out.WriteString(msg)
	return out.String()
}
