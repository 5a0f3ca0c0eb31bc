package instrument

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
)

// Site kinds.
const (
	KindStmt  = "stmt"  // before a statement
	KindEnter = "enter" // at the start of a function body, once per call
)

// ErrSyntax is returned when the bundle does not parse.
var ErrSyntax = errors.New("bundle is not valid JavaScript")

// ErrInternal is returned when the instrumented code does not parse, which
// is a bug in this package rather than in the bundle.
var ErrInternal = errors.New("instrumented bundle is not valid JavaScript")

// Options tunes Instrument.
type Options struct {
	// Filename names the bundle in syntax errors.
	Filename string
	// NoEntrySites leaves out the probe at the start of each function body.
	// Stepping in still stops at the first statement of a called function;
	// what is lost is a stop before any statement runs, for instance in an
	// empty function.
	NoEntrySites bool
}

// Site is one probe: a place where the debugger can stop.
type Site struct {
	ID   int
	Line int // 1-based bundle line of the statement or function
	Col  int // 0-based UTF-16 column
	Func int // index into Result.Funcs of the enclosing function; -1 is top level
	Kind string
	// Locals and Closure name the bindings Stop.Scopes returns at this site.
	// Locals are those of the innermost function: every enclosing block,
	// innermost first, then the function's parameters and body. Closure holds
	// the bindings of enclosing functions below the top level that this
	// function refers to; others are not kept alive for it, so they are not
	// shown (V8's debugger does the same). Inner names shadow outer ones and
	// appear once. Top-level bindings are Result.Module.
	Locals  []string
	Closure []string

	direct int   // how many Locals the probe passes itself
	shared []int // for the others, their index in the function's shared reader
}

// FuncInfo describes a function of the bundle.
type FuncInfo struct {
	Name      string // declared name, else the name it is assigned to, else ""
	Line, Col int    // bundle position of the function
	Async     bool
	Generator bool
	Params    []string // parameter names, destructured ones flattened
}

// Result is an instrumented bundle.
type Result struct {
	// Code is the instrumented script. It is evaluated exactly like the
	// bundle: as the body of function(module, exports, require). It needs the
	// globals that NewHost installs.
	Code  string
	Sites []Site // indexed by site id
	Funcs []FuncInfo
	// Module names the top-level bindings: the wrapper's parameters, then the
	// bundle's top-level declarations.
	Module []string
	// ToBundle maps a position in Code, as goja reports it (1-based line,
	// 1-based column in bytes), to the bundle position it came from (1-based
	// line, 0-based UTF-16 column). A position inside inserted text maps to
	// the statement it was inserted before.
	ToBundle func(line, col int) (int, int)

	prefix string // of every identifier the instrumentation introduces
}

// GlobalName is the name of the global object the instrumented code expects
// to find; NewHost installs it.
func (r *Result) GlobalName() string { return r.prefix }

const wrapperHead = "(function(module,exports,require){\n"

// Instrument inserts probes into bundle and returns the instrumented code
// with its site and function tables.
func Instrument(bundle string, opts Options) (*Result, error) {
	name := opts.Filename
	if name == "" {
		name = "bundle.js"
	}
	prog, err := parser.ParseFile(nil, name, wrapperHead+bundle+"\n})",
		0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSyntax, shiftError(err))
	}
	wrapper, ok := wrapperFunc(prog)
	if !ok {
		return nil, fmt.Errorf("%w: it does not fit in a function body", ErrSyntax)
	}

	// Two passes: the first finds the literals, which tells comments apart
	// from comment markers inside strings, and statement starts are found
	// by looking back over comments in the second.
	t := newText(bundle)
	first := &instrumenter{t: t, base: 1 + len(wrapperHead), prefix: "", opts: opts}
	first.instrument(wrapper.Body)
	t.findComments()
	in := &instrumenter{t: t, base: 1 + len(wrapperHead), prefix: choosePrefix(bundle), opts: opts}
	in.instrument(wrapper.Body)

	res := in.result()
	check := wrapperHead + res.Code + "\n})"
	if _, err := parser.ParseFile(nil, name, check, 0, parser.WithDisableSourceMaps); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInternal, shiftError(err))
	}
	return res, nil
}

