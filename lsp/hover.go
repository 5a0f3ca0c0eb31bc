package lsp

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"
)

// Hover explains the runtime API from membrane.d.ts, and an action's
// history from the log.
func (s *server) Hover(_ context.Context, params *protocol.HoverParams) (*protocol.Hover, error) {
	path, t, err := s.fileAt(params.TextDocument)
	if err != nil {
		return nil, err
	}
	fi := s.quickInfo(path, t)
	n := nameAtOffset(t, t.offset(params.Position))
	if n.word == "" {
		return nil, nil
	}
	var md string
	if e := apiEntryFor(fi, n); e != nil {
		md = e.markdown()
	} else if name, ok := s.actionNamed(path, fi, n); ok {
		md = s.actionHover(path, name)
	}
	if md == "" {
		return nil, nil
	}
	r := t.rangeOf(n.at)
	return &protocol.Hover{
		Contents: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: md},
		Range:    &r,
	}, nil
}

// actionNamed says whether the name at a position is an action: its
// declaration in the entry file, or `root.NAME`.
func (s *server) actionNamed(path string, fi *fileInfo, n nameAt) (string, bool) {
	if n.dotted && membraneName(fi, n.left) == "root" {
		return n.word, true
	}
	if fi == nil || path != entryPath(s.ws.programDir(path)) {
		return "", false
	}
	for _, a := range actions(fi) {
		if a.at == n.at {
			return a.name, true
		}
	}
	return "", false
}

func (s *server) actionHover(path, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**action** `%s`", name)
	if s.opts.Facts == nil {
		return b.String()
	}
	acts, err := s.opts.Facts.Actions(s.ws.programDir(path))
	if err != nil {
		s.log.Warn("lsp: reading the log's actions", "err", err)
		return b.String()
	}
	af, ok := acts[name]
	if !ok {
		return b.String() + "\n\nNever called."
	}
	b.WriteString("\n\n" + s.lensSummary(af))
	if af.LastResult != "" {
		fmt.Fprintf(&b, "\n\nLast result:\n```json\n%s\n```", clip(af.LastResult, 400))
	}
	if f := af.LastFailure; f != nil {
		fmt.Fprintf(&b, "\n\nLast failure (event %d): %s", f.Seq, f.Message)
	}
	return b.String()
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
