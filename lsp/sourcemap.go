package lsp

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// sourceMap answers, for a position in generated code, where it came from
// in the one original file a transform read. Columns are UTF-16 units, as
// source maps count them.
type sourceMap struct {
	lines [][]segment // by generated line
	names []string
}

type segment struct {
	genCol, origLine, origCol int
	name                      int // index in names, or -1
}

var errSourceMap = errors.New("malformed source map")

func parseSourceMap(data []byte) (*sourceMap, error) {
	var raw struct {
		Mappings string   `json:"mappings"`
		Names    []string `json:"names"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", errSourceMap, err)
	}
	sm := &sourceMap{names: raw.Names}
	var origLine, origCol, source, name int
	var segs []segment
	genCol := 0
	m := raw.Mappings
	for i := 0; i <= len(m); {
		if i == len(m) || m[i] == ';' {
			sm.lines = append(sm.lines, segs)
			segs, genCol = nil, 0
			i++
			continue
		}
		if m[i] == ',' {
			i++
			continue
		}
		var vals [5]int
		n, next, err := decodeVLQ(m, i, &vals)
		if err != nil {
			return nil, err
		}
		i = next
		genCol += vals[0]
		if n < 4 {
			continue
		}
		source += vals[1]
		origLine += vals[2]
		origCol += vals[3]
		seg := segment{genCol, origLine, origCol, -1}
		if n >= 5 {
			name += vals[4]
			seg.name = name
		}
		segs = append(segs, seg)
	}
	_ = source // a transform has one source
	return sm, nil
}

// lookup returns the original line and column for a generated line and
// column, adding to the nearest mapping at or before it the distance from
// that mapping, as the printer usually keeps a token's text as it was.
func (sm *sourceMap) lookup(genLine, genCol int) (line, col int, ok bool) {
	for l := genLine; l >= 0 && l < len(sm.lines); l-- {
		segs := sm.lines[l]
		if len(segs) == 0 {
			continue
		}
		if l != genLine {
			s := segs[len(segs)-1]
			return s.origLine, s.origCol, true
		}
		i := sort.Search(len(segs), func(i int) bool { return segs[i].genCol > genCol })
		if i == 0 {
			s := segs[0]
			return s.origLine, s.origCol, true
		}
		s := segs[i-1]
		return s.origLine, s.origCol + genCol - s.genCol, true
	}
	return 0, 0, false
}

// originalName returns the name a mapping that starts exactly at a
// generated position records: esbuild renames a variable that shadows
// another and keeps the original name there.
func (sm *sourceMap) originalName(genLine, genCol int) (string, bool) {
	if genLine < 0 || genLine >= len(sm.lines) {
		return "", false
	}
	segs := sm.lines[genLine]
	i := sort.Search(len(segs), func(i int) bool { return segs[i].genCol >= genCol })
	if i < len(segs) && segs[i].genCol == genCol && segs[i].name >= 0 &&
		segs[i].name < len(sm.names) {
		return sm.names[segs[i].name], true
	}
	return "", false
}

const base64Digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// decodeVLQ reads the base64 VLQ values of one segment of s starting at i,
// up to five, and returns how many there were and where the segment ends.
func decodeVLQ(s string, i int, out *[5]int) (n, next int, err error) {
	value, shift := 0, 0
	for ; i < len(s) && s[i] != ',' && s[i] != ';'; i++ {
		d := strings.IndexByte(base64Digits, s[i])
		if d < 0 {
			return 0, i, fmt.Errorf("%w: bad digit %q", errSourceMap, s[i])
		}
		value += (d & 31) << shift
		if d&32 != 0 {
			shift += 5
			continue
		}
		v := value >> 1
		if value&1 != 0 {
			v = -v
		}
		if n < len(out) {
			out[n] = v
		}
		n++
		value, shift = 0, 0
	}
	if n == 0 {
		return 0, i, fmt.Errorf("%w: empty segment", errSourceMap)
	}
	return n, i, nil
}
