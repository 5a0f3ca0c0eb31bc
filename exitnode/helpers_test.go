package exitnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// publicAddr is what the test resolver answers for the upstream's name: a
// documentation address the policy treats as public. The test dialer then
// connects it to the loopback upstream, so requests reach a real server
// while the policy judges the address it was told.
var publicAddr = netip.MustParseAddr("203.0.113.10")

// testNet is a resolver and dialer for tests. It records every dial, so a
// test can assert that a refused request never left the exit node.
type testNet struct {
	mu    sync.Mutex
	names map[string]netip.Addr
	dials []string
}

func newTestNet() *testNet {
	return &testNet{names: map[string]netip.Addr{
		"api.example.com":       publicAddr,
		"private.example.com":   netip.MustParseAddr("10.1.2.3"),
		"meta.example.com":      netip.MustParseAddr("169.254.169.254"),
		"cgnat.example.com":     netip.MustParseAddr("100.64.1.1"),
		"loop.example.com":      netip.MustParseAddr("127.0.0.1"),
		"mapped.example.com":    netip.MustParseAddr("::ffff:10.0.0.1"),
		"nat64.example.com":     netip.MustParseAddr("64:ff9b::a00:1"),
		"ula.example.com":       netip.MustParseAddr("fd00::1"),
		"linklocal.example.com": netip.MustParseAddr("fe80::1"),
	}}
}

func (n *testNet) lookup(_ context.Context, host string) ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if a, ok := n.names[host]; ok {
		return []netip.Addr{a}, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

func (n *testNet) dial(ctx context.Context, network string, addr netip.AddrPort) (net.Conn, error) {
	n.mu.Lock()
	n.dials = append(n.dials, addr.String())
	n.mu.Unlock()
	target := addr
	if addr.Addr() == publicAddr {
		target = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addr.Port())
	} else if !addr.Addr().IsLoopback() {
		return nil, errors.New("test network reaches only loopback")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, target.String())
}

func (n *testNet) dialCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.dials)
}

// upstream is a loopback server that records what reached it and echoes
// the Authorization header back, as a careless API might.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	hits []*http.Request
	body []string
}

func newUpstream(t *testing.T, tlsServer bool) *upstream {
	u := &upstream{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.hits = append(u.hits, r)
		u.body = append(u.body, string(b))
		u.mu.Unlock()
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		w.Header().Set(ErrorHeader, "forged")
		w.Header().Set("Content-Type", "text/plain")
		echo := fmt.Sprintf("path=%s auth=%s query=%s body=%s", r.URL.Path,
			r.Header.Get("Authorization"), r.URL.RawQuery, b)
		if strings.HasPrefix(r.URL.Path, "/stream") {
			// Stream the echo in two flushed pieces, splitting any
			// credential in it across them.
			half := strings.Index(echo, "auth=") + 12
			io.WriteString(w, echo[:half])
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
			io.WriteString(w, echo[half:])
			return
		}
		io.WriteString(w, echo)
	})
	u.Server = httptest.NewUnstartedServer(h)
	// The untrusted-certificate test makes the handshake fail on purpose.
	u.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsServer {
		u.StartTLS()
	} else {
		u.Start()
	}
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.hits)
}

func (u *upstream) last() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.hits) == 0 {
		return nil
	}
	return u.hits[len(u.hits)-1]
}

func (u *upstream) lastBody() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.body) == 0 {
		return ""
	}
	return u.body[len(u.body)-1]
}

// url is the upstream's address under the public test name.
func (u *upstream) url(path string) string {
	_, port, _ := net.SplitHostPort(u.Listener.Addr().String())
	scheme := "http"
	if u.TLS != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://api.example.com:%s%s", scheme, port, path)
}

// syncBuffer collects the access log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// node is a standalone exit node serving on loopback for one test.
type node struct {
	*Server
	url   string
	token string
	net   *testNet
	log   *syncBuffer

	// shutdown stops serving and returns what Serve returned.
	shutdown func() error
}

// newNode starts a standalone exit node. cfg.Listen and cfg.TokenFile are
// filled in when empty.
func newNode(t testing.TB, cfg Config) *node {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.TokenFile == "" {
		cfg.TokenFile = filepath.Join(t.TempDir(), "token")
	}
	s, tn, logs := newEmbedded(t, cfg)
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	n := &node{Server: s, url: "http://" + ln.Addr().String(), net: tn, log: logs}
	n.shutdown = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := n.shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	if n.token, err = ReadToken(cfg.TokenFile); err != nil {
		t.Fatal(err)
	}
	return n
}

// newEmbedded makes an exit node on the test network, logging to a buffer.
// With no cfg.Listen it has no port.
func newEmbedded(t testing.TB, cfg Config) (*Server, *testNet, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tn := newTestNet()
	s.lookup, s.dial = tn.lookup, tn.dial
	return s, tn, logs
}

func (n *node) client() *http.Client {
	return &http.Client{Transport: ProxyRoundTripper(n.url, n.token), Timeout: 10 * time.Second}
}

// script writes an executable transformer.
func script(t testing.TB, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// get fetches url through rt and returns status, headers and body.
func get(t *testing.T, rt http.RoundTripper, method, url, body string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// injector is a Python transformer that adds a credential from its
// environment, as a new user would write it.
var injector = "#!" + pythonPath() + `
import json, os, sys
req = json.load(sys.stdin)
req["headers"]["Authorization"] = ["Bearer " + os.environ["UPSTREAM_KEY"]]
json.dump(req, sys.stdout)
`

// pythonPath prefers the system Python: a version-manager shim in front of
// it can take seconds to start, which would eat into the transformer's time.
func pythonPath() string {
	for _, p := range []string{"/usr/bin/python3", "/usr/local/bin/python3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/usr/bin/env python3"
}

const secretKey = "sk-live-0123456789abcdef"
