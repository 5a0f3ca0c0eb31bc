package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// Options configure a server.
type Options struct {
	// Facts reads what the log and a live run know. Nil leaves lenses, inlay
	// hints, state completion and diagnostics from history quiet.
	Facts Facts
	// Logger receives the server's own log; nil discards it. It never sees
	// file contents.
	Logger *slog.Logger
	// Debounce is how long diagnostics wait for edits to stop; 0 means 25 ms.
	Debounce time.Duration
	// Now is the clock lenses measure "3 s ago" against; nil means time.Now.
	Now func() time.Time
}

// defaultDebounce is how long diagnostics wait after the last change.
const defaultDebounce = 25 * time.Millisecond

// ErrShutdown is returned by requests that arrive after shutdown.
var ErrShutdown = errors.New("the server is shutting down")

// Serve speaks the protocol on rwc until the client sends exit or closes
// the connection.
func Serve(ctx context.Context, rwc io.ReadWriteCloser, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Debounce == 0 {
		opts.Debounce = defaultDebounce
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	inner, ok := jsonrpc2.NewHeaderStream(rwc).(frameStream)
	if !ok {
		return errors.New("lsp: the header stream offers no raw frames")
	}
	stream := &tolerantStream{inner: inner, log: opts.Logger}
	conn := jsonrpc2.NewConn(stream, jsonrpc2.WithCodec(codec{}))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := newServer(opts, protocol.ClientDispatcher(conn), cancel)
	defer s.close()
	handler := protocol.ServerHandler(s, jsonrpc2.MethodNotFoundHandler)
	conn.Go(ctx, protocol.CancelHandler(s.guard(handler)))

	select {
	case <-ctx.Done():
		conn.Close()
		<-conn.Done()
		return nil
	case <-conn.Done():
		if err := conn.Err(); err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
			return fmt.Errorf("lsp: connection: %w", err)
		}
		return nil
	}
}

// guard keeps one bad message from ending the session. Notifications run in
// order on the read loop and their errors are logged, not returned (jsonrpc2
// would close the connection); requests run concurrently, and a panic in one
// becomes its error reply.
func (s *server) guard(next jsonrpc2.Handler) jsonrpc2.Handler {
	return func(ctx context.Context, req *jsonrpc2.Request) (result any, err error) {
		method := req.Method()
		if req.IsCall() {
			jsonrpc2.Async(ctx)
		}
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("lsp: handler panicked", "method", method, "panic", r,
					"stack", string(debug.Stack()))
				result, err = nil, jsonrpc2.Errorf(jsonrpc2.InternalError,
					"internal error in %s: %v", method, r)
			}
			if err != nil && !req.IsCall() {
				s.log.Warn("lsp: notification failed", "method", method, "err", err)
				err = nil
			}
		}()
		if s.isShutdown() && req.IsCall() && method != protocol.MethodShutdown {
			return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, ErrShutdown.Error())
		}
		return next(ctx, req)
	}
}

// server is one session with one editor.
type server struct {
	protocol.UnimplementedServer

	opts   Options
	log    *slog.Logger
	client protocol.Client
	ws     *workspace
	diag   *diagnostics
	stop   context.CancelFunc

	mu         sync.Mutex
	settings   settings
	shutdown   bool
	exitCalled bool
}

// settings are the client's choices, from initialization options and later
// configuration changes.
type settings struct {
	typescriptServer bool // leave generic completion and syntax errors to it
	inlayHints       bool
}

func newServer(opts Options, client protocol.Client, stop context.CancelFunc) *server {
	s := &server{
		opts:     opts,
		log:      opts.Logger,
		client:   client,
		ws:       newWorkspace(),
		stop:     stop,
		settings: settings{inlayHints: true},
	}
	s.diag = newDiagnostics(s)
	return s
}

func (s *server) close() { s.diag.close() }

func (s *server) current() settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

func (s *server) isShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

// applySettings reads {"typescriptServer": bool, "inlayHints": bool}, either
// at the top of raw or under "membrane".
func (s *server) applySettings(raw []byte) {
	if len(raw) == 0 {
		return
	}
	type opts struct {
		TypescriptServer *bool `json:"typescriptServer"`
		InlayHints       *bool `json:"inlayHints"`
	}
	var v struct {
		opts
		Membrane *opts `json:"membrane"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		s.log.Warn("lsp: settings are not an object", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range []*opts{&v.opts, v.Membrane} {
		if o == nil {
			continue
		}
		if o.TypescriptServer != nil {
			s.settings.typescriptServer = *o.TypescriptServer
		}
		if o.InlayHints != nil {
			s.settings.inlayHints = *o.InlayHints
		}
	}
}
