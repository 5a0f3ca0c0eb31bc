package exitnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Request is what a transformer reads and writes: one JSON object
//
//	{"method": "GET", "url": "https://api.example.com/v1",
//	 "headers": {"Accept": ["application/json"]}, "body": "<base64>"}
//
// Header names are canonical (Content-Type, not content-type) and the body
// is standard base64. A transformer writes the same shape back, changed or
// not.
type Request struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers"`
	Body    []byte              `json:"body"`
}

// maxTransformerOutput bounds what a transformer may write beyond the body
// cap, for the JSON around the body and its base64 growth.
const maxTransformerOutput = 1 << 20

// DecodeRequest parses a transformer's output. It accepts exactly one JSON
// object of the Request shape and checks what would otherwise go upstream
// broken: the method is an HTTP token, the URL is absolute http or https,
// header names are tokens and no value holds a line break. Header names are
// made canonical. Errors say what is wrong in one sentence.
func DecodeRequest(data []byte) (*Request, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var req Request
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("output is not a request object: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("output has data after the request object")
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

func (r *Request) validate() error {
	if r.Method == "" {
		return errors.New(`output has no "method"`)
	}
	if !isToken(r.Method) {
		return fmt.Errorf("output method %q is not an HTTP method", r.Method)
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return fmt.Errorf("output url is not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("output url %q is not an absolute http or https URL", r.URL)
	}
	canon := make(map[string][]string, len(r.Headers))
	for name, values := range r.Headers {
		if !isToken(name) {
			return fmt.Errorf("output header name %q is not valid", name)
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Errorf("output header %s has a line break or NUL in its value", name)
			}
		}
		key := http.CanonicalHeaderKey(name)
		canon[key] = append(canon[key], values...)
	}
	r.Headers = canon
	return nil
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// encode writes the request as the transformer reads it.
func (r *Request) encode() ([]byte, error) {
	h := r.Headers
	if h == nil {
		h = map[string][]string{}
	}
	body := r.Body
	if body == nil {
		body = []byte{}
	}
	return json.Marshal(Request{Method: r.Method, URL: r.URL, Headers: h, Body: body})
}

// clone copies the request deeply, so the original survives a transformer
// that changes it.
func (r *Request) clone() *Request {
	h := make(map[string][]string, len(r.Headers))
	for k, v := range r.Headers {
		h[k] = append([]string(nil), v...)
	}
	return &Request{Method: r.Method, URL: r.URL, Headers: h,
		Body: append([]byte(nil), r.Body...)}
}
