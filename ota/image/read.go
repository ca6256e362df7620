package image

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"
)

// bufSize is the streaming buffer of Verify and Write. It is at least MaxHeaderSize, so the header
// and the look-ahead past it fit in one read.
const bufSize = 64 << 10

// bufPool recycles the streaming buffers: a provider verifies every image it serves, and a fresh
// 64 KiB buffer per call would dominate the cost of checking a small image.
var bufPool = sync.Pool{New: func() any { return new([bufSize]byte) }}

func getBuf() *[bufSize]byte { return bufPool.Get().(*[bufSize]byte) }

// ReadHeader reads exactly the prefix and HeaderSize bytes from r and decodes the header; r is left
// at the first payload byte. It checks the FileIdentifier, HeaderSize ≤ MaxHeaderSize and the header
// (as DecodeHeader, whose Header it returns), not the sizes or the digest, which need the whole
// file: that is Verify. Short input gives ErrTruncated.
func ReadHeader(r io.Reader) (Prefix, Header, error) {
	var buf [PrefixSize + MaxHeaderSize]byte
	n, err := io.ReadFull(r, buf[:PrefixSize])
	if err != nil {
		return Prefix{}, Header{}, truncatedOrIO(err, prefixTruncated(int64(n)))
	}
	p := decodePrefix(buf[:])
	if p.FileIdentifier != FileIdentifier {
		return p, Header{}, badMagic(p)
	}
	if p.HeaderSize > MaxHeaderSize {
		return p, Header{}, tooLarge(p)
	}
	hb := buf[PrefixSize : PrefixSize+int(p.HeaderSize)]
	if n, err := io.ReadFull(r, hb); err != nil {
		return p, Header{}, truncatedOrIO(err, &Error{Offset: PrefixSize + int64(n), Field: FieldHeader, Err: ErrTruncated,
			Detail: fmt.Sprintf("the file ends at byte %d, inside the header (HeaderSize %d puts its end at byte %d)", PrefixSize+n, p.HeaderSize, PrefixSize+int(p.HeaderSize))})
	}
	h, err := DecodeHeader(hb)
	return p, h, err
}

func truncatedOrIO(err error, p *Error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return p
	}
	return fmt.Errorf("ota image: reading at byte %d: %w", p.Offset, err)
}

func prefixTruncated(n int64) *Error {
	field := FieldHeaderSize
	switch {
	case n < 4:
		field = FieldFileIdentifier
	case n < 12:
		field = FieldTotalSize
	}
	return &Error{Offset: n, Field: field, Err: ErrTruncated, Detail: fmt.Sprintf("the file has %d bytes; the prefix alone is %d", n, PrefixSize)}
}

func badMagic(p Prefix) *Error {
	return &Error{Offset: 0, Field: FieldFileIdentifier, Err: ErrBadMagic, Detail: fmt.Sprintf("0x%08X, want 0x%08X (bytes 1E F1 EE 1B)", p.FileIdentifier, FileIdentifier)}
}

func tooLarge(p Prefix) *Error {
	return &Error{Offset: 12, Field: FieldHeaderSize, Err: ErrHeaderTooLarge, Detail: fmt.Sprintf("HeaderSize %d; CHIP refuses more than %d", p.HeaderSize, MaxHeaderSize)}
}

// Result is what Verify found. Problems lists every problem, ordered by offset; an empty list means
// the image is valid.
type Result struct {
	FileSize     int64  // bytes read from the input
	Prefix       Prefix // valid when FileSize ≥ PrefixSize
	Header       Header // valid when HeaderOK
	HeaderOK     bool   // every mandatory header field was read (Problems may still name other header problems)
	PayloadStart int64  // file offset of the first payload byte, when HeaderOK
	Digest       []byte // the payload digest Verify computed and compared, or nil
	Problems     []*Error
}

// OK reports whether no problem was found.
func (r *Result) OK() bool { return len(r.Problems) == 0 }

// Err joins the problems into one error (nil when OK).
func (r *Result) Err() error { return joinProblems(r.Problems) }

func (r *Result) add(off int64, field string, sentinel error, format string, args ...any) {
	r.Problems = append(r.Problems, &Error{Offset: off, Field: field, Err: sentinel, Detail: fmt.Sprintf(format, args...)})
}

