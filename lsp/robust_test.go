package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"testing"
	"time"
)

// wire speaks raw frames to a server, to send what no well-behaved client
// library would.
type wire struct {
	t    *testing.T
	conn net.Conn
	in   *bufio.Reader
}

func newWire(t *testing.T) *wire {
	serverEnd, editorEnd := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, serverEnd, Options{}) }()
	t.Cleanup(func() {
		cancel()
		editorEnd.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the server did not stop")
		}
	})
	return &wire{t: t, conn: editorEnd, in: bufio.NewReader(editorEnd)}
}

func (w *wire) send(body string) {
	w.t.Helper()
	w.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(w.conn, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		w.t.Fatalf("send: %v", err)
	}
}

type reply struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (w *wire) receive() reply {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr, err := textproto.NewReader(w.in).ReadMIMEHeader()
	if err != nil {
		w.t.Fatalf("read header: %v", err)
	}
	n, err := strconv.Atoi(hdr.Get("Content-Length"))
	if err != nil {
		w.t.Fatalf("content length: %v", err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(w.in, body); err != nil {
		w.t.Fatalf("read body: %v", err)
	}
	var r reply
	if err := json.Unmarshal(body, &r); err != nil {
		w.t.Fatalf("reply %s: %v", body, err)
	}
	return r
}

func TestMalformedMessagesGetAnErrorAndTheServerAnswersOn(t *testing.T) {
	w := newWire(t)

	w.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
	if r := w.receive(); r.Error != nil || string(r.ID) != "1" {
		t.Fatalf("initialize: %+v", r)
	}

	cases := []struct {
		name, body string
		code       int
		id         string
	}{
		{"not JSON", `{"jsonrpc":"2.0","id":2,"method":`, -32700, "null"},
		{"no method", `{"jsonrpc":"2.0","id":3}`, -32600, "3"},
		{"bad params", `{"jsonrpc":"2.0","id":4,"method":"textDocument/hover","params":"x"}`,
			-32700, "4"},
	}
	for _, c := range cases {
		w.send(c.body)
		r := w.receive()
		if r.Error == nil || r.Error.Code != c.code || string(r.ID) != c.id {
			t.Errorf("%s: reply %+v (error %+v), want code %d id %s", c.name, r, r.Error,
				c.code, c.id)
		}
	}

	// A notification whose params do not decode is dropped, not fatal.
	w.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":7}`)

	w.send(`{"jsonrpc":"2.0","id":5,"method":"workspace/symbol","params":{"query":""}}`)
	if r := w.receive(); r.Error != nil || string(r.ID) != "5" {
		t.Fatalf("a request after malformed messages: %+v", r)
	}
	w.send(`{"jsonrpc":"2.0","id":6,"method":"shutdown"}`)
	if r := w.receive(); r.Error != nil {
		t.Fatalf("shutdown: %+v", r.Error)
	}
	w.send(`{"jsonrpc":"2.0","id":7,"method":"textDocument/hover","params":{}}`)
	if r := w.receive(); r.Error == nil {
		t.Errorf("a request after shutdown was served")
	}
}
