package lsp

import (
	"context"
	"path/filepath"
	"strings"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// Definition goes to where the name under the cursor is declared,
// following imports into other files of the program.
func (s *server) Definition(_ context.Context, params *protocol.DefinitionParams) (
	protocol.DefinitionResult, error) {
	tgt, ok, err := s.targetOf(params.TextDocumentPositionParams)
	if err != nil || !ok {
		return nil, err
	}
	loc, ok := s.location(tgt)
	if !ok {
		return nil, nil
	}
	return protocol.LocationSlice{loc}, nil
}

// target is a declaration in a file.
type target struct {
	path string
	d    *decl
}

// targetOf finds the declaration of the name at a position in a document.
func (s *server) targetOf(p protocol.TextDocumentPositionParams) (target, bool, error) {
	path, t, err := s.fileAt(p.TextDocument)
	if err != nil {
		return target{}, false, err
	}
	fi, _ := s.ws.info(path)
	if fi == nil {
		return target{}, false, nil
	}
	tgt, ok := s.targetAt(fi, t.offset(p.Position))
	return tgt, ok, nil
}

// targetAt finds the declaration of the name at off, following imports.
func (s *server) targetAt(fi *fileInfo, off int) (target, bool) {
	for _, d := range fi.decls {
		if d.at.contains(off) && d.at.end > d.at.start {
			return s.follow(fi, d, 0)
		}
	}
	for _, r := range fi.refs {
		if !r.at.contains(off) {
			continue
		}
		if r.d == nil {
			return target{}, false
		}
		return s.follow(fi, r.d, 0)
	}
	for _, m := range fi.members {
		if !m.at.contains(off) || m.left < 0 {
			continue
		}
		left := fi.refs[m.left]
		if fi.isMembrane(left, "root") {
			return s.actionTarget(fi.path, m.name)
		}
		if left.d != nil && left.d.kind == declImport {
			if b := fi.imports[left.name]; b.name == "*" {
				return s.exported(resolveImport(fi.path, b.spec), m.name, 0)
			}
		}
	}
	return target{}, false
}

// follow turns an import into the declaration it imports.
func (s *server) follow(fi *fileInfo, d *decl, depth int) (target, bool) {
	if d.kind != declImport {
		return target{fi.path, d}, true
	}
	b := fi.imports[d.name]
	if b.spec == "membrane" {
		if t, ok := s.typingsTarget(fi.path, b.name); ok {
			return t, true
		}
	}
	file := resolveImport(fi.path, b.spec)
	if file == "" || b.name == "*" {
		return target{fi.path, d}, true
	}
	if t, ok := s.exported(file, b.name, depth+1); ok {
		return t, true
	}
	return target{fi.path, d}, true
}

// typingsTarget finds an export of "membrane" in the membrane.d.ts of the
// program, when the program has one.
func (s *server) typingsTarget(path, name string) (target, bool) {
	e := runtimeAPI().lookup("membrane", name)
	dir := s.ws.programDir(path)
	if e == nil || dir == "" {
		return target{}, false
	}
	file := filepath.Join(dir, TypingsFile)
	t, err := s.ws.source(file)
	if err != nil || e.line >= len(t.lines) {
		return target{}, false
	}
	at := t.findWord(name, e.line, t.lines[e.line])
	if at < 0 {
		return target{}, false
	}
	return target{file, &decl{name: name, at: span{at, at + len(name)}}}, true
}

// exported finds the declaration behind an export of file.
func (s *server) exported(file, name string, depth int) (target, bool) {
	if file == "" || depth > 8 {
		return target{}, false
	}
	fi, _ := s.ws.info(file)
	if fi == nil {
		return target{}, false
	}
	local, ok := fi.exports[name]
	if !ok {
		for _, spec := range fi.starFrom {
			if t, ok := s.exported(resolveImport(file, spec), name, depth+1); ok {
				return t, true
			}
		}
		return target{}, false
	}
	if strings.HasPrefix(local, "\x00") {
		parts := strings.Split(local, "\x00")
		return s.exported(resolveImport(file, parts[1]), parts[2], depth+1)
	}
	for _, d := range fi.decls {
		if d.top && d.name == local {
			return s.follow(fi, d, depth)
		}
	}
	return target{}, false
}

// actionTarget finds an action's declaration in the program's entry file.
func (s *server) actionTarget(path, name string) (target, bool) {
	entry := entryPath(s.ws.programDir(path))
	if entry == "" {
		return target{}, false
	}
	fi, _ := s.ws.info(entry)
	for _, a := range actions(fi) {
		if a.name == name {
			return target{entry, &decl{name: name, at: a.at}}, true
		}
	}
	return target{}, false
}

func (s *server) location(tg target) (protocol.Location, bool) {
	return s.spanLocation(tg.path, tg.d.at)
}

func (s *server) spanLocation(path string, sp span) (protocol.Location, bool) {
	t, err := s.ws.source(path)
	if err != nil {
		return protocol.Location{}, false
	}
	u := uri.File(path)
	if d := s.ws.doc(path); d != nil {
		u = d.uri
	}
	return protocol.Location{URI: u, Range: t.rangeOf(sp)}, true
}

// References lists the uses of the declaration under the cursor in every
// file of the program, through imports; for an action, `root.NAME` too.
func (s *server) References(_ context.Context, params *protocol.ReferenceParams) (
	[]protocol.Location, error) {
	tgt, ok, err := s.targetOf(params.TextDocumentPositionParams)
	if err != nil || !ok {
		return nil, err
	}
	var out []protocol.Location
	add := func(p string, sp span) {
		if loc, ok := s.spanLocation(p, sp); ok {
			out = append(out, loc)
		}
	}
	if params.Context.IncludeDeclaration {
		add(tgt.path, tgt.d.at)
	}

	dir := s.ws.programDir(tgt.path)
	files := []string{tgt.path}
	if dir != "" && tgt.d.top {
		files = programFiles(dir)
	}
	isAction := false
	if dir != "" && tgt.path == entryPath(dir) {
		tfi, _ := s.ws.info(tgt.path)
		for _, a := range actions(tfi) {
			isAction = isAction || a.at == tgt.d.at
		}
	}
	for _, f := range files {
		ffi, _ := s.ws.info(f)
		if ffi == nil {
			continue
		}
		for _, r := range ffi.refs {
			if r.d == nil {
				continue
			}
			if f == tgt.path && r.d.at == tgt.d.at {
				add(f, r.at)
				continue
			}
			if r.d.kind == declImport && f != tgt.path {
				if via, ok := s.follow(ffi, r.d, 0); ok && via.path == tgt.path &&
					via.d.at == tgt.d.at {
					add(f, r.at)
				}
			}
		}
		for _, m := range ffi.members {
			if m.left < 0 {
				continue
			}
			left := ffi.refs[m.left]
			if isAction && ffi.isMembrane(left, "root") && m.name == tgt.d.name {
				add(f, m.at)
			}
		}
	}
	return out, nil
}
