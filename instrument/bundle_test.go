package instrument

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/evanw/esbuild/pkg/api"
	"github.com/go-sourcemap/sourcemap"
)

const stockTS = `import { confirm } from "./confirm";

interface Item { name: string; qty: number }

export async function restock(items: Item[], extra: number): Promise<number> {
  let total = 0;
  for (const item of items) {
    const added = item.qty + extra;
    total += added;
  }
  const confirmed = await confirm(total);
  const final: number = confirmed * 2;
  return final;
}
`

const confirmTS = `export async function confirm(n: number): Promise<number> {
  return n + 1;
}
`

// bundleTS bundles the TypeScript program as the runtime does and returns
// the bundle and its source map.
func bundleTS(t *testing.T) (string, *sourcemap.Consumer) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range map[string]string{"main.ts": stockTS, "confirm.ts": confirmTS} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := api.Build(api.BuildOptions{
		EntryPoints: []string{filepath.Join(dir, "main.ts")},
		Bundle:      true,
		Format:      api.FormatCommonJS,
		Target:      api.ES2020,
		Sourcemap:   api.SourceMapExternal,
		Outfile:     filepath.Join(dir, "out.js"),
		Write:       false,
	})
	if len(out.Errors) > 0 {
		t.Fatalf("esbuild: %v", out.Errors[0].Text)
	}
	var code, smap []byte
	for _, f := range out.OutputFiles {
		switch filepath.Ext(f.Path) {
		case ".js":
			code = f.Contents
		case ".map":
			smap = f.Contents
		}
	}
	sm, err := sourcemap.Parse("out.js.map", smap)
	if err != nil {
		t.Fatal(err)
	}
	return string(code), sm
}

// tsSite finds the statement site whose bundle position maps to a line of
// main.ts.
func tsSite(t *testing.T, res *Result, sm *sourcemap.Consumer, line int) Site {
	t.Helper()
	for _, s := range res.Sites {
		src, _, l, _, ok := sm.Source(s.Line, s.Col)
		if ok && s.Kind == KindStmt && strings.HasSuffix(src, "main.ts") && l == line {
			return s
		}
	}
	t.Fatalf("no statement site maps to main.ts:%d", line)
	return Site{}
}

func TestTypeScriptBundle(t *testing.T) {
	bundle, sm := bundleTS(t)
	res, err := Instrument(bundle, Options{Filename: "out.js"})
	if err != nil {
		t.Fatal(err)
	}
	loop := tsSite(t, res, sm, 9)    // total += added;
	resume := tsSite(t, res, sm, 12) // const final = confirmed * 2; after the await

	vm := goja.New()
	h, err := NewHost(vm, res)
	if err != nil {
		t.Fatal(err)
	}
	h.SetBreakpoint(loop.ID, true)
	h.SetBreakpoint(resume.ID, true)

	var got []string
	invocations := map[int]int64{}
	h.OnStop(func(s Stop) {
		sc, err := s.Scopes()
		if err != nil {
			t.Fatal(err)
		}
		_, _, line, _, _ := sm.Source(s.Site.Line, s.Site.Col)
		vals := map[string]string{}
		for _, b := range sc.Locals {
			switch {
			case b.Uninitialized:
				vals[b.Name] = "<uninitialized>"
			case b.Value != nil:
				vals[b.Name] = b.Value.String()
			}
		}
		switch line {
		case 9:
			item, _ := s.Evaluate("item.name")
			got = append(got, "9 "+item.String()+" added="+vals["added"]+" total="+vals["total"])
		case 12:
			got = append(got, "12 confirmed="+vals["confirmed"]+" final="+vals["final"])
		}
		invocations[line] = s.Invocation
	})

	exports := wrap(t, vm, res.Code).(*goja.Object)
	restock, _ := goja.AssertFunction(exports.Get("restock"))
	items, err := vm.RunString(`[{ name: "bolts", qty: 3 }, { name: "nuts", qty: 4 }]`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := restock(goja.Undefined(), items, vm.ToValue(10))
	if err != nil {
		t.Fatal(err)
	}
	promise := p.Export().(*goja.Promise)
	if promise.State() != goja.PromiseStateFulfilled || promise.Result().ToInteger() != 56 {
		t.Fatalf("restock settled %v with %v, want 56", promise.State(), promise.Result())
	}

	want := []string{
		"9 bolts added=13 total=0",
		"9 nuts added=14 total=13",
		"12 confirmed=28 final=<uninitialized>",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if invocations[9] != invocations[12] {
		t.Errorf("after the await the invocation is %d, before it %d: want the same call",
			invocations[12], invocations[9])
	}
}
