package instrument

import (
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
)

// stmtList instruments the statements of a block, a case clause or a body.
func (in *instrumenter) stmtList(list []ast.Statement) {
	for _, s := range list {
		in.stmt(s, true)
	}
}

// probeBefore inserts a statement probe at the start of s.
func (in *instrumenter) probeBefore(s ast.Statement) {
	off := in.realStart(s)
	in.insert(off, "", in.site(off, KindStmt))
}

// body instruments a statement in a position where a single statement is
// allowed (if, else, loops, with). Unless it is a block it is wrapped in one
// so that its probe stays inside the branch or loop.
func (in *instrumenter) body(s ast.Statement) {
	switch s.(type) {
	case *ast.BlockStatement, *ast.EmptyStatement, *ast.FunctionDeclaration:
		in.stmt(s, true)
		return
	}
	in.insert(in.realStart(s), "{")
	in.stmt(s, true)
	in.insertClose(in.t.statementEnd(in.off(s.Idx1())), "}")
}

// block instruments a block statement in a scope of its own.
func (in *instrumenter) block(b *ast.BlockStatement, sc *scope) {
	if sc == nil {
		sc = newScope(in.sc)
	}
	saved := in.sc
	in.sc = sc
	in.stmtList(b.List)
	in.sc = saved
}

func (in *instrumenter) stmt(s ast.Statement, probe bool) {
	switch s := s.(type) {
	case *ast.BlockStatement:
		in.block(s, nil)
	case *ast.EmptyStatement, *ast.BadStatement:
	case *ast.FunctionDeclaration:
		// No probe: a declaration does nothing where it stands, and its
		// hoisting is untouched because nothing is inserted around it.
		if s.Function.Name != nil {
			in.sc.declare(s.Function.Name.Name.String())
		}
		in.function(s.Function, "")
	case *ast.LabelledStatement:
		// The probe goes before the label, so that break and continue
		// still name the statement the label is on.
		if probe {
			in.probeBefore(s)
		}
		in.stmt(s.Statement, false)
	default:
		if probe {
			in.probeBefore(s)
		}
		in.simpleStmt(s)
	}
}

// simpleStmt instruments what a statement contains; its probe is placed.
func (in *instrumenter) simpleStmt(s ast.Statement) {
	switch s := s.(type) {
	case *ast.ExpressionStatement:
		in.expr(s.Expression, "")
	case *ast.VariableStatement:
		in.bindings(s.List, in.fn.scope, -1)
	case *ast.LexicalDeclaration:
		in.bindings(s.List, in.sc, in.off(s.Idx0()))
	case *ast.ClassDeclaration:
		if s.Class.Name != nil {
			in.sc.declareLexical(s.Class.Name.Name.String(), in.off(s.Idx0()))
		}
		in.class(s.Class, "")
	case *ast.IfStatement:
		in.expr(s.Test, "")
		in.body(s.Consequent)
		if s.Alternate != nil {
			in.body(s.Alternate)
		}
	case *ast.ForStatement:
		in.forStmt(s)
	case *ast.ForInStatement:
		in.forInto(s.Into, s.Source, s.Body)
	case *ast.ForOfStatement:
		in.forInto(s.Into, s.Source, s.Body)
	case *ast.WhileStatement:
		in.expr(s.Test, "")
		in.body(s.Body)
	case *ast.DoWhileStatement:
		in.body(s.Body)
		in.expr(s.Test, "")
	case *ast.WithStatement:
		in.expr(s.Object, "")
		in.body(s.Body)
	case *ast.SwitchStatement:
		in.expr(s.Discriminant, "")
		saved := in.sc
		in.sc = newScope(saved)
		in.sc.inSwitch = true
		for _, c := range s.Body {
			in.expr(c.Test, "")
			in.stmtList(c.Consequent)
		}
		in.sc = saved
	case *ast.TryStatement:
		in.block(s.Body, nil)
		if s.Catch != nil {
			sc := newScope(in.sc)
			if s.Catch.Parameter != nil {
				for _, n := range bindingNames(s.Catch.Parameter, nil) {
					sc.declare(n)
				}
				saved := in.sc
				in.sc = sc
				in.pattern(s.Catch.Parameter)
				in.sc = saved
			}
			// The catch body's own declarations share the parameter's scope:
			// redeclaring the parameter there is a syntax error anyway.
			in.block(s.Catch.Body, sc)
		}
		if s.Finally != nil {
			in.block(s.Finally, nil)
		}
	case *ast.ReturnStatement:
		in.expr(s.Argument, "")
	case *ast.ThrowStatement:
		in.expr(s.Argument, "")
	case *ast.BranchStatement, *ast.DebuggerStatement:
	}
}

