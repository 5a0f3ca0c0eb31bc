package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// SocketPath is where the live run of the program in dir listens.
func SocketPath(dir string) string { return filepath.Join(dir, ".membrane", "control.sock") }

// ErrNotRunning means no run is live for the directory.
var ErrNotRunning = errors.New("no run is live for the program")

// ErrRunning means a run is already live for the directory.
var ErrRunning = errors.New("a run is already live for the program")

// Server serves h on the directory's socket.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	path string
}

// Listen opens the socket of dir for h. The socket's folder is the owner's
// alone (0700) and the socket 0600; beyond the file modes, each connection's
// peer must run as the same user, which the kernel vouches for.
func Listen(dir string, h http.Handler) (*Server, error) {
	path := SocketPath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if c, err := Dial(dir); err == nil {
		c.Close()
		return nil, ErrRunning
	}
	_ = os.Remove(path) // a socket left by a run that died
	old := syscallUmask(0o177)
	ln, err := net.Listen("unix", path)
	syscallUmask(old)
	if err != nil {
		return nil, fmt.Errorf("opening the control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{ln: &ownerOnly{ln}, path: path,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(s.ln) }()
	return s, nil
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	_ = os.Remove(s.path)
	return err
}

func syscallUmask(mask int) int { return syscall.Umask(mask) }

// ownerOnly refuses connections from other users.
type ownerOnly struct{ net.Listener }

func (l *ownerOnly) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if sameUser(c) {
			return c, nil
		}
		c.Close()
	}
}

func sameUser(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return false
	}
	return int(cred.Uid) == os.Getuid()
}

// Client talks to a live run.
type Client struct {
	HTTP *http.Client
	path string
}

// Dial connects to the live run of dir, or returns ErrNotRunning.
func Dial(dir string) (*Client, error) {
	path := SocketPath(dir)
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, ErrNotRunning
	}
	conn.Close()
	c := &Client{path: path}
	c.HTTP = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	return c, nil
}

// Close releases the client's connections.
func (c *Client) Close() { c.HTTP.CloseIdleConnections() }

// Do sends a request to the run; path is like "/call".
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://run"+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("talking to the live run: %w", err)
	}
	return resp, nil
}

// Call sends in as JSON (nil: no body) and decodes the answer into out (nil:
// ignore it). An answer other than 200 becomes an error carrying the run's
// own sentence.
func (c *Client) Call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.Do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return errors.New(strings.TrimSpace(string(msg)))
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("the live run's answer does not decode: %w", err)
	}
	return nil
}
