package lsp

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
	"github.com/evanw/esbuild/pkg/api"
)

// A fileInfo is what navigation and the runtime rules need to know about one
// file, in the file's own (original) byte offsets.
//
// goja's parser reads JavaScript scripts only, so a file is first turned
// into plain JavaScript by esbuild's Transform API, which also strips the
// types and gives a source map. The import and export statements esbuild
// prints are read here and blanked out, the rest is wrapped in an async
// function (so a top-level await parses and can be found), parsed with goja
// and walked. Every position found in the generated code is mapped back
// through the source map and then pinned on the name itself in the original
// text; anything that cannot be pinned (a helper esbuild added) is dropped.
type fileInfo struct {
	path string // absolute
	text *text  // the original text analysed

	decls   []*decl
	refs    []ref
	members []member
	calls   []call
	awaits  []span // top-level await expressions

	imports  map[string]importBinding // local name -> where it comes from
	exports  map[string]string        // exported name -> local name
	starFrom []string                 // specifiers of `export * from`
}

type declKind int

const (
	declVar declKind = iota
	declFunction
	declClass
	declParam
	declImport
)

// decl is a name a file declares.
type decl struct {
	name  string // as the original text spells it
	gname string // as the generated code does, unique where names shadow
	kind  declKind
	at    span     // the name, original offsets
	full  span     // the whole declaration, original offsets (top level only)
	scope [2]int   // generated offsets of the scope it is visible in
	top   bool     // declared at module level
	fn    bool     // a function, or a variable initialised with one
	props []member // keys of an object literal it is initialised with (for Root)
}

// ref is a use of a name; d is the declaration it resolves to, nil for a
// global or an unknown name.
type ref struct {
	name  string
	gname string
	at    span
	gen   int
	d     *decl
}

// member is `left.name`; left is the ref of the left side when it is a plain
// name, or -1.
type member struct {
	name string
	at   span
	left int
}

// call is a call expression with what the rules need of it: the callee as a
// plain name or as `left.name`, and its first argument when that is a string.
type call struct {
	callee    string // "require", or "$cron" for x.$cron(...)
	calleeAt  span
	arg       string
	argAt     span
	hasStrArg bool
}

// importBinding is where an imported local name comes from. name is the
// exported name, "default", or "*" for a namespace import.
type importBinding struct {
	spec, name string
}

// errTransform marks a file esbuild or goja could not read; its diagnostics
// come from the bundle.
var errTransform = errors.New("file does not transform")

// transformError is esbuild's first complaint about a file, where it is:
// line 1-based, column and length in bytes.
type transformError struct {
	line, column, length int
	text                 string
}

func (e *transformError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.line, e.column+1, e.text)
}

func (e *transformError) Unwrap() error { return errTransform }

// wrapper is put before the generated code: one line, so positions only
// shift by a line.
const wrapper = "async function __membrane_module__() {\n"

// analyze reads one file. src is its current text.
func analyze(path, src string) (*fileInfo, error) {
	loader := api.LoaderJS
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ts", ".mts", ".cts":
		loader = api.LoaderTS
	case ".tsx":
		loader = api.LoaderTSX
	case ".jsx":
		loader = api.LoaderJSX
	}
	res := api.Transform(src, api.TransformOptions{
		Loader:         loader,
		Format:         api.FormatESModule,
		Target:         api.ES2022,
		Sourcemap:      api.SourceMapExternal,
		SourcesContent: api.SourcesContentExclude,
		Sourcefile:     filepath.Base(path),
	})
	if len(res.Errors) > 0 {
		e := res.Errors[0]
		te := &transformError{text: e.Text}
		if e.Location != nil {
			te.line, te.column, te.length = e.Location.Line, e.Location.Column, e.Location.Length
		}
		return nil, te
	}
	sm, err := parseSourceMap(res.Map)
	if err != nil {
		return nil, err
	}

	fi := &fileInfo{
		path:    path,
		text:    newText(src),
		imports: map[string]importBinding{},
		exports: map[string]string{},
	}
	gen := string(res.Code)
	body, stmts := fi.cutModuleStatements(gen)
	script := wrapper + body + "\n}"
	prog, err := parser.ParseFile(nil, path, script, parser.IgnoreRegExpErrors,
		parser.WithDisableSourceMaps)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTransform, err)
	}

	w := &walker{fi: fi, gen: newText(script), sm: sm}
	w.declareImports(stmts)
	w.program(prog)
	w.resolve()
	return fi, nil
}

