package ota

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/tlv"
)

// Round trips of the five commands and the constraint table at every bound, for generated values
// (the single-field bounds of property_test.go, here for whole commands and the response side).

// propertySeed is OTACONF_SEED when set (to replay a failure), else a fresh one; it is logged.
func propertySeed(t *testing.T) int64 {
	if s := os.Getenv("OTACONF_SEED"); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("OTACONF_SEED %q: %v", s, err)
		}
		return seed
	}
	return time.Now().UnixNano()
}

// nearBound draws a length: mostly right at a bound (lo-1, lo, lo+1, hi-1, hi, hi+1), else anywhere
// in 0..hi+8.
func nearBound(r *rand.Rand, lo, hi int) int {
	if r.Intn(4) > 0 {
		c := [...]int{lo - 1, lo, lo + 1, hi - 1, hi, hi + 1}
		return max(0, c[r.Intn(len(c))])
	}
	return r.Intn(hi + 9)
}

func someBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

// someText is valid UTF-8 of exactly n octets (ASCII and two-octet characters).
func someText(r *rand.Rand, n int) string {
	var b []byte
	for len(b) < n {
		if n-len(b) >= 2 && r.Intn(3) == 0 {
			b = append(b, "é"...)
		} else {
			b = append(b, byte('a'+r.Intn(26)))
		}
	}
	return string(b)
}

// generated wraps a value drawn from params.Rng, so that gopter prints it on failure.
func generated(draw func(r *rand.Rand) any) gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		return gopter.NewGenResult(draw(p.Rng), gopter.NoShrinker)
	}
}

// genCommand draws any of the five commands, with lengths near the bounds of ota-provider.md §2.
func genCommand() gopter.Gen {
	return generated(func(r *rand.Rand) any {
		opt := func() bool { return r.Intn(2) == 0 }
		switch r.Intn(5) {
		case 0:
			q := QueryImage{VendorID: uint16(r.Uint32()), ProductID: uint16(r.Uint32()), SoftwareVersion: r.Uint32(),
				ProtocolsSupported: make([]DownloadProtocol, nearBound(r, 0, MaxProtocolsSupported))}
			for i := range q.ProtocolsSupported {
				q.ProtocolsSupported[i] = DownloadProtocol(r.Intn(5)) // 4 is one past the enum
			}
			if opt() {
				q.HardwareVersion = Ptr(uint16(r.Uint32()))
			}
			if opt() {
				q.Location = Ptr(someText(r, nearBound(r, LocationLen, LocationLen)))
			}
			if opt() {
				q.RequestorCanConsent = Ptr(opt())
			}
			if opt() {
				q.MetadataForProvider = someBytes(r, nearBound(r, 0, MaxMetadataLen))
			}
			return q
		case 1:
			q := QueryImageResponse{Status: Status(r.Intn(5))}
			if opt() {
				q.DelayedActionTime = Ptr(r.Uint32())
			}
			if opt() {
				q.ImageURI = Ptr(someText(r, nearBound(r, 0, MaxImageURILen)))
			}
			if opt() {
				q.SoftwareVersion = Ptr(r.Uint32())
			}
			if opt() {
				q.SoftwareVersionString = Ptr(someText(r, nearBound(r, MinVersionStringLen, MaxVersionStringLen)))
			}
			if opt() {
				q.UpdateToken = someBytes(r, nearBound(r, MinTokenLen, MaxTokenLen))
			}
			if opt() {
				q.UserConsentNeeded = Ptr(opt())
			}
			if opt() {
				q.MetadataForRequestor = someBytes(r, nearBound(r, 0, MaxMetadataLen))
			}
			return q
		case 2:
			return ApplyUpdateRequest{UpdateToken: someBytes(r, nearBound(r, MinTokenLen, MaxTokenLen)), NewVersion: r.Uint32()}
		case 3:
			return ApplyUpdateResponse{Action: ApplyAction(r.Intn(4)), DelayedActionTime: r.Uint32()}
		}
		return NotifyUpdateApplied{UpdateToken: someBytes(r, nearBound(r, MinTokenLen, MaxTokenLen)), SoftwareVersion: r.Uint32()}
	})
}

