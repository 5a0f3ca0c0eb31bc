package exitnode

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

func TestAddedSecrets(t *testing.T) {
	before := &Request{Method: "GET", URL: "https://api.example.com/v1?page=2",
		Headers: map[string][]string{"Accept": {"*/*"}, "X-Trace": {"abc123"}}}
	basic := base64.StdEncoding.EncodeToString([]byte("bot:hunter22"))
	after := before.clone()
	after.URL = "https://api.example.com/v1?page=2&api_key=k-9876"
	after.Headers["Authorization"] = []string{"Bearer sk-live-42"}
	after.Headers["X-Basic"] = []string{"Basic " + basic}
	after.Headers["Content-Type"] = []string{"application/json"}
	sec := addedSecrets(before, after)

	for _, leak := range []string{"Bearer sk-live-42", "sk-live-42", "k-9876", "hunter22", basic} {
		if !sec.Contains(leak) {
			t.Errorf("%q is not treated as a secret", leak)
		}
	}
	for _, kept := range []string{"abc123", "application/json", "page", "*/*"} {
		if sec.Contains(kept) {
			t.Errorf("%q is treated as a secret but the transformer did not add it", kept)
		}
	}
}

func TestScrubBodyAcrossReads(t *testing.T) {
	sec := NewSecrets("Bearer sk-live-42", "sk-live-42", "s3cr3t-tail")
	body := strings.Repeat("x", 100) + `{"echo":"Bearer sk-live-42","k":"sk-live-42"}` +
		"sk-live-4 is not it; ends with s3cr3t-tail"
	want := strings.Repeat("x", 100) + `{"echo":"[redacted]","k":"[redacted]"}` +
		"sk-live-4 is not it; ends with [redacted]"

	// One byte a read splits every secret across reads.
	got, err := io.ReadAll(sec.ScrubBody(io.NopCloser(iotest.OneByteReader(strings.NewReader(body)))))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("scrubbed body\n got %s\nwant %s", got, want)
	}
	if s := sec.ScrubString(body); s != want {
		t.Errorf("ScrubString\n got %s\nwant %s", s, want)
	}
}

func TestScrubPrefersLongerSecret(t *testing.T) {
	sec := NewSecrets("abcd", "abcdef")
	src := io.NopCloser(iotest.OneByteReader(strings.NewReader("<abcdef>")))
	got, _ := io.ReadAll(sec.ScrubBody(src))
	if string(got) != "<[redacted]>" {
		t.Errorf("got %q, want the longer secret replaced whole", got)
	}
}

func TestScrubHeader(t *testing.T) {
	sec := NewSecrets("tok-123456")
	h := http.Header{"X-Echo": {"Bearer tok-123456"}, "Location": {"https://a/?k=tok-123456"}}
	sec.ScrubHeader(h)
	if h.Get("X-Echo") != "Bearer [redacted]" || h.Get("Location") != "https://a/?k=[redacted]" {
		t.Errorf("headers not scrubbed: %v", h)
	}
	var none Secrets
	if none.ScrubString("tok-123456") != "tok-123456" {
		t.Error("empty secrets changed a string")
	}
}

func BenchmarkScrubBody(b *testing.B) {
	sec := NewSecrets("Bearer sk-live-42", "sk-live-42")
	body := strings.Repeat("the quick brown fox jumps over the lazy dog ", 1000)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		io.Copy(io.Discard, sec.ScrubBody(io.NopCloser(strings.NewReader(body))))
	}
}
