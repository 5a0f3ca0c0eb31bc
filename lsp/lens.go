package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// CodeLens puts what the log knows over each action of the entry file,
// with the commands to run it, debug its last call and replay the log.
// Lenses are asked for on every edit, so a failure to read the log is
// logged and shows no lenses, never an error.
func (s *server) CodeLens(_ context.Context, params *protocol.CodeLensParams) (
	[]protocol.CodeLens, error) {
	dir, t, acts, facts := s.actionFacts(params.TextDocument)
	if acts == nil {
		return []protocol.CodeLens{}, nil
	}
	out := []protocol.CodeLens{}
	for _, a := range acts {
		r := t.rangeOf(a.at)
		lens := func(title, command string, args ...any) {
			out = append(out, protocol.CodeLens{Range: r, Command: protocol.Command{
				Title: title, Command: command, Arguments: lspArgs(args...)}})
		}
		af, called := facts[a.name]
		if called {
			lens(s.lensSummary(af), CommandLog, dir, a.name)
		} else {
			lens("no calls yet", CommandLog, dir, a.name)
		}
		lens("▶ Run", CommandRun, dir, a.name)
		if called && af.LastSeq > 0 {
			lens("Debug", CommandDebug, dir, a.name, af.LastSeq)
		}
		lens("Replay", CommandReplay, dir)
	}
	return out, nil
}

// actionFacts returns, for the entry file of a program, its actions and
// the log's facts about them; nil actions when there is nothing to show.
func (s *server) actionFacts(td protocol.TextDocumentIdentifier) (
	string, *text, []action, map[string]ActionFacts) {
	if s.opts.Facts == nil {
		return "", nil, nil, nil
	}
	path, t, err := s.fileAt(td)
	if err != nil {
		return "", nil, nil, nil
	}
	dir := s.ws.programDir(path)
	if dir == "" || path != entryPath(dir) {
		return "", nil, nil, nil
	}
	fi, _ := s.ws.info(path)
	acts := actions(fi)
	facts, err := s.opts.Facts.Actions(dir)
	if err != nil {
		s.log.Warn("lsp: reading the log's actions", "err", err)
		return "", nil, nil, nil
	}
	return dir, t, acts, facts
}

// lensSummary reads like "12 calls · last 3 s ago · 1 failure".
func (s *server) lensSummary(af ActionFacts) string {
	parts := []string{count(af.Calls, "call")}
	if !af.LastCall.IsZero() {
		parts = append(parts, "last "+ago(s.opts.Now().Sub(af.LastCall)))
	}
	if af.Failures > 0 {
		parts = append(parts, count(af.Failures, "failure"))
	}
	return strings.Join(parts, " · ")
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

func lspArgs(args ...any) []protocol.LSPAny {
	out := make([]protocol.LSPAny, 0, len(args))
	for _, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			b = []byte("null")
		}
		out = append(out, jsontext.Value(b))
	}
	return out
}

// InlayHint shows, at the end of each action's first line, the result of
// its last recorded call. The "inlayHints" setting turns them off.
func (s *server) InlayHint(_ context.Context, params *protocol.InlayHintParams) (
	[]protocol.InlayHint, error) {
	out := []protocol.InlayHint{}
	if !s.current().inlayHints {
		return out, nil
	}
	_, t, acts, facts := s.actionFacts(params.TextDocument)
	yes := true
	for _, a := range acts {
		af, ok := facts[a.name]
		if !ok || af.LastResult == "" {
			continue
		}
		line := t.lineOf(a.at.start)
		if uint32(line) < params.Range.Start.Line || uint32(line) > params.Range.End.Line {
			continue
		}
		out = append(out, protocol.InlayHint{
			Position:    t.position(t.lineEnd(line)),
			Label:       protocol.String("→ " + clip(af.LastResult, 60)),
			Tooltip:     protocol.String(fmt.Sprintf("result of the last call, event %d", af.LastSeq)),
			PaddingLeft: &yes,
		})
	}
	return out, nil
}

// ExecuteCommand runs membrane.run: [dir, action, args?]. The other lens
// commands belong to the editor.
func (s *server) ExecuteCommand(_ context.Context, params *protocol.ExecuteCommandParams) (
	protocol.LSPAny, error) {
	if params.Command != CommandRun {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams,
			"%s is run by the editor, not by the language server", params.Command)
	}
	var dir, name string
	if len(params.Arguments) < 2 || json.Unmarshal(params.Arguments[0], &dir) != nil ||
		json.Unmarshal(params.Arguments[1], &name) != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams,
			"%s takes the program directory, the action name and optional arguments", CommandRun)
	}
	args := json.RawMessage("{}")
	if len(params.Arguments) > 2 {
		args = json.RawMessage(params.Arguments[2])
		var obj map[string]json.RawMessage
		if json.Unmarshal(args, &obj) != nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams,
				"the arguments of %s must be a JSON object", name)
		}
	}
	if s.opts.Facts == nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InternalError,
			"cannot run %s: this language server was started without access to programs", name)
	}
	res, err := s.opts.Facts.Call(dir, name, args)
	if err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "%s failed: %v", name, err)
	}
	s.diag.schedule(dir) // a failure may now be in the log
	return jsontext.Value(res), nil
}