// shiftError renders a parse error in bundle lines: the wrapper adds one.
func shiftError(err error) string {
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		e := list[0]
		return fmt.Sprintf("%s:%d:%d: %s", e.Position.Filename, e.Position.Line-1,
			e.Position.Column, e.Message)
	}
	return err.Error()
}

func wrapperFunc(prog *ast.Program) (*ast.FunctionLiteral, bool) {
	if len(prog.Body) != 1 {
		return nil, false
	}
	st, ok := prog.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return nil, false
	}
	fl, ok := st.Expression.(*ast.FunctionLiteral)
	return fl, ok
}

// choosePrefix picks an identifier prefix that occurs nowhere in the bundle,
// so no introduced name can collide with or shadow one of the program's.
func choosePrefix(bundle string) string {
	p := "$dbg"
	for i := 0; strings.Contains(bundle, p); i++ {
		p = "$dbg" + strconv.Itoa(i)
	}
	return p
}

// insertion is text placed before the bundle byte at off.
type insertion struct {
	off   int
	close bool // closing text sorts before opening text at the same offset
	seq   int
	text  string
	probe []int // site ids whose probes follow text, rendered at the end
	tail  string
	arrow *arrowEnd
	fn    *fnCtx // set on a function prologue, which ends once the scope is known
}

// arrowEnd is the closing brace of an arrow function whose expression body
// became a block; where it goes is known only once all literals are seen.
type arrowEnd struct {
	start, end int
}

type siteRec struct {
	off  int
	fn   *fnCtx
	sc   *scope
	kind string
}

type instrumenter struct {
	t      *text
	base   int
	prefix string
	opts   Options

	ins    []insertion
	sites  []siteRec
	funcs  []FuncInfo
	module *scope
	fn     *fnCtx
	sc     *scope
}

type fnCtx struct {
	index  int
	scope  *scope
	parent *fnCtx
	// shared lists the function-scope names read through one reader made at
	// each call, when there are too many to list at every probe.
	shared   []string
	sharedAt map[string]int
	// refs holds every name the function's code refers to, nested
	// functions included.
	refs map[string]bool
	// thisUnsafe marks a derived class constructor (and arrows in it), where
	// this throws until super() is called.
	thisUnsafe bool
}

// ref records a name the code refers to, for the function and those around
// it.
func (in *instrumenter) ref(name string) {
	for f := in.fn; f != nil; f = f.parent {
		if f.refs[name] {
			return
		}
		f.refs[name] = true
	}
}

func (in *instrumenter) off(idx file.Idx) int { return int(idx) - in.base }

func (in *instrumenter) insert(off int, text string, probes ...int) *insertion {
	in.ins = append(in.ins, insertion{off: off, seq: len(in.ins), text: text, probe: probes})
	return &in.ins[len(in.ins)-1]
}

func (in *instrumenter) insertClose(off int, text string) {
	in.ins = append(in.ins, insertion{off: off, close: true, seq: len(in.ins), text: text})
}

func (in *instrumenter) site(off int, kind string) int {
	in.sites = append(in.sites, siteRec{
		off: off, fn: in.fn, sc: in.sc, kind: kind,
	})
	return len(in.sites) - 1
}

