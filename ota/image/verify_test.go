package image

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/otaconf/otaconf/tlv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memberOffset is the file offset of the nth (0-based) member with context tag n of the header
// structure in hdr, or of its end-of-container for n = -1.
func memberOffset(t testing.TB, hdr []byte, n int, nth int) int64 {
	t.Helper()
	r := tlv.NewReader(hdr)
	require.NoError(t, r.Next())
	require.NoError(t, r.EnterContainer())
	seen := 0
	for {
		err := r.Next()
		if err == io.EOF {
			require.Equal(t, -1, n, "tag %d not found", n)
			return PrefixSize + int64(len(hdr)-1) // the end-of-container is the header's last byte
		}
		require.NoError(t, err)
		if n >= 0 && r.Tag().IsContext() && int(r.Tag().Number) == n {
			if seen == nth {
				return PrefixSize + int64(r.Offset())
			}
			seen++
		}
	}
}

func put32(b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func put64(b []byte, off int, v uint64) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint64(b[off:], v)
	return b
}

func flip(b []byte, off int64) []byte {
	b = bytes.Clone(b)
	b[off] ^= 0x01
	return b
}

func TestVerify(t *testing.T) {
	payload := pattern(3000)
	fields := baseFields(payload)
	hdr := buildHeader(t, fields)
	img := assemble(hdr, payload)
	H, T := len(hdr), uint64(len(img))
	start := int64(PrefixSize + H)
	off := func(tag int) int64 { return memberOffset(t, hdr, tag, 0) }
	// rebuilt assembles an image around changed fields, with correct sizes, and returns the header too.
	rebuilt := func(fs []field) ([]byte, []byte) {
		h := buildHeader(t, fs)
		return assemble(h, payload), h
	}
	replace := func(tag uint8, f field) []field {
		fs := make([]field, len(fields))
		copy(fs, fields)
		for i := range fs {
			if fs[i].tag == tag {
				fs[i] = f
			}
		}
		return fs
	}
	// payloadSizeAt rewrites the u16 PayloadSize value (3000 encodes as uint16) in place.
	payloadSizeAt := off(4) + 2
	setPayloadSize := func(v uint16) []byte {
		b := bytes.Clone(img)
		binary.LittleEndian.PutUint16(b[payloadSizeAt:], v)
		return b
	}

	type tc struct {
		name string
		img  []byte
		want []problem
	}
	cases := []tc{
		{"a valid image has no problem", img, nil},
		{"a wrong file identifier is ErrBadMagic at byte 0", flip(img, 0), []problem{{ErrBadMagic, FieldFileIdentifier, 0}}},
		{"a TotalSize one too large is a TotalSize mismatch at byte 4", put64(img, 4, T+1), []problem{{ErrSizeMismatch, FieldTotalSize, 4}}},
		{"a TotalSize one too small is a TotalSize mismatch at byte 4", put64(img, 4, T-1), []problem{{ErrSizeMismatch, FieldTotalSize, 4}}},
		{"a HeaderSize one too large is a HeaderSize mismatch at byte 12", put32(img, 12, uint32(H+1)), []problem{{ErrSizeMismatch, FieldHeaderSize, 12}}},
		{"a HeaderSize one too small is a HeaderSize mismatch at byte 12", put32(img, 12, uint32(H-1)), []problem{{ErrSizeMismatch, FieldHeaderSize, 12}}},
		{"a HeaderSize of zero is a HeaderSize mismatch at byte 12", put32(img, 12, 0), []problem{{ErrSizeMismatch, FieldHeaderSize, 12}}},
		{"a HeaderSize over 1024 is ErrHeaderTooLarge", put32(img, 12, MaxHeaderSize+1), []problem{{ErrHeaderTooLarge, FieldHeaderSize, 12}}},
		{"a HeaderSize of 2^32-1 is ErrHeaderTooLarge", put32(img, 12, 0xFFFFFFFF), []problem{{ErrHeaderTooLarge, FieldHeaderSize, 12}}},
		{"a PayloadSize one too large is a PayloadSize mismatch at its field", setPayloadSize(3001), []problem{{ErrSizeMismatch, "PayloadSize", off(4)}}},
		{"a PayloadSize one too small is a PayloadSize mismatch at its field", setPayloadSize(2999), []problem{{ErrSizeMismatch, "PayloadSize", off(4)}}},
		{"an empty file is truncated at byte 0", nil, []problem{{ErrTruncated, FieldFileIdentifier, 0}}},
		{"a file cut inside the prefix is truncated where it ends", img[:10], []problem{{ErrTruncated, FieldTotalSize, 10}}},
		{"a file cut inside the header TLV is truncated in the Header", img[:PrefixSize+H/2], []problem{{ErrTruncated, FieldHeader, int64(PrefixSize + H/2)}}},
		{"a file cut right after the header is truncated at the payload start", img[:start], []problem{{ErrTruncated, FieldPayload, start}}},
		{"a file cut inside the payload is truncated where it ends", img[:len(img)-100], []problem{{ErrTruncated, FieldPayload, int64(len(img) - 100)}}},
		{"a flipped payload byte is a digest mismatch", flip(img, start+1500), []problem{{ErrDigestMismatch, FieldPayload, start}}},
		{"a flipped last payload byte is a digest mismatch", flip(img, int64(len(img)-1)), []problem{{ErrDigestMismatch, FieldPayload, start}}},
		{"a flipped ImageDigest byte is a digest mismatch", flip(img, off(9)+5), []problem{{ErrDigestMismatch, FieldPayload, start}}},
		{"bytes after the payload are trailing data where the payload ends", append(bytes.Clone(img), 1, 2, 3), []problem{{ErrTrailingData, FieldPayload, int64(T)}}},
		{"bytes after the payload counted in TotalSize are trailing data and a TotalSize mismatch",
			put64(append(bytes.Clone(img), 1, 2, 3), 4, T+3), []problem{{ErrSizeMismatch, FieldTotalSize, 4}, {ErrTrailingData, FieldPayload, int64(T)}}},
		{"padding after the header counted in HeaderSize and TotalSize is only a HeaderSize mismatch",
			put64(put32(append(append(bytes.Clone(img[:start]), 0, 0, 0), payload...), 12, uint32(H+3)), 4, T+3),
			[]problem{{ErrSizeMismatch, FieldHeaderSize, 12}}},
	}
	add := func(name string, fs []field, want func(hdr []byte) []problem) {
		b, h := rebuilt(fs)
		cases = append(cases, tc{name, b, want(h)})
	}
	at := func(sentinel error, field string, tag, nth int) func([]byte) []problem {
		return func(h []byte) []problem { return []problem{{sentinel, field, memberOffset(t, h, tag, nth)}} }
	}
	add("a digest one byte short is a constraint violation on ImageDigest", replace(9, bytesField(9, fields[9].b[:31])), at(ErrConstraint, "ImageDigest", 9, 0))
	add("a sha-512 digest under a sha-256 type is a constraint violation on ImageDigest", replace(9, bytesField(9, make([]byte, 64))), at(ErrConstraint, "ImageDigest", 9, 0))
	add("an empty SoftwareVersionString is a constraint violation", replace(3, strField(3, "")), at(ErrConstraint, "SoftwareVersionString", 3, 0))
	add("a SoftwareVersionString of 65 bytes is a constraint violation", replace(3, strField(3, strings.Repeat("v", 65))), at(ErrConstraint, "SoftwareVersionString", 3, 0))
	add("a ReleaseNotesURL with the http scheme is a constraint violation", replace(7, strField(7, "http://example.com/notes")), at(ErrConstraint, "ReleaseNotesURL", 7, 0))
	add("a ReleaseNotesURL of 257 bytes is a constraint violation", replace(7, strField(7, "https://example.com/"+strings.Repeat("n", 237))), at(ErrConstraint, "ReleaseNotesURL", 7, 0))
	add("an empty ReleaseNotesURL is a constraint violation", replace(7, strField(7, "")), at(ErrConstraint, "ReleaseNotesURL", 7, 0))
	add("an unknown digest type is reported and the digest not checked", replace(8, uintField(8, 13)), at(ErrUnknownDigestType, "ImageDigestType", 8, 0))
	add("a VendorID as a signed integer is a wrong field type", replace(0, intField(0, 1)), at(ErrFieldType, "VendorID", 0, 0))
	add("a VendorID above 16 bits is a wrong field type", replace(0, uintField(0, 0x10000)), at(ErrFieldType, "VendorID", 0, 0))
	add("a SoftwareVersion above 32 bits is a wrong field type", replace(2, uintField(2, 1<<32)), at(ErrFieldType, "SoftwareVersion", 2, 0))
	add("an ImageDigestType above 8 bits is a wrong field type", replace(8, uintField(8, 256)), at(ErrFieldType, "ImageDigestType", 8, 0))
	add("a SoftwareVersionString as an octet string is a wrong field type", replace(3, bytesField(3, []byte("2.0"))), at(ErrFieldType, "SoftwareVersionString", 3, 0))
	add("an ImageDigest as a UTF-8 string is a wrong field type", replace(9, strField(9, "digest")), at(ErrFieldType, "ImageDigest", 9, 0))
	add("a malformed optional field is a wrong field type and the rest is still verified", replace(5, strField(5, "1")), at(ErrFieldType, "MinApplicableSoftwareVersion", 5, 0))
	add("a missing SoftwareVersionString is reported where it belonged", withoutTag(fields, 3), at(ErrMissingField, "SoftwareVersionString", 4, 0))
	add("a missing ImageDigest is reported at the end of the structure", withoutTag(fields, 9), at(ErrMissingField, "ImageDigest", -1, 0))
	add("a missing VendorID is reported where it belonged", withoutTag(fields, 0), at(ErrMissingField, "VendorID", 1, 0))
	swapped := append(append(append([]field{}, fields[:5]...), fields[6], fields[5]), fields[7:]...)
	add("tags 6 before 5 are out of order", swapped, at(ErrTagOrder, "MinApplicableSoftwareVersion", 5, 0))
	dup := append(append(append([]field{}, fields[:3]...), uintField(2, 3)), fields[3:]...)
	add("a repeated tag is out of order", dup, at(ErrTagOrder, "SoftwareVersion", 2, 1))
	add("a tag above 9 is an unknown field", append(append([]field{}, fields...), uintField(10, 1)), at(ErrUnknownField, FieldHeader, 10, 0))

	// Headers that are not a structure of fields at all.
	arr := tlv.NewWriter(nil)
	arr.StartArray(tlv.Anonymous)
	arr.End()
	arrHdr, _ := arr.Finish()
	cases = append(cases, tc{"a header that is an array is malformed header TLV", assemble(arrHdr, payload), []problem{{ErrHeaderTLV, FieldHeader, PrefixSize}}})
	reserved := bytes.Clone(hdr)
	reserved[off(2)-PrefixSize] = 0x3F // context tag form with the reserved element type 0x1F
	cases = append(cases, tc{"a reserved element type in the header is malformed header TLV at that byte", assemble(reserved, payload), []problem{{ErrHeaderTLV, FieldHeader, off(2)}}})
	tagged := bytes.Clone(hdr)
	tagged[0] = 0x35 // a structure with a context tag: the next octet (the first member's control octet) becomes its tag
	cases = append(cases, tc{"a header structure with a tag is malformed header TLV", assemble(tagged, payload), []problem{{ErrHeaderTLV, FieldHeader, PrefixSize}}})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Verify(t.Context(), bytes.NewReader(c.img))
			assert.Equal(t, c.want, problemsOf(res), "problems: %v", err)
			assert.Equal(t, int64(len(c.img)), res.FileSize, "Verify must read the whole file")
			if c.want == nil {
				require.NoError(t, err)
				assert.True(t, res.OK())
				return
			}
			require.Error(t, err)
			for _, w := range c.want {
				assert.ErrorIs(t, err, w.Err)
			}
			for _, p := range res.Problems {
				assert.Contains(t, p.Error(), p.Field, "the message names the field")
				assert.Contains(t, p.Error(), "§11.21.2", "the message cites the spec section")
			}
		})
	}
}

