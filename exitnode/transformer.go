package exitnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// transformer rewrites one request. It returns an error for every way it
// can fail, and the pipeline then sends nothing upstream.
type transformer interface {
	transform(ctx context.Context, req *Request) (*Request, error)
}

// closer is a transformer holding processes that must end with the server.
type closer interface{ close() }

// newTransformer picks the engine by the file's name: .js, .mjs and .ts run
// in the embedded JavaScript engine, anything else is executed.
func newTransformer(cfg Config) (transformer, error) {
	path, err := filepath.Abs(cfg.Transformer)
	if err != nil {
		return nil, fmt.Errorf("transformer %s: %w", cfg.Transformer, err)
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("transformer %s %w", cfg.Transformer, ErrNoTransformer)
	}
	if err != nil {
		return nil, fmt.Errorf("transformer %s cannot be read: %w", cfg.Transformer, err)
	}
	if info.IsDir() {
		return nil, fmt.Errorf("transformer %s is a directory, not a file", cfg.Transformer)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts":
		env := map[string]string{}
		for _, name := range cfg.TransformerEnv {
			if v, ok := os.LookupEnv(name); ok {
				env[name] = v
			}
		}
		return newJSTransformer(path, env, cfg.TransformerStderr)
	}
	if info.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("transformer %s is not executable (chmod +x it, "+
			"or name it .js or .ts to run it in the embedded engine)", cfg.Transformer)
	}
	maxOutput := cfg.MaxBodyBytes*4/3 + maxTransformerOutput
	if cfg.TransformerWorker {
		return newWorkerTransformer(path, cfg.TransformerStderr, maxOutput), nil
	}
	return &execTransformer{path: path, stderr: cfg.TransformerStderr, maxOutput: maxOutput}, nil
}

// execTransformer runs the executable once per request: the request on its
// standard input, the rewritten request on its standard output. It runs the
// file as it is at that moment, so a change to it applies to the next
// request. The process inherits the exit node's environment; its standard
// error goes to stderr when one is set.
type execTransformer struct {
	path      string
	stderr    io.Writer
	maxOutput int64
}

func (t *execTransformer) transform(ctx context.Context, req *Request) (*Request, error) {
	in, err := req.encode()
	if err != nil {
		return nil, fmt.Errorf("encode the request for the transformer: %w", err)
	}
	cmd := exec.CommandContext(ctx, t.path)
	cmd.Stdin = bytes.NewReader(in)
	out := &cappedBuffer{max: t.maxOutput}
	cmd.Stdout = out
	cmd.Stderr = t.stderr
	// A child that keeps the pipes open after the time-out must not hold
	// the request.
	cmd.WaitDelay = 200 * time.Millisecond

	err = cmd.Run()
	if ctx.Err() != nil {
		return nil, timeoutError(ctx)
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return nil, fmt.Errorf("transformer exited with status %d", exit.ExitCode())
	case err != nil:
		return nil, fmt.Errorf("transformer could not run: %w", err)
	case out.over:
		return nil, fmt.Errorf("transformer wrote more than %d bytes", t.maxOutput)
	}
	return DecodeRequest(out.Bytes())
}

// timeoutError says how long the transformer had when its time ran out.
func timeoutError(ctx context.Context) error {
	if d, ok := ctx.Value(timeoutKey{}).(time.Duration); ok {
		return fmt.Errorf("transformer did not answer within %s", d)
	}
	return errors.New("transformer did not answer in time")
}

// timeoutKey carries the transformer's time limit in its context, so the
// message can name it.
type timeoutKey struct{}

// cappedBuffer keeps at most max bytes and notes whether more came.
type cappedBuffer struct {
	bytes.Buffer
	max  int64
	over bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - int64(b.Len())
	if int64(len(p)) > room {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
