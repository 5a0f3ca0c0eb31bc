package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// ModuleName is the import path of the runtime API.
const ModuleName = "membrane"

// Options changes how a program is built.
type Options struct {
	// Overlay maps absolute file paths to contents used instead of the files
	// on disk, for an editor's unsaved buffers.
	Overlay map[string]string
}

// Program is a built program: one script and what is needed to show any
// position in it in the original files.
type Program struct {
	Dir       string            // the program directory, absolute
	Entry     string            // relative to Dir: "index.ts" or "index.js"
	Bundle    string            // the script the runtime runs (CommonJS body)
	SourceMap string            // JSON source map of Bundle
	Sources   map[string]string // relative path -> original text of every bundled file
}

// Message is one problem found while building, in original coordinates.
type Message struct {
	File   string `json:"file"`   // relative to the program directory
	Line   int    `json:"line"`   // 1-based
	Column int    `json:"column"` // 1-based, in bytes
	Length int    `json:"length"` // bytes, may be 0
	Text   string `json:"text"`
	Kind   string `json:"kind"` // KindSyntax, KindResolve or KindRefused
}

// Kinds of build messages.
const (
	KindSyntax  = "syntax"  // the file does not parse
	KindResolve = "resolve" // an import that cannot be found
	KindRefused = "refused" // something a program may not use
)

func (m Message) String() string {
	if m.File == "" {
		return m.Text
	}
	return fmt.Sprintf("%s:%d:%d: %s", m.File, m.Line, m.Column, m.Text)
}

// BuildError is a build that failed because of the program's code. Its
// message is the first problem, with file, line and column.
type BuildError struct{ Messages []Message }

func (e *BuildError) Error() string {
	if len(e.Messages) == 0 {
		return "the program does not build"
	}
	s := e.Messages[0].String()
	if n := len(e.Messages) - 1; n > 0 {
		s += fmt.Sprintf(" (and %d more problem%s)", n, plural(n))
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ErrNoEntry means the directory holds neither index.ts nor index.js.
var ErrNoEntry = errors.New("no index.ts or index.js")

// FindEntry returns the entry file of the program in dir, relative to dir.
func FindEntry(dir string) (string, error) {
	for _, name := range []string{"index.ts", "index.js", "index.tsx", "index.mjs"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && !st.IsDir() {
			return name, nil
		}
	}
	return "", fmt.Errorf("%s holds %w", dir, ErrNoEntry)
}

// Build bundles the program in dir.
func Build(dir string, opts Options) (*Program, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	entry, err := FindEntry(abs)
	if err != nil {
		return nil, err
	}
	res := api.Build(api.BuildOptions{
		AbsWorkingDir:     abs,
		EntryPoints:       []string{entry},
		Bundle:            true,
		Write:             false,
		Format:            api.FormatCommonJS,
		Platform:          api.PlatformNeutral,
		MainFields:        []string{"module", "main"},
		Conditions:        []string{"import", "default"},
		ResolveExtensions: []string{".ts", ".tsx", ".mts", ".js", ".mjs", ".cjs", ".jsx", ".json"},
		Target:            api.ES2020,
		Sourcemap:         api.SourceMapExternal,
		SourcesContent:    api.SourcesContentInclude,
		Outfile:           filepath.Join(abs, ".membrane", "bundle.js"),
		KeepNames:         true,
		Charset:           api.CharsetUTF8,
		LogLevel:          api.LogLevelSilent,
		Plugins:           []api.Plugin{guardPlugin(abs), overlayPlugin(opts.Overlay)},
	})
	if len(res.Errors) > 0 {
		return nil, &BuildError{Messages: messages(abs, res.Errors)}
	}
	p := &Program{Dir: abs, Entry: entry, Sources: map[string]string{}}
	for _, f := range res.OutputFiles {
		switch {
		case strings.HasSuffix(f.Path, ".js.map"):
			p.SourceMap = string(f.Contents)
		case strings.HasSuffix(f.Path, ".js"):
			p.Bundle = string(f.Contents)
		}
	}
	if err := p.readSources(); err != nil {
		return nil, err
	}
	return p, nil
}

// readSources fills Sources from the source map, whose paths are relative to
// .membrane/ where the bundle would be written.
func (p *Program) readSources() error {
	var sm struct {
		Sources        []string `json:"sources"`
		SourcesContent []string `json:"sourcesContent"`
	}
	if err := json.Unmarshal([]byte(p.SourceMap), &sm); err != nil {
		return fmt.Errorf("reading the source map esbuild made: %w", err)
	}
	for i, src := range sm.Sources {
		rel := filepath.ToSlash(filepath.Clean(filepath.Join(".membrane", src)))
		if i < len(sm.SourcesContent) {
			p.Sources[rel] = sm.SourcesContent[i]
		}
	}
	return nil
}

// messages turns esbuild's messages into ours, with paths relative to dir
// and 1-based columns, and plain words for what a program may not do.
func messages(dir string, in []api.Message) []Message {
	out := make([]Message, 0, len(in))
	for _, m := range in {
		msg := Message{Text: m.Text, Kind: KindSyntax}
		if m.PluginName == guardName {
			msg.Kind = KindRefused
		} else if strings.HasPrefix(m.Text, "Could not resolve") {
			msg.Kind = KindResolve
		}
		if strings.Contains(m.Text, "Top-level await") {
			msg.Kind = KindRefused
			msg.Text = "top-level await cannot be used in a program: " +
				"move it into an action, which may be async"
		}
		if l := m.Location; l != nil {
			msg.File = relPath(dir, l.File)
			msg.Line = l.Line
			msg.Column = l.Column + 1
			msg.Length = l.Length
		}
		out = append(out, msg)
	}
	return out
}

func relPath(dir, file string) string {
	if filepath.IsAbs(file) {
		if r, err := filepath.Rel(dir, file); err == nil {
			return filepath.ToSlash(r)
		}
	}
	return filepath.ToSlash(file)
}