// moduleStmt is an import or export statement cut out of the generated code.
type moduleStmt struct {
	text string
	off  int // generated offset, before the wrapper
}

// cutModuleStatements blanks out the top-level import and export statements
// of esbuild's output, keeping every other byte where it was, and reads the
// exports. esbuild prints a top-level statement from column 0 and ends it
// with a semicolon at the end of a line.
func (fi *fileInfo) cutModuleStatements(gen string) (string, []moduleStmt) {
	out := []byte(gen)
	var imports []moduleStmt
	for off := 0; off < len(gen); {
		end := strings.IndexByte(gen[off:], '\n')
		if end < 0 {
			end = len(gen)
		} else {
			end += off
		}
		line := gen[off:end]
		if !strings.HasPrefix(line, "import ") && !strings.HasPrefix(line, "import{") &&
			!strings.HasPrefix(line, "export ") {
			off = end + 1
			continue
		}
		stmtEnd := end
		for !strings.HasSuffix(strings.TrimSpace(gen[off:stmtEnd]), ";") && stmtEnd < len(gen) {
			next := strings.IndexByte(gen[stmtEnd+1:], '\n')
			if next < 0 {
				stmtEnd = len(gen)
			} else {
				stmtEnd += 1 + next
			}
		}
		stmt := gen[off:stmtEnd]
		if strings.HasPrefix(stmt, "import") {
			imports = append(imports, moduleStmt{stmt, off})
		} else if !fi.readExport(stmt) {
			// An export esbuild printed with a declaration after it: keep the
			// declaration, blank the keyword.
			copy(out[off:], "      ")
			off = end + 1
			continue
		}
		for i := off; i < stmtEnd; i++ {
			if out[i] != '\n' {
				out[i] = ' '
			}
		}
		off = stmtEnd + 1
	}
	return string(out), imports
}

var (
	reExportList = regexp.MustCompile(`(?s)^export\s*\{(.*)\}\s*(?:from\s*["']([^"']*)["'])?\s*;$`)
	reExportStar = regexp.MustCompile(`^export\s*\*\s*(?:as\s+([\w$]+)\s+)?from\s*["']([^"']*)["']`)
	reImport     = regexp.MustCompile(`(?s)^import\s*(.*?)\s*from\s*["']([^"']*)["']`)
	reAs         = regexp.MustCompile(`^([\w$]+|"[^"]*")(?:\s+as\s+([\w$]+|"[^"]*"))?$`)
)

// readExport records an `export {...}` or `export * from` statement. It
// reports false for anything else.
func (fi *fileInfo) readExport(stmt string) bool {
	if m := reExportStar.FindStringSubmatch(stmt); m != nil {
		if m[1] == "" {
			fi.starFrom = append(fi.starFrom, m[2])
		}
		return true
	}
	m := reExportList.FindStringSubmatch(stmt)
	if m == nil {
		return false
	}
	for _, item := range strings.Split(m[1], ",") {
		n := reAs.FindStringSubmatch(strings.TrimSpace(item))
		if n == nil {
			continue
		}
		local, exported := strings.Trim(n[1], `"`), strings.Trim(n[2], `"`)
		if exported == "" {
			exported = local
		}
		if m[2] != "" {
			// A re-export: a local name no file declares, resolved through
			// the import it stands for.
			local = "\x00" + m[2] + "\x00" + local
		}
		fi.exports[exported] = local
	}
	return true
}

// walker walks goja's tree of the generated script, keeping the scopes.
type walker struct {
	fi     *fileInfo
	gen    *text
	sm     *sourceMap
	scopes []scope
}

type scope struct {
	start, end int
	function   bool
}

// orig maps a generated offset (in the wrapped script) and the name found
// there to the name's span in the original text.
func (w *walker) orig(genOff int, name string) (span, bool) {
	at, _, ok := w.origName(genOff, name)
	return at, ok
}

