package wal

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sort"
)

// CodeVersion is one version of a program's code as it ran. It is
// content-addressed: Hash is ContentHash of the other fields.
type CodeVersion struct {
	Hash      string            `json:"hash"`
	Entry     string            `json:"entry"`     // "index.ts"
	Bundle    string            `json:"bundle"`    // the script goja runs
	SourceMap string            `json:"sourceMap"` // JSON source map of the bundle
	Sources   map[string]string `json:"sources"`   // relative path -> original text
}

// NewCodeVersion returns a CodeVersion with its Hash filled in.
func NewCodeVersion(entry, bundle, sourceMap string, sources map[string]string) CodeVersion {
	cv := CodeVersion{Entry: entry, Bundle: bundle, SourceMap: sourceMap, Sources: sources}
	cv.Hash = cv.ContentHash()
	return cv
}

// ContentHash is the hex SHA-256 of the code's content: a fixed tag, then
// Entry, Bundle and SourceMap, then the number of sources and each path and
// text in path order, every string preceded by its length as a uvarint. The
// lengths make the encoding unambiguous; the order makes it independent of
// map iteration.
func (cv CodeVersion) ContentHash() string {
	h := sha256.New()
	h.Write([]byte("membrane-code-v1\x00"))
	writeString(h, cv.Entry)
	writeString(h, cv.Bundle)
	writeString(h, cv.SourceMap)

	paths := make([]string, 0, len(cv.Sources))
	for p := range cv.Sources {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	writeLen(h, len(paths))
	for _, p := range paths {
		writeString(h, p)
		writeString(h, cv.Sources[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeLen(h hash.Hash, n int) {
	var buf [binary.MaxVarintLen64]byte
	h.Write(buf[:binary.PutUvarint(buf[:], uint64(n))])
}

func writeString(h hash.Hash, s string) {
	writeLen(h, len(s))
	h.Write([]byte(s))
}
