package instrument

import "sort"

// codeMap maps offsets of the instrumented code back to the bundle.
type codeMap struct {
	chunks []chunk
	lines  []int // byte offset of each line start in the code
	t      *text
}

// chunk is one insertion: n bytes at code offset at, placed before bundle
// offset off.
type chunk struct {
	at, n, off int
}

func (m *codeMap) add(at, n, off int) {
	if n > 0 {
		m.chunks = append(m.chunks, chunk{at: at, n: n, off: off})
	}
}

func (m *codeMap) finish(code string, t *text) {
	m.t = t
	m.lines = []int{0}
	for i := 0; i < len(code); i++ {
		if code[i] == '\n' {
			m.lines = append(m.lines, i+1)
		}
	}
}

// toBundle takes goja's 1-based line and 1-based byte column.
func (m *codeMap) toBundle(line, col int) (int, int) {
	if line < 1 {
		return line, col
	}
	if line > len(m.lines) {
		line = len(m.lines)
	}
	at := m.lines[line-1] + max(col-1, 0)
	i := sort.Search(len(m.chunks), func(i int) bool { return m.chunks[i].at > at }) - 1
	off := at
	if i >= 0 {
		c := m.chunks[i]
		if at < c.at+c.n {
			off = c.off
		} else {
			off = c.off + (at - c.at - c.n)
		}
	}
	off = min(off, len(m.t.src))
	return m.t.position(off)
}