// origName is orig for a variable, which esbuild may have renamed: it also
// returns the name as the original text spells it.
func (w *walker) origName(genOff int, name string) (span, string, bool) {
	p := w.gen.position(genOff)
	if p.Line == 0 {
		return span{}, "", false
	}
	if n, ok := w.sm.originalName(int(p.Line)-1, int(p.Character)); ok {
		name = n
	}
	at, ok := w.pin(int(p.Line)-1, int(p.Character), name)
	return at, name, ok
}

// pin finds name in the original text near where a generated position
// maps to.
func (w *walker) pin(genLine, genCol int, name string) (span, bool) {
	line, col, ok := w.sm.lookup(genLine, genCol)
	if !ok || name == "" {
		return span{}, false
	}
	t := w.fi.text
	near := t.offsetUTF16(line, col)
	at := t.findWord(name, line, near)
	if at < 0 {
		return span{}, false
	}
	return span{at, at + len(name)}, true
}

// origLine maps a generated offset to the start of its original line.
func (w *walker) origLine(genOff int) (int, bool) {
	p := w.gen.position(genOff)
	if p.Line == 0 {
		return 0, false
	}
	line, _, ok := w.sm.lookup(int(p.Line)-1, int(p.Character))
	return line, ok
}

func (w *walker) declareImports(stmts []moduleStmt) {
	for _, s := range stmts {
		m := reImport.FindStringSubmatch(s.text)
		if m == nil {
			continue // a bare `import "x"` binds nothing
		}
		spec, clause := m[2], m[1]
		genOff := len(wrapper) + s.off
		var bindings [][2]string // local, imported
		if i := strings.IndexByte(clause, '{'); i >= 0 {
			j := strings.LastIndexByte(clause, '}')
			bindings = namedImports(clause[i+1 : max(j, i+1)])
			clause = clause[:i]
		}
		for _, part := range strings.Split(clause, ",") {
			part = strings.TrimSpace(part)
			switch {
			case part == "":
			case strings.HasPrefix(part, "*"):
				f := strings.Fields(part)
				bindings = append(bindings, [2]string{f[len(f)-1], "*"})
			default:
				bindings = append(bindings, [2]string{part, "default"})
			}
		}
		for _, b := range bindings {
			w.fi.imports[b[0]] = importBinding{spec: spec, name: b[1]}
			d := &decl{name: b[0], gname: b[0], kind: declImport, top: true,
				scope: [2]int{0, len(w.gen.src)}}
			if line, ok := w.origLine(genOff); ok {
				t := w.fi.text
				if at := t.findWordAfter(b[0], t.lines[line]); at >= 0 {
					d.at = span{at, at + len(b[0])}
				}
			}
			w.fi.decls = append(w.fi.decls, d)
		}
	}
}

func (w *walker) program(prog *ast.Program) {
	w.scopes = []scope{{0, len(w.gen.src), true}}
	for _, st := range prog.Body {
		fd, ok := st.(*ast.FunctionDeclaration)
		if !ok {
			continue
		}
		// The wrapper: its body is the module.
		body := fd.Function.Body
		w.scopes = append(w.scopes, scope{int(body.Idx0()) - 1, int(body.Idx1()) - 1, true})
		for _, s := range body.List {
			w.topStatement(s)
		}
	}
}

// topStatement walks a module-level statement, noting the whole
// declaration's extent for document symbols.
func (w *walker) topStatement(s ast.Statement) {
	first := len(w.fi.decls)
	w.node(s)
	for _, d := range w.fi.decls[first:] {
		if !d.top || d.kind == declParam {
			continue
		}
		start, ok1 := w.origLine(int(s.Idx0()) - 1)
		end, ok2 := w.origLine(int(s.Idx1()) - 2)
		t := w.fi.text
		if ok1 && ok2 && end >= start && d.at.end > 0 {
			d.full = span{min(t.lines[start], d.at.start), max(t.lineEnd(end), d.at.end)}
		} else {
			d.full = d.at
		}
	}
}

func (w *walker) innermost(function bool) scope {
	for i := len(w.scopes) - 1; i >= 0; i-- {
		if !function || w.scopes[i].function {
			return w.scopes[i]
		}
	}
	return w.scopes[0]
}