// decodeCommand decodes b as c's command; valid reports whether the decoder found nothing wrong.
func decodeCommand(c Command, b []byte) (got Command, valid bool) {
	switch c.(type) {
	case QueryImage:
		v, verdict := DecodeQueryImage(b)
		return v, verdict == nil
	case QueryImageResponse:
		v, fs := DecodeQueryImageResponse(b)
		return v, len(fs) == 0
	case ApplyUpdateRequest:
		v, verdict := DecodeApplyUpdateRequest(b)
		return v, verdict == nil
	case ApplyUpdateResponse:
		v, fs := DecodeApplyUpdateResponse(b)
		return v, len(fs) == 0
	}
	v, verdict := DecodeNotifyUpdateApplied(b)
	return v, verdict == nil
}

// withinTable restates the constraint table (ota-provider.md §2) for a typed value.
func withinTable(c Command) bool {
	between := func(n, lo, hi int) bool { return n >= lo && n <= hi }
	switch v := c.(type) {
	case QueryImage:
		for _, p := range v.ProtocolsSupported {
			if !p.Defined() {
				return false
			}
		}
		return len(v.ProtocolsSupported) <= MaxProtocolsSupported && (v.Location == nil || len(*v.Location) == LocationLen) &&
			len(v.MetadataForProvider) <= MaxMetadataLen
	case QueryImageResponse:
		// Status values above 3 are judged by QueryImageResponseRules, not by the decoder.
		return (v.ImageURI == nil || len(*v.ImageURI) <= MaxImageURILen) &&
			(v.SoftwareVersionString == nil || between(len(*v.SoftwareVersionString), MinVersionStringLen, MaxVersionStringLen)) &&
			(v.UpdateToken == nil || between(len(v.UpdateToken), MinTokenLen, MaxTokenLen)) && len(v.MetadataForRequestor) <= MaxMetadataLen
	case ApplyUpdateRequest:
		return between(len(v.UpdateToken), MinTokenLen, MaxTokenLen)
	case ApplyUpdateResponse:
		return v.Action.Defined()
	case NotifyUpdateApplied:
		return between(len(v.UpdateToken), MinTokenLen, MaxTokenLen)
	}
	return false
}

// sameEncoded compares a generated command with its decoding; the encoder writes a nil mandatory list
// or token as an empty one, so those compare by content.
func sameEncoded(a, b Command) bool {
	switch v := a.(type) {
	case QueryImage:
		if v.ProtocolsSupported == nil {
			v.ProtocolsSupported = []DownloadProtocol{}
		}
		a = v
	case ApplyUpdateRequest:
		if v.UpdateToken == nil {
			v.UpdateToken = []byte{}
		}
		a = v
	case NotifyUpdateApplied:
		if v.UpdateToken == nil {
			v.UpdateToken = []byte{}
		}
		a = v
	}
	return reflect.DeepEqual(a, b)
}

