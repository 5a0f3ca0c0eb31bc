package lsp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTypingsDocumentTheRuntimeAPI(t *testing.T) {
	idx := runtimeAPI()
	for _, key := range []string{
		"membrane.state", "membrane.root", "membrane.nodes", "membrane.sleep", "membrane.cancel",
		"ActionHandle.$invokeIn", "ActionHandle.$invokeAt", "ActionHandle.$cron",
		".fetch", ".setTimeout", ".clearTimeout", ".setInterval", ".clearInterval", ".console",
		"console.log", "console.info", "console.warn", "console.error",
		".URL", ".URLSearchParams", ".TextEncoder", ".TextDecoder", ".atob", ".btoa",
		".structuredClone", ".Headers", ".Request", ".Response", "crypto.randomUUID",
	} {
		e := idx.byKey[key]
		if e == nil {
			t.Errorf("%s is not declared", key)
			continue
		}
		if e.doc == "" {
			t.Errorf("%s has no documentation", key)
		}
	}
	sleep := idx.lookup("membrane", "sleep")
	if sleep.signature != "function sleep(seconds: number): Promise<void>" || !sleep.function ||
		len(sleep.params) != 1 || sleep.params[0].label != "seconds: number" {
		t.Errorf("sleep = %+v", sleep)
	}
}

func TestWriteTypings(t *testing.T) {
	dir := t.TempDir()
	if err := WriteTypings(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, TypingsFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != Typings() || !strings.Contains(string(b), `declare module "membrane"`) {
		t.Errorf("written typings differ from Typings()")
	}
	if err := WriteTypings(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("writing into a missing folder succeeded")
	}
}

func TestParamLabels(t *testing.T) {
	cases := map[string][]string{
		"function f(): void": nil,
		"function f(a: number, b?: { x: string; y: number })": {
			"a: number", "b?: { x: string; y: number }"},
		"function g(fn: (...args: any[]) => void, ms?: number)": {
			"fn: (...args: any[]) => void", "ms?: number"},
	}
	for sig, want := range cases {
		got := paramLabels(sig)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("paramLabels(%q) = %q, want %q", sig, got, want)
		}
	}
}
