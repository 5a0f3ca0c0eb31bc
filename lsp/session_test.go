package lsp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"go.lsp.dev/protocol"

	"github.com/membrane-dev/membrane-dev/bundle"
)

const counterProgram = `import { state, root, sleep } from "membrane";
import { helper } from "./util";

state.count ??= 0;

export function increment({ by = 1 }: { by?: number }) {
  state.count += helper(by);
  return state.count;
}

export async function remind({ text, minutes }: { text: string; minutes: number }) {
  await sleep(minutes * 60);
  console.log(text);
}

function internal() {
  return root.increment({ by: 2 });
}

export const Root = {
  ping() {
    return "pong";
  },
};
`

const utilModule = `export function helper(n: number): number {
  return n * 1;
}
`

func counterFiles() map[string]string {
	return map[string]string{"index.ts": counterProgram, "util.ts": utilModule}
}

func hasDiag(ds []protocol.Diagnostic, line uint32, source, text string) bool {
	for _, d := range ds {
		src, _ := d.Source.Get()
		msg := string(d.Message.(protocol.String))
		if d.Range.Start.Line == line && src == source && strings.Contains(msg, text) {
			return true
		}
	}
	return false
}

func TestSyntaxErrorShownOnItsLineThenCleared(t *testing.T) {
	s := newSession(t, counterFiles(), sessionConfig{})
	s.open("index.ts")

	broken := strings.Replace(counterProgram, "return state.count;", "return state.count +;", 1)
	s.edit("index.ts", broken)
	line := s.pos("index.ts", "return state.count +;", 0).Line
	s.waitDiags("index.ts", func(ds []protocol.Diagnostic) bool {
		return hasDiag(ds, line, sourceBuild, "")
	})

	s.edit("index.ts", counterProgram)
	s.waitDiags("index.ts", func(ds []protocol.Diagnostic) bool { return len(ds) == 0 })
}

func TestTypescriptServerOptionLeavesSyntaxErrorsToIt(t *testing.T) {
	files := counterFiles()
	files["a.ts"] = "export const a = ;\n"
	files["index.ts"] = counterProgram + "import { a } from \"./a\";\nimport fs from \"fs\";\n" +
		"export function f() { return [a, fs]; }\n"
	s := newSession(t, files, sessionConfig{initOptions: `{"typescriptServer": true}`})
	s.open("a.ts")
	s.open("index.ts")

	// The refused import still shows; the syntax error in a.ts, published
	// before it in the same pass if at all, does not.
	line := s.pos("index.ts", `import fs`, 0).Line
	s.waitDiags("index.ts", func(ds []protocol.Diagnostic) bool {
		return hasDiag(ds, line, sourceRules, "fs")
	})
	s.client.mu.Lock()
	defer s.client.mu.Unlock()
	if ds := s.client.diags[s.uri("a.ts")]; len(ds) > 0 {
		t.Errorf("a syntax error was shown beside the TypeScript server:%s", describe(ds))
	}
}

func TestRuntimeRulesAreDiagnosed(t *testing.T) {
	files := counterFiles()
	files["index.ts"] = counterProgram + `
export function schedule() {
  root.incremnt({}).$invokeIn(5);
  root.increment({}).$cron("every minute");
  root.ping({}).$cron("0 */5 * * * *");
  const x = require("./util");
  process.exit(1);
  return x;
}
`
	s := newSession(t, files, sessionConfig{})
	s.open("index.ts")
	want := []struct {
		needle, text string
	}{
		{"root.incremnt", "root.incremnt names no action"},
		{`$cron("every minute")`, "does not parse"},
		{"require(", "require is not available"},
		{"process.exit", "process.exit is not available"},
	}
	s.waitDiags("index.ts", func(ds []protocol.Diagnostic) bool {
		for _, w := range want {
			if !hasDiag(ds, s.pos("index.ts", w.needle, 0).Line, sourceRules, w.text) {
				return false
			}
		}
		return true
	})
	ds := s.waitDiags("index.ts", func([]protocol.Diagnostic) bool { return true })
	for _, d := range ds {
		msg := string(d.Message.(protocol.String))
		if strings.Contains(msg, "root.ping") || strings.Contains(msg, "root.increment ") {
			t.Errorf("an existing action was reported: %s", msg)
		}
		if strings.Contains(msg, "0 */5") {
			t.Errorf("a valid cron expression was reported: %s", msg)
		}
	}
}

