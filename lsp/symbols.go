package lsp

import (
	"context"
	"sort"
	"strings"

	"go.lsp.dev/protocol"
)

// DocumentSymbol lists a file's module-level declarations; in the entry
// file the actions come first.
func (s *server) DocumentSymbol(_ context.Context, params *protocol.DocumentSymbolParams) (
	protocol.DocumentSymbolResult, error) {
	path, t, err := s.fileAt(params.TextDocument)
	if err != nil {
		return nil, err
	}
	fi, _ := s.ws.info(path)
	if fi == nil {
		return protocol.DocumentSymbolSlice{}, nil
	}
	out := protocol.DocumentSymbolSlice{}
	isAction := map[span]bool{}
	if path == entryPath(s.ws.programDir(path)) {
		detail := "action"
		for _, a := range actions(fi) {
			full := a.at
			if a.d.at == a.at {
				full = a.d.full
			}
			out = append(out, protocol.DocumentSymbol{
				Name: a.name, Detail: &detail, Kind: protocol.SymbolKindFunction,
				Range: t.rangeOf(cover(full, a.at)), SelectionRange: t.rangeOf(a.at),
			})
			isAction[a.at] = true
		}
	}
	for _, d := range fi.decls {
		if !d.top || d.kind == declImport || isAction[d.at] {
			continue
		}
		out = append(out, protocol.DocumentSymbol{
			Name: d.name, Kind: symbolKind(d),
			Range: t.rangeOf(cover(d.full, d.at)), SelectionRange: t.rangeOf(d.at),
		})
	}
	return out, nil
}

// cover returns a span holding both spans.
func cover(a, b span) span {
	if a.end == 0 {
		return b
	}
	return span{min(a.start, b.start), max(a.end, b.end)}
}

func symbolKind(d *decl) protocol.SymbolKind {
	switch {
	case d.kind == declClass:
		return protocol.SymbolKindClass
	case d.fn:
		return protocol.SymbolKindFunction
	case d.props != nil:
		return protocol.SymbolKindObject
	}
	return protocol.SymbolKindVariable
}

// Symbols answers workspace/symbol: module-level declarations of every
// program with an open file, whose names hold the query (any case).
func (s *server) Symbols(_ context.Context, params *protocol.WorkspaceSymbolParams) (
	protocol.WorkspaceSymbolResult, error) {
	dirs := map[string]bool{}
	s.ws.mu.Lock()
	for p := range s.ws.docs {
		dirs[p] = true
	}
	s.ws.mu.Unlock()
	programs := map[string]bool{}
	for p := range dirs {
		if d := s.ws.programDir(p); d != "" {
			programs[d] = true
		}
	}
	query := strings.ToLower(params.Query)
	out := protocol.SymbolInformationSlice{}
	for dir := range programs {
		for _, f := range programFiles(dir) {
			fi, _ := s.ws.info(f)
			if fi == nil {
				continue
			}
			for _, d := range fi.decls {
				if !d.top || d.kind == declImport || !strings.Contains(strings.ToLower(d.name), query) {
					continue
				}
				loc, ok := s.spanLocation(f, d.at)
				if !ok {
					continue
				}
				out = append(out, protocol.SymbolInformation{
					BaseSymbolInformation: protocol.BaseSymbolInformation{Name: d.name, Kind: symbolKind(d)},
					Location:              loc,
				})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
