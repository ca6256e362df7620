package image

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

var propertySeed = flag.Int64("property-seed", 0, "gopter seed for the image properties (0: derived from the clock, and logged)")

// imageCase is a generated header and payload, and where to flip one bit pattern.
type imageCase struct {
	Opts     HeaderOptions
	Payload  []byte
	FlipAt   uint32 // reduced modulo the image length
	FlipMask uint8  // never 0
	// FlipInHead confines the flip to the prefix and header, which a uniform position would rarely hit.
	FlipInHead bool
}

// String keeps gopter's reports short (and cheap: it formats every generated value).
func (c imageCase) String() string {
	return fmt.Sprintf("{opts %+v, %d payload bytes, flip 0x%02X at %d (head only %v)}", c.Opts, len(c.Payload), c.FlipMask, c.FlipAt, c.FlipInHead)
}

func genOptionalU32() gopter.Gen {
	return gen.PtrOf(gen.UInt32())
}

// u32ptr reads a gen.PtrOf value, which is an untyped nil when absent.
func u32ptr(v any) *uint32 {
	p, _ := v.(*uint32)
	return p
}

func genImageCase() gopter.Gen {
	versionString := gen.IntRange(1, MaxSoftwareVersionString).FlatMap(func(n any) gopter.Gen {
		return gen.SliceOfN(n.(int), gen.AlphaNumChar()).Map(func(cs []rune) string { return string(cs) })
	}, nil)
	url := gen.OneGenOf(gen.Const(""), gen.IntRange(1, MaxReleaseNotesURL-len("https://example.com/")).FlatMap(func(n any) gopter.Gen {
		return gen.SliceOfN(n.(int), gen.AlphaNumChar()).Map(func(cs []rune) string { return "https://example.com/" + string(cs) })
	}, nil))
	opts := gopter.CombineGens(gen.UInt16(), gen.UInt16(), gen.UInt32(), versionString, genOptionalU32(), genOptionalU32(), url, gen.UInt8Range(uint8(SHA256), uint8(SHA3512))).
		Map(func(v []any) HeaderOptions {
			return HeaderOptions{VendorID: v[0].(uint16), ProductID: v[1].(uint16), SoftwareVersion: v[2].(uint32), SoftwareVersionString: v[3].(string),
				MinApplicableSoftwareVersion: u32ptr(v[4]), MaxApplicableSoftwareVersion: u32ptr(v[5]), ReleaseNotesURL: v[6].(string), DigestType: DigestType(v[7].(uint8))}
		})
	// The payload comes from a seeded generator: sizes up to a few buffers, contents random.
	payload := gopter.CombineGens(gen.IntRange(0, bufSize+2048), gen.UInt64()).Map(func(v []any) []byte {
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], v[1].(uint64))
		b := make([]byte, v[0].(int))
		_, _ = rand.NewChaCha8(seed).Read(b)
		return b
	})
	return gopter.CombineGens(opts, payload, gen.UInt32(), gen.UInt8Range(1, 255), gen.Bool()).Map(func(v []any) imageCase {
		return imageCase{v[0].(HeaderOptions), v[1].([]byte), v[2].(uint32), v[3].(uint8), v[4].(bool)}
	})
}

func TestImageProperties(t *testing.T) {
	seed := *propertySeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("gopter seed %d (rerun with -property-seed=%d)", seed, seed)
	params := gopter.DefaultTestParametersWithSeed(seed)
	params.MinSuccessfulTests = 200
	if testing.Short() {
		params.MinSuccessfulTests = 30
	}
	props := gopter.NewProperties(params)
	ctx := context.Background()

	props.Property("any header and payload written verifies and reads back unchanged", prop.ForAll(
		func(c imageCase) bool {
			var out bytes.Buffer
			h, err := Write(ctx, &out, c.Opts, bytes.NewReader(c.Payload))
			if err != nil {
				t.Log(err)
				return false
			}
			res, err := Verify(ctx, bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Log(err)
				return false
			}
			return equalHeaders(h, res.Header) && bytes.Equal(out.Bytes()[res.PayloadStart:], c.Payload) &&
				h.VendorID == c.Opts.VendorID && h.SoftwareVersionString == c.Opts.SoftwareVersionString &&
				h.ReleaseNotesURL == c.Opts.ReleaseNotesURL && h.ImageDigestType == c.Opts.DigestType
		}, genImageCase()))

	// A flip in the payload or the digest must fail the digest; a flip elsewhere in the header either
	// breaks the header or changes a field, because the digest covers only the payload (§11.21.2.4):
	// a verifier alone cannot notice a changed VendorID, only a reader that compares the header with
	// what it expected. A flip in the prefix breaks a size or the identifier.
	props.Property("any single flipped byte is noticed", prop.ForAll(
		func(c imageCase) bool {
			var out bytes.Buffer
			h, err := Write(ctx, &out, c.Opts, bytes.NewReader(c.Payload))
			if err != nil {
				t.Log(err)
				return false
			}
			img := out.Bytes()
			payloadStart := int64(len(img) - len(c.Payload))
			at := int64(c.FlipAt) % int64(len(img))
			if c.FlipInHead {
				at = int64(c.FlipAt) % payloadStart
			}
			img[at] ^= c.FlipMask
			res, err := Verify(ctx, bytes.NewReader(img))
			switch {
			case at >= payloadStart:
				return errorsIs(err, ErrDigestMismatch)
			case at < PrefixSize:
				return err != nil
			default:
				return err != nil || !equalHeaders(h, res.Header)
			}
		}, genImageCase()))

	props.TestingRun(t)
}

func errorsIs(err, target error) bool {
	for _, p := range problemsIn(err) {
		if p.Err == target {
			return true
		}
	}
	return false
}
