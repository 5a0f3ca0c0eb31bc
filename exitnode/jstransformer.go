package exitnode

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/evanw/esbuild/pkg/api"
)

// jsGlobalName is where the bundle leaves the module's exports.
const jsGlobalName = "__exitNodeTransformer"

// jsTransformer runs a .js or .ts transformer in the embedded engine, with no
// Node.js installed. The file is bundled with esbuild (so it may import
// relative modules and TypeScript) and its default export is called as
//
//	export default function (req, { env }) { ...; return req }
//
// with req in the Request shape. It may return a promise of the request; a
// throw or a rejection refuses the request. One goja runtime serves one
// request at a time, so runtimes are pooled. When the file changes on disk
// the next request rebuilds it, and a build error refuses requests until
// the file is fixed.
type jsTransformer struct {
	path    string
	env     map[string]string
	console io.Writer

	// envSecrets are the values in ctx.env, scrubbed from error messages.
	envSecrets Secrets

	current atomic.Pointer[jsGeneration]
	rebuild sync.Mutex
}

// maxIdleVMs bounds the runtimes kept between requests. A runtime is held
// only while its goroutine runs JavaScript, but goroutines are preempted,
// so more than one per processor can be in use at once; dropping and
// rebuilding runtimes under load costs far more than keeping a few.
var maxIdleVMs = max(16, 2*runtime.GOMAXPROCS(0))

// jsGeneration is one build of the transformer file and its idle runtimes.
type jsGeneration struct {
	stamp fileStamp
	prog  *goja.Program
	err   error // the build error, when the build failed
	idle  chan *jsVM
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	info, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{info.ModTime(), info.Size()}, nil
}

func newJSTransformer(path string, env map[string]string,
	console io.Writer) (*jsTransformer, error) {
	values := make([]string, 0, len(env))
	for _, v := range env {
		values = append(values, v)
	}
	t := &jsTransformer{path: path, env: env, console: console, envSecrets: NewSecrets(values...)}
	gen := t.build()
	if gen.err != nil {
		return nil, gen.err
	}
	t.current.Store(gen)
	return t, nil
}

// generation returns the build matching the file on disk, rebuilding it
// when the file changed since the last build.
func (t *jsTransformer) generation() *jsGeneration {
	gen := t.current.Load()
	stamp, err := stampOf(t.path)
	if err == nil && stamp == gen.stamp {
		return gen
	}
	t.rebuild.Lock()
	defer t.rebuild.Unlock()
	if gen = t.current.Load(); err == nil && stamp == gen.stamp {
		return gen
	}
	gen = t.build()
	t.current.Store(gen)
	return gen
}

