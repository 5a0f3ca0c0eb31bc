package lsp

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/membrane-dev/membrane-dev/bundle"
)

// diagnostics computes and publishes diagnostics per program, on a timer
// that restarts with every change, so a burst of edits costs one pass.
type diagnostics struct {
	s *server

	mu        sync.Mutex
	timers    map[string]*time.Timer // program dir -> pending pass
	running   map[string]*sync.Mutex // program dir -> one pass at a time
	published map[string]map[string]bool
	closed    bool
	wg        sync.WaitGroup
}

func newDiagnostics(s *server) *diagnostics {
	return &diagnostics{
		s:         s,
		timers:    map[string]*time.Timer{},
		running:   map[string]*sync.Mutex{},
		published: map[string]map[string]bool{},
	}
}

// scheduleFor asks for a pass over what a file belongs to: its program, or
// the file alone when it is in no program.
func (dg *diagnostics) scheduleFor(path string) {
	if dir := dg.s.ws.programDir(path); dir != "" {
		dg.schedule(dir)
		return
	}
	dg.after(path, func() map[string][]finding { return dg.collectLone(path) })
}

// schedule asks for a pass over the program in dir after the debounce.
func (dg *diagnostics) schedule(dir string) {
	if dir == "" {
		return
	}
	dg.after(dir, func() map[string][]finding { return dg.collect(dir) })
}

// after runs a pass for key (a program directory or a lone file) once the
// debounce has passed with no newer request for the same key.
func (dg *diagnostics) after(key string, collect func() map[string][]finding) {
	dg.mu.Lock()
	defer dg.mu.Unlock()
	if dg.closed {
		return
	}
	if t := dg.timers[key]; t != nil && t.Stop() {
		dg.wg.Done() // the stopped pass never runs
	}
	dg.wg.Add(1)
	dg.timers[key] = time.AfterFunc(dg.s.opts.Debounce, func() {
		defer dg.wg.Done()
		dg.run(key, collect)
	})
}

func (dg *diagnostics) close() {
	dg.mu.Lock()
	dg.closed = true
	for _, t := range dg.timers {
		if t.Stop() {
			dg.wg.Done()
		}
	}
	dg.mu.Unlock()
	dg.wg.Wait()
}

// run makes one pass and publishes the result for every file that has
// diagnostics now or had them before.
func (dg *diagnostics) run(key string, collect func() map[string][]finding) {
	dg.mu.Lock()
	lock := dg.running[key]
	if lock == nil {
		lock = &sync.Mutex{}
		dg.running[key] = lock
	}
	dg.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	defer func() {
		if r := recover(); r != nil {
			dg.s.log.Error("lsp: diagnostics pass panicked", "key", key, "panic", r)
		}
	}()

	found := collect()

	dg.mu.Lock()
	before := dg.published[key]
	now := map[string]bool{}
	for p := range found {
		now[p] = true
	}
	dg.published[key] = now
	dg.mu.Unlock()
	for p := range before {
		if !now[p] {
			found[p] = nil
		}
	}

	paths := make([]string, 0, len(found))
	for p := range found {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		dg.publish(p, found[p])
	}
}

func (dg *diagnostics) publish(path string, fs []finding) {
	ws := dg.s.ws
	params := &protocol.PublishDiagnosticsParams{URI: uri.File(path),
		Diagnostics: []protocol.Diagnostic{}}
	if d := ws.doc(path); d != nil {
		params.URI = d.uri
		params.Version = protocol.NewOptional(d.version)
	}
	if len(fs) > 0 {
		t, err := ws.source(path)
		if err != nil {
			dg.s.log.Warn("lsp: reading a file for diagnostics", "err", err)
			return
		}
		for _, f := range fs {
			params.Diagnostics = append(params.Diagnostics, protocol.Diagnostic{
				Range:    t.rangeOf(f.at),
				Severity: protocol.DiagnosticSeverityError,
				Code:     protocol.String(f.code),
				Source:   protocol.NewOptional(f.source),
				Message:  protocol.String(f.text),
			})
		}
	}
	if err := dg.s.client.PublishDiagnostics(context.Background(), params); err != nil {
		dg.s.log.Warn("lsp: publishing diagnostics", "err", err)
	}
}