func TestCommandRoundTripProperties(t *testing.T) {
	seed := propertySeed(t)
	t.Logf("gopter seed %d (replay with OTACONF_SEED=%d)", seed, seed)
	params := gopter.DefaultTestParametersWithSeed(seed)
	params.MinSuccessfulTests = 1000
	props := gopter.NewProperties(params)

	props.Property("every command decodes to what was encoded and re-encodes to the same octets", prop.ForAll(func(c Command) string {
		b, err := Encode(c)
		if err != nil {
			return fmt.Sprintf("does not encode: %v", err)
		}
		got, _ := decodeCommand(c, b)
		if !sameEncoded(c, got) {
			return fmt.Sprintf("decodes to %+v", got)
		}
		again, err := Encode(got)
		if err != nil || !bytes.Equal(again, b) {
			return fmt.Sprintf("re-encodes to %X, first %X (%v)", again, b, err)
		}
		if got2, _ := decodeCommand(c, again); !reflect.DeepEqual(got, got2) {
			return fmt.Sprintf("second decode %+v", got2)
		}
		return ""
	}, genCommand()))

	props.Property("the decoder accepts a command exactly when it keeps every bound of the table", prop.ForAll(func(c Command) string {
		b, err := Encode(c)
		if err != nil {
			return err.Error()
		}
		if _, valid := decodeCommand(c, b); valid != withinTable(c) {
			return fmt.Sprintf("decoder says valid=%v, the table %v", valid, withinTable(c))
		}
		switch c.ID() {
		case CmdQueryImage, CmdApplyUpdateRequest, CmdNotifyUpdateApplied:
			// §8.10.1: a typed value has every mandatory field, so only CONSTRAINT_ERROR can apply.
			if v := ExpectedStatus(c.ID(), b); v != nil && v.Status != im.ConstraintError {
				return fmt.Sprintf("verdict %v", v)
			}
		}
		return ""
	}, genCommand()))

	// Each integer field on both sides of its type's maximum (the 16-bit ids are in property_test.go).
	wide := []struct {
		cmd CommandID
		tag uint8
		max uint64
	}{
		{CmdQueryImage, 2, 0xFFFFFFFF}, {CmdQueryImage, 4, 0xFFFF},
		{CmdApplyUpdateRequest, 1, 0xFFFFFFFF}, {CmdNotifyUpdateApplied, 1, 0xFFFFFFFF},
	}
	props.Property("integer fields take their type's range and nothing wider", prop.ForAll(func(i int, delta int64) string {
		f := wide[i]
		v := uint64(int64(f.max) + delta)
		b := fields(func(w *tlv.Writer) {
			switch f.cmd {
			case CmdQueryImage:
				qiBase(w, f.tag)
			default:
				if f.tag != 0 {
					w.OctetString(tlv.Context(0), make([]byte, MinTokenLen))
				}
			}
			w.Uint(tlv.Context(f.tag), v)
		})
		verdict := ExpectedStatus(f.cmd, b)
		switch {
		case (v <= f.max) != (verdict == nil):
			return fmt.Sprintf("%s tag %d = %d: verdict %v", f.cmd, f.tag, v, verdict)
		case verdict != nil && verdict.Status != im.ConstraintError:
			return fmt.Sprintf("%s tag %d = %d: %v, want CONSTRAINT_ERROR", f.cmd, f.tag, v, verdict)
		}
		return ""
	}, gen.IntRange(0, len(wide)-1), gen.Int64Range(-2, 2)))

	props.TestingRun(t)
}

// The generator reaches the exact bounds: a property that fails on a 256-octet ImageURI (the maximum,
// §11.20.6.5.2.3) is falsified, with its label. This keeps the bound properties above from passing
// only because the bound is never drawn.
func TestTheCommandGeneratorReachesTheBounds(t *testing.T) {
	params := gopter.DefaultTestParametersWithSeed(1)
	props := gopter.NewProperties(params)
	props.Property("a shortened ImageURI limit is noticed", prop.ForAll(func(c Command) string {
		if r, ok := c.(QueryImageResponse); ok && r.ImageURI != nil && len(*r.ImageURI) > MaxImageURILen-1 {
			if _, valid := decodeCommand(c, mustEnc(c)); valid && len(*r.ImageURI) == MaxImageURILen {
				return "a 256-character ImageURI is at the bound"
			}
		}
		return ""
	}, genCommand()))
	var out bytes.Buffer
	if props.Run(gopter.NewFormatedReporter(false, 120, &out)) {
		t.Fatal("the property did not fail")
	}
	if !bytes.Contains(out.Bytes(), []byte("a 256-character ImageURI is at the bound")) {
		t.Fatalf("the failure does not carry its label:\n%s", out.String())
	}
}
