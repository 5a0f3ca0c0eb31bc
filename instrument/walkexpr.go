package instrument

import (
	"fmt"

	"github.com/dop251/goja/ast"
)

// expr instruments the functions and classes inside an expression. hint
// names an anonymous function by what it is assigned to.
func (in *instrumenter) expr(e ast.Expression, hint string) {
	switch e := e.(type) {
	case nil:
	case *ast.Identifier:
		in.ref(e.Name.String())
	case *ast.StringLiteral, *ast.RegExpLiteral:
		in.literal(e)
	case *ast.FunctionLiteral:
		in.function(e, hint)
	case *ast.ArrowFunctionLiteral:
		in.arrow(e, hint)
	case *ast.ClassLiteral:
		in.class(e, hint)
	case *ast.TemplateLiteral:
		in.expr(e.Tag, "")
		// Parentheses inside substitutions are balanced, so the whole
		// template can be skipped when counting them.
		in.opaque(e.OpenQuote, int(e.CloseQuote-e.OpenQuote)+1)
		for _, x := range e.Expressions {
			in.expr(x, "")
		}
	case *ast.ArrayLiteral:
		for _, x := range e.Value {
			in.expr(x, "")
		}
	case *ast.ObjectLiteral:
		for _, p := range e.Value {
			in.property(p)
		}
	case *ast.ArrayPattern, *ast.ObjectPattern:
		in.pattern(e)
	case *ast.AssignExpression:
		in.pattern(e.Left)
		in.expr(e.Right, assignedName(e.Left))
	case *ast.BinaryExpression:
		in.expr(e.Left, "")
		in.expr(e.Right, "")
	case *ast.ConditionalExpression:
		in.expr(e.Test, "")
		in.expr(e.Consequent, "")
		in.expr(e.Alternate, "")
	case *ast.SequenceExpression:
		for _, x := range e.Sequence {
			in.expr(x, "")
		}
	case *ast.UnaryExpression:
		in.expr(e.Operand, "")
	case *ast.AwaitExpression:
		in.expr(e.Argument, "")
	case *ast.YieldExpression:
		in.expr(e.Argument, "")
	case *ast.CallExpression:
		in.expr(e.Callee, "")
		for _, x := range e.ArgumentList {
			in.expr(x, "")
		}
	case *ast.NewExpression:
		if len(e.ArgumentList) == 0 {
			in.emptyArguments(e)
		}
		in.expr(e.Callee, "")
		for _, x := range e.ArgumentList {
			in.expr(x, "")
		}
	case *ast.DotExpression:
		in.expr(e.Left, "")
	case *ast.PrivateDotExpression:
		in.expr(e.Left, "")
	case *ast.BracketExpression:
		in.expr(e.Left, "")
		in.expr(e.Member, "")
	case *ast.OptionalChain:
		in.expr(e.Expression, hint)
	case *ast.Optional:
		in.expr(e.Expression, hint)
	case *ast.SpreadElement:
		in.expr(e.Expression, "")
	case *ast.Binding:
		in.pattern(e)
	case *ast.PropertyKeyed, *ast.PropertyShort:
		in.property(e.(ast.Property))
	}
}

// emptyArguments records the real end of "new X()", which goja ends at X.
func (in *instrumenter) emptyArguments(e *ast.NewExpression) {
	at := in.off(e.Callee.Idx1())
	open := in.t.skipSpace(at)
	if open >= len(in.t.src) || in.t.src[open] != '(' {
		return
	}
	closing := in.t.skipSpace(open + 1)
	if closing < len(in.t.src) && in.t.src[closing] == ')' && !in.t.frozen {
		in.t.ends[at] = closing + 1
	}
}

func assignedName(target ast.Expression) string {
	switch t := target.(type) {
	case *ast.Identifier:
		return t.Name.String()
	case *ast.DotExpression:
		return t.Identifier.Name.String()
	}
	return ""
}

func (in *instrumenter) property(p ast.Property) {
	switch p := p.(type) {
	case *ast.PropertyKeyed:
		in.expr(p.Key, "")
		in.expr(p.Value, keyName(p.Key, p.Computed))
	case *ast.PropertyShort:
		in.ref(p.Name.Name.String())
		in.expr(p.Initializer, p.Name.Name.String())
	case *ast.SpreadElement:
		in.expr(p.Expression, "")
	}
}

func keyName(key ast.Expression, computed bool) string {
	if computed {
		return ""
	}
	switch k := key.(type) {
	case *ast.Identifier:
		return k.Name.String()
	case *ast.StringLiteral:
		return k.Value.String()
	case *ast.NumberLiteral:
		return k.Literal
	}
	return ""
}

