package exitnode

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hopByHop are the headers that concern one connection, not the request;
// a proxy never forwards them. Proxy-Authorization carries the exit node's
// own token.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// stripHopByHop removes hop-by-hop headers, including those the Connection
// header names. The names in hopByHop are canonical already, so they are
// deleted without canonicalising them again; this runs on every request.
func stripHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				delete(h, textproto.CanonicalMIMEHeaderKey(name))
			}
		}
	}
	for _, name := range hopByHop {
		delete(h, name)
	}
}

// alwaysRedacted are headers the access log never shows.
var alwaysRedacted = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// flow is what the pipeline learns about one request, for its access-log
// line.
type flow struct {
	start       time.Time
	method      string
	host        string
	path        string
	transformed bool
	status      int
	bytes       int64
	code        string      // ErrorHeader value when the exit node answered itself
	headers     http.Header // as sent upstream, redacted when logged; not modified
	changed     []string    // header names the transformer added or changed
	secrets     Secrets

	logOnce sync.Once
}

func newFlow(r *http.Request) *flow {
	f := &flow{start: time.Now(), method: r.Method, headers: r.Header}
	if r.URL != nil {
		f.host, f.path = r.URL.Host, r.URL.Path
	}
	if f.host == "" {
		f.host = r.Host
	}
	return f
}

// log writes the access-log line once, with secrets redacted.
func (f *flow) log(s *Server) {
	f.logOnce.Do(func() {
		if !s.log.Enabled(context.Background(), slog.LevelInfo) {
			return
		}
		attrs := []slog.Attr{
			slog.String("method", f.method),
			slog.String("host", f.secrets.ScrubString(f.host)),
			slog.String("path", f.secrets.ScrubString(f.path)),
			slog.Int("status", f.status),
			slog.Int64("bytes", f.bytes),
			slog.Float64("duration_ms", float64(time.Since(f.start).Microseconds())/1000),
			slog.Bool("transformed", f.transformed),
		}
		if f.code != "" {
			attrs = append(attrs, slog.String("error", f.code))
		}
		attrs = append(attrs, slog.Any("headers", f.redactedHeaders()))
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
	})
}

func (f *flow) redactedHeaders() map[string][]string {
	out := make(map[string][]string, len(f.headers))
	for name, values := range f.headers {
		redact := slices.Contains(alwaysRedacted, name) || slices.Contains(f.changed, name)
		vs := make([]string, len(values))
		for i, v := range values {
			if redact {
				vs[i] = Redacted
			} else {
				vs[i] = f.secrets.ScrubString(v)
			}
		}
		out[name] = vs
	}
	return out
}

// refused records the exit node's own answer in the flow.
func (f *flow) refused(r *refusal) {
	f.status, f.code = r.status, r.code
}

// acquire takes a slot for one request or tunnel, or refuses with 503.
func (s *Server) acquire() (release func(), err error) {
	select {
	case s.slots <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-s.slots }) }, nil
	default:
		return nil, refuse(http.StatusServiceUnavailable, "busy", ErrBusy,
			"the exit node is handling %d requests already", s.cfg.MaxConcurrent)
	}
}

// headerSize is the request line and headers as they came on the wire,
// near enough to enforce a cap.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Host) + 16
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + len(v) + 4
		}
	}
	return n
}

// exchange sends one request through the pipeline: caps, transformer,
// address policy, upstream, scrubbing. The request's URL is absolute. The
// response's body, when there is one, must be closed; it is already
// scrubbed. Errors are refusals the caller answers with.
func (s *Server) exchange(ctx context.Context, r *http.Request, f *flow) (*http.Response, error) {
	u := r.URL
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, refuse(http.StatusBadRequest, "bad-request", ErrBadRequest,
			"send requests in absolute form with an http or https URL, or use CONNECT")
	}
	if headerSize(r) > s.cfg.MaxHeaderBytes {
		return nil, refuse(http.StatusRequestEntityTooLarge, "too-large", ErrTooLarge,
			"the request's headers are over %d bytes", s.cfg.MaxHeaderBytes)
	}
	body, err := s.readBody(r)
	if err != nil {
		return nil, err
	}

	headers := r.Header.Clone()
	stripHopByHop(headers)
	before := &Request{Method: r.Method, URL: u.String(), Headers: headers, Body: body}
	after := before
	if s.transformer != nil {
		if after, err = s.transform(ctx, before, f); err != nil {
			return nil, err
		}
	}

	out, err := s.upstreamRequest(ctx, after, f)
	if err != nil {
		return nil, err
	}
	resp, err := s.upstream.RoundTrip(out)
	if err != nil {
		return nil, s.upstreamError(ctx, out.URL, err, &f.secrets)
	}
	return s.cleanResponse(r, resp, &f.secrets)
}

