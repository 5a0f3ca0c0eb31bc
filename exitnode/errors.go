package exitnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrorHeader names the response header the exit node sets on responses it
// makes itself (refusals and failures). Its value is a short code such as
// "destination-refused". The same header from an upstream server is removed,
// so a client can trust it came from the exit node.
const ErrorHeader = "X-Exit-Node-Error"

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrUnauthorized means the request carried no valid exit node token.
	ErrUnauthorized = errors.New("missing or wrong exit node token")

	// ErrDestinationRefused means the destination resolved to an address
	// the exit node does not dial (private, loopback, the exit node itself).
	ErrDestinationRefused = errors.New("destination refused")

	// ErrTransformer means the transformer failed: it exited non-zero, wrote
	// bad output, threw, or ran out of time. Nothing went upstream.
	ErrTransformer = errors.New("transformer failed")

	// ErrNoTransformer means the configured transformer file does not exist.
	ErrNoTransformer = errors.New("does not exist")

	// ErrAddressInUse means another process listens on the address.
	ErrAddressInUse = errors.New("the address is already in use")

	// ErrTooLarge means the request's header or body went over its cap.
	ErrTooLarge = errors.New("request too large")

	// ErrBusy means the exit node is at its limit of concurrent requests.
	ErrBusy = errors.New("too many concurrent requests")

	// ErrBadRequest means the request cannot be proxied as it is, for
	// example a URL that is not absolute http or https.
	ErrBadRequest = errors.New("bad proxy request")

	// ErrUpstream means the upstream server could not be reached or
	// answered with something that is not HTTP, or its certificate was not
	// trusted.
	ErrUpstream = errors.New("upstream failed")

	// ErrTimeout means the request ran past its total time limit.
	ErrTimeout = errors.New("request timed out")

	// ErrUnscrubbable means the transformer added a secret but the upstream
	// answered with an encoding the exit node cannot search for it, so the
	// response is withheld rather than risk leaking the secret.
	ErrUnscrubbable = errors.New("response cannot be scrubbed")
)

// refusal is an error the exit node answers with a response of its own.
type refusal struct {
	status int
	code   string
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// refuse makes a refusal whose message wraps the sentinel kind.
func refuse(status int, code string, kind error, format string, args ...any) *refusal {
	msg := fmt.Sprintf(format, args...)
	return &refusal{status: status, code: code, err: fmt.Errorf("%w: %s", kind, msg)}
}

// asRefusal turns any pipeline error into the response it deserves.
func asRefusal(err error) *refusal {
	var r *refusal
	if errors.As(err, &r) {
		return r
	}
	return &refusal{status: http.StatusBadGateway, code: "upstream-failed",
		err: fmt.Errorf("%w: %v", ErrUpstream, err)}
}

// response builds the exit node's own response for a refusal. The body is
// one sentence a person can read.
func (r *refusal) response(req *http.Request) *http.Response {
	body := "exit node: " + r.err.Error() + "\n"
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set(ErrorHeader, r.code)
	h.Set("Cache-Control", "no-store")
	if r.status == http.StatusProxyAuthRequired {
		h["Proxy-Authenticate"] = []string{
			`Bearer realm="membrane-dev exit node"`,
			`Basic realm="membrane-dev exit node"`,
		}
	}
	return newResponse(req, r.status, h, body)
}

// sentinelByCode maps ErrorHeader values back to the sentinel errors.
var sentinelByCode = map[string]error{
	"unauthorized":        ErrUnauthorized,
	"destination-refused": ErrDestinationRefused,
	"transformer-failed":  ErrTransformer,
	"too-large":           ErrTooLarge,
	"busy":                ErrBusy,
	"bad-request":         ErrBadRequest,
	"upstream-failed":     ErrUpstream,
	"dns-failed":          ErrUpstream,
	"tls-untrusted":       ErrUpstream,
	"timeout":             ErrTimeout,
	"unscrubbable":        ErrUnscrubbable,
	"internal":            ErrBadRequest,
}

// ResponseError returns nil for a response that came from upstream, and
// for the exit node's own refusals an error wrapping the matching sentinel
// (errors.Is(err, ErrDestinationRefused) and so on) whose text is the
// refusal's sentence. It reads and replaces the body of a refusal only.
// Upstream servers cannot forge a refusal: the exit node strips ErrorHeader
// from their responses.
func ResponseError(resp *http.Response) error {
	code := resp.Header.Get(ErrorHeader)
	if code == "" {
		return nil
	}
	kind, ok := sentinelByCode[code]
	if !ok {
		kind = ErrUpstream
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	msg := strings.TrimSpace(strings.TrimPrefix(string(body), "exit node: "))
	if msg == "" {
		msg = kind.Error()
	}
	return &responseError{kind: kind, msg: "exit node: " + msg}
}

type responseError struct {
	kind error
	msg  string
}

func (e *responseError) Error() string { return e.msg }
func (e *responseError) Unwrap() error { return e.kind }