func (w *walker) atTop(s scope) bool { return len(w.scopes) > 1 && s == w.scopes[1] }

func (w *walker) push(n ast.Node, function bool) {
	w.scopes = append(w.scopes, scope{int(n.Idx0()) - 1, int(n.Idx1()) - 1, function})
}

func (w *walker) pop() { w.scopes = w.scopes[:len(w.scopes)-1] }

// declare records a declared name in scope s.
func (w *walker) declare(id *ast.Identifier, kind declKind, s scope) *decl {
	gname := id.Name.String()
	at, name, ok := w.origName(int(id.Idx)-1, gname)
	if !ok {
		return nil
	}
	d := &decl{name: name, gname: gname, kind: kind, at: at, scope: [2]int{s.start, s.end},
		top: w.atTop(s), fn: kind == declFunction}
	w.fi.decls = append(w.fi.decls, d)
	return d
}

// declareTarget declares every name a binding pattern binds.
func (w *walker) declareTarget(t ast.Node, kind declKind, s scope) *decl {
	switch t := t.(type) {
	case *ast.Identifier:
		return w.declare(t, kind, s)
	case *ast.ObjectPattern:
		for _, p := range t.Properties {
			switch p := p.(type) {
			case *ast.PropertyShort:
				w.declare(&p.Name, kind, s)
				w.node(p.Initializer)
			case *ast.PropertyKeyed:
				if p.Computed {
					w.node(p.Key)
				}
				w.declareTarget(p.Value, kind, s)
			default:
				w.node(p)
			}
		}
		w.declareTarget(t.Rest, kind, s)
	case *ast.ArrayPattern:
		for _, e := range t.Elements {
			w.declareTarget(e, kind, s)
		}
		w.declareTarget(t.Rest, kind, s)
	case *ast.AssignExpression:
		w.declareTarget(t.Left, kind, s)
		w.node(t.Right)
	case *ast.SpreadElement:
		w.declareTarget(t.Expression, kind, s)
	case nil:
	default:
		w.node(t)
	}
	return nil
}

func (w *walker) bindings(list []*ast.Binding, kind declKind, s scope) {
	for _, b := range list {
		d := w.declareTarget(b.Target, kind, s)
		if d != nil && d.top {
			switch init := b.Initializer.(type) {
			case *ast.ObjectLiteral:
				d.props = w.objectKeys(init)
			case *ast.FunctionLiteral, *ast.ArrowFunctionLiteral:
				d.fn = true
			}
		}
		w.node(b.Initializer)
	}
}

// objectKeys returns the plain keys of an object literal with their spans.
func (w *walker) objectKeys(obj *ast.ObjectLiteral) []member {
	var out []member
	for _, p := range obj.Value {
		pk, ok := p.(*ast.PropertyKeyed)
		if !ok || pk.Computed {
			continue
		}
		key, ok := pk.Key.(*ast.StringLiteral)
		if !ok {
			continue
		}
		name := key.Value.String()
		if at, ok := w.orig(int(key.Idx)-1, name); ok {
			out = append(out, member{name: name, at: at, left: -1})
		}
	}
	return out
}

func (w *walker) function(f *ast.FunctionLiteral) {
	w.push(f, true)
	s := w.innermost(true)
	if f.ParameterList != nil {
		w.bindings(f.ParameterList.List, declParam, s)
		w.declareTarget(f.ParameterList.Rest, declParam, s)
	}
	if f.Body != nil {
		for _, st := range f.Body.List {
			w.node(st)
		}
	}
	w.pop()
}

func (w *walker) reference(id *ast.Identifier) int {
	gname := id.Name.String()
	at, name, ok := w.origName(int(id.Idx)-1, gname)
	if !ok {
		return -1
	}
	w.fi.refs = append(w.fi.refs, ref{name: name, gname: gname, at: at, gen: int(id.Idx) - 1})
	return len(w.fi.refs) - 1
}

