package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
)

// bbolt maps the whole file into memory and trusts its meta page: a page
// past the end of a truncated file is a SIGBUS when touched. So before bbolt
// sees a file, the log reads both meta pages itself, picks the one bbolt would
// pick, and compares the file's size with the high-water mark it records.
//
// A meta page is a 16-byte page header followed by the meta fields, all in the
// machine's byte order:
//
//	+16 magic     uint32
//	+20 version   uint32
//	+24 pageSize  uint32
//	+28 flags     uint32
//	+32 root      pgid uint64 + sequence uint64
//	+48 freelist  uint64
//	+56 pgid      uint64 (high-water mark: pages in use)
//	+64 txid      uint64
//	+72 checksum  uint64 (FNV-64a of bytes +16..+72)
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltMetaOffset = 16
	boltMetaLen    = 64 // through the checksum
	boltSumLen     = 56 // bytes the checksum covers
)

type boltMeta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

// errNotBolt is returned by parseBoltMeta for a page that is not a valid meta
// page; the caller turns it into a sentence.
var errNotBolt = errors.New("not a valid meta page")

func parseBoltMeta(page []byte) (boltMeta, error) {
	if len(page) < boltMetaOffset+boltMetaLen {
		return boltMeta{}, errNotBolt
	}
	m := page[boltMetaOffset : boltMetaOffset+boltMetaLen]
	ne := binary.NativeEndian
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, errNotBolt
	}
	h := fnv.New64a()
	h.Write(m[:boltSumLen])
	if h.Sum64() != ne.Uint64(m[boltSumLen:]) {
		return boltMeta{}, errNotBolt
	}
	return boltMeta{pageSize: ne.Uint32(m[8:]), pgid: ne.Uint64(m[40:]), txid: ne.Uint64(m[48:])}, nil
}

// precheck inspects the file at l.path before bbolt opens it. A missing or
// empty file passes: bbolt creates one (or, read-only, fails cleanly).
func (l *Log) precheck() error {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", l.path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", l.path, err)
	}
	size := info.Size()
	if size == 0 {
		if l.readOnly {
			return l.errorf(ErrTruncated, nil, "is truncated: it is empty")
		}
		return nil
	}

	readPage := func(off int64) []byte {
		buf := make([]byte, boltMetaOffset+boltMetaLen)
		n, _ := f.ReadAt(buf, off)
		return buf[:n]
	}

	// Meta page 0 sits at offset 0 and gives the page size. If it is torn,
	// look for meta page 1 at each page size bbolt allows, as bbolt does.
	var metas []boltMeta
	if m, err := parseBoltMeta(readPage(0)); err == nil {
		metas = append(metas, m)
		if m1, err := parseBoltMeta(readPage(int64(m.pageSize))); err == nil {
			metas = append(metas, m1)
		}
	} else {
		for i := 0; i <= 14; i++ {
			if m1, err := parseBoltMeta(readPage(1024 << i)); err == nil {
				metas = append(metas, m1)
				break
			}
		}
	}
	if len(metas) == 0 {
		if size < boltMetaOffset+boltMetaLen {
			return l.errorf(ErrTruncated, nil, "is truncated: it is %d bytes, too short to be a log", size)
		}
		return l.damagedf("neither of its meta pages is valid")
	}

	// bbolt uses the valid meta page with the higher transaction id.
	m := metas[0]
	if len(metas) == 2 && metas[1].txid > m.txid {
		m = metas[1]
	}
	if m.pageSize < 512 || m.pageSize&(m.pageSize-1) != 0 {
		return l.damagedf("its meta page gives an impossible page size %d", m.pageSize)
	}
	if m.pgid > 1<<40 {
		return l.damagedf("its meta page gives an impossible page count %d", m.pgid)
	}
	want := uint64(m.pageSize) * max(m.pgid, 2)
	if uint64(size) < want {
		return l.errorf(ErrTruncated, nil, "is truncated: it is %d bytes but its meta page says %d",
			size, want)
	}
	return nil
}
