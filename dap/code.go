package dap

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/go-sourcemap/sourcemap"
	"github.com/membrane-dev/membrane-dev/instrument"
	"github.com/membrane-dev/membrane-dev/wal"
)

// code is one code version as the debugger sees it: instrumented, with the
// original position of every probe site.
type code struct {
	cv    *wal.CodeVersion
	res   *instrument.Result
	smap  *sourcemap.Consumer
	sites []place // original position of each site; File "" when unmapped
	// hidden marks sites of code the bundler made: unmapped, or mapped to
	// the same place as other sites (esbuild maps its export glue to the
	// start of the entry file). Steps never stop there and breakpoints do
	// not bind there.
	hidden []bool
}

// place is a position in an original source file: File is relative to the
// program's directory, Line 1-based and Col 1-based.
type place struct {
	File      string
	Line, Col int
}

// instrumented caches instrumentation per bundle text across sessions: the
// runtime caches compiled programs by content too, so the same bundle must
// always come back with the same Result.
var instrumented sync.Map // bundle text -> *instrumentResult

type instrumentResult struct {
	once sync.Once
	res  *instrument.Result
	err  error
}

func instrumentBundle(bundle string) (*instrument.Result, error) {
	v, _ := instrumented.LoadOrStore(bundle, &instrumentResult{})
	ir := v.(*instrumentResult)
	ir.once.Do(func() {
		ir.res, ir.err = instrument.Instrument(bundle, instrument.Options{NoEntrySites: true})
	})
	return ir.res, ir.err
}

// transform is the runtime's Transform hook: it hands back the
// instrumented code of a bundle.
func transform(bundle string) (string, func(line, col int) (int, int), error) {
	res, err := instrumentBundle(bundle)
	if err != nil {
		return "", nil, err
	}
	return res.Code, res.ToBundle, nil
}

// transformKey names the debugger's rewriting in the runtime's cache.
const transformKey = "dap-instrument-v1"

func newCode(cv *wal.CodeVersion) (*code, error) {
	res, err := instrumentBundle(cv.Bundle)
	if err != nil {
		return nil, fmt.Errorf("instrumenting code version %s: %w", short(cv.Hash), err)
	}
	c := &code{cv: cv, res: res, sites: make([]place, len(res.Sites))}
	if cv.SourceMap != "" {
		if c.smap, err = sourcemap.Parse("bundle.js.map", []byte(cv.SourceMap)); err != nil {
			return nil, fmt.Errorf("code version %s has a bad source map: %w", short(cv.Hash), err)
		}
	}
	seen := map[place]int{}
	for i, s := range res.Sites {
		c.sites[i] = c.original(s.Line, s.Col)
		seen[c.sites[i]]++
	}
	c.hidden = make([]bool, len(c.sites))
	for i, p := range c.sites {
		c.hidden[i] = p.File == "" || seen[p] > 1
	}
	return c, nil
}

// original maps a bundle position (1-based line, 0-based column) to the
// program's own file.
func (c *code) original(line, col int) place {
	if c.smap == nil {
		return place{}
	}
	src, _, l, cl, ok := c.smap.Source(line, col)
	if !ok {
		return place{}
	}
	return place{File: sourceKey(src), Line: l, Col: cl + 1}
}

// sourceKey turns a source map path, relative to .membrane/, into the
// path relative to the program's directory that CodeVersion.Sources uses.
func sourceKey(src string) string {
	return filepath.ToSlash(filepath.Clean(filepath.Join(".membrane", src)))
}

// placeBreakpoint finds the sites a line breakpoint binds to: the first
// statement that starts on line, else on the nearest line after it that
// has any, else before it. It returns the line it starts on.
func (c *code) placeBreakpoint(file string, line int) ([]int, int, error) {
	if _, ok := c.cv.Sources[file]; !ok {
		return nil, 0, fmt.Errorf("%s is not part of the code that ran", file)
	}
	lines := map[int][]int{}
	for id, p := range c.sites {
		if p.File == file && !c.hidden[id] {
			lines[p.Line] = append(lines[p.Line], id)
		}
	}
	if len(lines) == 0 {
		return nil, 0, fmt.Errorf("%s has no statements in the code that ran", file)
	}
	keys := make([]int, 0, len(lines))
	for l := range lines {
		keys = append(keys, l)
	}
	sort.Ints(keys)
	i := sort.SearchInts(keys, line)
	if i == len(keys) {
		i--
	}
	return c.firstOnLine(lines[keys[i]]), keys[i], nil
}

// firstOnLine keeps, for each function with sites on one line, the site
// that starts leftmost: a line with several statements (if (x) return y;)
// stops once, and a one-line function still stops in its body.
func (c *code) firstOnLine(ids []int) []int {
	first := map[int]int{} // function -> site
	for _, id := range ids {
		f := c.res.Sites[id].Func
		if cur, ok := first[f]; !ok || c.sites[id].Col < c.sites[cur].Col {
			first[f] = id
		}
	}
	out := make([]int, 0, len(first))
	for _, id := range first {
		out = append(out, id)
	}
	sort.Ints(out)
	return out
}

// funcEntry is the first statement site of each function named name.
// Bundlers add small functions of the same name (export getters); those
// whose original line does not declare the name are left out when any
// other one does.
func (c *code) funcEntry(name string) []int {
	first := map[int]int{}
	for _, s := range c.res.Sites {
		if s.Func < 0 || c.res.Funcs[s.Func].Name != name {
			continue
		}
		if _, ok := first[s.Func]; !ok {
			first[s.Func] = s.ID
		}
	}
	var all, declared []int
	for f, id := range first {
		all = append(all, id)
		fi := c.res.Funcs[f]
		p := c.original(fi.Line, fi.Col)
		if declares(c.cv.Sources[p.File], p.Line, name) {
			declared = append(declared, id)
		}
	}
	if len(declared) > 0 {
		all = declared
	}
	sort.Ints(all)
	return all
}

// declares says whether line of text names name as something declared or
// called: followed by a parenthesis, a colon or an equals sign.
func declares(text string, line int, name string) bool {
	lines := strings.Split(text, "\n")
	if line < 1 || line > len(lines) {
		return false
	}
	l := lines[line-1]
	for i := strings.Index(l, name); i >= 0; {
		rest := strings.TrimLeft(l[i+len(name):], " \t")
		if rest != "" && strings.ContainsRune("(:=<", rune(rest[0])) {
			return true
		}
		j := strings.Index(l[i+1:], name)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// changedOnDisk says whether the file at rel under dir differs from the
// text that ran.
func (c *code) changedOnDisk(dir, rel string) bool {
	text, ok := c.cv.Sources[rel]
	if !ok {
		return false
	}
	disk, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	return err != nil || string(disk) != text
}

func short(hash string) string { return hash[:min(12, len(hash))] }

// isDependency says whether a source path is a package rather than the
// program's own code.
func isDependency(rel string) bool { return strings.Contains(rel, "node_modules/") }

// awaits says whether the statement of a site reads as one that awaits: its
// original line holds the word await.
func awaits(c *code, site int) bool {
	p := c.sites[site]
	lines := strings.Split(c.cv.Sources[p.File], "\n")
	if p.Line < 1 || p.Line > len(lines) {
		return false
	}
	return strings.Contains(lines[p.Line-1], "await")
}
