package replay

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

func TestDiff(t *testing.T) {
	cases := []struct {
		name, kind string
		rec, rep   string
		want       []Change
	}{
		{"same bytes", runtime.KindResult, `{"call":3,"value":2}`, `{"call":3,"value":2}`, nil},
		{"same value, other key order", runtime.KindResult, `{"value":2,"call":3}`, `{"call":3,"value":2}`, nil},
		{"other result", runtime.KindResult, `{"call":3,"value":{"n":1}}`, `{"call":3,"value":{"n":2}}`,
			[]Change{{Path: "value.n", Recorded: "1", Replayed: "2"}}},
		{"fetch url and body", runtime.KindFetch,
			`{"id":1,"method":"POST","url":"http://a/x","body":"aGk="}`,
			`{"id":1,"method":"POST","url":"http://a/y","body":"aG8="}`,
			[]Change{{Path: "body", Recorded: `"hi"`, Replayed: `"ho"`},
				{Path: "url", Recorded: `"http://a/x"`, Replayed: `"http://a/y"`}}},
		{"header added", runtime.KindFetch, `{"id":1,"headers":[["a","1"]]}`,
			`{"id":1,"headers":[["a","1"],["b","2"]]}`,
			[]Change{{Path: "headers[1][0]", Recorded: "(absent)", Replayed: `"b"`},
				{Path: "headers[1][1]", Recorded: "(absent)", Replayed: `"2"`}}},
		{"an error's stack may move", runtime.KindError, `{"call":3,"message":"x","stack":"at a (index.ts:3:1)"}`,
			`{"call":3,"message":"x","stack":"at a (index.ts:5:1)"}`, nil},
		{"an error's message may not", runtime.KindError, `{"call":3,"message":"x"}`, `{"call":3,"message":"y"}`,
			[]Change{{Path: "message", Recorded: `"x"`, Replayed: `"y"`}}},
		{"a new action is harmless", runtime.KindDeployed, `{"code":"c","actions":["a"]}`,
			`{"code":"c","actions":["a","b"]}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := diff(c.kind, json.RawMessage(c.rec), json.RawMessage(c.rep))
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("change %d: got %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

// TestComparerFindsEachKindOfDivergence walks the comparer through an event
// whose outputs are missing, extra, of another kind, or different.
func TestComparerFindsEachKindOfDivergence(t *testing.T) {
	event := wal.Record{Seq: 7, Kind: runtime.KindCall, Data: json.RawMessage(`{"action":"go"}`)}
	out := func(kind, data string) runtime.Output {
		return runtime.Output{Kind: kind, Data: json.RawMessage(data),
			Stack: []runtime.Frame{{Func: "go", File: "index.ts", Line: 4, Column: 3}}}
	}
	rec := func(seq uint64, kind, data string) wal.Record {
		return wal.Record{Seq: seq, Kind: kind, Event: 7, Data: json.RawMessage(data)}
	}
	cases := []struct {
		name     string
		replayed []runtime.Output
		recorded []wal.Record
		reason   string
	}{
		{"match", []runtime.Output{out("console", `{"level":"log","text":"a"}`)},
			[]wal.Record{rec(8, "console", `{"level":"log","text":"a"}`)}, ""},
		{"missing in replay", nil, []wal.Record{rec(8, "console", `{"level":"log","text":"a"}`)},
			"the recording has a console here that the replay did not produce"},
		{"extra in replay", []runtime.Output{out("console", `{"level":"log","text":"a"}`)}, nil,
			"the replay produced a console that the recording does not have"},
		{"other kind", []runtime.Output{out("timer.set", `{"id":1}`)},
			[]wal.Record{rec(8, "console", `{"level":"log","text":"a"}`)},
			"the recording has a console where the replay produced a timer.set"},
		{"other line", []runtime.Output{out("console", `{"level":"log","text":"b"}`)},
			[]wal.Record{rec(8, "console", `{"level":"log","text":"a"}`)}, "a console line differs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := &Result{}
			cm := &comparer{res: res}
			cm.startEvent(event, c.replayed)
			var err error
			for _, r := range c.recorded {
				if err = cm.output(r); err != nil {
					break
				}
			}
			if err == nil {
				_ = cm.finishEvent()
			}
			d := res.Divergence
			if c.reason == "" {
				if d != nil {
					t.Fatalf("unexpected divergence: %s", d.Format())
				}
				return
			}
			if d == nil {
				t.Fatalf("no divergence, want %q", c.reason)
			}
			if d.Reason != c.reason || d.Seq != 7 || d.Kind != runtime.KindCall {
				t.Fatalf("got %+v", d)
			}
			if len(c.replayed) > 0 && !strings.Contains(d.Format(), "at go (index.ts:4:3)") {
				t.Errorf("the report lacks the place:\n%s", d.Format())
			}
		})
	}
}
