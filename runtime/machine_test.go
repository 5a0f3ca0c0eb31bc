package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/wal"
)

// fixture builds a program from files and starts a Machine with it deployed
// as event 1.
type fixture struct {
	t   *testing.T
	m   *Machine
	seq uint64
	now int64
	cv  *wal.CodeVersion
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := bundle.Build(dir, bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cv := CodeVersionOf(p)
	m, err := NewMachine(Config{Salt: []byte("salt"), Code: func(h string) (*wal.CodeVersion, error) {
		return cv, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, m: m, now: 1_700_000_000_000, cv: cv}
	f.apply(KindDeploy, DeployData{Code: cv.Hash})
	return f
}

func (f *fixture) apply(kind string, data any) []Output {
	f.t.Helper()
	raw, _ := json.Marshal(data)
	f.seq++
	f.now += 1000
	outs, err := f.m.Apply(wal.Record{Seq: f.seq, Kind: kind, Time: f.now, Data: raw})
	if err != nil {
		f.t.Fatalf("event %d (%s): %v", f.seq, kind, err)
	}
	return outs
}

func (f *fixture) call(action string, args string) []Output {
	f.t.Helper()
	return f.apply(KindCall, CallData{Action: action, Args: json.RawMessage(args)})
}

func find(outs []Output, kind string) (Output, bool) {
	for _, o := range outs {
		if o.Kind == kind {
			return o, true
		}
	}
	return Output{}, false
}

func result(t *testing.T, outs []Output) string {
	t.Helper()
	o, ok := find(outs, KindResult)
	if !ok {
		t.Fatalf("no result among %s", kinds(outs))
	}
	var d ResultData
	_ = json.Unmarshal(o.Data, &d)
	return string(d.Value)
}

func kinds(outs []Output) string {
	var ks []string
	for _, o := range outs {
		ks = append(ks, o.Kind+" "+string(o.Data))
	}
	return strings.Join(ks, "\n")
}

const counter = `import { state } from "membrane";
state.count ??= 0;
let calls = 0;
export function increment({ by = 1 }: { by?: number }) {
  state.count += by;
  calls++;
  return { count: state.count, calls };
}
export function boom() {
  throw new Error("kaboom");
}
`

func TestCallsKeepStateAndModuleVariables(t *testing.T) {
	f := newFixture(t, map[string]string{"index.ts": counter})
	f.call("increment", `{}`)
	got := result(t, f.call("increment", `{"by": 5}`))
	if got != `{"count":6,"calls":2}` {
		t.Fatalf("got %s", got)
	}
}

func TestThrownErrorNamesOriginalLine(t *testing.T) {
	f := newFixture(t, map[string]string{"index.ts": counter})
	outs := f.call("boom", `{}`)
	o, ok := find(outs, KindError)
	if !ok {
		t.Fatalf("no error among %s", kinds(outs))
	}
	var d ResultData
	_ = json.Unmarshal(o.Data, &d)
	if d.Message != "kaboom" || !strings.Contains(d.Stack, "index.ts:10:") {
		t.Fatalf("got message %q stack %q", d.Message, d.Stack)
	}
}

func writeFile(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
