package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/membrane-dev/membrane-dev/exitnode"
	"github.com/membrane-dev/membrane-dev/watch"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// exitNodeTransport is how the program's fetches leave: directly, through a
// standalone exit node, or through one embedded in this process. The
// returned stop releases the embedded one.
func exitNodeTransport(f runFlags, errOut io.Writer) (runtimeTransport, func(), error) {
	none := func() {}
	switch {
	case f.exitNode != "" && f.transformer != "":
		return nil, none, usagef("--exit-node and --transformer cannot be used together: " +
			"one sends fetches to an exit node elsewhere, the other runs one here")
	case f.exitNode != "":
		if f.exitNodeToken == "" {
			return nil, none, usagef("--exit-node needs --exit-node-token-file")
		}
		token, err := exitnode.ReadToken(f.exitNodeToken)
		if err != nil {
			return nil, none, err
		}
		return refusalsAsErrors{exitnode.ProxyRoundTripper(f.exitNode, token)}, none, nil
	case f.transformer != "":
		if _, err := os.Stat(f.transformer); err != nil {
			return nil, none, fmt.Errorf("the transformer %s does not exist", f.transformer)
		}
		// The access log goes to standard error; the exit node redacts
		// credentials and the values its transformer adds.
		s, err := exitnode.New(exitnode.Config{Transformer: f.transformer, AllowPrivate: f.allowPrivate,
			TransformerStderr: errOut, Logger: slog.New(slog.NewJSONHandler(errOut, nil))})
		if err != nil {
			return nil, none, err
		}
		return refusalsAsErrors{s.RoundTripper()}, func() { _ = s.Close() }, nil
	case f.allowPrivate:
		return nil, none, usagef("--allow-private applies to the exit node --transformer starts")
	}
	return nil, none, nil
}

// refusalsAsErrors makes the exit node's own refusals (a private address,
// a failing transformer) fail the program's fetch with the exit node's
// sentence, rather than reach the program as a response.
type refusalsAsErrors struct{ rt http.RoundTripper }

func (r refusalsAsErrors) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := exitnode.ResponseError(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// progressBar shows long work on a terminal, and nothing elsewhere.
func progressBar(w io.Writer, label string) func(done, total uint64) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var bar *progressbar.ProgressBar
	began := time.Now()
	return func(done, total uint64) {
		if bar == nil {
			if time.Since(began) < 300*time.Millisecond && done < total {
				return
			}
			bar = progressbar.NewOptions64(int64(total), progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(label), progressbar.OptionShowCount(),
				progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
		}
		_ = bar.Set64(int64(done))
		if done >= total {
			_ = bar.Finish()
		}
	}
}

// watchAndDeploy deploys the program each time a burst of saves settles. A
// broken build keeps the last good version serving and names the line.
func watchAndDeploy(ctx context.Context, p *live, out, errOut io.Writer) (func(), error) {
	w, err := watch.New(p.dir, watch.Options{})
	if err != nil {
		return nil, err
	}
	p.setBuildError(nil)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case err, ok := <-w.Errors():
				if !ok {
					return
				}
				fmt.Fprintf(errOut, "membrane-dev: watching: %v\n", err)
			case _, ok := <-w.Changes():
				if !ok {
					return
				}
				res, err := p.deployFromDisk(ctx)
				p.setBuildError(err)
				switch {
				case err != nil && !errors.Is(err, context.Canceled):
					fmt.Fprintf(errOut, "build error: %s\n", firstLine(err))
				case res.changed:
					fmt.Fprintf(out, "deployed %s in %s\n", shortHash(res.version),
						res.took.Round(time.Millisecond))
				}
			}
		}
	}()
	return func() { _ = w.Close() }, nil
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// serverLogger is where lsp and dap write their own log: nowhere, or the
// file --log names. Their standard output carries the protocol.
func serverLogger(path string) (*slog.Logger, func(), error) {
	if path == "" {
		return slog.New(slog.DiscardHandler), func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open the log file: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, nil)), func() { f.Close() }, nil
}
