package watch

import (
	"path"
	"path/filepath"
	"strings"
)

// buildExts are the extensions of files a build can read: sources esbuild
// loads and JSON (package.json, tsconfig.json, imported data).
var buildExts = map[string]bool{
	".ts": true, ".tsx": true, ".mts": true, ".cts": true,
	".js": true, ".jsx": true, ".mjs": true, ".cjs": true,
	".json": true,
}

// ignoredDirs are folder names never watched, wherever they sit: the log,
// version control, tools' caches and editors' own state. node_modules itself
// is watched, since installing a package can change a build; its caches are
// not.
var ignoredDirs = map[string]bool{
	".membrane":     true,
	".git":          true,
	".hg":           true,
	".svn":          true,
	".jj":           true,
	".cache":        true, // node_modules/.cache and tools that follow it
	".parcel-cache": true,
	".turbo":        true,
	".vite":         true, // node_modules/.vite
	".pnpm-store":   true,
	".idea":         true,
	".vscode":       true,
}

// tempSuffixes end the names editors give the files they write on the way
// to a save, or the backups they keep beside it.
var tempSuffixes = []string{
	"~",            // vim, emacs and nano backups
	".tmp",         // many tools' atomic writes
	".vsctmp",      // VS Code atomic save
	".crswap",      // browser-based editors (File System Access API)
	"___jb_tmp___", // JetBrains safe write, the new content
	"___jb_old___", // JetBrains safe write, the old content
	".kate-swp",    // Kate
	".DS_Store",    // macOS Finder
}

// Ignored reports whether a change at rel, a path relative to the watched
// folder, cannot change a build, so the watcher passes over it. isDir says
// whether rel names a folder; an ignored folder is not watched at all.
//
// A folder is ignored when any part of its path is one of .membrane, .git,
// .hg, .svn, .jj, .idea, .vscode or a cache (.cache, which covers
// node_modules/.cache, .parcel-cache, .turbo, .vite, .pnpm-store). A file is
// ignored when it sits in an ignored folder, when its name is an editor's
// temporary, lock or backup file (such as vim's 4913 probe and .swp/.swx swap
// files, "name~", emacs's ".#name" and "#name#", "*.tmp", JetBrains's
// ___jb_tmp___ and ___jb_old___, VS Code's .vsctmp, .DS_Store), and otherwise
// unless it is a file a build reads: .ts .tsx .mts .cts .js .jsx .mjs .cjs
// .json, which includes package.json.
//
// rel may use either slash; the watched folder itself ("." or "") is never
// ignored.
func Ignored(rel string, isDir bool) bool {
	rel = path.Clean(filepath.ToSlash(rel))
	if rel == "." || rel == "/" {
		return false
	}
	rel = strings.TrimPrefix(rel, "/")

	// Every folder on the way, and rel itself when it is one.
	rest := rel
	for {
		part, more, found := strings.Cut(rest, "/")
		if !found && !isDir {
			break
		}
		if ignoredDirs[part] {
			return true
		}
		if !found {
			return false
		}
		rest = more
	}

	name := rest
	if editorTemp(name) {
		return true
	}
	return !buildExts[strings.ToLower(path.Ext(name))]
}

// editorTemp reports whether name is a file an editor writes while saving,
// locks a file with, or keeps as a backup.
func editorTemp(name string) bool {
	switch {
	case name == "4913": // vim checks it may create files in the folder
		return true
	case strings.HasPrefix(name, ".#"): // emacs lock
		return true
	case len(name) > 1 && strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"):
		return true // emacs auto-save
	case vimSwap(path.Ext(name)):
		return true
	}
	for _, s := range tempSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// vimSwap reports whether ext is one of vim's swap file extensions: .swp,
// then .swo, .swn and so on down when one is taken, and .swx for the probe
// vim makes before it creates one.
func vimSwap(ext string) bool {
	return len(ext) == 4 && strings.HasPrefix(ext, ".sw") && ext[3] >= 'a' && ext[3] <= 'z'
}