// collect gathers every finding for the program in dir, by absolute path.
func (dg *diagnostics) collect(dir string) map[string][]finding {
	s := dg.s
	found := map[string][]finding{}
	add := func(path string, f finding) { found[path] = append(found[path], f) }

	// Bundling (syntax errors, unresolved and refused imports) runs beside
	// the analysis of the files the rules read; each is most of a pass.
	var err error
	built := make(chan struct{})
	go func() {
		defer close(built)
		_, err = bundle.Build(dir, bundle.Options{Overlay: s.ws.overlay(dir)})
	}()
	entryFile := entryPath(dir)
	paths := s.ws.openIn(dir)
	if entryFile != "" {
		paths = append(paths, entryFile)
	}
	infos := map[string]*fileInfo{}
	for _, p := range paths {
		if _, done := infos[p]; done || !sourceExts[filepath.Ext(p)] {
			continue
		}
		fi, err := s.ws.info(p)
		if err != nil {
			fi = nil // its syntax error comes from the bundle
		}
		infos[p] = fi
	}
	<-built

	refusedLines := map[string]map[int]bool{}
	var be *bundle.BuildError
	switch {
	case errors.As(err, &be):
		for _, m := range be.Messages {
			if m.Kind == bundle.KindSyntax && s.current().typescriptServer {
				continue
			}
			path := filepath.Join(dir, m.File)
			if m.File == "" && entryFile != "" {
				// A problem of the whole program: shown at the top of the entry.
				path, m.Line, m.Column = entryFile, 1, 1
			}
			f, ok := dg.messageFinding(path, m)
			if !ok {
				continue
			}
			if m.Kind == bundle.KindRefused {
				if refusedLines[path] == nil {
					refusedLines[path] = map[int]bool{}
				}
				refusedLines[path][m.Line] = true
			}
			add(path, f)
		}
	case err != nil:
		s.log.Warn("lsp: building for diagnostics", "dir", dir, "err", err)
	}

	// The runtime's rules, in the open files and the entry.
	var acts map[string]bool
	if entry := infos[entryFile]; entry != nil {
		acts = actionNames(actions(entry))
	}
	for _, p := range paths {
		fi := infos[p]
		if fi == nil {
			continue
		}
		infos[p] = nil // once
		for _, f := range checkRules(fi, acts, acts != nil) {
			if f.code == "refused-await" && refusedLines[p][fi.text.lineOf(f.at.start)+1] {
				continue // the bundle said it already
			}
			add(p, f)
		}
	}

	dg.collectFacts(dir, add)
	return found
}

// collectLone checks a file that belongs to no program: whether it reads,
// and the rules that need no program.
func (dg *diagnostics) collectLone(path string) map[string][]finding {
	found := map[string][]finding{}
	fi, err := dg.s.ws.info(path)
	var te *transformError
	switch {
	case errors.As(err, &te):
		if dg.s.current().typescriptServer {
			break
		}
		if t, err := dg.s.ws.source(path); err == nil {
			line := min(max(te.line-1, 0), len(t.lines)-1)
			start := min(t.lines[line]+te.column, t.lineEnd(line))
			found[path] = append(found[path], finding{at: span{start, start + te.length},
				source: sourceBuild, code: "syntax", text: te.text})
		}
	case err == nil && fi != nil:
		found[path] = checkRules(fi, nil, false)
	}
	return found
}

// collectFacts adds what a live run and the log know: the run's last build
// error, and each action's most recent failure where it was thrown.
func (dg *diagnostics) collectFacts(dir string, add func(string, finding)) {
	facts := dg.s.opts.Facts
	if facts == nil {
		return
	}
	if m, err := facts.RunBuildError(dir); err != nil {
		dg.s.log.Warn("lsp: reading the run's build error", "err", err)
	} else if m != nil {
		path := filepath.Join(dir, m.File)
		if f, ok := dg.messageFinding(path, *m); ok {
			f.source, f.text = sourceRun, "the live run could not deploy this: "+m.Text
			add(path, f)
		}
	}

	acts, err := facts.Actions(dir)
	if err != nil {
		dg.s.log.Warn("lsp: reading the log's actions", "err", err)
		return
	}
	names := make([]string, 0, len(acts))
	for n := range acts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fail := acts[name].LastFailure
		if fail == nil || fail.File == "" || fail.Line < 1 {
			continue
		}
		path := filepath.Join(dir, fail.File)
		t, err := dg.s.ws.source(path)
		if err != nil {
			continue
		}
		line := min(fail.Line-1, len(t.lines)-1)
		start := min(t.lines[line]+max(fail.Column-1, 0), t.lineEnd(line))
		add(path, finding{at: span{start, t.lineEnd(line)}, source: sourceLog,
			code: "recorded-failure",
			text: fmt.Sprintf("%s failed at event %d: %s", name, fail.Seq, fail.Message)})
	}
}

// messageFinding places a build message (1-based line, byte column) in its
// file.
func (dg *diagnostics) messageFinding(path string, m bundle.Message) (finding, bool) {
	t, err := dg.s.ws.source(path)
	if err != nil {
		dg.s.log.Warn("lsp: a build message names an unreadable file", "err", err)
		return finding{}, false
	}
	line := min(max(m.Line-1, 0), len(t.lines)-1)
	start := min(t.lines[line]+max(m.Column-1, 0), t.lineEnd(line))
	end := min(start+m.Length, len(t.src))
	if end == start {
		_, w := t.wordAt(start)
		end = max(w.end, start)
	}
	source := sourceBuild
	if m.Kind == bundle.KindRefused {
		source = sourceRules
	}
	return finding{at: span{start, end}, source: source, code: m.Kind, text: m.Text}, true
}