// build bundles and compiles the file. Errors name the file and position.
func (t *jsTransformer) build() *jsGeneration {
	gen := &jsGeneration{idle: make(chan *jsVM, maxIdleVMs)}
	stamp, err := stampOf(t.path)
	if err != nil {
		gen.err = fmt.Errorf("transformer %s cannot be read: %w", t.path, err)
		return gen
	}
	gen.stamp = stamp
	res := api.Build(api.BuildOptions{
		EntryPoints: []string{t.path},
		Bundle:      true,
		Write:       false,
		Format:      api.FormatIIFE,
		GlobalName:  jsGlobalName,
		Target:      api.ES2020,
		Platform:    api.PlatformNeutral,
		MainFields:  []string{"module", "main"},
		LogLevel:    api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		gen.err = buildError(res.Errors[0])
		return gen
	}
	if len(res.OutputFiles) != 1 {
		gen.err = fmt.Errorf("transformer %s: bundling produced %d files", t.path, len(res.OutputFiles))
		return gen
	}
	prog, err := goja.Compile(t.path, string(res.OutputFiles[0].Contents), false)
	if err != nil {
		gen.err = fmt.Errorf("transformer %s does not compile: %w", t.path, err)
		return gen
	}
	gen.prog = prog

	// Load it once now so a file without a default export fails at build.
	vm, err := t.newVM(prog)
	if err != nil {
		gen.err = err
		return gen
	}
	gen.idle <- vm
	return gen
}

func buildError(m api.Message) error {
	if m.Location == nil {
		return fmt.Errorf("transformer: %s", m.Text)
	}
	return fmt.Errorf("%s:%d:%d: %s", m.Location.File, m.Location.Line,
		m.Location.Column+1, m.Text)
}

// jsVM is one runtime with the transformer loaded.
type jsVM struct {
	rt  *goja.Runtime
	fn  goja.Callable
	ctx goja.Value

	// broken is set when the runtime was interrupted; it is not reused.
	broken bool
}

func (t *jsTransformer) newVM(prog *goja.Program) (*jsVM, error) {
	rt := goja.New()
	t.installConsole(rt)
	installBase64(rt)
	if _, err := rt.RunProgram(prog); err != nil {
		return nil, fmt.Errorf("transformer %s failed to load: %w", t.path, err)
	}
	exports := rt.Get(jsGlobalName)
	if exports == nil || goja.IsUndefined(exports) || goja.IsNull(exports) {
		return nil, fmt.Errorf("transformer %s has no default export function", t.path)
	}
	fn, ok := goja.AssertFunction(exports.ToObject(rt).Get("default"))
	if !ok {
		return nil, fmt.Errorf("transformer %s has no default export function", t.path)
	}
	env := rt.NewObject()
	for k, v := range t.env {
		if err := env.Set(k, v); err != nil {
			return nil, fmt.Errorf("set up the transformer's env: %w", err)
		}
	}
	ctx := rt.NewObject()
	if err := ctx.Set("env", env); err != nil {
		return nil, fmt.Errorf("set up the transformer's context: %w", err)
	}
	return &jsVM{rt: rt, fn: fn, ctx: ctx}, nil
}

// installBase64 gives the transformer atob and btoa, as browsers and Node
// have them, so it can read and rewrite the base64 body. Like theirs, they
// work on strings of characters up to U+00FF, one byte each.
func installBase64(rt *goja.Runtime) {
	_ = rt.Set("btoa", func(s string) (string, error) {
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return "", errors.New("btoa: the string has characters outside Latin-1")
			}
			b = append(b, byte(r))
		}
		return base64.StdEncoding.EncodeToString(b), nil
	})
	_ = rt.Set("atob", func(s string) (string, error) {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return "", errors.New("atob: the string is not base64")
		}
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), nil
	})
}

// installConsole gives the transformer console.log and friends, written to
// the transformer's standard error.
func (t *jsTransformer) installConsole(rt *goja.Runtime) {
	console := rt.NewObject()
	write := func(call goja.FunctionCall) goja.Value {
		if t.console == nil {
			return goja.Undefined()
		}
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			parts[i] = a.String()
		}
		fmt.Fprintln(t.console, strings.Join(parts, " "))
		return goja.Undefined()
	}
	for _, name := range []string{"log", "info", "warn", "error", "debug"} {
		_ = console.Set(name, write)
	}
	_ = rt.Set("console", console)
}

func (t *jsTransformer) transform(ctx context.Context, req *Request) (*Request, error) {
	gen := t.generation()
	if gen.err != nil {
		return nil, gen.err
	}
	var vm *jsVM
	select {
	case vm = <-gen.idle:
	default:
		var err error
		if vm, err = t.newVM(gen.prog); err != nil {
			return nil, err
		}
	}

	out, err := vm.call(ctx, req)
	var interrupted *goja.InterruptedError
	if errors.As(err, &interrupted) {
		// An interrupted runtime may be left half-way; drop it.
		return nil, timeoutError(ctx)
	}
	if !vm.broken {
		select {
		case gen.idle <- vm:
		default:
		}
	}
	if err != nil && !t.envSecrets.Empty() {
		// A message built from ctx.env must not carry a credential on.
		err = errors.New(t.envSecrets.ScrubString(err.Error()))
	}
	return out, err
}

