package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		opts    HeaderOptions
		payload int
	}{
		{"a minimal header with the default digest", HeaderOptions{VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 2, SoftwareVersionString: "2.0.0"}, 1024},
		{"every optional field", HeaderOptions{VendorID: 1, ProductID: 2, SoftwareVersion: 0xFFFFFFFF, SoftwareVersionString: "max",
			MinApplicableSoftwareVersion: u32(0), MaxApplicableSoftwareVersion: u32(0xFFFFFFFE), ReleaseNotesURL: "https://example.com/n", DigestType: SHA512}, 70_000},
		{"an empty payload", HeaderOptions{SoftwareVersion: 1, SoftwareVersionString: "1", DigestType: SHA3256}, 0},
		{"a payload of several buffers", HeaderOptions{SoftwareVersion: 1, SoftwareVersionString: "1", DigestType: SHA384}, 3*bufSize + 17},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			payload := pattern(c.payload)
			img, h := writeImage(t, c.opts, payload)
			res, err := Verify(t.Context(), bytes.NewReader(img))
			require.NoError(t, err)
			assert.Equal(t, h, res.Header)
			assert.Equal(t, uint64(c.payload), h.PayloadSize)
			assert.Equal(t, payload, img[res.PayloadStart:], "the payload is copied unchanged")
			want := c.opts.DigestType
			if want == 0 {
				want = SHA256
			}
			hs := want.New()
			hs.Write(payload)
			assert.Equal(t, hs.Sum(nil), h.ImageDigest)
			assert.Equal(t, uint64(len(img)), res.Prefix.TotalSize)
		})
	}
}

func TestWriteStartsWhereThePayloadReaderStands(t *testing.T) {
	r := &patternReader{size: 5000}
	_, err := r.Seek(1000, io.SeekStart)
	require.NoError(t, err)
	var out bytes.Buffer
	h, err := Write(t.Context(), &out, HeaderOptions{SoftwareVersion: 1, SoftwareVersionString: "1"}, r)
	require.NoError(t, err)
	assert.Equal(t, uint64(4000), h.PayloadSize)
	assert.Equal(t, pattern(5000)[1000:], out.Bytes()[out.Len()-4000:])
}

// changingPayload returns different bytes on its second pass.
type changingPayload struct {
	*bytes.Reader
	passes  int
	second  []byte
	swapped bool
}

func (c *changingPayload) Seek(off int64, whence int) (int64, error) {
	c.passes++
	if c.passes == 2 && !c.swapped {
		c.Reader, c.swapped = bytes.NewReader(c.second), true
	}
	return c.Reader.Seek(off, whence)
}

func TestWriteNoticesAPayloadThatChangesBetweenPasses(t *testing.T) {
	first := pattern(1000)
	cases := []struct {
		name   string
		second []byte
		detail string
	}{
		{"a payload that shrank", first[:999], "shrank"},
		{"a payload that grew", append(bytes.Clone(first), 0), "grew"},
		{"a payload with a changed byte", flip(first, 10), "differs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &changingPayload{Reader: bytes.NewReader(first), second: c.second}
			_, err := Write(t.Context(), io.Discard, HeaderOptions{SoftwareVersion: 1, SoftwareVersionString: "1"}, p)
			require.ErrorIs(t, err, ErrPayloadChanged)
			assert.Contains(t, err.Error(), c.detail)
		})
	}
}

func TestWriteRejectsInvalidOptionsBeforeWriting(t *testing.T) {
	ok := HeaderOptions{SoftwareVersion: 1, SoftwareVersionString: "1"}
	cases := []struct {
		name  string
		edit  func(*HeaderOptions)
		want  error
		field string
	}{
		{"an empty version string", func(o *HeaderOptions) { o.SoftwareVersionString = "" }, ErrConstraint, "SoftwareVersionString"},
		{"a version string of 65 bytes", func(o *HeaderOptions) { o.SoftwareVersionString = strings.Repeat("1", 65) }, ErrConstraint, "SoftwareVersionString"},
		{"an http release notes URL", func(o *HeaderOptions) { o.ReleaseNotesURL = "http://example.com" }, ErrConstraint, "ReleaseNotesURL"},
		{"a release notes URL without a host", func(o *HeaderOptions) { o.ReleaseNotesURL = "https:///x" }, ErrConstraint, "ReleaseNotesURL"},
		{"a release notes URL with a space", func(o *HeaderOptions) { o.ReleaseNotesURL = "https://example.com/a b" }, ErrConstraint, "ReleaseNotesURL"},
		{"an unknown digest type", func(o *HeaderOptions) { o.DigestType = 13 }, ErrUnknownDigestType, "ImageDigestType"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := ok
			c.edit(&o)
			var out bytes.Buffer
			_, err := Write(t.Context(), &out, o, bytes.NewReader([]byte("payload")))
			require.ErrorIs(t, err, c.want)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, c.field, e.Field)
			assert.Zero(t, out.Len(), "nothing is written")
		})
	}
}

func TestWriteStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Write(ctx, io.Discard, HeaderOptions{SoftwareVersion: 1, SoftwareVersionString: "1"}, &patternReader{size: 1 << 20})
	require.ErrorIs(t, err, context.Canceled)
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	payloadPath := filepath.Join(dir, "fw.bin")
	require.NoError(t, os.WriteFile(payloadPath, pattern(4096), 0o600))
	out := filepath.Join(dir, "fw.ota")

	t.Run("it writes a valid image", func(t *testing.T) {
		h, err := Create(t.Context(), out, HeaderOptions{VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 3, SoftwareVersionString: "3"}, payloadPath)
		require.NoError(t, err)
		f, err := os.Open(out)
		require.NoError(t, err)
		defer f.Close()
		res, err := Verify(t.Context(), f)
		require.NoError(t, err)
		assert.Equal(t, h, res.Header)
	})
	t.Run("a failure leaves neither the image nor a temporary file", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.ota")
		_, err := Create(t.Context(), bad, HeaderOptions{SoftwareVersion: 3}, payloadPath)
		require.ErrorIs(t, err, ErrConstraint)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		assert.ElementsMatch(t, []string{"fw.bin", "fw.ota"}, names)
	})
	t.Run("a missing payload file is an error naming it", func(t *testing.T) {
		_, err := Create(t.Context(), filepath.Join(dir, "x.ota"), HeaderOptions{SoftwareVersion: 3, SoftwareVersionString: "3"}, filepath.Join(dir, "nope.bin"))
		require.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), "nope.bin")
	})
}