// readBody reads the whole request body, up to the cap.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	defer r.Body.Close()
	tooLarge := refuse(http.StatusRequestEntityTooLarge, "too-large", ErrTooLarge,
		"the request's body is over %d bytes", s.cfg.MaxBodyBytes)
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "bad-request", ErrBadRequest,
			"the request's body could not be read: %v", err)
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return nil, tooLarge
	}
	return body, nil
}

// transform runs the transformer under its time limit and learns what it
// added, so it can be scrubbed and redacted.
func (s *Server) transform(ctx context.Context, before *Request, f *flow) (*Request, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.TransformerTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, timeoutKey{}, s.cfg.TransformerTimeout)

	after, err := s.transformer.transform(ctx, before.clone())
	if err != nil {
		return nil, refuse(http.StatusBadGateway, "transformer-failed", ErrTransformer,
			"%v; the request was not sent", err)
	}
	f.transformed = true
	f.secrets = addedSecrets(before, after)
	for name, values := range after.Headers {
		if !slices.Equal(values, before.Headers[name]) {
			f.changed = append(f.changed, name)
		}
	}
	if u, err := url.Parse(after.URL); err == nil {
		f.host, f.path = u.Host, u.Path
	}
	f.method = after.Method
	return after, nil
}

// upstreamRequest builds the request that leaves the exit node.
func (s *Server) upstreamRequest(ctx context.Context, req *Request,
	f *flow) (*http.Request, error) {
	if req.Method == http.MethodConnect {
		return nil, refuse(http.StatusBadGateway, "transformer-failed", ErrTransformer,
			"the transformer turned the request into a CONNECT, which cannot be sent")
	}
	var body io.Reader = http.NoBody
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	out, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "bad-request", ErrBadRequest,
			"the request cannot be sent: %v", err)
	}
	// The headers are the pipeline's own copy (cloned from the client's
	// request, or decoded from the transformer), so they are used as they
	// are.
	out.Header = http.Header(req.Headers)
	if out.Header == nil {
		out.Header = http.Header{}
	}
	stripHopByHop(out.Header)
	if host := out.Header.Get("Host"); host != "" {
		out.Host = host
	}
	out.Header.Del("Host")
	if !f.secrets.Empty() {
		// Let the transport ask for gzip and decode it, so an echoed
		// secret is visible to the scrubber.
		out.Header.Del("Accept-Encoding")
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = nil // do not add Go's
	}
	f.headers = out.Header
	return out, nil
}

// upstreamError explains why the upstream could not be reached.
func (s *Server) upstreamError(ctx context.Context, u *url.URL, err error, sec *Secrets) error {
	var r *refusal
	if errors.As(err, &r) {
		return r
	}
	host := sec.ScrubString(u.Host)
	if ctx.Err() != nil {
		return refuse(http.StatusGatewayTimeout, "timeout", ErrTimeout,
			"%s did not answer within %s", host, s.cfg.RequestTimeout)
	}
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &certErr) {
		return refuse(http.StatusBadGateway, "tls-untrusted", ErrUpstream,
			"the certificate of %s is not trusted", host)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return refuse(http.StatusGatewayTimeout, "timeout", ErrTimeout,
			"%s did not answer in time", host)
	}
	return refuse(http.StatusBadGateway, "upstream-failed", ErrUpstream,
		"cannot reach %s: %s", host, sec.ScrubString(err.Error()))
}

// cleanResponse strips what must not pass back to the client and scrubs
// the secrets from the rest.
func (s *Server) cleanResponse(r *http.Request, resp *http.Response,
	sec *Secrets) (*http.Response, error) {
	stripHopByHop(resp.Header)
	resp.Header.Del(ErrorHeader)
	resp.Trailer = nil
	resp.Request = r
	if sec.Empty() {
		return resp, nil
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		resp.Body.Close()
		return nil, refuse(http.StatusBadGateway, "unscrubbable", ErrUnscrubbable,
			"the upstream answered with %q content, which the exit node cannot search "+
				"for the transformer's secrets", enc)
	}
	sec.ScrubHeader(resp.Header)

	// A small body of known length is scrubbed whole, so the response keeps
	// an exact Content-Length; anything else is scrubbed as it streams.
	if resp.ContentLength >= 0 && resp.ContentLength <= maxScrubInMemory {
		scrubbed := sec.ScrubBody(resp.Body)
		body, err := io.ReadAll(scrubbed)
		scrubbed.Close()
		if err != nil {
			return nil, refuse(http.StatusBadGateway, "upstream-failed", ErrUpstream,
				"the upstream's answer broke off: %s", sec.ScrubString(err.Error()))
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return resp, nil
	}
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
	resp.Body = sec.ScrubBody(resp.Body)
	return resp, nil
}

// maxScrubInMemory is the largest body of known length scrubbed whole.
const maxScrubInMemory = 1 << 20

// newResponse makes a complete response the exit node answers with itself.
func newResponse(req *http.Request, status int, h http.Header, body string) *http.Response {
	h.Set("Content-Length", fmt.Sprint(len(body)))
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
