package replay

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

// Divergence is the first place a replay did not do what the recording did.
type Divergence struct {
	Seq        uint64          `json:"seq"`  // the event being handled
	Kind       string          `json:"kind"` // the event's kind
	OutputSeq  uint64          `json:"outputSeq,omitempty"`
	OutputKind string          `json:"outputKind,omitempty"`
	Recorded   json.RawMessage `json:"recorded,omitempty"`
	Replayed   json.RawMessage `json:"replayed,omitempty"`
	Diff       []Change        `json:"diff,omitempty"`
	Stack      []runtime.Frame `json:"stack,omitempty"` // where the replay produced it
	Reason     string          `json:"reason"`
}

// Change is one field that differs.
type Change struct {
	Path     string `json:"path"`
	Recorded string `json:"recorded"`
	Replayed string `json:"replayed"`
}

func (d *Divergence) Error() string { return d.Summary() }

// Summary is the divergence in one sentence.
func (d *Divergence) Summary() string {
	s := fmt.Sprintf("the replay diverged at event %d (%s): %s", d.Seq, d.Kind, d.Reason)
	if len(d.Stack) > 0 {
		s += " at " + d.Stack[0].File + fmt.Sprintf(":%d:%d", d.Stack[0].Line, d.Stack[0].Column)
	}
	return s
}

// Format is the whole report, for a terminal.
func (d *Divergence) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "divergence at event %d (%s)", d.Seq, d.Kind)
	if d.OutputSeq != 0 {
		fmt.Fprintf(&b, ", output %d (%s)", d.OutputSeq, d.OutputKind)
	} else if d.OutputKind != "" {
		fmt.Fprintf(&b, ", output %s", d.OutputKind)
	}
	fmt.Fprintf(&b, ": %s\n", d.Reason)
	if len(d.Diff) > 0 {
		for _, c := range d.Diff {
			path := c.Path
			if path == "" {
				path = "(value)"
			}
			fmt.Fprintf(&b, "  %s\n    recorded: %s\n    replayed: %s\n", path, c.Recorded, c.Replayed)
		}
	} else {
		if len(d.Recorded) > 0 {
			fmt.Fprintf(&b, "  recorded: %s\n", d.Recorded)
		}
		if len(d.Replayed) > 0 {
			fmt.Fprintf(&b, "  replayed: %s\n", d.Replayed)
		}
	}
	if len(d.Stack) > 0 {
		fmt.Fprintf(&b, "  where the replay produced it:\n")
		for _, f := range d.Stack {
			fmt.Fprintf(&b, "    at %s\n", f)
		}
	}
	return b.String()
}

// comparer walks the recorded outputs of each event beside the replayed ones.
type comparer struct {
	res     *Result
	actions map[uint64]string // call seq -> action, for results that come later
	event   wal.Record
	outs    []runtime.Output
	next    int
	open    bool
}

func (c *comparer) startEvent(rec wal.Record, outs []runtime.Output) {
	c.event, c.outs, c.next, c.open = rec, compared(outs), 0, true
	if rec.Kind == runtime.KindCall {
		var d runtime.CallData
		if json.Unmarshal(rec.Data, &d) == nil {
			if c.actions == nil {
				c.actions = map[uint64]string{}
			}
			c.actions[rec.Seq] = d.Action
		}
	}
}

// compared drops the outputs that are the runtime's bookkeeping rather than
// the program's behaviour.
func compared(outs []runtime.Output) []runtime.Output {
	kept := outs[:0:0]
	for _, o := range outs {
		if o.Kind != runtime.KindSnapshot {
			kept = append(kept, o)
		}
	}
	return kept
}

func (c *comparer) output(rec wal.Record) error {
	if rec.Kind == runtime.KindSnapshot {
		return nil
	}
	if !c.open || rec.Event != c.event.Seq {
		return nil // outputs of an event before the replay's start
	}
	if c.next >= len(c.outs) {
		c.diverge(&Divergence{OutputSeq: rec.Seq, OutputKind: rec.Kind, Recorded: rec.Data,
			Reason: fmt.Sprintf("the recording has a %s here that the replay did not produce", rec.Kind)},
			nil)
		return errStop
	}
	o := c.outs[c.next]
	c.next++
	if o.Kind != rec.Kind {
		c.diverge(&Divergence{OutputSeq: rec.Seq, OutputKind: rec.Kind, Recorded: rec.Data,
			Replayed: o.Data, Reason: fmt.Sprintf("the recording has a %s where the replay produced a %s",
				rec.Kind, o.Kind)}, o.Stack)
		return errStop
	}
	if changes := diff(rec.Kind, rec.Data, o.Data); len(changes) > 0 {
		c.diverge(&Divergence{OutputSeq: rec.Seq, OutputKind: rec.Kind, Recorded: rec.Data,
			Replayed: o.Data, Diff: changes, Reason: describe(rec.Kind, changes)}, o.Stack)
		return errStop
	}
	return nil
}