// payloadHash hashes the bytes after the header and keeps the digest of the first PayloadSize of
// them, so that a wrong PayloadSize can still be told from a corrupted payload.
type payloadHash struct {
	hs     hash.Hash // nil: count only
	size   uint64    // PayloadSize
	n      uint64    // bytes seen
	atSize []byte    // digest of the first size bytes, once n ≥ size
}

func (p *payloadHash) write(b []byte) {
	if p.hs != nil {
		if p.n <= p.size && p.size-p.n <= uint64(len(b)) && p.atSize == nil {
			k := p.size - p.n
			p.hs.Write(b[:k])
			p.atSize = p.hs.Sum(nil)
			b = b[k:]
			p.n += k
		}
		p.hs.Write(b)
	}
	p.n += uint64(len(b))
}

// Verify reads an image to its end through a fixed buffer and checks what ota-provider.md §7.4 asks
// a provider to check before offering it: the FileIdentifier, HeaderSize (≤ MaxHeaderSize and equal
// to the header structure's length), the header (as DecodeHeader), TotalSize against the file
// length, the payload length against PayloadSize, and the payload digest. It carries on past a
// problem as far as the layout can still be known, so the Result lists every problem, and it blames
// a size disagreement on the one size field that disagrees with the other two and the file.
//
// The error is the Result's Err, or a read failure or ctx's error (with the Result so far).
func Verify(ctx context.Context, r io.Reader) (Result, error) {
	var res Result
	buf := getBuf()
	defer bufPool.Put(buf)
	err := verify(ctx, r, buf[:], &res)
	slices.SortStableFunc(res.Problems, func(a, b *Error) int { return cmp.Compare(a.Offset, b.Offset) })
	if err != nil {
		return res, err
	}
	return res, res.Err()
}

func verify(ctx context.Context, r io.Reader, buf []byte, res *Result) error {
	n, err := io.ReadFull(r, buf[:PrefixSize])
	res.FileSize = int64(n)
	if err != nil {
		err = truncatedOrIO(err, prefixTruncated(int64(n)))
		if p, ok := err.(*Error); ok {
			res.Problems = append(res.Problems, p)
			return nil
		}
		return err
	}
	res.Prefix = decodePrefix(buf)
	p := res.Prefix
	if p.FileIdentifier != FileIdentifier {
		res.Problems = append(res.Problems, badMagic(p))
	}
	if p.HeaderSize > MaxHeaderSize {
		res.Problems = append(res.Problems, tooLarge(p))
		// Nothing tells where the payload starts: only the file length can still be checked.
		return finishUnknownLayout(ctx, r, buf, res)
	}

	// Read ahead MaxHeaderSize bytes: the header structure is self-delimiting, so its real length can
	// be compared with HeaderSize, and a wrong HeaderSize does not hide everything after it.
	avail, err := io.ReadFull(r, buf[:MaxHeaderSize])
	res.FileSize += int64(avail)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("ota image: reading at byte %d: %w", res.FileSize, err)
	}
	hsize := int(p.HeaderSize)
	end, endErr := headerEnd(buf[:avail])
	hdrLen := hsize
	switch {
	case endErr == nil:
		hdrLen = end
	case avail < hsize:
		res.add(PrefixSize+int64(avail), FieldHeader, ErrTruncated, "the file ends at byte %d, inside the header (HeaderSize %d puts its end at byte %d)", PrefixSize+avail, hsize, PrefixSize+hsize)
		return nil
	}
	h, offs, ps, complete := decodeHeader(buf[:hdrLen])
	res.Problems = append(res.Problems, ps...)
	start := hdrLen
	if endErr == nil && end != hsize {
		// Either HeaderSize is wrong or the header is padded; TotalSize tells which layout the writer
		// meant.
		if complete && hsize > end && hsize <= avail && declaredSize(hsize, h.PayloadSize) == p.TotalSize {
			start = hsize
			res.add(12, FieldHeaderSize, ErrSizeMismatch, "HeaderSize %d, but the header structure is %d bytes: bytes %d..%d are padding", hsize, end, PrefixSize+end, PrefixSize+hsize-1)
		} else {
			res.add(12, FieldHeaderSize, ErrSizeMismatch, "HeaderSize %d, but the header structure is %d bytes (it ends at byte %d)", hsize, end, PrefixSize+end)
		}
	}
	if !complete {
		return finishUnknownLayout(ctx, r, buf, res)
	}
	res.Header, res.HeaderOK, res.PayloadStart = h, true, int64(PrefixSize+start)

	ph := payloadHash{hs: h.ImageDigestType.New(), size: h.PayloadSize}
	if ph.hs != nil && len(h.ImageDigest) != ph.hs.Size() {
		ph.hs = nil // the digest field has the wrong length (already reported): nothing to compare
	}
	ph.write(buf[start:avail])
	rest, err := drain(ctx, r, buf, &ph)
	res.FileSize += rest
	if err != nil {
		return err
	}
	checkPayload(res, &ph, offs)
	return nil
}