func (vm *jsVM) call(ctx context.Context, req *Request) (*Request, error) {
	if deadline, ok := ctx.Deadline(); ok {
		stop := time.AfterFunc(time.Until(deadline), func() { vm.rt.Interrupt("time-out") })
		defer func() {
			if !stop.Stop() {
				vm.broken = true
			}
		}()
	}
	arg, err := vm.toJS(req)
	if err != nil {
		return nil, fmt.Errorf("pass the request to the transformer: %w", err)
	}
	res, err := vm.fn(goja.Undefined(), arg, vm.ctx)
	if err != nil {
		return nil, jsError("threw", err)
	}
	if p, ok := res.Export().(*goja.Promise); ok {
		switch p.State() {
		case goja.PromiseStateFulfilled:
			res = p.Result()
		case goja.PromiseStateRejected:
			return nil, jsError("rejected", p.Result())
		default:
			return nil, errors.New("transformer returned a promise that never settled")
		}
	}
	if res == nil || goja.IsUndefined(res) || goja.IsNull(res) {
		return nil, errors.New("transformer returned nothing; it must return the request")
	}
	return vm.fromJS(res)
}

// toJS builds the request as a plain JavaScript object, the same shape a
// transformer executable reads (body in base64).
func (vm *jsVM) toJS(req *Request) (goja.Value, error) {
	rt := vm.rt
	headers := rt.NewObject()
	for name, values := range req.Headers {
		items := make([]any, len(values))
		for i, v := range values {
			items[i] = v
		}
		if err := headers.Set(name, rt.NewArray(items...)); err != nil {
			return nil, err
		}
	}
	obj := rt.NewObject()
	for k, v := range map[string]any{
		"method": req.Method, "url": req.URL, "headers": headers,
		"body": base64.StdEncoding.EncodeToString(req.Body),
	} {
		if err := obj.Set(k, v); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// fromJS reads the request a transformer returned and checks it as
// DecodeRequest checks an executable's output.
func (vm *jsVM) fromJS(v goja.Value) (*Request, error) {
	obj, ok := v.(*goja.Object)
	if !ok {
		return nil, fmt.Errorf("transformer returned %s, not a request object", v.String())
	}
	str := func(field string) (string, error) {
		f := obj.Get(field)
		if f == nil || goja.IsUndefined(f) || goja.IsNull(f) {
			return "", nil
		}
		s, ok := f.Export().(string)
		if !ok {
			return "", fmt.Errorf("transformer returned a request whose %q is not a string", field)
		}
		return s, nil
	}
	req := &Request{Headers: map[string][]string{}}
	var err error
	if req.Method, err = str("method"); err != nil {
		return nil, err
	}
	if req.URL, err = str("url"); err != nil {
		return nil, err
	}
	body, err := str("body")
	if err != nil {
		return nil, err
	}
	if req.Body, err = base64.StdEncoding.DecodeString(body); err != nil {
		return nil, errors.New("transformer returned a body that is not base64")
	}
	if h := obj.Get("headers"); h != nil && !goja.IsUndefined(h) && !goja.IsNull(h) {
		hobj, ok := h.(*goja.Object)
		if !ok {
			return nil, errors.New("transformer returned headers that are not an object")
		}
		for _, name := range hobj.Keys() {
			values, ok := hobj.Get(name).Export().([]any)
			if !ok {
				return nil, fmt.Errorf("transformer returned header %s that is not a list of strings", name)
			}
			for _, item := range values {
				s, ok := item.(string)
				if !ok {
					return nil, fmt.Errorf("transformer returned header %s that is not a list of strings",
						name)
				}
				req.Headers[name] = append(req.Headers[name], s)
			}
		}
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	return req, nil
}

// jsError describes a throw or rejection by its message, without the stack.
func jsError(what string, v any) error {
	var interrupted *goja.InterruptedError
	if err, ok := v.(error); ok && errors.As(err, &interrupted) {
		return interrupted
	}
	msg := ""
	switch v := v.(type) {
	case *goja.Exception:
		msg = v.Value().String()
	case goja.Value:
		msg = v.String()
	case error:
		msg = v.Error()
	}
	return fmt.Errorf("transformer %s: %s", what, msg)
}