func TestTopLevelAwaitIsRefused(t *testing.T) {
	files := counterFiles()
	files["index.ts"] = counterProgram + "await sleep(1);\n"
	s := newSession(t, files, sessionConfig{})
	s.open("index.ts")
	line := s.pos("index.ts", "await sleep(1);", 0).Line
	s.waitDiags("index.ts", func(ds []protocol.Diagnostic) bool {
		for _, d := range ds {
			if d.Range.Start.Line == line &&
				strings.Contains(strings.ToLower(string(d.Message.(protocol.String))), "await") {
				return true
			}
		}
		return false
	})
}

func TestRecordedFailureAppearsWhereItWasThrown(t *testing.T) {
	facts := &memFacts{actions: map[string]ActionFacts{
		"increment": {Calls: 3, Failures: 1, LastSeq: 9, LastFailure: &Failure{
			File: "util.ts", Line: 2, Column: 3, Message: "n is not a number", Seq: 9}},
	}, runErr: &bundle.Message{File: "index.ts", Line: 4, Column: 1, Text: "boom", Kind: "syntax"}}
	s := newSession(t, counterFiles(), sessionConfig{facts: facts})
	s.open("util.ts")
	ds := s.waitDiags("util.ts", func(ds []protocol.Diagnostic) bool {
		return hasDiag(ds, 1, sourceLog, "n is not a number")
	})
	for _, d := range ds {
		if d.Range.Start.Character != 2 {
			t.Errorf("failure starts at column %d, want 2", d.Range.Start.Character)
		}
	}
	s.waitDiags("index.ts", func(ds []protocol.Diagnostic) bool {
		return hasDiag(ds, 3, sourceRun, "boom")
	})
}

func labels(t *testing.T, res protocol.CompletionResult) []string {
	t.Helper()
	list, ok := res.(*protocol.CompletionList)
	if !ok {
		t.Fatalf("completion result is %T", res)
	}
	var out []string
	for _, it := range list.Items {
		out = append(out, it.Label)
	}
	return out
}

func TestCompletion(t *testing.T) {
	facts := &memFacts{fields: []string{"count", "lastSeen"}}
	files := counterFiles()
	files["index.ts"] = strings.Replace(counterProgram, "import { state, root, sleep }",
		"import { state, root, sleep,  }", 1) + `
export function more() {
  state.count;
  root.increment;
  root.increment({}).$invokeIn(1);
  console.log(1);
}
`
	s := newSession(t, files, sessionConfig{facts: facts})
	s.open("index.ts")
	s.open("util.ts")

	cases := []struct {
		name, needle string
		delta        int
		want         []string
	}{
		{"membrane import", "sleep,  }", 7, []string{"state", "sleep", "root", "nodes"}},
		{"state", "state.count;", 6, []string{"count", "lastSeen"}},
		{"root", "root.increment;", 5, []string{"increment", "remind", "ping"}},
		{"handle", ").$invokeIn(1)", 3, []string{"$invokeIn", "$invokeAt", "$cron"}},
		{"console", "console.log(1)", 8, []string{"log", "warn", "error", "info"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.srv.Completion(s.ctx(), &protocol.CompletionParams{
				TextDocumentPositionParams: s.docPos("index.ts", c.needle, c.delta)})
			if err != nil {
				t.Fatal(err)
			}
			got := labels(t, res)
			for _, w := range c.want {
				if !slices.Contains(got, w) {
					t.Errorf("completion lacks %q; got %v", w, got)
				}
			}
		})
	}
}

func TestGenericCompletionOnlyWithoutTypescriptServer(t *testing.T) {
	for _, tc := range []struct {
		opts string
		want bool
	}{{"", true}, {`{"typescriptServer": true}`, false}} {
		s := newSession(t, counterFiles(), sessionConfig{initOptions: tc.opts})
		s.open("index.ts")
		res, err := s.srv.Completion(s.ctx(), &protocol.CompletionParams{
			TextDocumentPositionParams: s.docPos("index.ts", "state.count ??= 0;", 0)})
		if err != nil {
			t.Fatal(err)
		}
		got := labels(t, res)
		if has := slices.Contains(got, "fetch") && slices.Contains(got, "increment"); has != tc.want {
			t.Errorf("options %q: generic completion offered = %v, want %v (%v)", tc.opts, has,
				tc.want, got)
		}
	}
}

func hoverText(t *testing.T, h *protocol.Hover) string {
	t.Helper()
	if h == nil {
		return ""
	}
	mc, ok := h.Contents.(*protocol.MarkupContent)
	if !ok {
		t.Fatalf("hover contents are %T", h.Contents)
	}
	return mc.Value
}

