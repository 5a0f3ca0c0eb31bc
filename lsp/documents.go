package lsp

import (
	"context"
	"fmt"

	"go.lsp.dev/protocol"
)

// The editor owns the text of open files; these handlers keep the
// workspace's copy and schedule a diagnostics pass for what the file belongs to.

func (s *server) DidOpen(_ context.Context, params *protocol.DidOpenTextDocumentParams) error {
	td := params.TextDocument
	s.ws.open(td.URI, td.Version, td.Text)
	s.diag.scheduleFor(pathOf(td.URI))
	return nil
}

func (s *server) DidChange(_ context.Context, params *protocol.DidChangeTextDocumentParams) error {
	path := pathOf(params.TextDocument.URI)
	d := s.ws.doc(path)
	if d == nil {
		return fmt.Errorf("change to %s, which is not open", path)
	}
	src := d.text.src
	for _, ch := range params.ContentChanges {
		switch ch := ch.(type) {
		case *protocol.TextDocumentContentChangeWholeDocument:
			src = ch.Text
		case *protocol.TextDocumentContentChangePartial:
			t := newText(src)
			src = src[:t.offset(ch.Range.Start)] + ch.Text + src[t.offset(ch.Range.End):]
		}
	}
	s.ws.open(params.TextDocument.URI, params.TextDocument.Version, src)
	s.diag.scheduleFor(path)
	return nil
}

func (s *server) DidSave(_ context.Context, params *protocol.DidSaveTextDocumentParams) error {
	s.diag.scheduleFor(pathOf(params.TextDocument.URI))
	return nil
}

func (s *server) DidClose(_ context.Context, params *protocol.DidCloseTextDocumentParams) error {
	s.ws.close(params.TextDocument.URI)
	s.diag.scheduleFor(pathOf(params.TextDocument.URI))
	return nil
}

func (s *server) DidChangeWatchedFiles(_ context.Context,
	params *protocol.DidChangeWatchedFilesParams) error {
	for _, ch := range params.Changes {
		s.diag.scheduleFor(pathOf(ch.URI))
	}
	return nil
}

// fileAt returns the path, text and program directory of a document.
func (s *server) fileAt(td protocol.TextDocumentIdentifier) (string, *text, error) {
	path := pathOf(td.URI)
	t, err := s.ws.source(path)
	if err != nil {
		return "", nil, fmt.Errorf("read %s: %w", path, err)
	}
	return path, t, nil
}
