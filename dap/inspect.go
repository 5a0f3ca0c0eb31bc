package dap

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
	"github.com/google/go-dap"
	"github.com/membrane-dev/membrane-dev/instrument"
)

// refs holds the variable references handed out at one stop; they end
// when the program moves.
type refs struct {
	list []ref
}

// ref is something the client may expand: a value, or a list made when the
// scope was read.
type ref struct {
	value goja.Value
	raw   any
	isRaw bool
	items []child
	fixed bool
}

func newRefs() *refs { return &refs{} }

func (r *refs) add(x ref) int {
	r.list = append(r.list, x)
	return len(r.list)
}

func (r *refs) get(id int) (ref, bool) {
	if r == nil || id < 1 || id > len(r.list) {
		return ref{}, false
	}
	return r.list[id-1], true
}

// stopped checks there is a stop to inspect. s.mu is held.
func (s *Session) stopped() error {
	if s.hist == nil {
		return errNotLaunched
	}
	if s.running || s.refs == nil {
		return errRunning
	}
	if s.cur == nil {
		return errNotStarted
	}
	return nil
}

// frame is one stack frame at a stop.
type frame struct {
	name  string
	code  *code
	place place
}

// frames lists the stack of the current stop, innermost first. At the
// start of an event there is one frame naming the event.
func (s *Session) frames() []frame {
	at := s.at
	if at.stop == nil {
		return []frame{{name: s.hist.describe(at.at)}}
	}
	var out []frame
	s.cur.do(func() {
		m := s.cur.m
		top := true
		for _, f := range m.Runtime().CaptureCallStack(0, nil) {
			script := f.SrcName()
			if !strings.HasPrefix(script, "code/") {
				continue
			}
			name := f.FuncName()
			if name == "" || name == "<anonymous>" {
				name = "(anonymous function)"
			}
			if top {
				// The probe's own site is exact: it is the statement.
				out = append(out, frame{name: name, code: at.host.code,
					place: at.host.code.sites[at.stop.Site.ID]})
				top = false
				continue
			}
			pos := f.Position()
			hash, line, col, ok := m.BundlePosition(script, pos.Line, pos.Column)
			c := s.hist.codeByHash(hash)
			if !ok || c == nil {
				continue
			}
			out = append(out, frame{name: name, code: c, place: c.original(line, max(col-1, 0))})
		}
	})
	if len(out) == 0 {
		out = append(out, frame{name: "(program)", code: at.host.code,
			place: at.host.code.sites[at.stop.Site.ID]})
	}
	return out
}

// sourceOf describes a file for the client: its path on disk, and a
// reference to the text that ran when the file has changed since.
func (s *Session) sourceOf(c *code, rel string) *dap.Source {
	src := &dap.Source{Name: filepath.Base(rel), Path: filepath.Join(s.dir, filepath.FromSlash(rel))}
	if isDependency(rel) {
		src.PresentationHint = "deemphasize"
	}
	if c.changedOnDisk(s.dir, rel) {
		key := sourceRef{hash: c.cv.Hash, file: rel}
		id, ok := s.sourceIDs[key]
		if !ok {
			id = len(s.sourceIDs) + 1
			s.sourceIDs[key] = id
			s.sources[id] = key
		}
		src.SourceReference = id
		src.Origin = "as it ran, from the log (the file has changed since)"
	}
	return src
}

func (s *Session) onStackTrace(r *dap.StackTraceRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopped(); err != nil {
		return err
	}
	frames := s.frames()
	resp := &dap.StackTraceResponse{Response: newResponse(&r.Request)}
	for i, f := range frames {
		df := dap.StackFrame{Id: i + 1, Name: f.name, Line: f.place.Line, Column: f.place.Col}
		if f.code != nil && f.place.File != "" {
			df.Source = s.sourceOf(f.code, f.place.File)
		} else {
			df.PresentationHint = "label"
		}
		resp.Body.StackFrames = append(resp.Body.StackFrames, df)
	}
	resp.Body.TotalFrames = len(frames)
	if start := r.Arguments.StartFrame; start > 0 && start < len(resp.Body.StackFrames) {
		resp.Body.StackFrames = resp.Body.StackFrames[start:]
	}
	if n := r.Arguments.Levels; n > 0 && n < len(resp.Body.StackFrames) {
		resp.Body.StackFrames = resp.Body.StackFrames[:n]
	}
	s.send(resp)
	return nil
}

func (s *Session) onSource(r *dap.SourceRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist == nil {
		return errNotLaunched
	}
	id := r.Arguments.SourceReference
	if r.Arguments.Source != nil && r.Arguments.Source.SourceReference != 0 {
		id = r.Arguments.Source.SourceReference
	}
	key, ok := s.sources[id]
	if !ok {
		return userf("no source has reference %d", id)
	}
	c := s.hist.codeByHash(key.hash)
	if c == nil {
		return userf("no source has reference %d", id)
	}
	resp := &dap.SourceResponse{Response: newResponse(&r.Request)}
	resp.Body.Content = c.cv.Sources[key.file]
	resp.Body.MimeType = "text/typescript"
	if strings.HasSuffix(key.file, ".js") {
		resp.Body.MimeType = "text/javascript"
	}
	s.send(resp)
	return nil
}

