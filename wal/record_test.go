package wal

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	recs := []Record{
		{Seq: 1, Kind: "call", Time: 1700000000000, Data: json.RawMessage(`{"name":"increment"}`)},
		{Seq: 2, Kind: "result", Event: 1, Time: 1700000000001, Data: json.RawMessage(`42`)},
		{Seq: 3, Kind: "deploy", Time: -5},
		{Seq: 1<<64 - 1, Kind: "ünïcödé \u2028", Data: json.RawMessage(`"<&>"`)},
	}
	for _, rec := range recs {
		b, err := EncodeRecord(rec)
		if err != nil {
			t.Fatalf("encode %d: %v", rec.Seq, err)
		}
		if b[0] != frameFormat {
			t.Errorf("format byte = %d, want %d", b[0], frameFormat)
		}
		got, err := DecodeRecord(b)
		if err != nil {
			t.Fatalf("decode %d: %v", rec.Seq, err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, rec)
		}
	}
}

func TestEncodeRecordRejectsBadData(t *testing.T) {
	_, err := EncodeRecord(Record{Seq: 1, Kind: "call", Data: json.RawMessage(`{nope`)})
	if err == nil {
		t.Fatal("encoding a record with invalid JSON data succeeded")
	}
}

// Every single-byte change to an encoded record must be caught.
func TestDecodeRecordDetectsEveryFlippedByte(t *testing.T) {
	b, err := EncodeRecord(Record{Seq: 7, Kind: "call", Time: 3, Data: json.RawMessage(`[1,2]`)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		damaged := bytes.Clone(b)
		damaged[i] ^= 0x20
		if _, err := DecodeRecord(damaged); !errors.Is(err, ErrDamaged) {
			t.Errorf("byte %d flipped: err = %v, want ErrDamaged", i, err)
		}
	}
}

func TestDecodeRecordFailures(t *testing.T) {
	good, err := EncodeRecord(Record{Seq: 1, Kind: "call"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "record is 0 bytes, shorter than its frame"},
		{"header only", good[:4], "record is 4 bytes, shorter than its frame"},
		{"unknown format", append([]byte{9}, good[1:]...), "record has unknown format byte 0x09"},
		{"cut payload", good[:len(good)-1], "record fails its checksum"},
		{"not JSON", frame([]byte("hello")), "record is not valid JSON"},
		{"trailing bytes", frame([]byte(`{"seq":1} {}`)), "record is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRecord(tt.in)
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("err = %v, want ErrDamaged", err)
			}
			if got := err.Error(); len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
				t.Errorf("err = %q, want it to start with %q", got, tt.want)
			}
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, rec := range []Record{
		{Seq: 1, Kind: "call", Time: 5, Data: json.RawMessage(`{"a":[1,2,{"b":null}]}`)},
		{Seq: 99, Kind: "result", Event: 98, Data: json.RawMessage(`"x"`)},
		{Seq: 2, Kind: "checkpoint"},
	} {
		b, err := EncodeRecord(rec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add(frame([]byte(`{"seq":1,"kind":"x","data":   [ 1 , 2 ] }`)))

	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("decode error %v is not ErrDamaged", err)
			}
			return
		}
		// Whatever decodes must encode and decode back to the same record.
		again, err := EncodeRecord(rec)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", rec, err)
		}
		back, err := DecodeRecord(again)
		if err != nil {
			t.Fatalf("decode of re-encoded record: %v", err)
		}
		if back.Seq != rec.Seq || back.Kind != rec.Kind || back.Event != rec.Event ||
			back.Time != rec.Time || !jsonEqual(t, back.Data, rec.Data) {
			t.Fatalf("round trip changed the record:\n got %+v\nwant %+v", back, rec)
		}
	})
}

// jsonEqual compares two JSON texts by value; both empty counts as equal.
func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var av, bv any
	if err := json.Unmarshal(a, &av); err != nil {
		t.Fatalf("unmarshal %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &bv); err != nil {
		t.Fatalf("unmarshal %q: %v", b, err)
	}
	return reflect.DeepEqual(av, bv)
}