// node walks any node. The cases are the nodes that declare, open a scope,
// or name something that is not a variable; every other node is walked
// field by field.
func (w *walker) node(n ast.Node) {
	switch n := n.(type) {
	case nil:
	case *ast.Identifier:
		if n != nil {
			w.reference(n)
		}
	case *ast.FunctionDeclaration:
		if n.Function.Name != nil {
			w.declare(n.Function.Name, declFunction, w.innermost(false))
		}
		w.function(n.Function)
	case *ast.FunctionLiteral:
		if n != nil {
			w.function(n)
		}
	case *ast.ArrowFunctionLiteral:
		w.push(n, true)
		s := w.innermost(true)
		if n.ParameterList != nil {
			w.bindings(n.ParameterList.List, declParam, s)
			w.declareTarget(n.ParameterList.Rest, declParam, s)
		}
		w.node(n.Body)
		w.pop()
	case *ast.ClassDeclaration:
		if n.Class.Name != nil {
			w.declare(n.Class.Name, declClass, w.innermost(false))
		}
		w.class(n.Class)
	case *ast.ClassLiteral:
		if n != nil {
			w.class(n)
		}
	case *ast.VariableStatement:
		w.bindings(n.List, declVar, w.innermost(true))
	case *ast.VariableDeclaration:
		w.bindings(n.List, declVar, w.innermost(true))
	case *ast.LexicalDeclaration:
		w.bindings(n.List, declVar, w.innermost(false))
	case *ast.ForLoopInitializerVarDeclList:
		w.bindings(n.List, declVar, w.innermost(true))
	case *ast.ForLoopInitializerLexicalDecl:
		w.bindings(n.LexicalDeclaration.List, declVar, w.innermost(false))
	case *ast.ForIntoVar:
		w.bindings([]*ast.Binding{n.Binding}, declVar, w.innermost(true))
	case *ast.ForDeclaration:
		w.declareTarget(n.Target, declVar, w.innermost(false))
	case *ast.BlockStatement:
		if n == nil {
			return
		}
		w.push(n, false)
		for _, st := range n.List {
			w.node(st)
		}
		w.pop()
	case *ast.ForStatement, *ast.ForInStatement, *ast.ForOfStatement:
		w.push(n, false)
		w.fields(n)
		w.pop()
	case *ast.CatchStatement:
		w.push(n, false)
		w.declareTarget(n.Parameter, declVar, w.innermost(false))
		w.node(n.Body)
		w.pop()
	case *ast.DotExpression:
		left := -1
		if id, ok := n.Left.(*ast.Identifier); ok {
			left = w.reference(id)
		} else {
			w.node(n.Left)
		}
		name := n.Identifier.Name.String()
		if at, ok := w.orig(int(n.Identifier.Idx)-1, name); ok {
			w.fi.members = append(w.fi.members, member{name: name, at: at, left: left})
		}
	case *ast.PrivateDotExpression:
		w.node(n.Left)
	case *ast.PropertyShort:
		w.reference(&n.Name)
		w.node(n.Initializer)
	case *ast.PropertyKeyed:
		if n.Computed {
			w.node(n.Key)
		}
		w.node(n.Value)
	case *ast.CallExpression:
		w.call(n)
		w.fields(n)
	case *ast.AwaitExpression:
		if len(w.functionScopes()) == 2 {
			if at, ok := w.orig(int(n.Await)-1, "await"); ok {
				w.fi.awaits = append(w.fi.awaits, at)
			}
		}
		w.node(n.Argument)
	case *ast.LabelledStatement:
		w.node(n.Statement)
	case *ast.BranchStatement, *ast.MetaProperty:
	default:
		w.fields(n)
	}
}

func (w *walker) functionScopes() []scope {
	var out []scope
	for _, s := range w.scopes {
		if s.function {
			out = append(out, s)
		}
	}
	return out
}

func (w *walker) class(c *ast.ClassLiteral) {
	w.node(c.SuperClass)
	w.push(c, false)
	for _, el := range c.Body {
		switch el := el.(type) {
		case *ast.MethodDefinition:
			if el.Computed {
				w.node(el.Key)
			}
			w.function(el.Body)
		case *ast.FieldDefinition:
			if el.Computed {
				w.node(el.Key)
			}
			w.push(el, true) // a field initialiser runs as its own function
			w.node(el.Initializer)
			w.pop()
		default:
			w.node(el)
		}
	}
	w.pop()
}