func (s *Session) onScopes(r *dap.ScopesRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopped(); err != nil {
		return err
	}
	resp := &dap.ScopesResponse{Response: newResponse(&r.Request)}
	add := func(name, hint string, items []child, expensive bool) {
		id := s.refs.add(ref{items: items, fixed: true})
		resp.Body.Scopes = append(resp.Body.Scopes, dap.Scope{Name: name, PresentationHint: hint,
			VariablesReference: id, NamedVariables: len(items), Expensive: expensive})
	}
	var err error
	s.cur.do(func() {
		if s.at.stop != nil && r.Arguments.FrameId == 1 {
			var sc *instrument.Scopes
			if sc, err = s.at.stop.Scopes(); err != nil {
				return
			}
			add("Locals", "locals", bindingChildren(sc.Locals), false)
			if len(sc.Closure) > 0 {
				add("Closure", "", bindingChildren(sc.Closure), false)
			}
			add("Globals", "globals", bindingChildren(moduleBindings(sc.Module)), false)
		}
		add("State", "", s.stateChildren(), false)
		add("Event", "", s.eventChildren(), false)
	})
	if err != nil {
		return err
	}
	s.send(resp)
	return nil
}

// moduleBindings leaves out the wrapper's parameters and bundler helpers.
func moduleBindings(bs []instrument.Binding) []instrument.Binding {
	var out []instrument.Binding
	for _, b := range bs {
		switch {
		case b.Name == "module" || b.Name == "exports" || b.Name == "require":
		case strings.HasPrefix(b.Name, "__"):
		default:
			out = append(out, b)
		}
	}
	return out
}

func bindingChildren(bs []instrument.Binding) []child {
	out := make([]child, len(bs))
	for i, b := range bs {
		out[i] = child{name: b.Name, value: b.Value}
		if b.Uninitialized {
			out[i].note = "<not initialised yet>"
		}
	}
	return out
}

