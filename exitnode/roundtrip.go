package exitnode

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// RoundTripper sends a program's request through this exit node's pipeline
// with no listening port: no token is asked for, and the transformer, the
// address policy, upstream TLS and scrubbing apply as they do to a proxied
// request. A refusal comes back as the exit node's own response (403, 407,
// 413, 502, 503 or 504 with the ErrorHeader set and a one-sentence body),
// just as a program talking to a standalone exit node would see it. The
// response is already scrubbed of what the transformer added.
func (s *Server) RoundTripper() http.RoundTripper { return embedded{s} }

type embedded struct{ s *Server }

func (e embedded) RoundTrip(r *http.Request) (*http.Response, error) {
	s := e.s
	f := newFlow(r)
	release, err := s.acquire()
	if err != nil {
		closeBody(r)
		return s.refusedResponse(r, f, asRefusal(err)), nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	resp, err := s.exchange(ctx, r, f)
	if err != nil {
		closeBody(r)
		cancel()
		release()
		return s.refusedResponse(r, f, asRefusal(err)), nil
	}
	f.status = resp.StatusCode
	resp.Body = &countingBody{src: resp.Body, done: func(n int64) {
		f.bytes = n
		cancel()
		release()
		f.log(s)
	}}
	return resp, nil
}

func (s *Server) refusedResponse(r *http.Request, f *flow, ref *refusal) *http.Response {
	f.refused(ref)
	resp := ref.response(r)
	f.bytes = resp.ContentLength
	f.log(s)
	return resp
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// countingBody counts what the client read and reports once, at the end of
// the body or when it is closed, whichever comes first.
type countingBody struct {
	src  io.ReadCloser
	n    int64
	once sync.Once
	done func(n int64)
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.src.Read(p)
	b.n += int64(n)
	if err == io.EOF {
		b.once.Do(func() { b.done(b.n) })
	}
	return n, err
}

func (b *countingBody) Close() error {
	err := b.src.Close()
	b.once.Do(func() { b.done(b.n) })
	return err
}