func TestVerifyAcceptsValidImages(t *testing.T) {
	payload := pattern(777)
	full := baseFields(payload)
	var wide []field
	for _, f := range full {
		if f.kind == tlv.KindUint {
			f = wideField(f.tag, f.u)
		}
		wide = append(wide, f)
	}
	empty := baseFields(nil)
	cases := []struct {
		name    string
		fields  []field
		payload []byte
	}{
		{"a header with every field is valid", full, payload},
		{"a header with only the mandatory fields is valid", withoutTag(withoutTag(withoutTag(full, 5), 6), 7), payload},
		{"8-byte integers everywhere are valid", wide, payload},
		{"an empty payload is valid", empty, nil},
		{"vendor and product 0 (any) are valid", append([]field{uintField(0, 0), uintField(1, 0)}, full[2:]...), payload},
		{"a SoftwareVersionString of 64 bytes is valid", append(append(append([]field{}, full[:3]...), strField(3, strings.Repeat("é", 32))), full[4:]...), payload},
		{"a ReleaseNotesURL of 256 bytes is valid", append(append(append([]field{}, full[:7]...), strField(7, "https://example.com/"+strings.Repeat("n", 236))), full[8:]...), payload},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := buildHeader(t, c.fields)
			img := assemble(hdr, c.payload)
			res, err := Verify(t.Context(), bytes.NewReader(img))
			require.NoError(t, err)
			require.True(t, res.HeaderOK)
			assert.Equal(t, uint64(len(c.payload)), res.Header.PayloadSize)
			assert.Equal(t, int64(PrefixSize+len(hdr)), res.PayloadStart)
			assert.Equal(t, res.Header.ImageDigest, res.Digest)

			// DecodeHeader and ReadHeader agree with Verify.
			h, err := DecodeHeader(hdr)
			require.NoError(t, err)
			assert.Equal(t, res.Header, h)
			r := bytes.NewReader(img)
			p, h2, err := ReadHeader(r)
			require.NoError(t, err)
			assert.Equal(t, res.Prefix, p)
			assert.Equal(t, h, h2)
			assert.Equal(t, len(c.payload), r.Len(), "ReadHeader leaves the reader at the payload")
		})
	}
}