// call notes the calls the runtime rules look at.
func (w *walker) call(n *ast.CallExpression) {
	c := call{}
	switch callee := n.Callee.(type) {
	case *ast.Identifier:
		c.callee = callee.Name.String()
		c.calleeAt, _ = w.orig(int(callee.Idx)-1, c.callee)
	case *ast.DotExpression:
		c.callee = callee.Identifier.Name.String()
		c.calleeAt, _ = w.orig(int(callee.Identifier.Idx)-1, c.callee)
	default:
		return
	}
	if c.callee != "require" && c.callee != "$cron" {
		return
	}
	if len(n.ArgumentList) > 0 {
		if s, ok := n.ArgumentList[0].(*ast.StringLiteral); ok {
			c.arg, c.hasStrArg = s.Value.String(), true
			if at, ok := w.origLiteral(int(s.Idx)-1, s.Literal); ok {
				c.argAt = at
			}
		}
	}
	w.fi.calls = append(w.fi.calls, c)
}

// origLiteral finds a string literal's span in the original text: esbuild
// may change its quotes, so it looks for the text between them.
func (w *walker) origLiteral(genOff int, literal string) (span, bool) {
	inner := literal
	if len(inner) >= 2 {
		inner = inner[1 : len(inner)-1]
	}
	line, ok := w.origLine(genOff)
	if !ok {
		return span{}, false
	}
	t := w.fi.text
	from := t.lines[line]
	if i := strings.Index(t.src[from:], inner); i >= 0 {
		start := from + i - 1
		return span{max(start, 0), min(from+i+len(inner)+1, len(t.src))}, true
	}
	return span{}, false
}

// resolve links every reference to the innermost declaration of its name
// whose scope holds it.
func (w *walker) resolve() {
	byName := map[string][]*decl{}
	for _, d := range w.fi.decls {
		byName[d.gname] = append(byName[d.gname], d)
	}
	for i := range w.fi.refs {
		r := &w.fi.refs[i]
		var best *decl
		for _, d := range byName[r.gname] {
			if d.scope[0] <= r.gen && r.gen < d.scope[1] {
				if best == nil || d.scope[1]-d.scope[0] < best.scope[1]-best.scope[0] {
					best = d
				}
			}
		}
		r.d = best
	}
}

// namedImports reads the list between the braces of an import statement
// into pairs of local and imported names.
func namedImports(list string) [][2]string {
	var out [][2]string
	for _, item := range strings.Split(list, ",") {
		n := reAs.FindStringSubmatch(strings.TrimSpace(item))
		if n == nil {
			continue
		}
		local := n[2]
		if local == "" {
			local = n[1]
		}
		out = append(out, [2]string{local, strings.Trim(n[1], `"`)})
	}
	return out
}

// findWordAfter finds name as a whole word at or after byte offset from.
func (t *text) findWordAfter(name string, from int) int {
	for i := from; i+len(name) <= len(t.src); {
		j := strings.Index(t.src[i:], name)
		if j < 0 {
			return -1
		}
		at := i + j
		if (at == 0 || !isIdentByte(t.src[at-1])) &&
			(at+len(name) == len(t.src) || !isIdentByte(t.src[at+len(name)])) {
			return at
		}
		i = at + 1
	}
	return -1
}

var nodeType = reflect.TypeFor[ast.Node]()

// fields walks every child node of n.
func (w *walker) fields(n ast.Node) {
	v := reflect.ValueOf(n)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < v.NumField(); i++ {
		w.value(v.Field(i))
	}
}

func (w *walker) value(f reflect.Value) {
	switch f.Kind() {
	case reflect.Interface, reflect.Pointer:
		if f.IsNil() {
			return
		}
		if c, ok := f.Interface().(ast.Node); ok {
			w.node(c)
		}
	case reflect.Slice:
		for j := 0; j < f.Len(); j++ {
			w.value(f.Index(j))
		}
	case reflect.Struct:
		// Value fields holding a node, such as a statement's embedded
		// expression.
		if f.CanAddr() && reflect.PointerTo(f.Type()).Implements(nodeType) {
			w.node(f.Addr().Interface().(ast.Node))
		}
	}
}
