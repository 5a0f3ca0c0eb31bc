package runtime

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dop251/goja"
	"github.com/go-sourcemap/sourcemap"
	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/wal"
)

// wrapperHead turns a CommonJS bundle into a function the runtime calls with
// its own module, exports and require. It is kept on the bundle's first line
// so that line numbers stay those of the bundle.
const wrapperHead = "(function (module, exports, require) {"

// version is a code version compiled and ready to evaluate.
type version struct {
	hash     string
	name     string // the script name goja reports in stacks
	program  *goja.Program
	smap     *sourcemap.Consumer
	toBundle func(line, col int) (int, int) // nil: the script is the bundle
}

// compiled caches compiled versions across Machines: a goja Program may be
// run by any runtime, and rebuilds and replays evaluate the same code often.
var compiled sync.Map // hash -> *version

func scriptName(hash string) string { return "code/" + hash[:min(12, len(hash))] + ".js" }

// load finds the code a deploy names. It asks the CodeSource each time a
// Machine first meets a hash (a replay may put other code in its place) and
// compiles each content once per process.
func (m *Machine) load(hash string, cv *wal.CodeVersion) (*version, error) {
	if v, ok := m.versions[hash]; ok {
		return v, nil
	}
	if cv == nil {
		if m.cfg.Code == nil {
			return nil, fmt.Errorf("code version %s is unknown", hash)
		}
		var err error
		if cv, err = m.cfg.Code(hash); err != nil {
			return nil, fmt.Errorf("loading code version %s: %w", short(hash), err)
		}
	}
	key := cv.Hash + "|" + m.cfg.TransformKey
	if v, ok := compiled.Load(key); ok {
		m.versions[hash] = v.(*version)
		return v.(*version), nil
	}
	v, err := compile(cv, m.cfg.Transform)
	if err != nil {
		return nil, err
	}
	compiled.Store(key, v)
	m.versions[hash] = v
	return v, nil
}

type transformFunc = func(string) (string, func(line, col int) (int, int), error)

func compile(cv *wal.CodeVersion, transform transformFunc) (*version, error) {
	name := scriptName(cv.Hash)
	src := cv.Bundle
	var toBundle func(line, col int) (int, int)
	if transform != nil {
		var err error
		if src, toBundle, err = transform(src); err != nil {
			return nil, fmt.Errorf("code version %s: %w", short(cv.Hash), err)
		}
	}
	prog, err := goja.Compile(name, wrapperHead+src+"\n})", false)
	if err != nil {
		return nil, fmt.Errorf("code version %s does not compile: %w", short(cv.Hash), err)
	}
	v := &version{hash: cv.Hash, name: name, program: prog, toBundle: toBundle}
	if cv.SourceMap != "" {
		if v.smap, err = sourcemap.Parse(name+".map", []byte(cv.SourceMap)); err != nil {
			return nil, fmt.Errorf("code version %s has a bad source map: %w", short(cv.Hash), err)
		}
	}
	return v, nil
}

func short(hash string) string { return hash[:min(12, len(hash))] }

// BundlePosition maps a position goja reports in a compiled script (1-based
// line and column) to the bundle of its code version, and names the version.
func (m *Machine) BundlePosition(script string, line, col int) (hash string, bline, bcol int, ok bool) {
	for h, v := range m.versions {
		if v.name != script {
			continue
		}
		if line == 1 {
			col -= len(wrapperHead)
		}
		if v.toBundle != nil {
			line, col = v.toBundle(line, col)
		}
		return h, line, col, true
	}
	return "", 0, 0, false
}

// original maps a position in a compiled script (1-based line and column, as
// goja reports them) to the program's own file.
func (m *Machine) original(script string, line, col int) (Frame, bool) {
	for _, v := range m.versions {
		if v.name != script || v.smap == nil {
			continue
		}
		if line == 1 {
			col -= len(wrapperHead)
		}
		if v.toBundle != nil {
			line, col = v.toBundle(line, col)
		}
		src, _, l, c, ok := v.smap.Source(line, max(col-1, 0))
		if !ok {
			return Frame{}, false
		}
		return Frame{File: strings.TrimPrefix(src, "../"), Line: l, Column: c + 1}, true
	}
	return Frame{}, false
}

// stack is where the program is now, in original positions, innermost first.
// Frames of the runtime's own prelude are left out.
func (m *Machine) stack() []Frame {
	var frames []Frame
	for _, f := range m.vm.CaptureCallStack(16, nil) {
		pos := f.Position()
		if !strings.HasPrefix(pos.Filename, "code/") {
			continue
		}
		if fr, ok := m.original(pos.Filename, pos.Line, pos.Column); ok {
			fr.Func = f.FuncName()
			frames = append(frames, fr)
		}
	}
	return frames
}