func TestHoverExplainsTheRuntimeAPI(t *testing.T) {
	facts := &memFacts{actions: map[string]ActionFacts{
		"increment": {Calls: 12, LastCall: testNow.Add(-3 * time.Second), LastResult: "42"}}}
	s := newSession(t, counterFiles(), sessionConfig{facts: facts})
	s.open("index.ts")
	cases := []struct{ needle, want string }{
		{"sleep(minutes", "Pause the current action"},
		{"state.count +=", "Durable state"},
		{"log(text)", "Write a line to the log"},
		{"increment(", "12 calls · last 3 s ago"},
	}
	for _, c := range cases {
		h, err := s.srv.Hover(s.ctx(), &protocol.HoverParams{
			TextDocumentPositionParams: s.docPos("index.ts", c.needle, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if got := hoverText(t, h); !strings.Contains(got, c.want) {
			t.Errorf("hover on %q = %q, want it to say %q", c.needle, got, c.want)
		}
	}
	// A name of the program's own says nothing from the typings.
	h, err := s.srv.Hover(s.ctx(), &protocol.HoverParams{
		TextDocumentPositionParams: s.docPos("index.ts", "minutes * 60", 1)})
	if err != nil || h != nil {
		t.Errorf("hover on a parameter = %v, %v; want nothing", h, err)
	}
}

func TestSignatureHelp(t *testing.T) {
	s := newSession(t, counterFiles(), sessionConfig{})
	s.open("index.ts")
	sh, err := s.srv.SignatureHelp(s.ctx(), &protocol.SignatureHelpParams{
		TextDocumentPositionParams: s.docPos("index.ts", "sleep(minutes", 6)})
	if err != nil {
		t.Fatal(err)
	}
	if sh == nil || len(sh.Signatures) != 1 ||
		!strings.Contains(sh.Signatures[0].Label, "sleep(seconds: number)") {
		t.Fatalf("signature help = %+v", sh)
	}
	if len(sh.Signatures[0].Parameters) != 1 {
		t.Errorf("parameters = %+v", sh.Signatures[0].Parameters)
	}
}

func TestDefinitionAcrossFiles(t *testing.T) {
	files := counterFiles()
	files[TypingsFile] = Typings()
	s := newSession(t, files, sessionConfig{})
	s.open("index.ts")
	cases := []struct {
		name, needle       string
		delta              int
		file, targetNeedle string
	}{
		{"imported function", "helper(by)", 0, "util.ts", "helper(n"},
		{"parameter", "helper(by)", 7, "index.ts", "by = 1"},
		{"root handle", "root.increment(", 5, "index.ts", "increment({ by"},
		{"runtime state", "state.count += ", 0, TypingsFile, "state: State"},
		{"runtime API", "sleep(minutes", 0, TypingsFile, "sleep(seconds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.srv.Definition(s.ctx(), &protocol.DefinitionParams{
				TextDocumentPositionParams: s.docPos("index.ts", c.needle, c.delta)})
			if err != nil {
				t.Fatal(err)
			}
			locs, ok := res.(protocol.LocationSlice)
			if !ok || len(locs) != 1 {
				t.Fatalf("definition = %#v", res)
			}
			want := s.pos(c.file, c.targetNeedle, 0)
			if locs[0].URI != s.uri(c.file) || locs[0].Range.Start != want {
				t.Errorf("definition at %s %+v, want %s %+v", locs[0].URI, locs[0].Range.Start,
					c.file, want)
			}
		})
	}
}

