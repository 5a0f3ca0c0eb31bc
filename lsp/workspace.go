package lsp

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"go.lsp.dev/uri"

	"github.com/membrane-dev/membrane-dev/bundle"
)

// workspace holds the open documents and the analyses of program files. A
// file's analysis is redone when its text changes, on demand.
type workspace struct {
	mu    sync.Mutex
	docs  map[string]*document // absolute path -> open document
	infos map[string]*analysis // absolute path -> latest analysis
	dirs  map[string]string    // directory -> its program directory
}

type document struct {
	uri     uri.URI
	version int32
	text    *text
}

// analysis is the outcome of analysing one text of a file; info is the last
// one that worked, kept while the file does not parse.
type analysis struct {
	src  string
	info *fileInfo
	err  error
}

func newWorkspace() *workspace {
	return &workspace{
		docs:  map[string]*document{},
		infos: map[string]*analysis{},
		dirs:  map[string]string{},
	}
}

func pathOf(u uri.URI) string { return filepath.Clean(u.FsPath()) }

func (ws *workspace) open(u uri.URI, version int32, src string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.docs[pathOf(u)] = &document{uri: u, version: version, text: newText(src)}
}

func (ws *workspace) close(u uri.URI) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	delete(ws.docs, pathOf(u))
}

func (ws *workspace) doc(path string) *document {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.docs[path]
}

// source returns a file's text: the editor's buffer when it is open,
// otherwise the file on disk.
func (ws *workspace) source(path string) (*text, error) {
	if d := ws.doc(path); d != nil {
		return d.text, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return newText(string(b)), nil
}

// overlay returns the open documents under dir, for bundling unsaved text.
func (ws *workspace) overlay(dir string) map[string]string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	out := map[string]string{}
	for p, d := range ws.docs {
		if strings.HasPrefix(p, dir+string(filepath.Separator)) {
			out[p] = d.text.src
		}
	}
	return out
}

// openIn returns the paths of the open documents under dir.
func (ws *workspace) openIn(dir string) []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var out []string
	for p := range ws.docs {
		if strings.HasPrefix(p, dir+string(filepath.Separator)) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// programDir returns the program directory a file belongs to: the nearest
// directory above it holding an entry file, outside node_modules. Only
// directories found are remembered, so an entry file created later counts.
func (ws *workspace) programDir(path string) string {
	dir := filepath.Dir(path)
	ws.mu.Lock()
	cached, ok := ws.dirs[dir]
	ws.mu.Unlock()
	if ok {
		return cached
	}
	for d := dir; ; d = filepath.Dir(d) {
		if filepath.Base(d) == "node_modules" {
			return ""
		}
		if _, err := bundle.FindEntry(d); err == nil {
			ws.mu.Lock()
			ws.dirs[dir] = d
			ws.mu.Unlock()
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// info returns the analysis of a file's current text, analysing it if the
// text changed. When the text does not parse it returns the last analysis
// that worked (or nil) with the error.
func (ws *workspace) info(path string) (*fileInfo, error) {
	t, err := ws.source(path)
	if err != nil {
		return nil, err
	}
	ws.mu.Lock()
	a := ws.infos[path]
	ws.mu.Unlock()
	if a != nil && a.src == t.src {
		return a.info, a.err
	}
	fi, err := analyze(path, t.src)
	next := &analysis{src: t.src, info: fi, err: err}
	if err != nil && a != nil {
		next.info = a.info
	}
	ws.mu.Lock()
	ws.infos[path] = next
	ws.mu.Unlock()
	return next.info, err
}

// latest returns the last analysis of a file without redoing it, for
// requests that must answer at once (hover, completion); it analyses only
// a file never seen.
func (ws *workspace) latest(path string) *fileInfo {
	ws.mu.Lock()
	a := ws.infos[path]
	ws.mu.Unlock()
	if a != nil && a.info != nil {
		return a.info
	}
	fi, _ := ws.info(path)
	return fi
}

var sourceExts = map[string]bool{".ts": true, ".tsx": true, ".mts": true, ".js": true,
	".jsx": true, ".mjs": true}

// programFiles lists the source files of the program in dir.
func programFiles(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := e.Name()
		if e.IsDir() {
			if p != dir && (name == "node_modules" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if sourceExts[filepath.Ext(name)] && !strings.HasSuffix(name, ".d.ts") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// resolveImport returns the file a relative import names, or "".
func resolveImport(from, spec string) string {
	if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
		return ""
	}
	base := filepath.Join(filepath.Dir(from), spec)
	trimmed := strings.TrimSuffix(base, filepath.Ext(base))
	candidates := []string{base}
	for _, ext := range []string{".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs"} {
		candidates = append(candidates, base+ext, trimmed+ext)
	}
	for _, ext := range []string{".ts", ".js"} {
		candidates = append(candidates, filepath.Join(base, "index"+ext))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c
		}
	}
	return ""
}

// entryPath returns the absolute path of the program's entry file, or "".
func entryPath(dir string) string {
	if dir == "" {
		return ""
	}
	entry, err := bundle.FindEntry(dir)
	if err != nil {
		return ""
	}
	return filepath.Join(dir, entry)
}
