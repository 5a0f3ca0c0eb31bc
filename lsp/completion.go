package lsp

import (
	"context"
	"regexp"
	"sort"
	"strings"

	"go.lsp.dev/protocol"
)

// Completion offers, in order of how specific the place is:
//   - inside `import { ... } from "membrane"`, the module's exports;
//   - after `state.`, the program's state fields as they are now;
//   - after `root.`, the program's actions; after `root.x(...).`, the
//     scheduling methods;
//   - unless the TypeScript server is there to do it: after `console.` or
//     `crypto.`, their methods, and elsewhere the runtime globals and the
//     file's module-level names.
func (s *server) Completion(_ context.Context, params *protocol.CompletionParams) (
	protocol.CompletionResult, error) {
	path, t, err := s.fileAt(params.TextDocument)
	if err != nil {
		return nil, err
	}
	off := t.offset(params.Position)
	items := s.complete(path, t, off)
	if items == nil {
		items = []protocol.CompletionItem{}
	}
	return &protocol.CompletionList{Items: items}, nil
}

func (s *server) complete(path string, t *text, off int) []protocol.CompletionItem {
	idx := runtimeAPI()
	if inMembraneImport(t.src, off) {
		return entryItems(idx.container["membrane"], func(e *apiEntry) bool { return e.exported })
	}
	// Complete the word being typed: look at what is before it.
	start := off
	for start > 0 && isIdentByte(t.src[start-1]) {
		start--
	}
	fi := s.quickInfo(path, t)
	n := nameAtOffset(t, start)
	n.word, n.at = t.src[start:off], span{start, off}

	if n.dotted {
		switch {
		case n.afterCall && strings.HasPrefix(n.callee, "root.") ||
			n.afterCall && membraneName(fi, firstName(n.callee)) == "root":
			return entryItems(idx.container["ActionHandle"], nil)
		case n.left == "":
			return nil
		case membraneName(fi, n.left) == "state":
			return s.stateItems(path)
		case membraneName(fi, n.left) == "root":
			return s.actionItems(path)
		case !isLocal(fi, n.left, n.leftAt) && !s.current().typescriptServer:
			return entryItems(idx.container[n.left], nil)
		}
		return nil
	}
	if s.current().typescriptServer {
		return nil
	}
	return s.generalItems(fi)
}

func firstName(dotted string) string {
	name, _, _ := strings.Cut(dotted, ".")
	return name
}

var reFromMembrane = regexp.MustCompile(`^[^;]*\}\s*from\s*["']membrane["']`)

// inMembraneImport says whether off is between the braces of an import from
// "membrane".
func inMembraneImport(src string, off int) bool {
	i := strings.LastIndex(src[:off], "import")
	if i < 0 {
		return false
	}
	head := src[i:off]
	if !strings.Contains(head, "{") || strings.ContainsAny(head, "};") {
		return false
	}
	return reFromMembrane.MatchString(src[off:min(len(src), off+2000)])
}

func entryItems(entries []*apiEntry, keep func(*apiEntry) bool) []protocol.CompletionItem {
	var out []protocol.CompletionItem
	for i, e := range entries {
		if keep != nil && !keep(e) {
			continue
		}
		kind := protocol.CompletionItemKindVariable
		switch {
		case strings.HasPrefix(e.signature, "interface ") || strings.HasPrefix(e.signature, "type "):
			kind = protocol.CompletionItemKindInterface
		case strings.HasPrefix(e.signature, "class "):
			kind = protocol.CompletionItemKindClass
		case e.function && e.container != "":
			kind = protocol.CompletionItemKindMethod
		case e.function:
			kind = protocol.CompletionItemKindFunction
		}
		sortKey := "1"
		if kind == protocol.CompletionItemKindInterface {
			sortKey = "2" // values before types
		}
		out = append(out, protocol.CompletionItem{
			Label:         e.name,
			Kind:          kind,
			Detail:        protocol.NewOptional(e.signature),
			Documentation: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: e.doc},
			SortText:      protocol.NewOptional(sortKey + string(rune('a'+i%26)) + e.name),
		})
	}
	return out
}

func (s *server) stateItems(path string) []protocol.CompletionItem {
	if s.opts.Facts == nil {
		return nil
	}
	fields, err := s.opts.Facts.StateFields(s.ws.programDir(path))
	if err != nil {
		s.log.Warn("lsp: reading state fields", "err", err)
		return nil
	}
	sort.Strings(fields)
	var out []protocol.CompletionItem
	for _, f := range fields {
		out = append(out, protocol.CompletionItem{
			Label:  f,
			Kind:   protocol.CompletionItemKindField,
			Detail: protocol.NewOptional("state field, as the program has it now"),
		})
	}
	return out
}

func (s *server) actionItems(path string) []protocol.CompletionItem {
	dir := s.ws.programDir(path)
	if dir == "" {
		return nil
	}
	entry := s.entryInfo(dir)
	var out []protocol.CompletionItem
	for _, a := range actions(entry) {
		out = append(out, protocol.CompletionItem{
			Label:  a.name,
			Kind:   protocol.CompletionItemKindMethod,
			Detail: protocol.NewOptional("action of this program"),
		})
	}
	return out
}

// generalItems are the runtime's globals and the file's module-level names.
func (s *server) generalItems(fi *fileInfo) []protocol.CompletionItem {
	items := entryItems(runtimeAPI().container[""], func(e *apiEntry) bool {
		return !strings.HasPrefix(e.signature, "interface ") && !strings.HasPrefix(e.signature, "type ")
	})
	if fi == nil {
		return items
	}
	seen := map[string]bool{}
	for _, d := range fi.decls {
		if !d.top || seen[d.name] {
			continue
		}
		seen[d.name] = true
		kind := protocol.CompletionItemKindVariable
		switch d.kind {
		case declFunction:
			kind = protocol.CompletionItemKindFunction
		case declClass:
			kind = protocol.CompletionItemKindClass
		case declImport:
			kind = protocol.CompletionItemKindModule
		}
		items = append(items, protocol.CompletionItem{Label: d.name, Kind: kind,
			SortText: protocol.NewOptional("0" + d.name)})
	}
	return items
}

// entryInfo returns the last analysis of the program's entry file.
func (s *server) entryInfo(dir string) *fileInfo {
	entry := entryPath(dir)
	if entry == "" {
		return nil
	}
	return s.ws.latest(entry)
}
