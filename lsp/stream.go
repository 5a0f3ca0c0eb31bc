package lsp

import (
	"context"
	"encoding/json"
	"log/slog"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// tolerantStream keeps a connection alive past a malformed message. The
// jsonrpc2 read loop ends the connection when a frame does not decode; this
// stream answers such a frame itself, with a parse error (or an invalid
// request error carrying the id, when one can be read), and reads on.
type tolerantStream struct {
	inner frameStream
	log   *slog.Logger
}

// frameStream is the raw-frame side of jsonrpc2's header stream, which the
// connection uses when a stream offers it.
type frameStream interface {
	jsonrpc2.Stream
	ReadFrame(ctx context.Context) ([]byte, int64, error)
	WriteFrame(ctx context.Context, data []byte) (int64, error)
}

func (s *tolerantStream) ReadFrame(ctx context.Context) ([]byte, int64, error) {
	for {
		frame, n, err := s.inner.ReadFrame(ctx)
		if err != nil {
			return nil, n, err
		}
		if len(frame) > 0 && frame[0] == '[' {
			return frame, n, nil // a batch: jsonrpc2 answers its bad members
		}
		if _, derr := jsonrpc2.DecodeMessage(frame); derr == nil {
			return frame, n, nil
		} else {
			s.reject(ctx, frame, derr)
		}
	}
}

// reject answers a frame that is not a JSON-RPC message.
func (s *tolerantStream) reject(ctx context.Context, frame []byte, derr error) {
	s.log.Warn("lsp: malformed message", "err", derr, "bytes", len(frame))
	code, id := jsonrpc2.ParseError, jsonrpc2.ID{}
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(frame, &probe) == nil {
		code = jsonrpc2.InvalidRequest
		var n int64
		var str string
		switch {
		case json.Unmarshal(probe.ID, &n) == nil:
			id = jsonrpc2.NewNumberID(n)
		case json.Unmarshal(probe.ID, &str) == nil:
			id = jsonrpc2.NewStringID(str)
		}
	}
	resp := jsonrpc2.AppendResponse(nil, id, nil, jsonrpc2.NewError(code, derr.Error()))
	if _, err := s.inner.WriteFrame(ctx, resp); err != nil {
		s.log.Warn("lsp: answering a malformed message", "err", err)
	}
}

func (s *tolerantStream) WriteFrame(ctx context.Context, data []byte) (int64, error) {
	return s.inner.WriteFrame(ctx, data)
}

func (s *tolerantStream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	frame, n, err := s.ReadFrame(ctx)
	if err != nil {
		return nil, n, err
	}
	msg, err := jsonrpc2.DecodeMessage(frame)
	return msg, n, err
}

func (s *tolerantStream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	return s.inner.Write(ctx, msg)
}

func (s *tolerantStream) Close() error { return s.inner.Close() }

// codec marshals payloads with the protocol package's union-aware encoder,
// as the connection protocol.NewServer builds does; it is spelled out here
// because the server builds its own connection to choose its handlers.
type codec struct{}

func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case jsonrpc2.RawMessage:
		if m == nil {
			return []byte("null"), nil
		}
		return m, nil
	case json.RawMessage:
		if m == nil {
			return []byte("null"), nil
		}
		return m, nil
	}
	return protocol.Marshal(v)
}

func (codec) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*jsonrpc2.RawMessage); ok {
		*p = append(jsonrpc2.RawMessage(nil), data...)
		return nil
	}
	return protocol.Unmarshal(data, v)
}