func (in *instrumenter) forStmt(s *ast.ForStatement) {
	saved := in.sc
	switch init := s.Initializer.(type) {
	case *ast.ForLoopInitializerLexicalDecl:
		// let and const in the head get a scope around the loop.
		in.sc = newScope(saved)
		in.bindings(init.LexicalDeclaration.List, in.sc, -1)
	case *ast.ForLoopInitializerVarDeclList:
		in.bindings(init.List, in.fn.scope, -1)
	case *ast.ForLoopInitializerExpression:
		in.expr(init.Expression, "")
	}
	in.expr(s.Test, "")
	in.expr(s.Update, "")
	in.body(s.Body)
	in.sc = saved
}

func (in *instrumenter) forInto(into ast.ForInto, source ast.Expression, body ast.Statement) {
	saved := in.sc
	switch into := into.(type) {
	case *ast.ForIntoVar:
		in.bindings([]*ast.Binding{into.Binding}, in.fn.scope, -1)
	case *ast.ForDeclaration:
		in.sc = newScope(saved)
		for _, n := range bindingNames(into.Target, nil) {
			in.sc.declare(n)
		}
		in.pattern(into.Target)
	case *ast.ForIntoExpression:
		in.expr(into.Expression, "")
	}
	in.expr(source, "")
	in.body(body)
	in.sc = saved
}

// bindings declares the names of a declaration list in sc and instruments
// the initialisers, naming functions after the variable they are assigned to.
// lexicalAt is the offset of a let or const statement, -1 for bindings that
// have no temporal dead zone a probe could see.
func (in *instrumenter) bindings(list []*ast.Binding, sc *scope, lexicalAt int) {
	for _, b := range list {
		for _, n := range bindingNames(b.Target, nil) {
			if lexicalAt >= 0 {
				sc.declareLexical(n, lexicalAt)
			} else {
				sc.declare(n)
			}
		}
		in.pattern(b.Target)
		hint := ""
		if id, ok := b.Target.(*ast.Identifier); ok {
			hint = id.Name.String()
		}
		in.expr(b.Initializer, hint)
	}
}

// pattern instruments the default values and computed keys of a binding
// pattern.
func (in *instrumenter) pattern(e ast.Expression) {
	switch p := e.(type) {
	case *ast.ArrayPattern:
		for _, el := range p.Elements {
			in.pattern(el)
		}
		in.pattern(p.Rest)
	case *ast.ObjectPattern:
		for _, prop := range p.Properties {
			switch prop := prop.(type) {
			case *ast.PropertyShort:
				in.ref(prop.Name.Name.String())
				in.expr(prop.Initializer, prop.Name.Name.String())
			case *ast.PropertyKeyed:
				if prop.Computed {
					in.expr(prop.Key, "")
				} else {
					in.literal(prop.Key)
				}
				in.pattern(prop.Value)
			case *ast.SpreadElement:
				in.pattern(prop.Expression)
			}
		}
		in.pattern(p.Rest)
	case *ast.AssignExpression:
		in.pattern(p.Left)
		hint := ""
		if id, ok := p.Left.(*ast.Identifier); ok {
			hint = id.Name.String()
		}
		in.expr(p.Right, hint)
	case *ast.Binding:
		in.pattern(p.Target)
		in.expr(p.Initializer, "")
	case *ast.Identifier:
		in.ref(p.Name.String())
	case nil:
	default:
		// A pattern in an assignment may hold any target expression.
		in.expr(e, "")
	}
}

// literal records the extent of string-like literals, inside which a
// parenthesis is not one.
func (in *instrumenter) literal(e ast.Expression) {
	switch e := e.(type) {
	case *ast.StringLiteral:
		in.opaque(e.Idx, len(e.Literal))
	case *ast.RegExpLiteral:
		in.opaque(e.Idx, len(e.Literal))
	default:
		in.expr(e, "")
	}
}

func (in *instrumenter) opaque(idx file.Idx, n int) {
	if in.t.frozen {
		return
	}
	start := in.off(idx)
	in.t.opaque = append(in.t.opaque, [2]int{start, start + n})
}
