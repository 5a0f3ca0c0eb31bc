package dap

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/google/go-dap"
	"github.com/membrane-dev/membrane-dev/wal"
)

// Config is what a Server needs from the rest of the tool.
type Config struct {
	// Open opens the log of the program in dir for reading. The function it
	// returns releases the log.
	Open func(ctx context.Context, dir string) (*wal.Log, func(), error)
	// Current builds the code on disk in dir, for "code": "current".
	Current func(dir string) (*wal.CodeVersion, error)
	// Logger receives the server's own log; nil discards it.
	Logger *slog.Logger
	// Spacing is how many events apart parked replays are kept; 0 picks a
	// sixteenth of the history, at least 64.
	Spacing int
}

// Server accepts debug sessions.
type Server struct {
	cfg Config
}

// NewServer makes a Server.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg}
}

// ServeConn runs one session on conn, such as standard input and output,
// until the client disconnects or ctx ends.
func (s *Server) ServeConn(ctx context.Context, conn io.ReadWriteCloser) error {
	return newSession(s.cfg, conn).serve(ctx)
}

// Listen checks that addr is a loopback address and listens there.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("%w: %q is not one", ErrNotLoopback, host)
		}
	}
	return net.Listen("tcp", addr)
}

// Serve runs a session for each connection ln accepts, until ctx ends or
// ln is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.ServeConn(ctx, conn); err != nil {
				s.cfg.Logger.Warn("dap: session ended", "err", err)
			}
		}()
	}
}

// codec decodes the standard messages and membrane's own requests.
var codec = func() *dap.Codec {
	c := dap.NewCodec()
	_ = c.RegisterRequest("membrane/events",
		func() dap.Message { return &EventsRequest{} },
		func() dap.Message { return &EventsResponse{} })
	_ = c.RegisterRequest("membrane/seek",
		func() dap.Message { return &SeekRequest{} },
		func() dap.Message { return &SeekResponse{} })
	return c
}()

// readMessage reads one message. A message that is framed but cannot be
// decoded comes back with its request header, so it can be answered.
func readMessage(r *bufio.Reader) (dap.Message, *dap.Request, error) {
	content, err := dap.ReadBaseMessage(r)
	if err != nil {
		return nil, nil, err
	}
	msg, err := codec.DecodeMessage(content)
	if err == nil {
		return msg, nil, nil
	}
	req := &dap.Request{}
	if jerr := json.Unmarshal(content, req); jerr != nil || req.Command == "" {
		return nil, &dap.Request{}, fmt.Errorf("the message is not a DAP request: %w", err)
	}
	var fe *dap.DecodeProtocolMessageFieldError
	if errors.As(err, &fe) && fe.FieldName == "command" {
		return nil, req, fmt.Errorf("%w: %s", errUnsupported, req.Command)
	}
	return nil, req, fmt.Errorf("the %s request does not decode: %w", req.Command, err)
}
