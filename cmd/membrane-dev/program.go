package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/membrane-dev/membrane-dev/bundle"
	"github.com/membrane-dev/membrane-dev/control"
	"github.com/membrane-dev/membrane-dev/replay"
	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/membrane-dev/membrane-dev/wal"
)

func init() {
	// A test hook: scenarios pretend to be another runtime version to check
	// that a run refuses a checkpoint it did not make.
	if v := os.Getenv("MEMBRANE_DEV_RUNTIME_VERSION"); v != "" {
		runtime.Version = v
	}
}

// defaultDeadline is how long one event may run: 10 s unless the
// environment's MEMBRANE_DEV_DEADLINE (a Go duration such as "2s") says
// otherwise. `run --deadline` overrides both.
func defaultDeadline() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("MEMBRANE_DEV_DEADLINE")); err == nil && d > 0 {
		return d
	}
	return runtime.DefaultDeadline
}

// programDir resolves the DIR a command works on and checks it is a program.
func programDir(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("the program directory %s does not exist", dir)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	return abs, nil
}

// hasProgram says whether dir holds code or a log.
func hasLog(dir string) bool {
	_, err := os.Stat(wal.Path(dir))
	return err == nil
}

// openLog opens the log of dir for writing, creating it with a fresh random
// salt the first time. A log held by another process is named with its pid.
func openLog(dir string) (*wal.Log, error) {
	l, err := wal.Open(dir, wal.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, explainOpen(dir, err)
	}
	if s, err := replay.Salt(l); err != nil || len(s) == 0 {
		salt := make([]byte, 32)
		_, _ = rand.Read(salt)
		if err := l.SetMeta("salt", salt); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

func explainOpen(dir string, err error) error {
	if errors.Is(err, wal.ErrLocked) {
		holder := "another process"
		if b, e := os.ReadFile(holderPath(dir)); e == nil {
			pid, what, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
			if _, e := strconv.Atoi(pid); e == nil && what != "" {
				holder = fmt.Sprintf("another process (pid %s, %s)", pid, what)
			}
		}
		return fmt.Errorf("the log %s is held by %s", relLog(dir), holder)
	}
	return err
}

// holderPath names the process that holds the log for writing, so that one
// kept waiting can say who it waits for.
func holderPath(dir string) string { return filepath.Join(dir, ".membrane", "holder") }

func relLog(dir string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, wal.Path(dir)); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return wal.Path(dir)
}

// openForReading gives a consistent, read-only view of the log of dir: a
// copy made by the live run when there is one, so the run is never paused,
// or the file itself.
func openForReading(ctx context.Context, dir string) (*wal.Log, func(), error) {
	if c, err := control.Dial(dir); err == nil {
		defer c.Close()
		resp, err := c.Do(ctx, "GET", "/snapshot", nil)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		f, err := os.CreateTemp("", "membrane-log-*.db")
		if err != nil {
			return nil, nil, err
		}
		cleanup := func() { os.Remove(f.Name()) }
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			cleanup()
			return nil, nil, fmt.Errorf("copying the live log: %w", err)
		}
		f.Close()
		l, err := wal.OpenFile(f.Name(), wal.Options{ReadOnly: true})
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		return l, func() { l.Close(); cleanup() }, nil
	}
	if !hasLog(dir) {
		return nil, nil, fmt.Errorf("%s has no log yet: start it with `membrane-dev run`", dir)
	}
	l, err := wal.Open(dir, wal.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return nil, nil, explainOpen(dir, err)
	}
	return l, func() { l.Close() }, nil
}

// recoverMachine brings the program back as the log left it: from the last
// checkpoint, replaying what came after and checking it still matches.
func recoverMachine(l *wal.Log, deadline time.Duration, progress func(done, total uint64)) (*runtime.Machine, error) {
	res, err := replay.Run(l, replay.Options{Start: replay.FromLatest, Deadline: deadline, Progress: progress})
	if err != nil {
		return nil, err
	}
	if d := res.Divergence; d != nil {
		return nil, fmt.Errorf("bringing the program back diverged from its log, so it was not started: "+
			"%s\n%sIf the runtime changed, check the history with `membrane-dev replay` and move it over "+
			"with `membrane-dev replay --upgrade`", d.Summary(), d.Format())
	}
	return res.Machine, nil
}