func (c *comparer) finishEvent() error {
	if !c.open {
		return nil
	}
	c.open = false
	if c.next < len(c.outs) {
		o := c.outs[c.next]
		c.diverge(&Divergence{OutputKind: o.Kind, Replayed: o.Data,
			Reason: fmt.Sprintf("the replay produced a %s that the recording does not have", o.Kind)},
			o.Stack)
		return errStop
	}
	return nil
}

func (c *comparer) diverge(d *Divergence, stack []runtime.Frame) {
	d.Seq, d.Kind, d.Stack = c.event.Seq, c.event.Kind, stack
	if len(d.Stack) == 0 {
		d.Stack = errorStack(d.Replayed)
	}
	if len(d.Stack) == 0 && c.res.Machine != nil {
		// A value returned has no stack of its own: point at the action.
		if name := c.actionName(d.Replayed); name != "" {
			if f, ok := c.res.Machine.ActionLocation(name); ok {
				d.Stack = []runtime.Frame{f}
			}
		}
	}
	c.res.Divergence = d
}

// actionName is the action whose outcome data is, if it is one.
func (c *comparer) actionName(data json.RawMessage) string {
	var r runtime.ResultData
	if json.Unmarshal(data, &r) != nil || r.Call == 0 {
		return ""
	}
	if name, ok := c.actions[r.Call]; ok {
		return name
	}
	return "endpoint"
}

// errorStack reads the stack of a replayed error, which is where it was
// thrown.
func errorStack(data json.RawMessage) []runtime.Frame {
	var e runtime.ResultData
	if json.Unmarshal(data, &e) != nil || e.Stack == "" {
		return nil
	}
	return runtime.ParseStack(e.Stack)
}

// ignored are the fields that may differ without the program behaving
// differently: a comment moves a thrown error's stack; a new action changes
// the list a deploy reports.
var ignored = map[string]map[string]bool{
	runtime.KindError:       {"stack": true},
	runtime.KindDeployError: {"stack": true},
	runtime.KindDeployed:    {"actions": true},
	runtime.KindResponse:    {"error.stack": true},
}

func isIgnored(kind, path string) bool {
	for p := range ignored[kind] {
		if path == p || strings.HasPrefix(path, p+"[") || strings.HasPrefix(path, p+".") {
			return true
		}
	}
	return false
}

// diff compares a recorded output's data with the replayed one's.
func diff(kind string, rec, rep json.RawMessage) []Change {
	if bytes.Equal(rec, rep) {
		return nil
	}
	var a, b any
	if json.Unmarshal(rec, &a) != nil || json.Unmarshal(rep, &b) != nil {
		return []Change{{Recorded: string(rec), Replayed: string(rep)}}
	}
	fa, fb := map[string]any{}, map[string]any{}
	flatten("", a, fa)
	flatten("", b, fb)
	paths := map[string]bool{}
	for p := range fa {
		paths[p] = true
	}
	for p := range fb {
		paths[p] = true
	}
	var out []Change
	for p := range paths {
		if isIgnored(kind, p) || reflect.DeepEqual(fa[p], fb[p]) {
			continue
		}
		out = append(out, Change{Path: p, Recorded: show(kind, p, fa[p]), Replayed: show(kind, p, fb[p])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func flatten(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			out[prefix] = x
		}
		for k, y := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, y, out)
		}
	case []any:
		if len(x) == 0 {
			out[prefix] = x
		}
		for i, y := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), y, out)
		}
	default:
		out[prefix] = v
	}
}

// show renders one value of a diff; bodies, which the log keeps in base64,
// are shown as text when they are text.
func show(kind, path string, v any) string {
	if v == nil {
		return "(absent)"
	}
	if s, ok := v.(string); ok && path == "body" && kind == runtime.KindFetch {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil && utf8.Valid(b) {
			return fmt.Sprintf("%q", b)
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// describe says in words what differs.
func describe(kind string, changes []Change) string {
	first := changes[0].Path
	switch kind {
	case runtime.KindFetch:
		return fmt.Sprintf("the request the program made differs (%s)", first)
	case runtime.KindResult:
		return "the action returned a different result"
	case runtime.KindError:
		return "the action failed differently"
	case runtime.KindConsole:
		return "a console line differs"
	case runtime.KindTimerSet, runtime.KindScheduleSet:
		return fmt.Sprintf("a %s differs (%s)", kind, first)
	case runtime.KindResponse:
		return "the endpoint answered differently"
	}
	return fmt.Sprintf("the %s differs (%s)", kind, first)
}
