package exitnode

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// ProxyRoundTripper returns a RoundTripper that sends every request to the
// exit node at proxyURL, authenticated with token. Unlike http.Transport
// with Proxy set, it sends https:// requests in absolute form too, not
// through CONNECT, so the exit node (and its transformer) sees the request
// in plaintext and makes the TLS connection upstream itself. proxyURL may
// be http:// or https:// (TLS to the exit node). Connections to the exit
// node are kept alive and reused.
func ProxyRoundTripper(proxyURL string, token string) http.RoundTripper {
	p := &proxyClient{auth: "Bearer " + token, maxIdle: 64}
	u, err := url.Parse(proxyURL)
	switch {
	case err != nil:
		p.err = fmt.Errorf("exit node URL %q: %w", proxyURL, err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		p.err = fmt.Errorf("exit node URL %q is not an http or https URL", proxyURL)
	default:
		p.addr = u.Host
		if u.Port() == "" {
			port := map[string]string{"http": "80", "https": "443"}[u.Scheme]
			p.addr = net.JoinHostPort(u.Hostname(), port)
		}
		if u.Scheme == "https" {
			p.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		}
	}
	return p
}

type proxyClient struct {
	addr    string
	tls     *tls.Config
	auth    string
	err     error
	dialer  net.Dialer
	maxIdle int

	mu   sync.Mutex
	idle []*proxyConn
}

type proxyConn struct {
	c  net.Conn
	br *bufio.Reader
}

func (p *proxyClient) RoundTrip(req *http.Request) (*http.Response, error) {
	if p.err != nil {
		closeBody(req)
		return nil, p.err
	}
	if req.URL == nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
		closeBody(req)
		return nil, fmt.Errorf("%w: only http and https URLs go through the exit node", ErrBadRequest)
	}
	ctx := req.Context()
	out := req.Clone(ctx)
	out.Header.Set("Proxy-Authorization", p.auth)

	for attempt := 0; ; attempt++ {
		pc, reused, err := p.conn(ctx)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := p.send(ctx, pc, out)
		if err == nil {
			return resp, nil
		}
		pc.c.Close()
		// A kept-alive connection the exit node closed meanwhile: retry once
		// on a fresh one, if the body can be sent again.
		if !reused || attempt > 0 || ctx.Err() != nil || !rewind(out, req) {
			return nil, fmt.Errorf("exit node %s: %w", p.addr, err)
		}
	}
}

// rewind prepares out to be sent again, when its body allows it.
func rewind(out, req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	if req.GetBody == nil {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	out.Body = body
	return true
}

func (p *proxyClient) send(ctx context.Context, pc *proxyConn,
	out *http.Request) (*http.Response, error) {
	// Cancelling the request interrupts any read or write on the connection.
	stop := context.AfterFunc(ctx, func() { pc.c.SetDeadline(time.Unix(1, 0)) })
	if err := out.WriteProxy(pc.c); err != nil {
		stop()
		return nil, ctxErr(ctx, err)
	}
	resp, err := http.ReadResponse(pc.br, out)
	if err != nil {
		stop()
		return nil, ctxErr(ctx, err)
	}
	reusable := !resp.Close && !out.Close
	resp.Body = &proxyBody{src: resp.Body, done: func(clean bool) {
		if stop() && clean && reusable {
			p.put(pc)
			return
		}
		pc.c.Close()
	}}
	return resp, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (p *proxyClient) conn(ctx context.Context) (*proxyConn, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		pc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return pc, true, nil
	}
	p.mu.Unlock()

	c, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, fmt.Errorf("connect to exit node %s: %w", p.addr, err)
	}
	if p.tls != nil {
		tc := tls.Client(c, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, false, fmt.Errorf("TLS with exit node %s: %w", p.addr, err)
		}
		c = tc
	}
	return &proxyConn{c: c, br: bufio.NewReader(c)}, false, nil
}

func (p *proxyClient) put(pc *proxyConn) {
	pc.c.SetDeadline(time.Time{})
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.maxIdle {
		pc.c.Close()
		return
	}
	p.idle = append(p.idle, pc)
}

// CloseIdleConnections closes kept-alive connections to the exit node.
func (p *proxyClient) CloseIdleConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.idle {
		pc.c.Close()
	}
	p.idle = nil
}

// proxyBody hands the connection back once the body was read to its end,
// or closes it when reading failed.
type proxyBody struct {
	src  io.ReadCloser
	once sync.Once
	done func(clean bool)
}

func (b *proxyBody) Read(p []byte) (int, error) {
	n, err := b.src.Read(p)
	if err != nil {
		clean := errors.Is(err, io.EOF)
		b.once.Do(func() { b.done(clean) })
	}
	return n, err
}

// Close on a body from http.ReadResponse reads the rest, so a clean close
// leaves the connection at the next response and it can be reused.
func (b *proxyBody) Close() error {
	err := b.src.Close()
	b.once.Do(func() { b.done(err == nil) })
	return err
}
