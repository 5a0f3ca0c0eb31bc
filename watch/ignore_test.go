package watch_test

import (
	"testing"

	"github.com/membrane-dev/membrane-dev/watch"
)

func TestIgnored(t *testing.T) {
	tests := []struct {
		rel   string
		isDir bool
		want  bool
	}{
		// Files a build reads.
		{"index.ts", false, false},
		{"lib/math.tsx", false, false},
		{"a.mts", false, false},
		{"a.cts", false, false},
		{"a.js", false, false},
		{"a.jsx", false, false},
		{"a.mjs", false, false},
		{"a.cjs", false, false},
		{"data.json", false, false},
		{"package.json", false, false},
		{"node_modules/leftpad/index.js", false, false},
		{"node_modules/leftpad/package.json", false, false},
		{"types.d.ts", false, false},
		{"Upper.TS", false, false},
		{`lib\win.ts`, false, false},

		// Files a build does not read.
		{"README.md", false, true},
		{"Makefile", false, true},
		{"style.css", false, true},
		{"lib/notes.txt", false, true},

		// Editors' temporary, lock and backup files.
		{"4913", false, true},
		{".index.ts.swp", false, true},
		{".index.ts.swo", false, true},
		{".index.ts.swx", false, true},
		{"index.ts~", false, true},
		{".#index.ts", false, true},
		{"#index.ts#", false, true},
		{"index.ts.tmp", false, true},
		{"index.ts___jb_tmp___", false, true},
		{"index.ts___jb_old___", false, true},
		{"index.ts.vsctmp", false, true},
		{"index.ts.crswap", false, true},
		{".DS_Store", false, true},
		{"lib/.DS_Store", false, true},

		// Folders never watched, and what is inside them.
		{".membrane", true, true},
		{".membrane/bundle.js", false, true},
		{".git", true, true},
		{".git/hooks/pre-commit.js", false, true},
		{"sub/.git", true, true},
		{"node_modules/.cache", true, true},
		{"node_modules/.cache/babel/x.json", false, true},
		{"node_modules/.vite/deps/a.js", false, true},
		{".parcel-cache/x.json", false, true},
		{".turbo", true, true},
		{".idea/workspace.json", false, true},
		{".vscode/settings.json", false, true},

		// Folders watched.
		{".", true, false},
		{"", true, false},
		{"lib", true, false},
		{"node_modules", true, false},
		{"node_modules/leftpad", true, false},
		{"node_modules/highlight.js", true, false},
		{".github", true, false},
	}
	for _, tt := range tests {
		if got := watch.Ignored(tt.rel, tt.isDir); got != tt.want {
			t.Errorf("Ignored(%q, %v) = %v, want %v", tt.rel, tt.isDir, got, tt.want)
		}
	}
}

func BenchmarkIgnored(b *testing.B) {
	paths := []string{
		"index.ts", "node_modules/leftpad/index.js", ".git/objects/ab/cdef",
		".index.ts.swp", "lib/deep/er/still/file.json", "README.md",
	}
	for b.Loop() {
		for _, p := range paths {
			watch.Ignored(p, false)
		}
	}
}