// finishUnknownLayout reads the rest of the input when the header could not be read, and compares
// the file length with TotalSize.
func finishUnknownLayout(ctx context.Context, r io.Reader, buf []byte, res *Result) error {
	rest, err := drain(ctx, r, buf, nil)
	res.FileSize += rest
	if err != nil {
		return err
	}
	if uint64(res.FileSize) != res.Prefix.TotalSize {
		res.add(4, FieldTotalSize, ErrSizeMismatch, "TotalSize %d, but the file has %d bytes", res.Prefix.TotalSize, res.FileSize)
	}
	return nil
}

// checkPayload compares the three sizes (TotalSize, the layout PrefixSize + header + PayloadSize,
// the file length) and the digest.
func checkPayload(res *Result, ph *payloadHash, offs fieldOffsets) {
	h, total, size := &res.Header, res.Prefix.TotalSize, uint64(res.FileSize)
	declared := declaredSize(int(res.PayloadStart-PrefixSize), h.PayloadSize)
	var digest []byte
	if total != declared && total == size {
		// TotalSize and the file agree and PayloadSize does not. Either PayloadSize is wrong (then the
		// digest matches everything after the header) or bytes were appended and counted in TotalSize
		// (then it matches the first PayloadSize bytes).
		var all []byte
		if ph.hs != nil {
			all = ph.hs.Sum(nil)
		}
		if all != nil && !bytes.Equal(all, h.ImageDigest) && ph.atSize != nil && bytes.Equal(ph.atSize, h.ImageDigest) {
			res.Digest = ph.atSize
			res.add(4, FieldTotalSize, ErrSizeMismatch, "TotalSize %d counts the trailing data: %d + header %d + PayloadSize %d = %d", total, PrefixSize, res.PayloadStart-PrefixSize, h.PayloadSize, declared)
			res.add(int64(declared), FieldPayload, ErrTrailingData, "%d bytes after the payload, which ends at byte %d", size-declared, declared)
			return
		}
		res.add(offs[tagPayloadSize], headerFields[tagPayloadSize], ErrSizeMismatch, "PayloadSize %d, but %d bytes follow the header, as TotalSize %d agrees", h.PayloadSize, ph.n, total)
		digest = all
	} else {
		if total != declared {
			res.add(4, FieldTotalSize, ErrSizeMismatch, "TotalSize %d, but %d + header %d + PayloadSize %d = %d", total, PrefixSize, res.PayloadStart-PrefixSize, h.PayloadSize, declared)
		}
		switch {
		case size < declared:
			res.add(res.FileSize, FieldPayload, ErrTruncated, "the file ends at byte %d, %d bytes into the %d-byte payload", res.FileSize, ph.n, h.PayloadSize)
			return // no digest to compare
		case size > declared:
			res.add(int64(declared), FieldPayload, ErrTrailingData, "%d bytes after the payload, which ends at byte %d", size-declared, declared)
		}
		digest = ph.atSize
	}
	if digest == nil {
		return
	}
	res.Digest = digest
	if !bytes.Equal(digest, h.ImageDigest) {
		res.add(res.PayloadStart, FieldPayload, ErrDigestMismatch, "the %s of the payload is %x, ImageDigest (byte %d) says %x", h.ImageDigestType, digest, offs[tagDigest], h.ImageDigest)
	}
}

// drain reads r to its end through buf, feeding ph when it is not nil, and returns the number of
// bytes read. It checks ctx between reads.
func drain(ctx context.Context, r io.Reader, buf []byte, ph *payloadHash) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("ota image: verify stopped: %w", err)
		}
		n, err := r.Read(buf)
		if n > 0 {
			if ph != nil {
				ph.write(buf[:n])
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("ota image: reading the rest of the file (%d bytes in): %w", total, err)
		}
	}
}
