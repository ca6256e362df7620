package image

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"testing/iotest"

	"github.com/otaconf/otaconf/tlv"
)

// seedImages are small valid images: the recorded matter.js ones and a few of ours.
func seedImages(f *testing.F) [][]byte {
	var out [][]byte
	data, err := os.ReadFile(vectorFile)
	if err != nil {
		f.Fatal(err)
	}
	var vs []mjsVector
	if err := json.Unmarshal(data, &vs); err != nil {
		f.Fatal(err)
	}
	for _, v := range vs {
		head, _ := hex.DecodeString(v.Head)
		if v.Spec.PayloadSize <= 4096 {
			out = append(out, append(head, pattern(v.Spec.PayloadSize)...))
		}
	}
	payload := pattern(64)
	out = append(out, assemble(buildHeader(f, baseFields(payload)), payload))
	var wide []field
	for _, fl := range baseFields(payload) {
		if fl.kind == tlv.KindUint {
			fl = wideField(fl.tag, fl.u)
		}
		wide = append(wide, fl)
	}
	out = append(out, assemble(buildHeader(f, wide), payload))
	return out
}

// problemsIn lists the *Errors in err (one, or several joined).
func problemsIn(err error) []*Error {
	var e *Error
	if errors.As(err, &e) && !isJoined(err) {
		return []*Error{e}
	}
	var out []*Error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, x := range j.Unwrap() {
			out = append(out, problemsIn(x)...)
		}
	}
	return out
}

func isJoined(err error) bool {
	_, ok := err.(interface{ Unwrap() []error })
	_, single := err.(*Error)
	return ok && !single
}

// FuzzDecodeHeader: decoding never panics; every error is an *Error pointing into the header (or at
// HeaderSize); whatever decodes re-encodes to a header that decodes to the same value and encodes to
// the same bytes, and to the input itself when the input used the smallest widths.
func FuzzDecodeHeader(f *testing.F) {
	for _, img := range seedImages(f) {
		p := decodePrefix(img)
		f.Add(img[PrefixSize : PrefixSize+int(p.HeaderSize)])
	}
	f.Add([]byte{0x15, 0x18})
	f.Add([]byte{0x16, 0x18})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			ps := problemsIn(err)
			if len(ps) == 0 {
				t.Fatalf("error is not an *Error: %v", err)
			}
			for _, p := range ps {
				inHeader := p.Offset >= PrefixSize && p.Offset <= int64(PrefixSize+len(b))
				if !(inHeader || (p.Offset == 12 && p.Field == FieldHeaderSize)) || p.Field == "" || p.Err == nil {
					t.Fatalf("problem without a valid place: %#v", p)
				}
			}
			return
		}
		enc, err := h.Encode()
		if err != nil {
			t.Fatalf("a decoded header does not encode: %v (%+v)", err, h)
		}
		h2, err := DecodeHeader(enc)
		if err != nil {
			t.Fatalf("re-encoded header does not decode: %v", err)
		}
		if !equalHeaders(h, h2) {
			t.Fatalf("decode→encode→decode changed the header:\n%+v\n%+v", h, h2)
		}
		enc2, err := h2.Encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable: %x vs %x (%v)", enc, enc2, err)
		}
		if findings, _ := tlv.Check(b); len(findings) == 0 && !bytes.Equal(enc, b) {
			t.Fatalf("a header in the smallest widths re-encodes differently:\n in %x\nout %x", b, enc)
		}
	})
}

func equalHeaders(a, b Header) bool {
	eq := func(x, y *uint32) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.VendorID == b.VendorID && a.ProductID == b.ProductID && a.SoftwareVersion == b.SoftwareVersion &&
		a.SoftwareVersionString == b.SoftwareVersionString && a.PayloadSize == b.PayloadSize &&
		eq(a.MinApplicableSoftwareVersion, b.MinApplicableSoftwareVersion) && eq(a.MaxApplicableSoftwareVersion, b.MaxApplicableSoftwareVersion) &&
		a.ReleaseNotesURL == b.ReleaseNotesURL && a.ImageDigestType == b.ImageDigestType && bytes.Equal(a.ImageDigest, b.ImageDigest)
}

// FuzzVerify: Verify never panics and reads the whole input; its verdict is the same in one-byte
// reads; every problem has a place inside the file; and an image it accepts reads back through
// ReadHeader and rewrites (with Write) into an image it accepts again, byte for byte identical when
// the header used the smallest widths.
func FuzzVerify(f *testing.F) {
	for _, img := range seedImages(f) {
		f.Add(img)
		f.Add(flip(img, int64(len(img)-1)))
		f.Add(img[:len(img)/2])
		f.Add(put32(img, 12, 5))
	}
	f.Add([]byte{})
	f.Add([]byte{0x1E, 0xF1, 0xEE, 0x1B})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Verify(ctx, bytes.NewReader(b))
		if (err == nil) != res.OK() {
			t.Fatalf("err %v but OK() = %v", err, res.OK())
		}
		if res.FileSize != int64(len(b)) {
			t.Fatalf("read %d of %d bytes", res.FileSize, len(b))
		}
		for _, p := range res.Problems {
			if p.Offset < 0 || p.Offset > int64(len(b)) || p.Field == "" || p.Err == nil {
				t.Fatalf("problem without a valid place: %#v", p)
			}
		}
		slow, _ := Verify(ctx, iotest.OneByteReader(bytes.NewReader(b)))
		if len(slow.Problems) != len(res.Problems) {
			t.Fatalf("one-byte reads change the verdict: %v vs %v", slow.Err(), res.Err())
		}
		for i := range slow.Problems {
			if slow.Problems[i].Error() != res.Problems[i].Error() {
				t.Fatalf("one-byte reads change problem %d: %v vs %v", i, slow.Problems[i], res.Problems[i])
			}
		}
		if err != nil {
			return
		}
		p, h, err := ReadHeader(bytes.NewReader(b))
		if err != nil || p != res.Prefix || !equalHeaders(h, res.Header) {
			t.Fatalf("ReadHeader disagrees with Verify: %v", err)
		}
		var out bytes.Buffer
		opts := HeaderOptions{VendorID: h.VendorID, ProductID: h.ProductID, SoftwareVersion: h.SoftwareVersion, SoftwareVersionString: h.SoftwareVersionString,
			MinApplicableSoftwareVersion: h.MinApplicableSoftwareVersion, MaxApplicableSoftwareVersion: h.MaxApplicableSoftwareVersion,
			ReleaseNotesURL: h.ReleaseNotesURL, DigestType: h.ImageDigestType}
		h2, err := Write(ctx, &out, opts, bytes.NewReader(b[res.PayloadStart:]))
		if err != nil || !equalHeaders(h, h2) {
			t.Fatalf("rewriting an accepted image: %v\n%+v\n%+v", err, h, h2)
		}
		if findings, _ := tlv.Check(b[PrefixSize:res.PayloadStart]); len(findings) == 0 && !bytes.Equal(out.Bytes(), b) {
			t.Fatalf("rewriting a canonical image changed it")
		}
	})
}
