package exitnode

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces a secret wherever the exit node scrubs or redacts one.
const Redacted = "[redacted]"

// minSecretLen is the shortest value treated as a secret. Shorter values
// ("1", "yes") would mangle unrelated text and protect nothing.
const minSecretLen = 4

// notSecret lists headers whose added values describe the message rather
// than authorise it; scrubbing "application/json" from every response would
// break responses without protecting anything. They are still redacted in
// the access log.
var notSecret = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Accept-Language": true,
	"Cache-Control": true, "Content-Encoding": true, "Content-Length": true,
	"Content-Type": true, "Host": true, "User-Agent": true,
}

// Secrets are the values a transformer added to a request: new header
// values, new query values and URL credentials, and for "Scheme credentials"
// headers the credentials on their own (and a Basic password decoded). The
// exit node scrubs them from the response its client receives and keeps them
// out of its access log, so a credential the transformer injects reaches the
// upstream server and nothing else.
//
// The zero value holds nothing and scrubs nothing.
type Secrets struct {
	values [][]byte // longest first, so a value wins over its parts
	first  [256]bool
	max    int
}

// NewSecrets makes a set of secrets from values; values shorter than four
// bytes are ignored.
func NewSecrets(values ...string) Secrets {
	var s Secrets
	seen := map[string]bool{}
	for _, v := range values {
		if len(v) < minSecretLen || seen[v] {
			continue
		}
		seen[v] = true
		s.values = append(s.values, []byte(v))
		s.first[v[0]] = true
		s.max = max(s.max, len(v))
	}
	slices.SortFunc(s.values, func(a, b []byte) int { return len(b) - len(a) })
	return s
}

// addedSecrets finds what the transformer added going from before to after.
func addedSecrets(before, after *Request) Secrets {
	var found []string
	for name, values := range after.Headers {
		if notSecret[name] {
			continue
		}
		had := before.Headers[name]
		for _, v := range values {
			if !slices.Contains(had, v) {
				found = append(found, v)
				found = append(found, credentialParts(v)...)
			}
		}
	}
	bu, _ := url.Parse(before.URL)
	au, err := url.Parse(after.URL)
	if err == nil && bu != nil {
		bq, aq := bu.Query(), au.Query()
		for name, values := range aq {
			for _, v := range values {
				if !slices.Contains(bq[name], v) {
					found = append(found, v, url.QueryEscape(v))
				}
			}
		}
		if p, ok := au.User.Password(); ok && au.User.String() != bu.User.String() {
			found = append(found, p, au.User.String())
		}
	}
	return NewSecrets(found...)
}

// credentialParts splits "Scheme credentials" so the credentials alone are
// scrubbed too, and decodes Basic credentials to their password.
func credentialParts(v string) []string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return nil
	}
	cred = strings.TrimSpace(cred)
	parts := []string{cred}
	if strings.EqualFold(scheme, "basic") {
		if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
			_, password, _ := strings.Cut(string(raw), ":")
			parts = append(parts, string(raw), password)
		}
	}
	return parts
}

// Empty reports whether there is nothing to scrub.
func (s *Secrets) Empty() bool { return len(s.values) == 0 }

// Contains reports whether v is one of the secrets or holds one.
func (s *Secrets) Contains(v string) bool {
	for _, sec := range s.values {
		if strings.Contains(v, string(sec)) {
			return true
		}
	}
	return false
}

// ScrubString returns v with every secret replaced by [Redacted].
func (s *Secrets) ScrubString(v string) string {
	if s.Empty() || !s.Contains(v) {
		return v
	}
	var b bytes.Buffer
	s.scrub(&b, []byte(v), true)
	return b.String()
}

// ScrubHeader replaces secrets in every header value in place.
func (s *Secrets) ScrubHeader(h http.Header) {
	if s.Empty() {
		return
	}
	for name, values := range h {
		for i, v := range values {
			values[i] = s.ScrubString(v)
		}
		h[name] = values
	}
}

// ScrubBody wraps a body so that reading it yields the body with every
// secret replaced, including a secret split across reads.
func (s *Secrets) ScrubBody(body io.ReadCloser) io.ReadCloser {
	if s.Empty() {
		return body
	}
	return &scrubReader{s: s, src: body}
}

// scrub writes data to w with secrets replaced. Unless final, it stops
// before a tail that could be the start of a secret and returns how many
// bytes of data it consumed.
func (s *Secrets) scrub(w *bytes.Buffer, data []byte, final bool) int {
	i, start := 0, 0
	for i < len(data) {
		if !s.first[data[i]] {
			i++
			continue
		}
		matched, partial := 0, false
		for _, sec := range s.values {
			rest := data[i:]
			if bytes.HasPrefix(rest, sec) {
				matched = len(sec)
				break
			}
			if !final && len(rest) < len(sec) && bytes.HasPrefix(sec, rest) {
				partial = true
			}
		}
		// A longer secret that may still complete wins over a shorter one
		// that already matched: wait for more data.
		switch {
		case partial:
			w.Write(data[start:i])
			return i
		case matched > 0:
			w.Write(data[start:i])
			w.WriteString(Redacted)
			i += matched
			start = i
		default:
			i++
		}
	}
	w.Write(data[start:])
	return len(data)
}

type scrubReader struct {
	s       *Secrets
	src     io.ReadCloser
	buf     *[]byte
	pending []byte       // read from src, not yet scrubbed
	out     bytes.Buffer // scrubbed, not yet returned
	eof     bool
	err     error
}

func (r *scrubReader) Read(p []byte) (int, error) {
	for r.out.Len() == 0 {
		if r.eof {
			return 0, r.err
		}
		if r.buf == nil {
			r.buf = copyBuffers.Get().(*[]byte)
		}
		n, err := r.src.Read(*r.buf)
		r.pending = append(r.pending, (*r.buf)[:n]...)
		if err != nil {
			r.eof, r.err = true, err
		}
		used := r.s.scrub(&r.out, r.pending, r.eof)
		r.pending = append(r.pending[:0], r.pending[used:]...)
	}
	return r.out.Read(p)
}

func (r *scrubReader) Close() error {
	if r.buf != nil {
		copyBuffers.Put(r.buf)
		r.buf = nil
	}
	return r.src.Close()
}

// copyBuffers recycles the buffers responses are copied through.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}