// instrument handles the bundle's top level, the body of the wrapper.
func (in *instrumenter) instrument(body *ast.BlockStatement) {
	in.module = newScope(nil)
	for _, n := range []string{"module", "exports", "require"} {
		in.module.declare(n)
	}
	in.fn = &fnCtx{index: -1, scope: in.module, refs: map[string]bool{}}
	in.sc = in.module

	stmts, at := in.directives(body.List, 0)
	// The host's state lives in top-level variables, which every probe
	// reaches as a closure variable: cheaper than a global lookup.
	in.insert(at, in.sep(stmts, body.List)+strings.ReplaceAll(
		"var @d=@,@b=@d.b,@h=@d.h,@U=@d.u,@v,@s=0,@I=0,@t=@d.t();"+
			"@d.a(()=>@s,v=>{@s=v},v=>{@t=v},@M);const @i=++@I;", "@", in.prefix))
	in.stmtList(stmts)
}

// sep is the separator needed before a prologue inserted after directives.
func (in *instrumenter) sep(rest, all []ast.Statement) string {
	if len(rest) < len(all) {
		return ";"
	}
	return ""
}

// directives splits off a directive prologue ("use strict") and returns the
// remaining statements and the offset where a function prologue goes: after
// the directives, or at def when there are none.
func (in *instrumenter) directives(list []ast.Statement, def int) ([]ast.Statement, int) {
	n := 0
	for _, s := range list {
		es, ok := s.(*ast.ExpressionStatement)
		if !ok {
			break
		}
		if _, ok := es.Expression.(*ast.StringLiteral); !ok {
			break
		}
		if in.realStart(s) != in.off(es.Expression.Idx0()) {
			break // parenthesised: not a directive
		}
		n++
	}
	if n == 0 {
		return list, def
	}
	return list[n:], in.t.statementEnd(in.off(list[n-1].Idx1()))
}

// realStart is where a statement's text begins, parentheses included.
func (in *instrumenter) realStart(s ast.Statement) int {
	switch s := s.(type) {
	case *ast.ExpressionStatement:
		return in.t.openParens(in.off(exprStart(s.Expression)))
	case *ast.IfStatement:
		// goja leaves IfStatement.If unset: find the keyword before the
		// parenthesis that opens the test.
		return in.t.keywordBefore(in.t.openParens(in.off(exprStart(s.Test))), "if")
	}
	return in.off(s.Idx0())
}

// exprStart is where an expression's first token is; goja reports the
// backquote of a tagged template instead of its tag.
func exprStart(e ast.Expression) file.Idx {
	switch e := e.(type) {
	case *ast.TemplateLiteral:
		if e.Tag != nil {
			return exprStart(e.Tag)
		}
	case *ast.CallExpression:
		return exprStart(e.Callee)
	case *ast.DotExpression:
		return exprStart(e.Left)
	case *ast.PrivateDotExpression:
		return exprStart(e.Left)
	case *ast.BracketExpression:
		return exprStart(e.Left)
	case *ast.BinaryExpression:
		return exprStart(e.Left)
	case *ast.AssignExpression:
		return exprStart(e.Left)
	case *ast.ConditionalExpression:
		return exprStart(e.Test)
	case *ast.SequenceExpression:
		return exprStart(e.Sequence[0])
	case *ast.OptionalChain:
		return exprStart(e.Expression)
	case *ast.Optional:
		return exprStart(e.Expression)
	case *ast.UnaryExpression:
		if e.Postfix {
			return exprStart(e.Operand)
		}
	}
	return e.Idx0()
}

