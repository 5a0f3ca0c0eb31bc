package lsp

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

//go:embed membrane.d.ts
var typings string

// TypingsFile is the name of the typings file in a program folder.
const TypingsFile = "membrane.d.ts"

// Typings returns the text of membrane.d.ts: the types and documentation of
// the "membrane" module and of the runtime's globals.
func Typings() string { return typings }

// WriteTypings writes membrane.d.ts into the program folder dir, so an
// editor's TypeScript server knows the runtime API. It leaves the file alone
// when it already holds this text.
func WriteTypings(dir string) error {
	path := filepath.Join(dir, TypingsFile)
	if old, err := os.ReadFile(path); err == nil && string(old) == typings {
		return nil
	}
	if err := os.WriteFile(path, []byte(typings), 0o644); err != nil {
		return fmt.Errorf("write typings: %w", err)
	}
	return nil
}

// apiEntry is one documented declaration of membrane.d.ts.
type apiEntry struct {
	name      string
	container string // "membrane", "console", "ActionHandle", ... or "" for a global
	signature string // the declaration as written, one line
	doc       string
	params    []apiParam
	function  bool
	exported  bool
	line      int // 0-based line in membrane.d.ts
}

type apiParam struct{ name, label, doc string }

// apiIndex is membrane.d.ts read into entries, by container and name.
type apiIndex struct {
	entries   []*apiEntry
	byKey     map[string]*apiEntry // container + "." + name
	container map[string][]*apiEntry
}

var (
	apiOnce sync.Once
	apiIdx  *apiIndex

	reDecl = regexp.MustCompile(`^(?:export\s+)?(?:declare\s+)?` +
		`(?:function|const|let|var|class|interface|type|module|namespace)\s+("[^"]+"|[\w$]+)`)
	reMember = regexp.MustCompile(`^(?:readonly\s+|static\s+)*([\w$]+)\??\s*(?:<[^>]*>)?\s*[(:]`)
	reParam  = regexp.MustCompile(`^@param\s+([\w$]+)\s*(.*)$`)
)

// runtimeAPI returns the parsed typings, read once.
func runtimeAPI() *apiIndex {
	apiOnce.Do(func() { apiIdx = parseTypings(typings) })
	return apiIdx
}

// parseTypings reads the declarations of a .d.ts written in the plain style
// of membrane.d.ts: one declaration a line, a doc comment before it, a
// container opened by a line that ends with "{".
func parseTypings(src string) *apiIndex {
	idx := &apiIndex{byKey: map[string]*apiEntry{}, container: map[string][]*apiEntry{}}
	type open struct {
		name  string
		depth int
	}
	var (
		stack   []open
		depth   int
		doc     []string
		inDoc   bool
		lastDoc []string
	)
	for n, line := range strings.Split(src, "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "/**"):
			inDoc, doc = true, nil
			trim = strings.TrimPrefix(trim, "/**")
			if strings.HasSuffix(trim, "*/") {
				doc = append(doc, strings.TrimSpace(strings.TrimSuffix(trim, "*/")))
				inDoc, lastDoc = false, doc
			}
			continue
		case inDoc:
			if strings.HasSuffix(trim, "*/") {
				inDoc, lastDoc = false, doc
				continue
			}
			doc = append(doc, strings.TrimSpace(strings.TrimPrefix(trim, "*")))
			continue
		case trim == "" || strings.HasPrefix(trim, "//"):
			continue
		}

		container := ""
		if len(stack) > 0 {
			container = stack[len(stack)-1].name
		}
		name := ""
		if m := reDecl.FindStringSubmatch(trim); m != nil {
			name = strings.Trim(m[1], `"`)
		} else if m := reMember.FindStringSubmatch(trim); m != nil && m[1] != "constructor" {
			name = m[1]
		}
		if name != "" {
			e := &apiEntry{name: name, container: container, line: n,
				exported:  strings.HasPrefix(trim, "export ") || container == "",
				signature: signatureOf(trim)}
			e.function = strings.Contains(e.signature, name+"(") ||
				strings.Contains(e.signature, name+"<")
			e.doc, e.params = docOf(lastDoc, e.signature)
			idx.add(e)
		}
		lastDoc = nil

		opens, closes := strings.Count(trim, "{"), strings.Count(trim, "}")
		if opens > closes && name != "" {
			stack = append(stack, open{name, depth})
		}
		depth += opens - closes
		for len(stack) > 0 && depth <= stack[len(stack)-1].depth {
			stack = stack[:len(stack)-1]
		}
	}
	return idx
}

func (idx *apiIndex) add(e *apiEntry) {
	idx.entries = append(idx.entries, e)
	idx.byKey[e.container+"."+e.name] = e
	idx.container[e.container] = append(idx.container[e.container], e)
}

// lookup returns the entry name in container, or nil.
func (idx *apiIndex) lookup(container, name string) *apiEntry {
	return idx.byKey[container+"."+name]
}

func signatureOf(decl string) string {
	s := strings.TrimPrefix(decl, "export ")
	s = strings.TrimPrefix(s, "declare ")
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "{"), ";"))
	return s
}

// docOf splits a doc comment into its text and its @param lines, and
// labels each parameter with its text in the signature.
func docOf(lines []string, signature string) (string, []apiParam) {
	var text []string
	var params []apiParam
	for _, l := range lines {
		if m := reParam.FindStringSubmatch(l); m != nil {
			params = append(params, apiParam{name: m[1], doc: m[2]})
			continue
		}
		text = append(text, l)
	}
	labels := paramLabels(signature)
	for i := range params {
		for _, l := range labels {
			// A label reads "name: type", "name?: type" or "...name: type".
			bare := strings.TrimLeft(l, ".")
			name, _, _ := strings.Cut(bare, ":")
			if strings.TrimSuffix(strings.TrimSpace(name), "?") == params[i].name {
				params[i].label = l
			}
		}
		if params[i].label == "" {
			params[i].label = params[i].name
		}
	}
	return strings.TrimSpace(strings.Join(text, "\n")), params
}

// paramLabels returns each parameter's text in a signature such as
// "function f(a: number, b?: { x: string }): void".
func paramLabels(sig string) []string {
	open := strings.IndexByte(sig, '(')
	if open < 0 {
		return nil
	}
	var out []string
	depth, start := 0, open+1
	for i := open; i < len(sig); i++ {
		switch sig[i] {
		case '(', '{', '[', '<':
			depth++
		case ')', '}', ']', '>':
			if sig[i] == '>' && i > 0 && sig[i-1] == '=' {
				continue // an arrow
			}
			depth--
			if depth == 0 {
				if p := strings.TrimSpace(sig[start:i]); p != "" {
					out = append(out, p)
				}
				return out
			}
		case ',':
			if depth == 1 {
				out = append(out, strings.TrimSpace(sig[start:i]))
				start = i + 1
			}
		}
	}
	return out
}

// markdown is how hover and completion show an entry.
func (e *apiEntry) markdown() string {
	var b strings.Builder
	b.WriteString("```ts\n")
	if e.container != "" && e.container != "membrane" {
		b.WriteString("(" + e.container + ") ")
	}
	b.WriteString(e.signature)
	b.WriteString("\n```")
	if e.doc != "" {
		b.WriteString("\n\n" + e.doc)
	}
	for _, p := range e.params {
		fmt.Fprintf(&b, "\n\n*@param* `%s` — %s", p.name, p.doc)
	}
	return b.String()
}
