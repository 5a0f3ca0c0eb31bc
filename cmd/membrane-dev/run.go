package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/control"
	"github.com/membrane-dev/membrane-dev/lsp"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/spf13/cobra"
)

type runtimeTransport = http.RoundTripper

type runFlags struct {
	addr            string
	noWatch         bool
	checkpointEvery int
	deadline        time.Duration
	exitNode        string
	exitNodeToken   string
	transformer     string
	allowPrivate    bool
}

func init() {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [DIR]",
		Short: "Run a program: serve its endpoint, deploy on save, keep its state",
		Long: `Run a program: serve its endpoint, deploy on save, keep its state.

Every input is written to the program's log before its effects escape, so the
program comes back as it was after a restart or a crash.

--checkpoint-every N makes a checkpoint every N events when nothing is
pending. A checkpoint bounds how much of the log a restart replays; like any
deploy it evaluates the module afresh, so module variables start over and
only state carries over.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := ""
			if len(args) == 1 {
				dir = args[0]
			}
			return runProgram(cmd, dir, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8787", "serve the program's endpoint at `HOST:PORT`")
	fl.BoolVar(&f.noWatch, "no-watch", false, "do not deploy when files change")
	fl.IntVar(&f.checkpointEvery, "checkpoint-every", 0, "make a checkpoint every `N` events (resets module variables)")
	fl.DurationVar(&f.deadline, "deadline", defaultDeadline(), "stop and roll back an event that runs longer")
	fl.StringVar(&f.exitNode, "exit-node", "", "send the program's fetches through the exit node at `URL`")
	fl.StringVar(&f.exitNodeToken, "exit-node-token-file", "", "the exit node's token, from `PATH`")
	fl.StringVar(&f.transformer, "transformer", "", "run an exit node in this process with the transformer at `PATH`")
	fl.BoolVar(&f.allowPrivate, "allow-private", false, "let the embedded exit node reach private addresses")
	root.AddCommand(cmd)
}

func runProgram(cmd *cobra.Command, dirArg string, f runFlags) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	dir, err := programDir(dirArg)
	if err != nil {
		return err
	}
	if f.checkpointEvery < 0 {
		return usagef("--checkpoint-every takes a number of events, not %d", f.checkpointEvery)
	}
	if c, err := control.Dial(dir); err == nil {
		c.Close()
		return fmt.Errorf("a run is already live for %s", dir)
	}
	transport, stopExitNode, err := exitNodeTransport(f, errOut)
	if err != nil {
		return err
	}
	defer stopExitNode()

	// The port first: a port in use should fail before the log is touched.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("cannot serve at %s: %w", f.addr, unwrapNet(err))
	}
	defer ln.Close()

	p, err := startLive(dir, liveOptions{
		deadline: f.deadline, checkpointEvery: f.checkpointEvery, transport: transport,
		console:  consolePrinter(out, errOut),
		progress: progressBar(errOut, "restoring"),
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := firstDeploy(ctx, p, out, errOut); err != nil {
		_ = p.close()
		return err
	}
	// The editor's TypeScript server learns the runtime API from this file.
	if err := lsp.WriteTypings(dir); err != nil {
		fmt.Fprintf(errOut, "membrane-dev: %v\n", err)
	}

	ctl, err := control.Listen(dir, newControlHandler(p))
	if err != nil {
		_ = p.close()
		return err
	}
	srv := &http.Server{Handler: endpointHandler(p), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(out, "serving http://%s\n", ln.Addr())

	if !f.noWatch {
		stopWatch, err := watchAndDeploy(ctx, p, out, errOut)
		if err != nil {
			fmt.Fprintf(errOut, "membrane-dev: not watching for changes: %v\n", err)
		} else {
			defer stopWatch()
		}
	}

	select {
	case <-ctx.Done():
	case <-p.runner.Failed():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	_ = ctl.Close()
	if err := p.close(); err != nil {
		return err
	}
	return nil
}

// firstDeploy deploys the files on disk when they differ from what the log
// last ran. A build error is fatal only when there is nothing to serve.
func firstDeploy(ctx context.Context, p *live, out, errOut io.Writer) error {
	res, err := p.deployFromDisk(ctx)
	var be *bundle.BuildError
	var pe *programError
	switch {
	case err == nil:
		if res.changed {
			fmt.Fprintf(out, "deployed %s in %s\n", shortHash(res.version), res.took.Round(time.Millisecond))
		}
		return nil
	case errors.As(err, &be), errors.As(err, &pe), errors.Is(err, bundle.ErrNoEntry):
		var serving string
		_ = p.runner.Inspect(ctx, func(m *runtime.Machine) { serving = m.Code() })
		if serving == "" {
			return err
		}
		fmt.Fprintf(errOut, "build error: %s (still serving %s)\n", oneLine(err), shortHash(serving))
		return nil
	}
	return err
}

func consolePrinter(out, errOut io.Writer) func(level, text string) {
	return func(level, text string) {
		switch level {
		case "warn", "error":
			fmt.Fprintln(errOut, text)
		default:
			fmt.Fprintln(out, text)
		}
	}
}

func unwrapNet(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		var se *os.SyscallError
		if errors.As(op.Err, &se) {
			return se.Err
		}
		return op.Err
	}
	return err
}

// maxEndpointBody bounds a request to the program's endpoint.
const maxEndpointBody = 32 << 20

// endpointHandler turns HTTP requests into endpoint events.
func endpointHandler(p *live) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxEndpointBody+1))
		if err != nil || len(body) > maxEndpointBody {
			http.Error(w, "the request body is too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		rep, err := p.runner.Endpoint(r.Context(), runtime.EndpointData{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Headers: r.Header, Body: string(body),
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		var d runtime.ResponseData
		if rep.Output != nil {
			_ = json.Unmarshal(rep.Output.Data, &d)
		}
		for _, h := range d.Headers {
			w.Header().Add(h[0], h[1])
		}
		b := []byte(d.Body)
		if d.Base64 {
			b, _ = base64.StdEncoding.DecodeString(d.Body)
		}
		if d.Status == 0 {
			d.Status = http.StatusOK
		}
		w.WriteHeader(d.Status)
		_, _ = w.Write(b)
	})
}
