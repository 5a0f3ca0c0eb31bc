package instrument

import (
	"sort"
	"strings"
	"unicode/utf16"
)

// text is the bundle being instrumented, with helpers that look at the
// characters around AST positions where goja's node extents are not exact
// (parentheses are not nodes, so an expression's extent omits them).
type text struct {
	src   string
	lines []int // byte offset of the start of each line
	// wide marks lines with non-ASCII text, where a column is not a byte
	// count (esbuild escapes non-ASCII by default, so this is rare).
	wide map[int]bool
	// ends maps where goja ends some expressions to where they really end:
	// it ends "new X()" after X.
	ends map[int]int
	// opaque holds sorted [start, end) byte ranges of string, template and
	// regular expression literals, inside which parentheses do not count.
	opaque [][2]int
	// comments holds sorted [start, end) ranges of comments, found once the
	// literals are known (comment markers inside them are not comments).
	comments [][2]int
	// frozen is set once literals and corrections are complete.
	frozen bool
}

// findComments fills t.comments, skipping literals.
func (t *text) findComments() {
	sort.Slice(t.opaque, func(i, j int) bool { return t.opaque[i][0] < t.opaque[j][0] })
	s := t.src
	for i := 0; i < len(s); {
		if j, ok := t.opaqueAt(i); ok {
			i = j
			continue
		}
		if s[i] != '/' || i+1 >= len(s) || (s[i+1] != '/' && s[i+1] != '*') {
			i++
			continue
		}
		end := len(s)
		if s[i+1] == '/' {
			if k := strings.IndexByte(s[i:], '\n'); k >= 0 {
				end = i + k
			}
		} else if k := indexFrom(s, "*/", i+2); k >= 0 {
			end = k + 2
		}
		t.comments = append(t.comments, [2]int{i, end})
		i = end
	}
	t.frozen = true
}

// commentEndingAt returns the start of the comment that ends at off.
func (t *text) commentEndingAt(off int) (int, bool) {
	i := sort.Search(len(t.comments), func(i int) bool { return t.comments[i][1] >= off })
	if i < len(t.comments) && t.comments[i][1] == off {
		return t.comments[i][0], true
	}
	return 0, false
}

// skipBack returns the offset before which only white space and comments
// stand, going back from off.
func (t *text) skipBack(off int) int {
	for off > 0 {
		if isSpace(t.src[off-1]) {
			off--
			continue
		}
		if start, ok := t.commentEndingAt(off); ok {
			off = start
			continue
		}
		break
	}
	return off
}

func newText(src string) *text {
	t := &text{src: src, lines: []int{0}, ends: map[int]int{}, wide: map[int]bool{}}
	for i := 0; i < len(src); i++ {
		switch {
		case src[i] == '\n':
			t.lines = append(t.lines, i+1)
		case src[i] >= 0x80:
			t.wide[len(t.lines)-1] = true
		}
	}
	return t
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// skipSpace returns the first offset at or after off that is neither white
// space nor inside a comment.
func (t *text) skipSpace(off int) int {
	s := t.src
	for off < len(s) {
		c := s[off]
		switch {
		case isSpace(c):
			off++
		case c == 0xe2 && off+2 < len(s) && s[off+1] == 0x80 &&
			(s[off+2] == 0xa8 || s[off+2] == 0xa9): // U+2028, U+2029
			off += 3
		case c == 0xc2 && off+1 < len(s) && s[off+1] == 0xa0: // no-break space
			off += 2
		case c == 0xef && off+2 < len(s) && s[off+1] == 0xbb && s[off+2] == 0xbf: // BOM
			off += 3
		case c == '/' && off+1 < len(s) && s[off+1] == '/':
			for off < len(s) && s[off] != '\n' {
				off++
			}
		case c == '/' && off+1 < len(s) && s[off+1] == '*':
			end := indexFrom(s, "*/", off+2)
			if end < 0 {
				return len(s)
			}
			off = end + 2
		default:
			return off
		}
	}
	return off
}

func indexFrom(s, sub string, from int) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// openParens walks back from off over white space and opening parentheses
// and returns the leftmost such parenthesis, which is where an expression
// that goja says starts at off really starts.
func (t *text) openParens(off int) int {
	start := off
	for i := t.skipBack(off); i > 0 && t.src[i-1] == '('; i = t.skipBack(i - 1) {
		start = i - 1
	}
	return start
}

// tokenEnd moves off to where an expression that goja ends at off really
// ends: past the identifier it falls inside (goja ends a private name #x one
// byte early), or past recorded corrections.
func (t *text) tokenEnd(off int) int {
	for {
		real, ok := t.ends[off]
		if !ok {
			break
		}
		off = real
	}
	if off <= 0 || off >= len(t.src) {
		return off
	}
	if prev := t.src[off-1]; !isIdentByte(prev) && prev != '#' {
		return off
	}
	for off < len(t.src) && isIdentByte(t.src[off]) {
		off++
	}
	return off
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || '0' <= c && c <= '9' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// keywordBefore returns the offset of kw when it ends, give or take white
// space, just before off; else off.
func (t *text) keywordBefore(off int, kw string) int {
	i := t.skipBack(off)
	if i >= len(kw) && t.src[i-len(kw):i] == kw {
		return i - len(kw)
	}
	return off
}

// statementEnd returns the offset just after a statement that goja says
// ends at off: trailing closing parentheses (a statement is never followed
// by one) and an optional semicolon belong to it.
func (t *text) statementEnd(off int) int {
	end := t.tokenEnd(off)
	for {
		next := t.skipSpace(end)
		if next >= len(t.src) {
			return end
		}
		switch t.src[next] {
		case ')':
			end = next + 1
		case ';':
			return next + 1
		default:
			return end
		}
	}
}

// closeParens returns the offset after the parentheses left open between
// start and off, so that an expression starting at start with goja's end at
// off is taken whole.
func (t *text) closeParens(start, off int) int {
	depth := 0
	i := start
	for i < off {
		if j, ok := t.opaqueAt(i); ok {
			i = j
			continue
		}
		c := t.src[i]
		switch {
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '/' && i+1 < len(t.src) && (t.src[i+1] == '/' || t.src[i+1] == '*'):
			i = t.skipSpace(i)
			continue
		}
		i++
	}
	end := t.tokenEnd(off)
	for ; depth > 0; depth-- {
		next := t.skipSpace(end)
		if next >= len(t.src) || t.src[next] != ')' {
			break
		}
		end = next + 1
	}
	return end
}

// opaqueAt reports whether off starts an opaque literal, and where it ends.
func (t *text) opaqueAt(off int) (int, bool) {
	i := sort.Search(len(t.opaque), func(i int) bool { return t.opaque[i][0] >= off })
	if i < len(t.opaque) && t.opaque[i][0] == off && t.opaque[i][1] > off {
		return t.opaque[i][1], true
	}
	return 0, false
}

// position converts a byte offset to a 1-based line and a 0-based UTF-16
// column.
func (t *text) position(off int) (line, col int) {
	i := sort.Search(len(t.lines), func(i int) bool { return t.lines[i] > off }) - 1
	if !t.wide[i] {
		return i + 1, off - t.lines[i]
	}
	return i + 1, utf16Len(t.src[t.lines[i]:off])
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
