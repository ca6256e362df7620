package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/otaconf/otaconf/tlv"
	"github.com/stretchr/testify/require"
)

// patternByte is the payload generator shared with interop/matterjs/mkimage.mjs: byte i is i mod 251.
func patternByte(i int64) byte { return byte(i % 251) }

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = patternByte(int64(i))
	}
	return b
}

// patternReader is a seekable payload of size pattern bytes that never exists in memory as a whole.
type patternReader struct {
	size, off int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := int64(len(b))
	if n > p.size-p.off {
		n = p.size - p.off
	}
	// Copy whole periods of the pattern at a time: generating byte by byte would make the generator,
	// not the code under test, the bottleneck of the benchmarks.
	done := int64(0)
	for done < n {
		phase := (p.off + done) % 251
		k := int64(copy(b[done:n], periods[phase:]))
		done += k
	}
	p.off += n
	return int(n), nil
}

// periods holds the pattern from phase 0 long enough that any phase has 64 KiB after it.
var periods = pattern(251 + bufSize)

func (p *patternReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += p.off
	case io.SeekEnd:
		off += p.size
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	p.off = off
	return off, nil
}

func u32(v uint32) *uint32 { return &v }

// writeImage is Write into memory.
func writeImage(t testing.TB, opts HeaderOptions, payload []byte) ([]byte, Header) {
	t.Helper()
	var out bytes.Buffer
	h, err := Write(context.Background(), &out, opts, bytes.NewReader(payload))
	require.NoError(t, err)
	return out.Bytes(), h
}

// assemble builds an image around a header TLV built by hand, with correct sizes.
func assemble(hdr, payload []byte) []byte {
	p := Prefix{FileIdentifier: FileIdentifier, TotalSize: uint64(PrefixSize + len(hdr) + len(payload)), HeaderSize: uint32(len(hdr))}
	b := p.append(nil)
	b = append(b, hdr...)
	return append(b, payload...)
}

// field is one header member for buildHeader; wide forces 8-byte integers.
type field struct {
	tag  uint8
	kind tlv.Kind
	u    uint64
	s    string
	b    []byte
	wide bool
}

func uintField(tag uint8, v uint64) field  { return field{tag: tag, kind: tlv.KindUint, u: v} }
func strField(tag uint8, s string) field   { return field{tag: tag, kind: tlv.KindUTF8, s: s} }
func bytesField(tag uint8, b []byte) field { return field{tag: tag, kind: tlv.KindBytes, b: b} }
func intField(tag uint8, v int64) field    { return field{tag: tag, kind: tlv.KindInt, u: uint64(v)} }
func wideField(tag uint8, v uint64) field {
	return field{tag: tag, kind: tlv.KindUint, u: v, wide: true}
}
func withoutTag(fs []field, tag uint8) []field {
	var out []field
	for _, f := range fs {
		if f.tag != tag {
			out = append(out, f)
		}
	}
	return out
}

// buildHeader writes fields, in the given order, into an anonymous structure.
func buildHeader(t testing.TB, fs []field) []byte {
	t.Helper()
	w := tlv.NewWriter(nil)
	w.StartStruct(tlv.Anonymous)
	for _, f := range fs {
		tag := tlv.Context(f.tag)
		switch f.kind {
		case tlv.KindUint:
			if f.wide {
				w.UintWithWidth(tag, f.u, 8)
			} else {
				w.Uint(tag, f.u)
			}
		case tlv.KindInt:
			w.Int(tag, int64(f.u))
		case tlv.KindUTF8:
			w.UTF8(tag, f.s)
		case tlv.KindBytes:
			w.OctetString(tag, f.b)
		}
	}
	w.End()
	b, err := w.Finish()
	require.NoError(t, err)
	return b
}

// baseFields is a valid header for payload: every tag, sha-256.
func baseFields(payload []byte) []field {
	hs := SHA256.New()
	hs.Write(payload)
	return []field{
		uintField(0, 0xFFF1), uintField(1, 0x8000), uintField(2, 2), strField(3, "2.0.0"),
		uintField(4, uint64(len(payload))), uintField(5, 1), uintField(6, 1),
		strField(7, "https://example.com/notes"), uintField(8, uint64(SHA256)), bytesField(9, hs.Sum(nil)),
	}
}

// problem is the part of an *Error a test pins down; Offset -2 means "any".
type problem struct {
	Err    error
	Field  string
	Offset int64
}

func problemsOf(r Result) []problem {
	var out []problem
	for _, p := range r.Problems {
		out = append(out, problem{p.Err, p.Field, p.Offset})
	}
	return out
}