// stateChildren reads the program's state: the live object at a stop in
// code, else the state's tagged JSON. Runs on the replayer's goroutine.
func (s *Session) stateChildren() []child {
	if v := s.liveState(); v != nil {
		return children(s.cur.m.Runtime(), v)
	}
	if s.cur.m == nil {
		return nil
	}
	raw, err := s.cur.m.StateJSON()
	if err != nil {
		return []child{{name: "error", note: err.Error()}}
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return rawChildren(v)
}

// liveState is the program's state object when the replay is stopped in
// code.
func (s *Session) liveState() goja.Value {
	if s.at.stop == nil {
		return nil
	}
	sc, err := s.at.stop.Scopes()
	if err != nil {
		return nil
	}
	return liveStateOf(s.cur.m.Runtime(), sc)
}

// eventChildren describes the event the stop is in.
func (s *Session) eventChildren() []child {
	if s.at.at.Event >= len(s.hist.events) {
		return nil
	}
	e := s.hist.events[s.at.at.Event]
	var data any
	_ = json.Unmarshal(e.Data, &data)
	return []child{
		{name: "seq", raw: float64(e.Seq)},
		{name: "kind", raw: e.Kind},
		{name: "time", raw: time.UnixMilli(e.Time).UTC().Format(time.RFC3339Nano)},
		{name: "data", raw: data},
	}
}

func (s *Session) onVariables(r *dap.VariablesRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopped(); err != nil {
		return err
	}
	x, ok := s.refs.get(r.Arguments.VariablesReference)
	if !ok {
		return userf("variables reference %d is not valid at this stop",
			r.Arguments.VariablesReference)
	}
	resp := &dap.VariablesResponse{Response: newResponse(&r.Request)}
	s.cur.do(func() {
		items := x.items
		if !x.fixed {
			if x.isRaw {
				items = rawChildren(x.raw)
			} else {
				items = children(s.cur.m.Runtime(), x.value)
			}
		}
		if r.Arguments.Filter == "named" && isArray(x) {
			items = nil
		}
		items = page(items, r.Arguments.Start, r.Arguments.Count)
		resp.Body.Variables = make([]dap.Variable, 0, len(items))
		for _, c := range items {
			resp.Body.Variables = append(resp.Body.Variables, s.variable(c))
		}
	})
	s.send(resp)
	return nil
}

func isArray(x ref) bool {
	if x.isRaw {
		_, ok := x.raw.([]any)
		return ok
	}
	o, ok := x.value.(*goja.Object)
	return ok && o.ClassName() == "Array"
}

func page(items []child, start, count int) []child {
	if start > len(items) {
		return nil
	}
	items = items[max(start, 0):]
	if count > 0 && count < len(items) {
		items = items[:count]
	}
	return items
}

// variable renders one child, handing out a reference when it expands.
// Runs on the replayer's goroutine.
func (s *Session) variable(c child) dap.Variable {
	v := dap.Variable{Name: c.name}
	switch {
	case c.note != "":
		v.Value = c.note
	case c.value == nil:
		v.Value = previewRaw(c.raw, 1)
		if rawExpandable(c.raw) {
			v.VariablesReference = s.refs.add(ref{raw: c.raw, isRaw: true})
			if a, ok := c.raw.([]any); ok {
				v.IndexedVariables = len(a)
			}
		}
	default:
		v.Value = preview(c.value, 1)
		v.Type = typeName(c.value)
		if expandable(c.value) {
			v.VariablesReference = s.refs.add(ref{value: c.value})
			if o := c.value.(*goja.Object); o.ClassName() == "Array" {
				v.IndexedVariables = int(o.Get("length").ToInteger())
			}
		}
	}
	return v
}

func (s *Session) onEvaluate(r *dap.EvaluateRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopped(); err != nil {
		return err
	}
	expr := strings.TrimSpace(r.Arguments.Expression)
	var val goja.Value
	var err error
	var res dap.Variable
	s.cur.do(func() {
		val, err = s.evaluate(expr)
		if err == nil {
			res = s.variable(child{name: expr, value: val})
		}
	})
	if err != nil {
		return userError{err}
	}
	if !pure(expr) {
		// It may have changed the heap: history must not change, so the
		// point is made again from the log.
		s.rebuild()
		if !isPrimitive(val) {
			res.VariablesReference = 0
		}
	}
	resp := &dap.EvaluateResponse{Response: newResponse(&r.Request)}
	resp.Body.Result = res.Value
	resp.Body.Type = res.Type
	resp.Body.VariablesReference = res.VariablesReference
	resp.Body.IndexedVariables = res.IndexedVariables
	s.send(resp)
	return nil
}

func isPrimitive(v goja.Value) bool {
	_, ok := v.(*goja.Object)
	return !ok
}

// evaluate runs expr in the frame of the stop; at the start of an event
// only state is in scope. Runs on the replayer's goroutine.
func (s *Session) evaluate(expr string) (goja.Value, error) {
	if s.at.stop != nil {
		return evalIn(s.cur.m.Runtime(), s.at.host, *s.at.stop, expr)
	}
	if s.cur.m == nil || s.cur.active == nil {
		return nil, errors.New("there is nothing to evaluate in before the first deploy")
	}
	vm := s.cur.m.Runtime()
	var state goja.Value = goja.Undefined()
	if raw, err := s.cur.m.StateJSON(); err == nil {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			state = vm.ToValue(v)
		}
	}
	sc := &instrument.Scopes{Locals: []instrument.Binding{{Name: "state", Value: state}}}
	v, err := s.cur.active.h.Evaluate(sc, expr)
	if err != nil {
		return nil, fmt.Errorf("%w (at the start of an event only state is in scope)", err)
	}
	return v, nil
}

// pure says whether evaluating expr certainly changes nothing: it is made
// of names, literals and property reads only. Anything else might call
// code with side effects.
func pure(expr string) bool {
	prog, err := parser.ParseFile(nil, "", "("+expr+")", 0, parser.WithDisableSourceMaps)
	if err != nil || len(prog.Body) != 1 {
		return false
	}
	st, ok := prog.Body[0].(*ast.ExpressionStatement)
	return ok && pureExpr(st.Expression)
}

func pureExpr(e ast.Expression) bool {
	switch e := e.(type) {
	case *ast.Identifier, *ast.NumberLiteral, *ast.StringLiteral, *ast.BooleanLiteral,
		*ast.NullLiteral:
		return true
	case *ast.DotExpression:
		return pureExpr(e.Left)
	case *ast.BracketExpression:
		return pureExpr(e.Left) && pureExpr(e.Member)
	}
	return false
}

// onExceptionInfo describes the error the program is stopped at: its first
// line, and the rest (the stack, or the divergence report) as details.
func (s *Session) onExceptionInfo(r *dap.ExceptionInfoRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopped(); err != nil {
		return err
	}
	if s.at.reason != "exception" {
		return userf("the program is not stopped at an error")
	}
	resp := &dap.ExceptionInfoResponse{Response: newResponse(&r.Request)}
	first, _, _ := strings.Cut(s.at.text, "\n")
	resp.Body.ExceptionId = "Error"
	resp.Body.BreakMode = "unhandled"
	if s.at.div != nil {
		resp.Body.ExceptionId = "Divergence"
		resp.Body.BreakMode = "always"
	}
	resp.Body.Description = first
	resp.Body.Details = &dap.ExceptionDetails{Message: first, StackTrace: s.at.text}
	s.send(resp)
	return nil
}
