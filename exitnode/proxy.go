package exitnode

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// ServeHTTP serves one proxy request on the listening port: it checks the
// token, then relays a CONNECT tunnel or sends an absolute-form request
// through the pipeline. Serve uses it; it is exported so an exit node can be
// mounted in another server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := newFlow(r)
	defer f.log(s)

	if !s.token.allows(r.Header) {
		s.answer(w, r, f, refuse(http.StatusProxyAuthRequired, "unauthorized", ErrUnauthorized,
			"send the exit node token as Proxy-Authorization: Bearer TOKEN"))
		return
	}
	release, err := s.acquire()
	if err != nil {
		s.answer(w, r, f, asRefusal(err))
		return
	}
	defer release()

	if r.Method == http.MethodConnect {
		s.tunnel(w, r, f)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	resp, err := s.exchange(ctx, r, f)
	if err != nil {
		s.answer(w, r, f, asRefusal(err))
		return
	}
	defer resp.Body.Close()
	f.status = resp.StatusCode
	f.bytes = writeResponse(w, resp)
}

// answer writes the exit node's own response for a refusal.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, f *flow, ref *refusal) {
	f.refused(ref)
	resp := ref.response(r)
	if ref.status == http.StatusBadRequest || ref.status == http.StatusRequestEntityTooLarge {
		// The rest of what the client sent may not have been read.
		resp.Header.Set("Connection", "close")
	}
	f.bytes = writeResponse(w, resp)
}

// writeResponse copies resp to w and returns the body bytes written. It
// flushes as data arrives when the length is unknown, so streamed answers
// (server-sent events) are not held back.
func writeResponse(w http.ResponseWriter, resp *http.Response) int64 {
	h := w.Header()
	for name, values := range resp.Header {
		h[name] = values
	}
	w.WriteHeader(resp.StatusCode)
	if resp.Body == nil {
		return 0
	}
	var dst io.Writer = w
	if resp.ContentLength < 0 {
		dst = flushWriter{w, http.NewResponseController(w)}
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, _ := io.CopyBuffer(dst, onlyReader{resp.Body}, *buf)
	return n
}

// onlyReader hides any WriterTo, so io.CopyBuffer uses the pooled buffer.
type onlyReader struct{ io.Reader }

type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

// tunnel relays a CONNECT tunnel as it is, after checking its destination
// against the same address policy. The exit node sees only bytes; a
// transformer never runs for a tunnel.
func (s *Server) tunnel(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	addrs, err := s.resolve(ctx, r.Host)
	if err != nil {
		s.answer(w, r, f, asRefusal(err))
		return
	}
	var upstream net.Conn
	for _, a := range addrs {
		if upstream, err = s.dial(ctx, "tcp", a); err == nil {
			break
		}
	}
	if upstream == nil {
		s.answer(w, r, f, refuse(http.StatusBadGateway, "upstream-failed", ErrUpstream,
			"cannot reach %s: %v", r.Host, err))
		return
	}
	defer upstream.Close()

	client, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.answer(w, r, f, refuse(http.StatusInternalServerError, "internal", ErrBadRequest,
			"this connection cannot carry a tunnel"))
		return
	}
	defer client.Close()
	if !s.trackTunnel(client, true) {
		return
	}
	defer s.trackTunnel(client, false)

	f.status = http.StatusOK
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		return
	}
	// Bytes the client sent after the CONNECT head are already buffered.
	if n := buf.Reader.Buffered(); n > 0 {
		head, _ := buf.Reader.Peek(n)
		if _, err := upstream.Write(head); err != nil {
			return
		}
	}

	idle := s.cfg.TunnelIdleTimeout
	touch := func() {
		deadline := time.Now().Add(idle)
		client.SetDeadline(deadline)
		upstream.SetDeadline(deadline)
	}
	touch()
	done := make(chan struct{})
	go func() {
		relay(upstream, client, touch)
		closeWrite(upstream)
		close(done)
	}()
	f.bytes = relay(client, upstream, touch)
	closeWrite(client)
	<-done
}

// relay copies src to dst, pushing the idle deadline on at every read.
func relay(dst io.Writer, src io.Reader, touch func()) int64 {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			touch()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return total
			}
			total += int64(n)
		}
		if err != nil {
			return total
		}
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// trackTunnel adds or removes a hijacked connection, which http.Server's
// shutdown does not know about. Adding fails once shutdown has begun.
func (s *Server) trackTunnel(c net.Conn, add bool) bool {
	s.tunnelsMu.Lock()
	defer s.tunnelsMu.Unlock()
	if !add {
		delete(s.tunnels, c)
		return true
	}
	if s.tunnels == nil {
		return false
	}
	s.tunnels[c] = struct{}{}
	return true
}

// closeTunnels ends every tunnel; shutdown does not wait for them, since a
// tunnel may stay open as long as its client likes.
func (s *Server) closeTunnels() {
	s.tunnelsMu.Lock()
	defer s.tunnelsMu.Unlock()
	for c := range s.tunnels {
		c.Close()
	}
	s.tunnels = nil
}