func TestReferencesAcrossFiles(t *testing.T) {
	s := newSession(t, counterFiles(), sessionConfig{})
	s.open("util.ts")
	locs, err := s.srv.References(s.ctx(), &protocol.ReferenceParams{
		TextDocumentPositionParams: s.docPos("util.ts", "helper", 1),
		Context:                    protocol.ReferenceContext{IncludeDeclaration: true}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range locs {
		got = append(got, strings.TrimPrefix(string(l.URI), string(s.uri("")))+":"+
			itoa(int(l.Range.Start.Line)))
	}
	slices.Sort(got)
	want := []string{"/index.ts:6", "/util.ts:0"}
	if !slices.Equal(got, want) {
		t.Errorf("references = %v, want %v", got, want)
	}

	// An action's references include root.NAME.
	s.open("index.ts")
	locs, err = s.srv.References(s.ctx(), &protocol.ReferenceParams{
		TextDocumentPositionParams: s.docPos("index.ts", "increment({ by", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(locs) != 1 || locs[0].Range.Start != s.pos("index.ts", "increment({ by: 2", 0) {
		t.Errorf("references of an action = %+v", locs)
	}
}

func TestDocumentSymbolsListActionsFirst(t *testing.T) {
	s := newSession(t, counterFiles(), sessionConfig{})
	s.open("index.ts")
	res, err := s.srv.DocumentSymbol(s.ctx(), &protocol.DocumentSymbolParams{
		TextDocument: s.doc("index.ts")})
	if err != nil {
		t.Fatal(err)
	}
	syms := res.(protocol.DocumentSymbolSlice)
	var got []string
	for _, sym := range syms {
		d := ""
		if sym.Detail != nil {
			d = "*"
		}
		got = append(got, sym.Name+d)
	}
	want := []string{"increment*", "remind*", "ping*", "internal", "Root"}
	if !slices.Equal(got, want) {
		t.Errorf("document symbols = %v, want %v", got, want)
	}
	inc := syms[0]
	if inc.Range.Start.Line != 5 || inc.Range.End.Line != 8 {
		t.Errorf("increment spans lines %d-%d, want 5-8", inc.Range.Start.Line, inc.Range.End.Line)
	}

	ws, err := s.srv.Symbols(s.ctx(), &protocol.WorkspaceSymbolParams{Query: "help"})
	if err != nil {
		t.Fatal(err)
	}
	infos := ws.(protocol.SymbolInformationSlice)
	if len(infos) != 1 || infos[0].Name != "helper" || infos[0].Location.URI != s.uri("util.ts") {
		t.Errorf("workspace symbols for help = %+v", infos)
	}
}

func TestCodeLensesShowTheLog(t *testing.T) {
	facts := &memFacts{actions: map[string]ActionFacts{
		"increment": {Calls: 12, Failures: 1, LastCall: testNow.Add(-3 * time.Second),
			LastSeq: 40, LastResult: `{"count":7}`},
	}, result: `{"count":8}`}
	s := newSession(t, counterFiles(), sessionConfig{facts: facts})
	s.open("index.ts")
	lenses, err := s.srv.CodeLens(s.ctx(), &protocol.CodeLensParams{TextDocument: s.doc("index.ts")})
	if err != nil {
		t.Fatal(err)
	}
	byLine := map[uint32][]string{}
	for _, l := range lenses {
		args := ""
		for _, a := range l.Command.Arguments {
			args += " " + string(a)
		}
		byLine[l.Range.Start.Line] = append(byLine[l.Range.Start.Line],
			l.Command.Title+" ["+l.Command.Command+strings.ReplaceAll(args, `"`+s.dir+`"`, "DIR")+"]")
	}
	want := map[uint32][]string{
		5: {"12 calls · last 3 s ago · 1 failure [membrane.log DIR \"increment\"]",
			"▶ Run [membrane.run DIR \"increment\"]",
			"Debug [membrane.debug DIR \"increment\" 40]",
			"Replay [membrane.replay DIR]"},
		10: {"no calls yet [membrane.log DIR \"remind\"]", "▶ Run [membrane.run DIR \"remind\"]",
			"Replay [membrane.replay DIR]"},
	}
	for line, w := range want {
		if !slices.Equal(byLine[line], w) {
			t.Errorf("lenses on line %d = %q, want %q", line, byLine[line], w)
		}
	}
	if len(byLine) != 3 { // increment, remind, ping
		t.Errorf("lenses on %d lines, want 3: %v", len(byLine), byLine)
	}

	// Run goes through executeCommand to the program.
	res, err := s.srv.ExecuteCommand(s.ctx(), &protocol.ExecuteCommandParams{
		Command:   CommandRun,
		Arguments: lspArgs(s.dir, "increment", map[string]int{"by": 1}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(res) != `{"count":8}` || len(facts.calls) != 1 ||
		facts.calls[0] != `increment {"by":1}` {
		t.Errorf("run returned %s after calls %v", res, facts.calls)
	}
	if _, err := s.srv.ExecuteCommand(s.ctx(), &protocol.ExecuteCommandParams{
		Command: CommandRun, Arguments: lspArgs(s.dir, "increment", []int{1})}); err == nil {
		t.Errorf("run with arguments that are not an object succeeded")
	}
}

func TestInlayHintsShowLastResultAndToggle(t *testing.T) {
	facts := &memFacts{actions: map[string]ActionFacts{
		"increment": {Calls: 1, LastSeq: 3, LastResult: `{"count":7}`}}}
	s := newSession(t, counterFiles(), sessionConfig{facts: facts})
	s.open("index.ts")
	all := protocol.Range{End: protocol.Position{Line: 100}}
	hints, err := s.srv.InlayHint(s.ctx(), &protocol.InlayHintParams{TextDocument: s.doc("index.ts"),
		Range: all})
	if err != nil {
		t.Fatal(err)
	}
	if len(hints) != 1 || hints[0].Position.Line != 5 ||
		string(hints[0].Label.(protocol.String)) != `→ {"count":7}` {
		t.Fatalf("inlay hints = %+v", hints)
	}

	err = s.srv.DidChangeConfiguration(s.ctx(), &protocol.DidChangeConfigurationParams{
		Settings: jsontext.Value(`{"membrane": {"inlayHints": false}}`)})
	if err != nil {
		t.Fatal(err)
	}
	hints, err = s.srv.InlayHint(s.ctx(), &protocol.InlayHintParams{TextDocument: s.doc("index.ts"),
		Range: all})
	if err != nil || len(hints) != 0 {
		t.Errorf("inlay hints after turning them off = %+v, %v", hints, err)
	}
}

func TestNoFactsKeepsLogFeaturesQuiet(t *testing.T) {
	s := newSession(t, counterFiles(), sessionConfig{})
	s.open("index.ts")
	lenses, err := s.srv.CodeLens(s.ctx(), &protocol.CodeLensParams{TextDocument: s.doc("index.ts")})
	if err != nil || len(lenses) != 0 {
		t.Errorf("lenses without facts = %v, %v", lenses, err)
	}
	_, err = s.srv.ExecuteCommand(s.ctx(), &protocol.ExecuteCommandParams{
		Command: CommandRun, Arguments: lspArgs(s.dir, "increment")})
	if err == nil || !strings.Contains(err.Error(), "without access") {
		t.Errorf("run without facts: %v", err)
	}
}

func TestBadNotificationDoesNotEndTheSession(t *testing.T) {
	s := newSession(t, counterFiles(), sessionConfig{})
	// A change to a file that was never opened fails in its handler; a
	// notification the server does not implement fails in the library.
	s.srv.DidChange(s.ctx(), &protocol.DidChangeTextDocumentParams{
		TextDocument: protocol.VersionedTextDocumentIdentifier{
			TextDocumentIdentifier: s.doc("nowhere.ts")}})
	s.srv.WorkDoneProgressCancel(s.ctx(), &protocol.WorkDoneProgressCancelParams{
		Token: protocol.String("x")})
	if err := s.conn.Notify(s.ctx(), "textDocument/didOpen", json.RawMessage(`[1,2]`)); err != nil {
		t.Fatal(err)
	}
	s.open("index.ts")
	h, err := s.srv.Hover(s.ctx(), &protocol.HoverParams{
		TextDocumentPositionParams: s.docPos("index.ts", "sleep(minutes", 1)})
	if err != nil || h == nil {
		t.Fatalf("hover after bad notifications = %v, %v", h, err)
	}
}

func TestHoverWhileTheFileDoesNotParseYet(t *testing.T) {
	files := map[string]string{"index.ts": "import { sleep as nap } from \"membrane\";\n" +
		"export async function f() {\n  await nap(1) +;\n}\n"}
	s := newSession(t, files, sessionConfig{})
	s.open("index.ts")
	h, err := s.srv.Hover(s.ctx(), &protocol.HoverParams{
		TextDocumentPositionParams: s.docPos("index.ts", "nap(1)", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if got := hoverText(t, h); !strings.Contains(got, "Pause the current action") {
		t.Errorf("hover = %q", got)
	}
}

func TestFileOutsideAnyProgramStillShowsItsErrors(t *testing.T) {
	s := newSession(t, map[string]string{"notes/scratch.ts": "export const x = 1;\n"},
		sessionConfig{})
	s.open("notes/scratch.ts")
	s.edit("notes/scratch.ts", "export const x = 1;\nconst y = require(\"z\");\nlet = ;\n")
	s.waitDiags("notes/scratch.ts", func(ds []protocol.Diagnostic) bool {
		return hasDiag(ds, 2, sourceBuild, "")
	})
	s.edit("notes/scratch.ts", "export const x = 1;\nconst y = require(\"z\");\n")
	s.waitDiags("notes/scratch.ts", func(ds []protocol.Diagnostic) bool {
		return len(ds) == 1 && hasDiag(ds, 1, sourceRules, "require")
	})
}