// goja writes frames as "at name (file:line:col(pc))" or "at file:line:col(pc)".
var stackLine = regexp.MustCompile(`^(\s*at )(?:(.*?) \()?([^\s()]+):(\d+):(\d+)(?:\(\d+\))?\)?$`)

// mapStack rewrites a JS stack trace into original positions, dropping the
// runtime's own frames, so errors point at the user's TypeScript.
func (m *Machine) mapStack(stack string) string {
	lines := strings.Split(stack, "\n")
	out := lines[:0]
	for _, l := range lines {
		mt := stackLine.FindStringSubmatch(l)
		if mt == nil {
			if !strings.HasPrefix(strings.TrimSpace(l), "at ") { // a runtime frame otherwise
				out = append(out, l)
			}
			continue
		}
		file := mt[3]
		if !strings.HasPrefix(file, "code/") {
			continue
		}
		line, _ := strconv.Atoi(mt[4])
		col, _ := strconv.Atoi(mt[5])
		fr, ok := m.original(file, line, col)
		if !ok {
			continue
		}
		if mt[2] != "" {
			out = append(out, fmt.Sprintf("    at %s (%s:%d:%d)", mt[2], fr.File, fr.Line, fr.Column))
		} else {
			out = append(out, fmt.Sprintf("    at %s:%d:%d", fr.File, fr.Line, fr.Column))
		}
	}
	return strings.Join(out, "\n")
}

// exceptionData describes a JS exception that escaped to Go, such as one
// thrown by a module's top level.
func (m *Machine) exceptionData(ex *goja.Exception) ResultData {
	d := ResultData{Message: ex.Error()}
	if obj, ok := ex.Value().(*goja.Object); ok {
		if msg := obj.Get("message"); msg != nil && !goja.IsUndefined(msg) {
			d.Message = msg.String()
		}
		if name := obj.Get("name"); name != nil && !goja.IsUndefined(name) {
			d.Name = name.String()
		}
		if st := obj.Get("stack"); st != nil && !goja.IsUndefined(st) {
			d.Stack = m.mapStack(st.String())
		}
	}
	return d
}

var errNoCode = errors.New("no code has been deployed")

// CodeVersionOf is the log's form of a built program.
func CodeVersionOf(p *bundle.Program) *wal.CodeVersion {
	cv := wal.NewCodeVersion(p.Entry, p.Bundle, p.SourceMap, p.Sources)
	return &cv
}

// ParseStack reads the frames of a stack as mapStack writes it.
func ParseStack(stack string) []Frame {
	var frames []Frame
	for _, l := range strings.Split(stack, "\n") {
		mt := stackLine.FindStringSubmatch(l)
		if mt == nil {
			continue
		}
		line, _ := strconv.Atoi(mt[4])
		col, _ := strconv.Atoi(mt[5])
		frames = append(frames, Frame{Func: mt[2], File: mt[3], Line: line, Column: col})
	}
	return frames
}

// ActionLocation finds where the action name is defined in the original
// sources of the code now serving: an exported function, a const holding a
// function, or a method of Root.
func (m *Machine) ActionLocation(name string) (Frame, bool) {
	if _, ok := m.versions[m.code]; !ok || m.cfg.Code == nil {
		return Frame{}, false
	}
	cv, err := m.cfg.Code(m.code)
	if err != nil {
		return Frame{}, false
	}
	q := regexp.QuoteMeta(name)
	pat := regexp.MustCompile(`(?m)(?:function\*?\s+(` + q + `)\s*[(<]|(?:const|let|var)\s+(` + q +
		`)\s*[=:]|^\s*(?:async\s+)?(` + q + `)\s*\()`)
	files := []string{cv.Entry}
	for f := range cv.Sources {
		if f != cv.Entry && !strings.Contains(f, "node_modules/") {
			files = append(files, f)
		}
	}
	sort.Strings(files[1:])
	for _, f := range files {
		src := cv.Sources[f]
		loc := pat.FindStringSubmatchIndex(src)
		if loc == nil {
			continue
		}
		at := loc[0]
		for i := 2; i < len(loc); i += 2 {
			if loc[i] >= 0 {
				at = loc[i]
				break
			}
		}
		line := strings.Count(src[:at], "\n") + 1
		col := at - strings.LastIndex(src[:at], "\n")
		return Frame{Func: name, File: f, Line: line, Column: col}, true
	}
	return Frame{}, false
}
