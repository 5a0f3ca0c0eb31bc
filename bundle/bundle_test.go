package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildBundlesImportsAndPackages(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"index.ts": `import { state } from "membrane";
import { twice } from "./lib/math";
import pad from "leftpad";
export function go(): string { state.n = 1; return pad(String(twice(2)), 3); }`,
		"lib/math.ts":                       `export const twice = (n: number): number => n * 2;`,
		"node_modules/leftpad/package.json": `{"name":"leftpad","main":"index.js"}`,
		"node_modules/leftpad/index.js":     `module.exports = (s, n) => " ".repeat(n - s.length) + s;`,
	})
	p, err := Build(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Bundle, `require("membrane")`) {
		t.Errorf("the bundle does not leave \"membrane\" to the runtime:\n%s", p.Bundle)
	}
	for _, want := range []string{"index.ts", "lib/math.ts", "node_modules/leftpad/index.js"} {
		if _, ok := p.Sources[want]; !ok {
			t.Errorf("sources lack %s: have %v", want, keys(p.Sources))
		}
	}
	again, err := Build(dir, Options{})
	if err != nil || again.Bundle != p.Bundle || again.SourceMap != p.SourceMap {
		t.Errorf("the same files built twice give different output (%v)", err)
	}
}

func TestBuildRefusals(t *testing.T) {
	cases := []struct {
		name, index string
		extra       map[string]string
		want        string // "file:line:col: text" prefix
		kind        string
	}{
		{"node builtin", "import { readFileSync } from \"fs\";\nexport const a = () => readFileSync(\"x\");\n",
			nil, `index.ts:1:30: the Node built-in "fs"`, KindRefused},
		{"node: prefix", "import * as p from \"node:path\";\nexport const a = () => p.join(\"a\");\n",
			nil, `index.ts:1:20: the Node built-in "node:path"`, KindRefused},
		{"native package", "import n from \"native\";\nexport const a = () => n;\n",
			map[string]string{
				"node_modules/native/package.json": `{"name":"native","main":"index.js","gypfile":true}`,
				"node_modules/native/index.js":     `module.exports = 1;`,
			}, `index.ts:1:15: the package "native" has native code`, KindRefused},
		{"top-level await", "export const a = 1;\nawait Promise.resolve();\n",
			nil, `index.ts:2:1: top-level await cannot be used`, KindRefused},
		{"syntax", "export const a = ;\n", nil, `index.ts:1:18: Unexpected ";"`, KindSyntax},
		{"missing file", "import { x } from \"./nope\";\nexport const a = () => x;\n",
			nil, `index.ts:1:19: Could not resolve "./nope"`, KindResolve},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"index.ts": c.index}
			for k, v := range c.extra {
				files[k] = v
			}
			_, err := Build(writeFiles(t, files), Options{})
			var be *BuildError
			if !errors.As(err, &be) {
				t.Fatalf("got %v, want a build error", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got %q, want it to start with %q", err, c.want)
			}
			if be.Messages[0].Kind != c.kind {
				t.Errorf("kind %q, want %q", be.Messages[0].Kind, c.kind)
			}
		})
	}
}

func TestOverlayReplacesDisk(t *testing.T) {
	dir := writeFiles(t, map[string]string{"index.ts": "export const a = 1;\n"})
	abs, _ := filepath.Abs(filepath.Join(dir, "index.ts"))
	_, err := Build(dir, Options{Overlay: map[string]string{abs: "export const a = ;\n"}})
	if err == nil || !strings.HasPrefix(err.Error(), "index.ts:1:18:") {
		t.Fatalf("the unsaved buffer was not built: %v", err)
	}
}

func TestNoEntry(t *testing.T) {
	_, err := Build(t.TempDir(), Options{})
	if !errors.Is(err, ErrNoEntry) {
		t.Fatalf("got %v, want ErrNoEntry", err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