// enterFunction records a function and opens its scope, declaring the
// parameters; it returns a function that restores the enclosing context.
func (in *instrumenter) enterFunction(info FuncInfo, params *ast.ParameterList,
	thisUnsafe bool) func() {
	fs := newScope(in.sc)
	if params != nil {
		for _, b := range params.List {
			info.Params = bindingNames(b.Target, info.Params)
		}
		info.Params = bindingNames(params.Rest, info.Params)
	}
	for _, n := range info.Params {
		fs.declare(n)
	}
	in.funcs = append(in.funcs, info)
	savedFn, savedSc := in.fn, in.sc
	in.fn = &fnCtx{index: len(in.funcs) - 1, scope: fs, parent: savedFn,
		refs: map[string]bool{}, thisUnsafe: thisUnsafe}
	in.sc = fs
	if params != nil {
		for _, b := range params.List {
			in.pattern(b)
		}
		in.pattern(params.Rest)
	}
	return func() { in.fn, in.sc = savedFn, savedSc }
}

func (in *instrumenter) funcInfo(name string, at int, async, gen bool) FuncInfo {
	line, col := in.t.position(at)
	return FuncInfo{Name: name, Line: line, Col: col, Async: async, Generator: gen}
}

// prologue is the text at the start of every function body: the invocation
// id, then the entry probe.
func (in *instrumenter) prologue(sep string, at int) *insertion {
	text := fmt.Sprintf("%sconst %si=++%sI", sep, in.prefix, in.prefix)
	var ins *insertion
	if in.opts.NoEntrySites {
		ins = in.insert(at, text)
	} else {
		ins = in.insert(at, text, in.site(at, KindEnter))
	}
	ins.fn = in.fn
	return ins
}

func (in *instrumenter) function(fl *ast.FunctionLiteral, hint string) {
	in.method(fl, hint, false)
}

func (in *instrumenter) method(fl *ast.FunctionLiteral, hint string, derivedCtor bool) {
	name := hint
	if fl.Name != nil {
		name = fl.Name.Name.String()
	}
	start := in.off(fl.Idx0())
	done := in.enterFunction(in.funcInfo(name, start, fl.Async, fl.Generator), fl.ParameterList,
		derivedCtor)
	defer done()
	in.functionBody(fl.Body, start)
}

// functionBody instruments a block body: prologue after any directives.
func (in *instrumenter) functionBody(body *ast.BlockStatement, start int) {
	rest, at := in.directives(body.List, in.off(body.LeftBrace)+1)
	sep := ""
	if len(rest) < len(body.List) {
		sep = ";"
	}
	ins := in.prologue(sep, at)
	if len(ins.probe) > 0 {
		in.sites[ins.probe[0]].off = start
	}
	in.stmtList(rest)
}

func (in *instrumenter) arrow(a *ast.ArrowFunctionLiteral, hint string) {
	start := in.off(a.Start)
	done := in.enterFunction(in.funcInfo(hint, start, a.Async, false), a.ParameterList,
		in.fn.thisUnsafe)
	defer done()

	switch body := a.Body.(type) {
	case *ast.BlockStatement:
		in.functionBody(body, start)
	case *ast.ExpressionBody:
		// An expression body becomes a block that returns it, so that it
		// can hold the prologue and a probe.
		at := in.t.openParens(in.off(exprStart(body.Expression)))
		ins := in.prologue("{", at)
		if len(ins.probe) > 0 {
			in.sites[ins.probe[0]].off = start
		}
		ins.probe = append(ins.probe, in.site(at, KindStmt))
		ins.tail = "return "
		in.expr(body.Expression, "")
		in.ins = append(in.ins, insertion{close: true, seq: len(in.ins), text: "}",
			arrow: &arrowEnd{start: at, end: in.off(body.Expression.Idx1())}})
	}
}

func (in *instrumenter) class(c *ast.ClassLiteral, hint string) {
	name := hint
	if c.Name != nil {
		name = c.Name.Name.String()
	}
	in.expr(c.SuperClass, "")
	for _, el := range c.Body {
		switch el := el.(type) {
		case *ast.MethodDefinition:
			if el.Computed {
				in.expr(el.Key, "")
			} else {
				in.literal(el.Key)
			}
			m := keyName(el.Key, el.Computed)
			if name != "" && m != "" {
				m = name + "." + m
			}
			ctor := !el.Static && c.SuperClass != nil && keyName(el.Key, el.Computed) == "constructor"
			in.method(el.Body, m, ctor)
		case *ast.FieldDefinition:
			if el.Computed {
				in.expr(el.Key, "")
			} else {
				in.literal(el.Key)
			}
			in.expr(el.Initializer, keyName(el.Key, el.Computed))
		case *ast.ClassStaticBlock:
			start := in.off(el.Static)
			done := in.enterFunction(in.funcInfo(name+" static", start, false, false), nil,
				false)
			in.functionBody(el.Block, start)
			done()
		}
	}
}
