package exitnode

import (
	"net/url"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	ok := `{"method":"POST","url":"https://api.example.com/v1?q=1",` +
		`"headers":{"content-type":["application/json"],"X-Key":["a","b"]},"body":"aGk="}`
	req, err := DecodeRequest([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || string(req.Body) != "hi" {
		t.Errorf("decoded %+v", req)
	}
	if got := req.Headers["Content-Type"]; len(got) != 1 || got[0] != "application/json" {
		t.Errorf("header names are not canonical: %v", req.Headers)
	}

	bad := []struct{ name, in, want string }{
		{"empty", ``, "not a request object"},
		{"not json", `hello`, "not a request object"},
		{"array", `[]`, "not a request object"},
		{"unknown field", `{"method":"GET","url":"http://a.com/","extra":1}`, "not a request object"},
		{"trailing", `{"method":"GET","url":"http://a.com/"} {}`, "after the request object"},
		{"no method", `{"url":"http://a.com/"}`, `no "method"`},
		{"bad method", `{"method":"GE T","url":"http://a.com/"}`, "not an HTTP method"},
		{"relative url", `{"method":"GET","url":"/path"}`, "not an absolute http or https URL"},
		{"ftp url", `{"method":"GET","url":"ftp://a.com/"}`, "not an absolute http or https URL"},
		{"bad header name", `{"method":"GET","url":"http://a.com/","headers":{"X Y":["1"]}}`,
			"header name"},
		{"header injection", `{"method":"GET","url":"http://a.com/","headers":{"X":["1\r\nY: 2"]}}`,
			"line break"},
		{"bad body", `{"method":"GET","url":"http://a.com/","body":"%%%"}`, "not a request object"},
		{"headers not lists", `{"method":"GET","url":"http://a.com/","headers":{"X":"1"}}`,
			"not a request object"},
	}
	for _, c := range bad {
		_, err := DecodeRequest([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	in := &Request{Method: "PUT", URL: "http://a.example.com/x",
		Headers: map[string][]string{"X-A": {"1"}}, Body: []byte{0, 1, 2, 255}}
	data, err := in.encode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeRequest(data)
	if err != nil {
		t.Fatal(err)
	}
	if out.Method != in.Method || out.URL != in.URL || string(out.Body) != string(in.Body) ||
		out.Headers["X-A"][0] != "1" {
		t.Errorf("round trip changed the request: %+v", out)
	}
}

// FuzzDecodeRequest checks that whatever a transformer writes, the decoder
// either refuses it or returns a request that is safe to send: a token
// method, an absolute http(s) URL, canonical token header names and no line
// breaks in values.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"method":"GET","url":"http://a.com/","headers":{"x":["1"]},"body":""}`))
	f.Add([]byte(`{"method":"POST","url":"https://b.example/p?q","body":"AAEC"}`))
	f.Add([]byte(`{"method":"GET","url":"http://a.com/","headers":{"X":["\u000d"]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			return
		}
		if !isToken(req.Method) {
			t.Fatalf("method %q accepted", req.Method)
		}
		if u, err := url.Parse(req.URL); err != nil || u.Host == "" ||
			u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("url %q accepted", req.URL)
		}
		for name, values := range req.Headers {
			if !isToken(name) {
				t.Fatalf("header name %q accepted", name)
			}
			for _, v := range values {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header value %q accepted", v)
				}
			}
		}
		if _, err := req.encode(); err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
	})
}
