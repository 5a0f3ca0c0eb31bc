package lsp

import (
	"unicode/utf16"
	"unicode/utf8"

	"go.lsp.dev/protocol"
)

// text is a file's contents with its line starts, for converting between
// byte offsets (what parsers and esbuild give) and LSP positions (lines and
// UTF-16 code units, what editors send).
type text struct {
	src   string
	lines []int // byte offset of the start of each line
}

func newText(src string) *text {
	t := &text{src: src, lines: make([]int, 1, 64)}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			t.lines = append(t.lines, i+1)
		}
	}
	return t
}

// lineEnd returns the byte offset of the end of line (0-based), before any
// line break.
func (t *text) lineEnd(line int) int {
	if line+1 < len(t.lines) {
		end := t.lines[line+1] - 1
		if end > t.lines[line] && t.src[end-1] == '\r' {
			end--
		}
		return end
	}
	return len(t.src)
}

// lineOf returns the 0-based line holding byte offset off.
func (t *text) lineOf(off int) int {
	lo, hi := 0, len(t.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if t.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// offset converts an LSP position to a byte offset, clamping to the line.
func (t *text) offset(p protocol.Position) int {
	line := int(p.Line)
	if line >= len(t.lines) {
		return len(t.src)
	}
	return t.offsetUTF16(line, int(p.Character))
}

// offsetUTF16 converts a line and a column in UTF-16 units to a byte offset.
func (t *text) offsetUTF16(line, col int) int {
	if line < 0 {
		return 0
	}
	if line >= len(t.lines) {
		return len(t.src)
	}
	off, end := t.lines[line], t.lineEnd(line)
	for units := 0; off < end && units < col; {
		r, size := utf8.DecodeRuneInString(t.src[off:])
		units += utf16.RuneLen(r)
		off += size
	}
	return off
}

// position converts a byte offset to an LSP position.
func (t *text) position(off int) protocol.Position {
	if off > len(t.src) {
		off = len(t.src)
	}
	line := t.lineOf(off)
	col := 0
	for i := t.lines[line]; i < off; {
		r, size := utf8.DecodeRuneInString(t.src[i:])
		col += utf16.RuneLen(r)
		i += size
	}
	return protocol.Position{Line: uint32(line), Character: uint32(col)}
}

// rangeOf converts a byte span to an LSP range.
func (t *text) rangeOf(s span) protocol.Range {
	return protocol.Range{Start: t.position(s.start), End: t.position(s.end)}
}

// span is a half-open range of byte offsets in one file.
type span struct{ start, end int }

func (s span) contains(off int) bool { return s.start <= off && off <= s.end }

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		c >= '0' && c <= '9' || c >= 0x80
}

// wordAt returns the identifier around byte offset off, and its span.
func (t *text) wordAt(off int) (string, span) {
	start, end := off, off
	for start > 0 && isIdentByte(t.src[start-1]) {
		start--
	}
	for end < len(t.src) && isIdentByte(t.src[end]) {
		end++
	}
	return t.src[start:end], span{start, end}
}

// findWord looks for name as a whole word on line (0-based), nearest to
// byte offset near, then on the few lines after it. It reports the start
// offset, or -1.
func (t *text) findWord(name string, line, near int) int {
	for l := line; l < line+6 && l < len(t.lines); l++ {
		best, bestDist := -1, 0
		start, end := t.lines[l], t.lineEnd(l)
		for i := start; i+len(name) <= end; i++ {
			if t.src[i:i+len(name)] != name {
				continue
			}
			if i > start && isIdentByte(t.src[i-1]) ||
				i+len(name) < len(t.src) && isIdentByte(t.src[i+len(name)]) {
				continue
			}
			d := i - near
			if d < 0 {
				d = -d
			}
			if best < 0 || d < bestDist {
				best, bestDist = i, d
			}
		}
		if best >= 0 {
			return best
		}
		near = 0
	}
	return -1
}