func TestVerifyListsEveryProblem(t *testing.T) {
	payload := pattern(100)
	fs := baseFields(payload)
	fs[3] = strField(3, "")                      // constraint
	fs[7] = strField(7, "ftp://example.com/n")   // constraint
	img := assemble(buildHeader(t, fs), payload) //
	img[0] ^= 0xFF                               // magic
	img[len(img)-1] ^= 0xFF                      // digest
	res, err := Verify(t.Context(), bytes.NewReader(img))
	require.Error(t, err)
	var got []error
	for _, p := range res.Problems {
		got = append(got, p.Err)
	}
	assert.Equal(t, []error{ErrBadMagic, ErrConstraint, ErrConstraint, ErrDigestMismatch}, got, "problems in file order")
}

func TestVerifyReportsReadErrorsAndCancellation(t *testing.T) {
	img, _ := writeImage(t, HeaderOptions{VendorID: 1, ProductID: 1, SoftwareVersion: 1, SoftwareVersionString: "1"}, pattern(200_000))
	boom := errors.New("disk on fire")

	_, err := Verify(t.Context(), io.MultiReader(bytes.NewReader(img[:100_000]), iotest.ErrReader(boom)))
	assert.ErrorIs(t, err, boom)
	assert.NotErrorIs(t, err, ErrTruncated, "a read error is not a truncated file")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Verify(ctx, bytes.NewReader(img))
	assert.ErrorIs(t, err, context.Canceled)

	res, err := Verify(t.Context(), iotest.OneByteReader(bytes.NewReader(img)))
	require.NoError(t, err, "short reads are fine")
	assert.True(t, res.OK())
}

