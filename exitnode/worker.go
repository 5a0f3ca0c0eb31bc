package exitnode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
)

// WorkerEnv is set to "1" in the environment of a transformer started as a
// long-lived worker, so one script can serve both modes.
const WorkerEnv = "MEMBRANE_TRANSFORMER_WORKER"

// workerTransformer keeps executables running between requests, which
// saves starting a process (and an interpreter) for every request. A worker
// reads one request per line on standard input, each the same JSON object a
// one-shot transformer reads, and answers each with one line on standard
// output, in order. A worker that exits, writes bad output or runs out of
// time fails that request with 502 and is replaced for the next one; when
// the file changes, workers started from the old file are stopped.
type workerTransformer struct {
	path      string
	stderr    io.Writer
	maxOutput int64

	mu     sync.Mutex
	idle   []*worker
	closed bool
}

type worker struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	stamp fileStamp
}

func newWorkerTransformer(path string, stderr io.Writer, maxOutput int64) *workerTransformer {
	return &workerTransformer{path: path, stderr: stderr, maxOutput: maxOutput}
}

func (t *workerTransformer) transform(ctx context.Context, req *Request) (*Request, error) {
	line, err := req.encode()
	if err != nil {
		return nil, fmt.Errorf("encode the request for the transformer: %w", err)
	}
	w, err := t.get()
	if err != nil {
		return nil, err
	}

	type answer struct {
		line []byte
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		if _, err := w.in.Write(append(line, '\n')); err != nil {
			done <- answer{err: err}
			return
		}
		out, err := readLine(w.out, t.maxOutput)
		done <- answer{out, err}
	}()

	select {
	case <-ctx.Done():
		w.stop()
		<-done
		return nil, timeoutError(ctx)
	case a := <-done:
		if a.err != nil {
			status := w.stop()
			if errors.Is(a.err, errLineTooLong) {
				return nil, fmt.Errorf("transformer wrote more than %d bytes", t.maxOutput)
			}
			return nil, fmt.Errorf("transformer worker exited (%s) before answering", status)
		}
		out, err := DecodeRequest(a.line)
		if err != nil {
			// The worker's stream may be out of step now; start afresh.
			w.stop()
			return nil, err
		}
		t.put(w)
		return out, nil
	}
}

// get returns an idle worker started from the file as it is now, or
// starts one.
func (t *workerTransformer) get() (*worker, error) {
	stamp, err := stampOf(t.path)
	if err != nil {
		return nil, fmt.Errorf("transformer %s cannot be read: %w", t.path, err)
	}
	t.mu.Lock()
	var stale []*worker
	var w *worker
	for len(t.idle) > 0 && w == nil {
		last := t.idle[len(t.idle)-1]
		t.idle = t.idle[:len(t.idle)-1]
		if last.stamp == stamp {
			w = last
		} else {
			stale = append(stale, last)
		}
	}
	t.mu.Unlock()
	for _, s := range stale {
		s.stop()
	}
	if w != nil {
		return w, nil
	}
	return t.start(stamp)
}

func (t *workerTransformer) start(stamp fileStamp) (*worker, error) {
	cmd := exec.Command(t.path)
	cmd.Env = append(os.Environ(), WorkerEnv+"=1")
	cmd.Stderr = t.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start transformer worker: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start transformer worker: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("transformer could not run: %w", err)
	}
	return &worker{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10), stamp: stamp}, nil
}

// maxIdleWorkers bounds the processes kept between requests; more may run
// while that many requests are in flight at once.
var maxIdleWorkers = max(16, runtime.GOMAXPROCS(0))

// put keeps a worker for the next request.
func (t *workerTransformer) put(w *worker) {
	t.mu.Lock()
	if !t.closed && len(t.idle) < maxIdleWorkers {
		t.idle = append(t.idle, w)
		w = nil
	}
	t.mu.Unlock()
	if w != nil {
		w.stop()
	}
}

// close stops every idle worker; a worker busy with a request is stopped
// when that request ends.
func (t *workerTransformer) close() {
	t.mu.Lock()
	idle := t.idle
	t.idle, t.closed = nil, true
	t.mu.Unlock()
	for _, w := range idle {
		w.stop()
	}
}

// stop ends the worker and says how it ended.
func (w *worker) stop() string {
	w.in.Close()
	w.cmd.Process.Kill()
	err := w.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ProcessState.String()
	}
	if err != nil {
		return err.Error()
	}
	return "exit status 0"
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line of at most max bytes, without its newline.
func readLine(r *bufio.Reader, max int64) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if int64(len(line)) > max {
			return nil, errLineTooLong
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}