func TestDigestTypes(t *testing.T) {
	// Known answers for "abc": FIPS 180-4 and FIPS 202 examples; the truncated sha-256 ids keep
	// the leading bytes (RFC 6920 §2).
	const sha256abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	cases := []struct {
		d    DigestType
		name string
		want string
	}{
		{SHA256, "sha-256", sha256abc},
		{SHA256128, "sha-256-128", sha256abc[:32]},
		{SHA256120, "sha-256-120", sha256abc[:30]},
		{SHA25696, "sha-256-96", sha256abc[:24]},
		{SHA25664, "sha-256-64", sha256abc[:16]},
		{SHA25632, "sha-256-32", sha256abc[:8]},
		{SHA384, "sha-384", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
		{SHA512, "sha-512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
		{SHA3224, "sha3-224", "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf"},
		{SHA3256, "sha3-256", "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"},
		{SHA3384, "sha3-384", "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25"},
		{SHA3512, "sha3-512", "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0"},
	}
	for _, c := range cases {
		t.Run(c.name+" hashes abc to its known answer", func(t *testing.T) {
			hs := c.d.New()
			hs.Write([]byte("abc"))
			got := hs.Sum([]byte("prefix"))
			assert.Equal(t, "prefix", string(got[:6]), "Sum appends")
			assert.Equal(t, c.want, hex.EncodeToString(got[6:]))
			assert.Equal(t, len(c.want)/2, c.d.Size())
			assert.Equal(t, c.d.Size(), hs.Size())
			assert.Equal(t, c.name, c.d.String())
			for _, spelling := range []string{c.name, strings.ToUpper(c.name), strings.ReplaceAll(c.name, "-", ""), strings.ReplaceAll(c.name, "-", "_")} {
				d, err := ParseDigestType(spelling)
				require.NoError(t, err, spelling)
				assert.Equal(t, c.d, d, spelling)
			}
		})
	}
	t.Run("unknown ids have no hash and a numbered name", func(t *testing.T) {
		for _, d := range []DigestType{0, 13, 255} {
			assert.Nil(t, d.New())
			assert.False(t, d.Known())
			assert.Zero(t, d.Size())
			assert.Contains(t, d.String(), "digest-type(")
		}
	})
	t.Run("parsing rejects unknown names and ids", func(t *testing.T) {
		for _, s := range []string{"md5", "", "13", "0", "sha-1"} {
			_, err := ParseDigestType(s)
			assert.Error(t, err, s)
		}
		d, err := ParseDigestType("8")
		require.NoError(t, err)
		assert.Equal(t, SHA512, d)
	})
	t.Run("the truncated hashes are sha-256 cut short", func(t *testing.T) {
		full := sha256.Sum256([]byte("abc"))
		hs := SHA25632.New()
		hs.Write([]byte("abc"))
		assert.Equal(t, full[:4], hs.Sum(nil))
	})
}

func TestApplies(t *testing.T) {
	base := Header{VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 10}
	with := func(edit func(*Header)) Header { h := base; edit(&h); return h }
	cases := []struct {
		name    string
		h       Header
		vendor  uint16
		product uint16
		version uint32
		want    bool
	}{
		{"a newer image for the same vendor and product applies", base, 0xFFF1, 0x8000, 9, true},
		{"the same version does not apply", base, 0xFFF1, 0x8000, 10, false},
		{"an older image does not apply", base, 0xFFF1, 0x8000, 11, false},
		{"another vendor's image does not apply", base, 0xFFF2, 0x8000, 9, false},
		{"another product's image does not apply", base, 0xFFF1, 0x8001, 9, false},
		{"vendor 0 in the image matches any vendor", with(func(h *Header) { h.VendorID = 0 }), 0x1234, 0x8000, 9, true},
		{"product 0 in the image matches any product", with(func(h *Header) { h.ProductID = 0 }), 0xFFF1, 0x1234, 9, true},
		{"vendor 0 in the query does not match a specific vendor", base, 0, 0x8000, 9, false},
		{"a version below MinApplicable does not apply", with(func(h *Header) { h.MinApplicableSoftwareVersion = u32(5) }), 0xFFF1, 0x8000, 4, false},
		{"a version equal to MinApplicable applies", with(func(h *Header) { h.MinApplicableSoftwareVersion = u32(5) }), 0xFFF1, 0x8000, 5, true},
		{"a version above MaxApplicable does not apply", with(func(h *Header) { h.MaxApplicableSoftwareVersion = u32(7) }), 0xFFF1, 0x8000, 8, false},
		{"a version equal to MaxApplicable applies", with(func(h *Header) { h.MaxApplicableSoftwareVersion = u32(7) }), 0xFFF1, 0x8000, 7, true},
		{"a MinApplicable of 0 is a bound, not absent", with(func(h *Header) { h.MinApplicableSoftwareVersion = u32(0) }), 0xFFF1, 0x8000, 0, true},
		{"a MaxApplicable of 0 is a bound, not absent", with(func(h *Header) { h.MaxApplicableSoftwareVersion = u32(0) }), 0xFFF1, 0x8000, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, Applies(c.h, c.vendor, c.product, c.version))
		})
	}
}

func TestHeaderEncodeIsMinimalAndDecodesBack(t *testing.T) {
	h := Header{VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 2, SoftwareVersionString: "2.0.0", PayloadSize: 1024,
		ImageDigestType: SHA256, ImageDigest: make([]byte, 32)}
	b, err := h.Encode()
	require.NoError(t, err)
	// 15 | 25 00 F1FF | 25 01 0080 | 24 02 02 | 2C 03 05 "2.0.0" | 25 04 0004 | 24 08 01 | 30 09 20 <32> | 18
	want := "152500f1ff25010080240202" + "2c0305" + hex.EncodeToString([]byte("2.0.0")) + "25040004" + "240801" + "300920" + strings.Repeat("00", 32) + "18"
	assert.Equal(t, want, hex.EncodeToString(b))
	back, err := DecodeHeader(b)
	require.NoError(t, err)
	assert.Equal(t, h, back)
}

func TestDecodeHeaderReturnsTheFieldsDespiteConstraintViolations(t *testing.T) {
	fs := baseFields(nil)
	fs[3] = strField(3, strings.Repeat("x", 65))
	h, err := DecodeHeader(buildHeader(t, fs))
	require.ErrorIs(t, err, ErrConstraint)
	assert.Len(t, h.SoftwareVersionString, 65)
	assert.Equal(t, uint16(0xFFF1), h.VendorID)

	fs = withoutTag(baseFields(nil), 2)
	h, err = DecodeHeader(buildHeader(t, fs))
	require.ErrorIs(t, err, ErrMissingField)
	assert.Zero(t, h, "a header missing a mandatory field is not returned")
}
