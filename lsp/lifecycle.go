package lsp

import (
	"context"

	"go.lsp.dev/protocol"
)

// Commands the server runs itself through workspace/executeCommand; the
// other lens commands belong to the editor (see the package doc).
const (
	CommandRun    = "membrane.run"
	CommandDebug  = "membrane.debug"
	CommandReplay = "membrane.replay"
	CommandLog    = "membrane.log"
)

func (s *server) Initialize(ctx context.Context, params *protocol.InitializeParams) (
	*protocol.InitializeResult, error) {
	s.applySettings(params.InitializationOptions)
	yes := true
	full := protocol.TextDocumentSyncKindFull
	return &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: &protocol.TextDocumentSyncOptions{
				OpenClose: &yes,
				Change:    &full,
				Save:      protocol.Boolean(true),
			},
			CompletionProvider: &protocol.CompletionOptions{
				TriggerCharacters: []string{".", "{", ",", " "},
			},
			HoverProvider: protocol.Boolean(true),
			SignatureHelpProvider: &protocol.SignatureHelpOptions{
				TriggerCharacters: []string{"(", ","},
			},
			DefinitionProvider:      protocol.Boolean(true),
			ReferencesProvider:      protocol.Boolean(true),
			DocumentSymbolProvider:  protocol.Boolean(true),
			WorkspaceSymbolProvider: protocol.Boolean(true),
			CodeLensProvider:        &protocol.CodeLensOptions{},
			InlayHintProvider:       protocol.Boolean(true),
			ExecuteCommandProvider: protocol.ExecuteCommandOptions{
				Commands: []string{CommandRun},
			},
		},
		ServerInfo: protocol.ServerInfo{Name: "membrane-dev"},
	}, nil
}

func (s *server) Initialized(context.Context, *protocol.InitializedParams) error { return nil }

func (s *server) Shutdown(context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	return nil
}

// Exit ends the session: Serve returns once the connection has closed.
func (s *server) Exit(context.Context) error {
	s.stop()
	return nil
}

func (s *server) SetTrace(context.Context, *protocol.SetTraceParams) error { return nil }

func (s *server) DidChangeConfiguration(_ context.Context,
	params *protocol.DidChangeConfigurationParams) error {
	s.applySettings(params.Settings)
	return nil
}