// commandWords is the subcommand being run, such as "run" or "call".
func commandWords() []string {
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			return []string{a}
		}
	}
	return nil
}

// live is a program running in this process: its log, Machine and Runner.
type live struct {
	dir      string
	log      *wal.Log
	runner   *runtime.Runner
	buildErr error // the last build's failure, for the language server
}

type liveOptions struct {
	deadline        time.Duration
	checkpointEvery int
	console         func(level, text string)
	progress        func(done, total uint64)
	transport       runtimeTransport
}

// startLive opens the log of dir for writing and starts its Runner.
func startLive(dir string, o liveOptions) (*live, error) {
	if o.deadline == 0 {
		o.deadline = defaultDeadline()
	}
	l, err := openLog(dir)
	if err != nil {
		return nil, err
	}
	holder := fmt.Sprintf("%d membrane-dev %s\n", os.Getpid(), strings.Join(commandWords(), " "))
	_ = os.WriteFile(holderPath(dir), []byte(holder), 0o600)
	m, err := recoverMachine(l, o.deadline, o.progress)
	if err != nil {
		l.Close()
		return nil, err
	}
	salt, _ := replay.Salt(l)
	cfg := runtime.RunnerConfig{
		Log: l, Machine: m, Salt: salt, Deadline: o.deadline, Console: o.console,
		CheckpointEvery: o.checkpointEvery,
		Rebuild:         func() (*runtime.Machine, error) { return recoverMachine(l, o.deadline, nil) },
	}
	if o.transport != nil {
		cfg.Transport = o.transport
	}
	return &live{dir: dir, log: l, runner: runtime.NewRunner(cfg)}, nil
}

func (p *live) close() error {
	_ = os.Remove(holderPath(p.dir))
	err := p.runner.Close()
	if cerr := p.log.Close(); err == nil {
		err = cerr
	}
	return err
}

// deployResult says what a deploy did, for the line `run` prints.
type deployResult struct {
	version string
	took    time.Duration
	changed bool
}

// deployFromDisk builds the program and deploys it when it differs from the
// code now serving. A build error comes back as *bundle.BuildError.
func (p *live) deployFromDisk(ctx context.Context) (deployResult, error) {
	began := time.Now()
	prog, err := bundle.Build(p.dir, bundle.Options{})
	if err != nil {
		return deployResult{}, err
	}
	cv := runtime.CodeVersionOf(prog)
	var serving string
	_ = p.runner.Inspect(ctx, func(m *runtime.Machine) { serving = m.Code() })
	if serving == cv.Hash {
		return deployResult{version: cv.Hash}, nil
	}
	rep, err := p.runner.Deploy(ctx, cv)
	if err != nil {
		return deployResult{}, err
	}
	if rep.Output != nil && rep.Output.Kind == runtime.KindDeployError {
		var d runtime.ResultData
		_ = json.Unmarshal(rep.Output.Data, &d)
		return deployResult{}, &programError{what: "the new code failed as it loaded", d: d}
	}
	return deployResult{version: cv.Hash, took: time.Since(began), changed: true}, nil
}

// programError is an error the program threw, with its JS stack.
type programError struct {
	what string
	d    runtime.ResultData
}

func (e *programError) Error() string {
	msg := e.what + ": " + e.d.Message
	if e.d.Stack != "" {
		msg += "\n" + indentStack(e.d.Stack)
	}
	return msg
}

// indentStack keeps only the "at" lines of a stack (its first line repeats
// the message).
func indentStack(stack string) string {
	var out []string
	for _, l := range strings.Split(stack, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "at ") {
			out = append(out, "    "+t)
		}
	}
	return strings.Join(out, "\n")
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
