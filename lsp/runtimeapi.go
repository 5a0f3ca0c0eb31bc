package lsp

import (
	"regexp"
	"strings"
)

// What a name at a position means in terms of the runtime API, shared by
// hover, completion and signature help. These run on every keystroke, so
// they read the last analysis of the file and never wait for a new one.

// nameAt describes the identifier at a position.
type nameAt struct {
	word      string
	at        span
	left      string // for `left.word`, the identifier before the dot
	leftAt    span
	dotted    bool   // the word follows a dot
	afterCall bool   // the dot follows a closing parenthesis: `f(...).word`
	callee    string // for `f(...).word`, the dotted name of f
}

func nameAtOffset(t *text, off int) nameAt {
	word, at := t.wordAt(off)
	n := nameAt{word: word, at: at}
	i := at.start - 1
	for i >= 0 && (t.src[i] == ' ' || t.src[i] == '\t') {
		i--
	}
	if i < 0 || t.src[i] != '.' || (i > 0 && t.src[i-1] == '.') {
		return n
	}
	n.dotted = true
	j := i - 1
	for j >= 0 && (t.src[j] == ' ' || t.src[j] == '\n' || t.src[j] == '\t' || t.src[j] == '\r') {
		j--
	}
	if j >= 0 && t.src[j] == ')' {
		n.afterCall = true
		open := matchingOpen(t.src, j)
		if open > 0 {
			n.callee = dottedNameBefore(t.src, open)
		}
		return n
	}
	if j >= 0 && isIdentByte(t.src[j]) {
		n.left, n.leftAt = t.wordAt(j)
	}
	return n
}

// matchingOpen returns the offset of the '(' that the ')' at close closes,
// or -1. Strings are not looked into; a stray parenthesis in one can fool it.
func matchingOpen(src string, close int) int {
	depth := 0
	for i := close; i >= 0; i-- {
		switch src[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// dottedNameBefore returns `a.b.c` ending just before offset end.
func dottedNameBefore(src string, end int) string {
	i := end
	for i > 0 && (isIdentByte(src[i-1]) || src[i-1] == '.') {
		i--
	}
	return strings.Trim(src[i:end], ".")
}

// membraneName returns which export of "membrane" a local name is bound to
// in the file, or "".
func membraneName(fi *fileInfo, local string) string {
	if fi == nil {
		return ""
	}
	if b, ok := fi.imports[local]; ok && b.spec == "membrane" {
		return b.name
	}
	return ""
}

// isLocal says whether the file declares the name itself (not by import),
// which hides a global of the same name. It errs on the side of globals.
func isLocal(fi *fileInfo, name string, at span) bool {
	if fi == nil {
		return false
	}
	for _, r := range fi.refs {
		if r.at == at {
			return r.d != nil && r.d.kind != declImport
		}
	}
	for _, d := range fi.decls {
		if d.at == at {
			return d.kind != declImport
		}
	}
	return false
}

// apiEntryFor finds the typings entry a name at a position stands for.
func apiEntryFor(fi *fileInfo, n nameAt) *apiEntry {
	idx := runtimeAPI()
	switch {
	case n.word == "":
		return nil
	case n.afterCall || strings.HasPrefix(n.word, "$"):
		return idx.lookup("ActionHandle", n.word)
	case n.dotted:
		if n.left == "" {
			return nil
		}
		if m := membraneName(fi, n.left); m != "" {
			return nil // state.x and root.x are the program's own
		}
		if isLocal(fi, n.left, n.leftAt) {
			return nil
		}
		return idx.lookup(n.left, n.word)
	}
	if m := membraneName(fi, n.word); m != "" {
		return idx.lookup("membrane", m)
	}
	if isLocal(fi, n.word, n.at) {
		return nil
	}
	if e := idx.lookup("", n.word); e != nil {
		return e
	}
	return nil
}

var reMembraneImport = regexp.MustCompile(
	`import\s*(?:type\s+)?\{([^}]*)\}\s*from\s*["']membrane["']`)

// quickInfo returns the last analysis of a file for the requests that must
// answer at once. For a file that has never parsed, it reads just the
// imports from "membrane" out of the text, so the runtime API still
// explains itself while the first lines are being written.
func (s *server) quickInfo(path string, t *text) *fileInfo {
	if fi := s.ws.latest(path); fi != nil {
		return fi
	}
	fi := &fileInfo{path: path, text: t, imports: map[string]importBinding{}}
	for _, m := range reMembraneImport.FindAllStringSubmatch(t.src, -1) {
		for _, b := range namedImports(m[1]) {
			fi.imports[b[0]] = importBinding{spec: "membrane", name: b[1]}
		}
	}
	return fi
}