// result renders the insertions and assembles the Result.
func (in *instrumenter) result() *Result {
	for i := range in.ins {
		if a := in.ins[i].arrow; a != nil {
			in.ins[i].off = in.t.closeParens(a.start, a.end)
		}
	}
	sort.SliceStable(in.ins, func(i, j int) bool {
		a, b := in.ins[i], in.ins[j]
		if a.off != b.off {
			return a.off < b.off
		}
		if a.close != b.close {
			return a.close
		}
		return a.seq < b.seq
	})

	for _, s := range in.sites {
		f := s.fn
		if f.index >= 0 && f.shared == nil && len(f.scope.names) > sharedThreshold {
			f.sharedAt = map[string]int{}
			for _, n := range f.scope.names {
				if n != "arguments" {
					f.sharedAt[n] = len(f.shared)
					f.shared = append(f.shared, n)
				}
			}
		}
	}

	res := &Result{prefix: in.prefix, Funcs: in.funcs}
	readers := make([]*reader, len(in.sites))
	res.Sites = make([]Site, len(in.sites))
	for id, s := range in.sites {
		r := in.newReader(s)
		readers[id] = r
		line, col := in.t.position(s.off)
		res.Sites[id] = Site{ID: id, Line: line, Col: col, Func: s.fn.index, Kind: s.kind,
			Locals: r.locals, Closure: r.closure, direct: r.direct, shared: r.shared}
	}

	var b strings.Builder
	b.Grow(len(in.t.src) * 2)
	m := &codeMap{}
	last := 0
	for _, ins := range in.ins {
		b.WriteString(in.t.src[last:ins.off])
		last = ins.off
		start := b.Len()
		b.WriteString(ins.text)
		if ins.fn != nil {
			b.WriteString(in.sharedReader(ins.fn))
		}
		for _, id := range ins.probe {
			in.writeProbe(&b, id, readers[id])
		}
		b.WriteString(ins.tail)
		m.add(start, b.Len()-start, ins.off)
	}
	b.WriteString(in.t.src[last:])
	res.Code = disableSourceMapComments(b.String())
	m.finish(res.Code, in.t)
	res.ToBundle = m.toBundle
	res.Module = append([]string(nil), in.module.names...)
	res.Code += in.moduleReader()
	return res
}

// moduleReader is the function, declared at the top level and so hoisted,
// that returns a getter for each module binding.
func (in *instrumenter) moduleReader() string {
	var b strings.Builder
	b.WriteString("\nfunction " + in.prefix + "M(){return[")
	for i, n := range in.module.names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("()=>" + n)
	}
	b.WriteString("]}")
	return b.String()
}

// sharedThreshold is the number of function-scope bindings above which
// probes stop listing them and the function makes one reader per call. That
// reader is a closure, so it costs an allocation per call and moves the
// function's locals to the heap: a price for big functions only, which are
// mostly module patterns run once, to keep the code from growing with the
// square of their size.
const sharedThreshold = 48

// sharedReader ends a function prologue: with many bindings, a reader of
// getters for all of them.
func (in *instrumenter) sharedReader(f *fnCtx) string {
	if f.shared == nil {
		return ";"
	}
	var b strings.Builder
	b.WriteString("," + in.prefix + "r=()=>[")
	for i, n := range f.shared {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("()=>" + n)
	}
	b.WriteString("];")
	return b.String()
}

// writeProbe renders one probe. The fast path is a counter bump, a compare
// and a flag load; the values in scope are gathered only on the slow path.
func (in *instrumenter) writeProbe(b *strings.Builder, id int, r *reader) {
	p := in.prefix
	ids := strconv.Itoa(id)
	fmt.Fprintf(b, "if(++%ss>=%st||%sb[%s]===1)", p, p, p, ids)
	shared := ""
	if r.shared != nil {
		shared = "," + p + "r"
	}
	if r.fixes == "" {
		fmt.Fprintf(b, "%st=%sh(%s,%si,%ss,%s%s);", p, p, ids, p, p, r.values, shared)
		return
	}
	fmt.Fprintf(b, "{%sv=%s;%s%st=%sh(%s,%si,%ss,%sv%s)}", p, r.values, r.fixes, p, p, ids,
		p, p, p, shared)
}

// disableSourceMapComments keeps goja from applying the bundle's source map
// to the instrumented code, whose positions ToBundle expects unmapped. The
// replacement has the same length, so no position moves.
func disableSourceMapComments(code string) string {
	const marker = "//# sourceMappingURL="
	if !strings.Contains(code, marker) {
		return code
	}
	lines := strings.Split(code, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, marker) {
			lines[i] = "//- sourceMappingURL=" + l[len(marker):]
		}
	}
	return strings.Join(lines, "\n")
}
