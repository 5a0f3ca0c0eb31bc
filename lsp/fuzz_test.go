package lsp

import (
	"fmt"
	"testing"
	"time"
)

// FuzzAnalyze feeds arbitrary file contents to the analysis and the rules:
// they may refuse a file, never panic.
func FuzzAnalyze(f *testing.F) {
	f.Add(counterProgram)
	f.Add(utilModule)
	f.Add("export const Root = { a() {}, 'b'() {} };\nawait 1;\nrequire('x'); process.exit();\n")
	f.Add("import d, * as ns from './x';\nexport * from './y';\nexport { a as default } from './z';\n")
	f.Fuzz(func(t *testing.T, src string) {
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				panic(fmt.Sprintf("analysis of %q did not finish", src))
			}
		}()
		defer close(done)
		fi, err := analyze("/p/index.ts", src)
		if err != nil {
			return
		}
		for _, r := range fi.refs {
			if r.at.start < 0 || r.at.end > len(src) || src[r.at.start:r.at.end] != r.name {
				t.Fatalf("reference %q pinned at %v, which holds something else", r.name, r.at)
			}
		}
		checkRules(fi, actionNames(actions(fi)), true)
	})
}

// FuzzSourceMap decodes arbitrary mappings; lookups stay in range.
func FuzzSourceMap(f *testing.F) {
	f.Add(`{"mappings":"AAAA,SAAS;AACnC,YAAYA;;AAAA","names":["x"]}`)
	f.Fuzz(func(t *testing.T, data string) {
		sm, err := parseSourceMap([]byte(data))
		if err != nil {
			return
		}
		for l := -1; l <= len(sm.lines); l++ {
			sm.lookup(l, 3)
			sm.originalName(l, 0)
		}
	})
}
