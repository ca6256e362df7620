package image

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// generatedImage returns the prefix and header of an image whose payload is size pattern bytes, and
// a function giving a fresh reader of the whole image that never holds the payload in memory.
func generatedImage(t testing.TB, size int64, d DigestType) (int64, func() io.Reader) {
	t.Helper()
	var head bytes.Buffer
	h, err := Write(context.Background(), &headOnly{w: &head}, HeaderOptions{VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 2, SoftwareVersionString: "2.0.0", DigestType: d},
		&patternReader{size: size})
	require.NoError(t, err)
	require.Equal(t, uint64(size), h.PayloadSize)
	hb := head.Bytes()
	return int64(len(hb)) + size, func() io.Reader { return io.MultiReader(bytes.NewReader(hb), &patternReader{size: size}) }
}

// headOnly keeps the first Write (Write's prefix and header) and discards the payload.
type headOnly struct {
	w    io.Writer
	done bool
}

func (h *headOnly) Write(p []byte) (int, error) {
	if !h.done {
		h.done = true
		return h.w.Write(p)
	}
	return len(p), nil
}

func BenchmarkVerify(b *testing.B) {
	for _, c := range []struct {
		name string
		size int64
		d    DigestType
	}{
		{"64MiB-sha-256", 64 << 20, SHA256},
		{"64MiB-sha-512", 64 << 20, SHA512},
		{"1MiB-sha-256", 1 << 20, SHA256},
	} {
		b.Run(c.name, func(b *testing.B) {
			total, open := generatedImage(b, c.size, c.d)
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				res, err := Verify(context.Background(), open())
				if err != nil || res.FileSize != total {
					b.Fatalf("verify: %v (%d bytes)", err, res.FileSize)
				}
			}
		})
	}
}

func BenchmarkWrite64MiB(b *testing.B) {
	p := &patternReader{size: 64 << 20}
	b.SetBytes(p.size)
	b.ReportAllocs()
	for b.Loop() {
		p.off = 0
		if _, err := Write(context.Background(), io.Discard, HeaderOptions{SoftwareVersion: 1, SoftwareVersionString: "1"}, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeHeader(b *testing.B) {
	data, err := os.ReadFile(vectorFile)
	require.NoError(b, err)
	var vs []mjsVector
	require.NoError(b, json.Unmarshal(data, &vs))
	head, err := hex.DecodeString(vs[1].Head) // every field, sha-512
	require.NoError(b, err)
	hdr := head[PrefixSize:]
	b.SetBytes(int64(len(hdr)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeHeader(hdr); err != nil {
			b.Fatal(err)
		}
	}
}

// Allocation counts are exact, unlike timings, so this one is a test: Verify's memory must not
// grow with the payload (it streams through a fixed buffer).
func TestVerifyAllocationsDoNotGrowWithThePayload(t *testing.T) {
	allocs := func(size int64) float64 {
		_, open := generatedImage(t, size, SHA256)
		return testing.AllocsPerRun(3, func() {
			if _, err := Verify(context.Background(), open()); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(1<<10), allocs(8<<20)
	assert.Equal(t, small, large, "allocations for a 1 KiB and an 8 MiB payload")
}
