package wal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"

	jsonv2 "github.com/go-json-experiment/json"
)

// Record is one entry of the log. Its kind and data belong to package
// runtime; the log only frames, checksums and orders records.
type Record struct {
	Seq   uint64          `json:"seq"`             // from 1, contiguous
	Kind  string          `json:"kind"`            // e.g. "call", "result", "deploy"
	Event uint64          `json:"event,omitempty"` // for outputs: seq of the input that produced it
	Time  int64           `json:"time"`            // unix milliseconds, program clock
	Data  json.RawMessage `json:"data,omitempty"`
}

// KindCheckpoint is the one record kind the log knows: Compact may only cut
// the log at a record of this kind.
const KindCheckpoint = "checkpoint"

// Every value the log stores is framed the same way:
//
//	byte 0     format (frameFormat)
//	bytes 1-4  CRC-32C (Castagnoli) of the payload, big-endian
//	bytes 5-   payload
//
// For records, checkpoints and code versions the payload is JSON.
const (
	frameFormat = 1
	frameHeader = 5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameError says what is wrong with a framed value. It is ErrDamaged.
type frameError struct {
	what   string // "record", "code version", ...
	reason string // "fails its checksum", ...
}

func (e *frameError) Error() string { return e.what + " " + e.reason }
func (e *frameError) Unwrap() error { return ErrDamaged }

func frame(payload []byte) []byte {
	b := make([]byte, frameHeader+len(payload))
	b[0] = frameFormat
	binary.BigEndian.PutUint32(b[1:frameHeader], crc32.Checksum(payload, castagnoli))
	copy(b[frameHeader:], payload)
	return b
}

// unframe checks a framed value and returns its payload, which aliases b.
func unframe(what string, b []byte) ([]byte, error) {
	if len(b) < frameHeader {
		return nil, &frameError{what, fmt.Sprintf("is %d bytes, shorter than its frame", len(b))}
	}
	if b[0] != frameFormat {
		return nil, &frameError{what, fmt.Sprintf("has unknown format byte 0x%02x", b[0])}
	}
	payload := b[frameHeader:]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(b[1:frameHeader]) {
		return nil, &frameError{what, "fails its checksum"}
	}
	return payload, nil
}

// unframeJSON checks a framed value and decodes its JSON payload into v.
func unframeJSON(what string, b []byte, v any) error {
	payload, err := unframe(what, b)
	if err != nil {
		return err
	}
	// Decoding uses json v2: it is about twice as fast as encoding/json here,
	// which matters when a replay reads a long log. It is also stricter
	// (duplicate names, invalid UTF-8), which only refuses what
	// encoding/json never writes.
	if err := jsonv2.Unmarshal(payload, v); err != nil {
		return &frameError{what, fmt.Sprintf("is not valid JSON (%v)", err)}
	}
	return nil
}

// EncodeRecord frames rec for storage: a format byte, the CRC-32C of the
// payload, then the payload, which is the JSON of rec. It fails if rec.Data
// is not valid JSON.
func EncodeRecord(rec Record) ([]byte, error) {
	payload, err := marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode record %d: %w", rec.Seq, err)
	}
	return frame(payload), nil
}

// marshal is json.Marshal without HTML escaping, so data such as "<b>" is
// stored as it was given, not as "\u003cb\u003e".
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// DecodeRecord checks and decodes what EncodeRecord produced. Any damage to
// the format byte, the checksum or the payload is an error that is
// ErrDamaged. The returned record does not alias b.
func DecodeRecord(b []byte) (Record, error) {
	var rec Record
	if err := unframeJSON("record", b, &rec); err != nil {
		return Record{}, err
	}
	return rec, nil
}
