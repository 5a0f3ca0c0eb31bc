package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/membrane-dev/membrane-dev/bundle"
)

// A session is an editor talking to a real server over a real jsonrpc2
// connection: what it asserts is what an editor would show.
type session struct {
	t       testing.TB
	dir     string
	srv     protocol.Server
	client  *editor
	conn    jsonrpc2.Conn
	raw     net.Conn // the editor's end of the pipe
	served  chan error
	edits   map[string]string
	version int32
}

// editor is the client side: it keeps what the server published.
type editor struct {
	protocol.UnimplementedClient

	mu      sync.Mutex
	diags   map[uri.URI][]protocol.Diagnostic
	changed chan struct{}
}

func (e *editor) PublishDiagnostics(_ context.Context, p *protocol.PublishDiagnosticsParams) error {
	e.mu.Lock()
	e.diags[p.URI] = p.Diagnostics
	e.mu.Unlock()
	select {
	case e.changed <- struct{}{}:
	default:
	}
	return nil
}

type sessionConfig struct {
	facts       Facts
	initOptions string
	debounce    time.Duration // 0: 10 ms, to keep tests quick
}

func newSession(t testing.TB, files map[string]string, cfg sessionConfig) *session {
	t.Helper()
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	serverEnd, editorEnd := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{t: t, dir: dir, raw: editorEnd, served: make(chan error, 1),
		edits:  map[string]string{},
		client: &editor{diags: map[uri.URI][]protocol.Diagnostic{}, changed: make(chan struct{}, 1)}}
	go func() {
		debounce := cfg.debounce
		if debounce == 0 {
			debounce = 10 * time.Millisecond
		}
		s.served <- Serve(ctx, serverEnd, Options{Facts: cfg.facts, Debounce: debounce,
			Now: func() time.Time { return testNow }})
	}()
	_, s.conn, s.srv = protocol.NewClient(ctx, s.client, jsonrpc2.NewHeaderStream(editorEnd))

	init := &protocol.InitializeParams{}
	if cfg.initOptions != "" {
		init.InitializationOptions = jsontext.Value(cfg.initOptions)
	}
	if _, err := s.srv.Initialize(s.ctx(), init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if err := s.srv.Initialized(s.ctx(), &protocol.InitializedParams{}); err != nil {
		t.Fatalf("initialized: %v", err)
	}
	t.Cleanup(func() {
		_ = s.srv.Shutdown(s.ctx())
		_ = s.srv.Exit(s.ctx())
		select {
		case err := <-s.served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("the server did not stop after exit")
		}
		cancel()
		s.conn.Close()
	})
	return s
}

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func (s *session) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.t.Cleanup(cancel)
	return ctx
}

func (s *session) path(name string) string { return filepath.Join(s.dir, name) }
func (s *session) uri(name string) uri.URI { return uri.File(s.path(name)) }

func (s *session) text(name string) string {
	b, err := os.ReadFile(s.path(name))
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// open opens a file as it is on disk.
func (s *session) open(name string) {
	s.t.Helper()
	err := s.srv.DidOpen(s.ctx(), &protocol.DidOpenTextDocumentParams{
		TextDocument: protocol.TextDocumentItem{URI: s.uri(name), LanguageID: "typescript",
			Version: 1, Text: s.text(name)}})
	if err != nil {
		s.t.Fatalf("didOpen: %v", err)
	}
}

// edit replaces the whole text of an open file, unsaved.
func (s *session) edit(name, src string) {
	s.t.Helper()
	s.edits[name] = src
	s.version++
	err := s.srv.DidChange(s.ctx(), &protocol.DidChangeTextDocumentParams{
		TextDocument: protocol.VersionedTextDocumentIdentifier{
			TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: s.uri(name)},
			Version:                s.version},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{
			&protocol.TextDocumentContentChangeWholeDocument{Text: src}},
	})
	if err != nil {
		s.t.Fatalf("didChange: %v", err)
	}
}

// waitDiags waits until the diagnostics of a file satisfy ok.
func (s *session) waitDiags(name string,
	ok func([]protocol.Diagnostic) bool) []protocol.Diagnostic {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.client.mu.Lock()
		d, seen := s.client.diags[s.uri(name)]
		s.client.mu.Unlock()
		if seen && ok(d) {
			return d
		}
		select {
		case <-s.client.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			s.t.Fatalf("diagnostics of %s never became right; last: %s", name, describe(d))
			return nil
		}
	}
}

func describe(ds []protocol.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		src, _ := d.Source.Get()
		b.WriteString("\n  ")
		b.WriteString(strings.Join([]string{src, string(d.Code.(protocol.String)),
			string(d.Message.(protocol.String))}, " | "))
		b.WriteString(" @ line ")
		b.WriteString(itoa(int(d.Range.Start.Line)))
	}
	return b.String()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// pos returns the position of the nth (0-based) occurrence of needle in a
// file's text, plus delta bytes.
func (s *session) pos(name, needle string, delta int) protocol.Position {
	s.t.Helper()
	src := s.current(name)
	i := strings.Index(src, needle)
	if i < 0 {
		s.t.Fatalf("%q not in %s", needle, name)
	}
	return newText(src).position(i + delta)
}

// current is the text the server has for a file: the last edit, or disk.
func (s *session) current(name string) string {
	if src, ok := s.edits[name]; ok {
		return src
	}
	return s.text(name)
}

func (s *session) doc(name string) protocol.TextDocumentIdentifier {
	return protocol.TextDocumentIdentifier{URI: s.uri(name)}
}

func (s *session) docPos(name, needle string, delta int) protocol.TextDocumentPositionParams {
	return protocol.TextDocumentPositionParams{TextDocument: s.doc(name),
		Position: s.pos(name, needle, delta)}
}

// memFacts is a test double of what the log knows.
type memFacts struct {
	mu      sync.Mutex
	actions map[string]ActionFacts
	fields  []string
	runErr  *bundle.Message
	calls   []string
	result  string
}

func (f *memFacts) Actions(string) (map[string]ActionFacts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]ActionFacts{}
	for k, v := range f.actions {
		out[k] = v
	}
	return out, nil
}

func (f *memFacts) StateFields(string) ([]string, error) { return f.fields, nil }

func (f *memFacts) RunBuildError(string) (*bundle.Message, error) { return f.runErr, nil }

func (f *memFacts) Call(dir, action string, args json.RawMessage) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.actions[action]; !ok {
		return nil, errors.New("no action " + action)
	}
	f.calls = append(f.calls, action+" "+string(args))
	return json.RawMessage(f.result), nil
}
