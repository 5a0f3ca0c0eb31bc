package bundle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

const guardName = "membrane-guard"

// nodeBuiltins are the modules Node.js provides itself. A program runs in
// goja, not Node, and these reach the machine (files, processes, sockets), so
// a run that used them could not be repeated.
var nodeBuiltins = map[string]bool{}

func init() {
	for _, m := range strings.Fields(`assert async_hooks buffer child_process cluster
		console constants crypto dgram diagnostics_channel dns domain events fs http
		http2 https inspector module net os path perf_hooks process punycode
		querystring readline repl stream string_decoder sys timers tls trace_events
		tty url util v8 vm wasi worker_threads zlib test sqlite sea`) {
		nodeBuiltins[m] = true
	}
}

// IsNodeBuiltin says whether an import path names a Node.js built-in module,
// such as "fs", "node:fs" or "fs/promises".
func IsNodeBuiltin(spec string) bool {
	if strings.HasPrefix(spec, "node:") {
		return true
	}
	base, _, _ := strings.Cut(spec, "/")
	return nodeBuiltins[base]
}

// guardPlugin keeps "membrane" for the runtime to provide and refuses Node
// built-ins and packages with native code, naming the import.
func guardPlugin(dir string) api.Plugin {
	return api.Plugin{
		Name: guardName,
		Setup: func(b api.PluginBuild) {
			b.OnResolve(api.OnResolveOptions{Filter: `^membrane$`},
				func(args api.OnResolveArgs) (api.OnResolveResult, error) {
					return api.OnResolveResult{Path: ModuleName, External: true}, nil
				})
			b.OnResolve(api.OnResolveOptions{Filter: `^[^./]`},
				func(args api.OnResolveArgs) (api.OnResolveResult, error) {
					if args.PluginData == guardName {
						return api.OnResolveResult{}, nil
					}
					if IsNodeBuiltin(args.Path) {
						return refuse(fmt.Sprintf("the Node built-in %q cannot be used in a program: "+
							"the runtime is not Node.js, and what it reaches could not be replayed",
							args.Path)), nil
					}
					r := b.Resolve(args.Path, api.ResolveOptions{
						Importer: args.Importer, ResolveDir: args.ResolveDir,
						Kind: args.Kind, PluginData: guardName,
					})
					if len(r.Errors) > 0 {
						return api.OnResolveResult{Errors: r.Errors}, nil
					}
					if pkg, ok := nativePackage(dir, r.Path); ok {
						return refuse(fmt.Sprintf("the package %q has native code and cannot be "+
							"used in a program: only pure-JavaScript packages run in the runtime", pkg)), nil
					}
					return api.OnResolveResult{Path: r.Path, External: r.External,
						Namespace: r.Namespace, SideEffects: api.SideEffectsTrue}, nil
				})
			b.OnLoad(api.OnLoadOptions{Filter: `\.node$`},
				func(args api.OnLoadArgs) (api.OnLoadResult, error) {
					return api.OnLoadResult{Errors: []api.Message{{Text: fmt.Sprintf(
						"the native addon %s cannot be used in a program", relPath(dir, args.Path))}}}, nil
				})
		},
	}
}

func refuse(text string) api.OnResolveResult {
	return api.OnResolveResult{Errors: []api.Message{{Text: text}}}
}

// nativePackage finds the package that holds file and says whether it builds
// native code (a binding.gyp, or "gypfile" in its package.json).
func nativePackage(dir, file string) (string, bool) {
	if !strings.Contains(filepath.ToSlash(file), "/node_modules/") {
		return "", false
	}
	for d := filepath.Dir(file); strings.HasPrefix(d, dir) && d != dir; d = filepath.Dir(d) {
		pj, err := os.ReadFile(filepath.Join(d, "package.json"))
		if err != nil {
			continue
		}
		var meta struct {
			Name    string `json:"name"`
			Gypfile bool   `json:"gypfile"`
		}
		_ = json.Unmarshal(pj, &meta)
		if meta.Name == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "binding.gyp")); err == nil || meta.Gypfile {
			return meta.Name, true
		}
		return meta.Name, false
	}
	return "", false
}

// overlayPlugin serves an editor's unsaved buffers instead of the files.
func overlayPlugin(overlay map[string]string) api.Plugin {
	return api.Plugin{
		Name: "membrane-overlay",
		Setup: func(b api.PluginBuild) {
			if len(overlay) == 0 {
				return
			}
			b.OnLoad(api.OnLoadOptions{Filter: `.*`},
				func(args api.OnLoadArgs) (api.OnLoadResult, error) {
					text, ok := overlay[args.Path]
					if !ok {
						return api.OnLoadResult{}, nil
					}
					return api.OnLoadResult{Contents: &text, Loader: loaderFor(args.Path),
						ResolveDir: filepath.Dir(args.Path)}, nil
				})
		},
	}
}

func loaderFor(path string) api.Loader {
	switch filepath.Ext(path) {
	case ".ts", ".mts", ".cts":
		return api.LoaderTS
	case ".tsx":
		return api.LoaderTSX
	case ".jsx":
		return api.LoaderJSX
	case ".json":
		return api.LoaderJSON
	}
	return api.LoaderJS
}