func TestReadHeader(t *testing.T) {
	payload := pattern(50)
	hdr := buildHeader(t, baseFields(payload))
	img := assemble(hdr, payload)
	cases := []struct {
		name string
		img  []byte
		want problem
	}{
		{"a short prefix is truncated", img[:3], problem{ErrTruncated, FieldFileIdentifier, 3}},
		{"a wrong file identifier is ErrBadMagic", flip(img, 2), problem{ErrBadMagic, FieldFileIdentifier, 0}},
		{"a HeaderSize over 1024 is ErrHeaderTooLarge", put32(img, 12, 1025), problem{ErrHeaderTooLarge, FieldHeaderSize, 12}},
		{"a file ending inside the header is truncated", img[:PrefixSize+10], problem{ErrTruncated, FieldHeader, PrefixSize + 10}},
		{"a HeaderSize past the structure is a HeaderSize mismatch", put32(img, 12, uint32(len(hdr)+1)), problem{ErrSizeMismatch, FieldHeaderSize, 12}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadHeader(bytes.NewReader(c.img))
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, c.want, problem{e.Err, e.Field, e.Offset})
		})
	}
}

func TestVerifyWithoutAUsableHeaderStillComparesTotalSize(t *testing.T) {
	payload := pattern(10)
	img := assemble(buildHeader(t, withoutTag(baseFields(payload), 9)), payload)
	img = put64(img, 4, uint64(len(img)+7))
	res, err := Verify(t.Context(), bytes.NewReader(img))
	require.Error(t, err)
	assert.False(t, res.HeaderOK)
	assert.Equal(t, []problem{{ErrSizeMismatch, FieldTotalSize, 4}, {ErrMissingField, "ImageDigest", int64(len(img) - 11)}}, problemsOf(res))
}

func TestReadHeaderReportsReadErrorsAsSuch(t *testing.T) {
	boom := errors.New("cable unplugged")
	payload := pattern(10)
	img := assemble(buildHeader(t, baseFields(payload)), payload)
	for _, n := range []int{5, PrefixSize + 3} {
		_, _, err := ReadHeader(io.MultiReader(bytes.NewReader(img[:n]), iotest.ErrReader(boom)))
		require.ErrorIs(t, err, boom)
		assert.NotErrorIs(t, err, ErrTruncated)
	}
}
