package lsp

import (
	"context"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"go.lsp.dev/protocol"
)

// SignatureHelp shows the parameters of a runtime API call being typed.
func (s *server) SignatureHelp(_ context.Context, params *protocol.SignatureHelpParams) (
	*protocol.SignatureHelp, error) {
	path, t, err := s.fileAt(params.TextDocument)
	if err != nil {
		return nil, err
	}
	open, active := enclosingCall(t.src, t.offset(params.Position))
	if open <= 0 {
		return nil, nil
	}
	i := open
	for i > 0 && (t.src[i-1] == ' ' || t.src[i-1] == '\t') {
		i--
	}
	if i == 0 || !isIdentByte(t.src[i-1]) {
		return nil, nil
	}
	e := apiEntryFor(s.quickInfo(path, t), nameAtOffset(t, i-1))
	if e == nil || !e.function {
		return nil, nil
	}
	info := protocol.SignatureInformation{
		Label:         e.signature,
		Documentation: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: e.doc},
	}
	labels := paramLabels(e.signature)
	docs := map[string]string{}
	for _, p := range e.params {
		docs[p.label] = p.doc
	}
	for _, l := range labels {
		pi := protocol.ParameterInformation{Label: protocol.String(l)}
		if d := docs[l]; d != "" {
			pi.Documentation = protocol.String(d)
		}
		info.Parameters = append(info.Parameters, pi)
	}
	if len(labels) > 0 {
		last := uint32(len(labels) - 1)
		if a := uint32(active); a < last || labels[last][0] != '.' {
			last = min(a, last)
		}
		info.ActiveParameter = nullableUint(last)
	}
	zero := uint32(0)
	return &protocol.SignatureHelp{Signatures: []protocol.SignatureInformation{info},
		ActiveSignature: &zero}, nil
}

// enclosingCall finds the '(' of the call that off is inside, and which
// argument off is in. It skips over nested brackets and string literals on
// the way back, within a bounded distance.
func enclosingCall(src string, off int) (open, arg int) {
	depth := 0
	limit := max(0, off-4000)
	for i := off - 1; i >= limit; i-- {
		switch c := src[i]; c {
		case ')', ']', '}':
			depth++
		case '(', '[', '{':
			if depth == 0 {
				if c == '(' {
					return i, arg
				}
				return -1, 0
			}
			depth--
		case ',':
			if depth == 0 {
				arg++
			}
		case '"', '\'', '`':
			j := i - 1
			for j >= limit && src[j] != c {
				j--
			}
			i = j
		case ';':
			if depth == 0 {
				return -1, 0
			}
		}
	}
	return -1, 0
}

// nullableUint makes a present Nullable; the protocol package offers no
// constructor, only decoding.
func nullableUint(v uint32) protocol.Nullable[uint32] {
	var n protocol.Nullable[uint32]
	_ = n.UnmarshalJSONFrom(jsontext.NewDecoder(strings.NewReader(strconv.FormatUint(uint64(v), 10))))
	return n
}
