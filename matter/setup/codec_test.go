package setup

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Known answers from the CHIP SDK's base38 unit test (TestQRCode.cpp, TestBase38).
func TestBase38MatchesTheCHIPKnownAnswers(t *testing.T) {
	tests := []struct {
		hex, text string
	}{
		{"", ""},
		{"0a", "A0"},
		{"0a0a", "OT10"},
		{"0a0a0a", "-N.B0"},
		{"0a0a00", "OT100"},
		{"0a0a28", "Y6V91"},
		{"0a0a29", "KL0B1"},
		{"0a0aff", "Q-M08"},
		{"23", "Z0"},
		{"ff00", "R600"},
		{"2e0000", "81000"},
		{"ff", "R6"},
		{"ffff", "NE71"},
		{"ffffff", "PLS18"},
		{"0001", "S600"},
		{"000001", "OE710"},
		{hex.EncodeToString([]byte("Hello World!")), "KKHF3W2S013OPM3EJX11"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			require.NoError(t, err)
			assert.Equal(t, tt.text, base38Encode(b))
			got, err := base38Decode(tt.text)
			require.NoError(t, err)
			assert.Equal(t, tt.hex, hex.EncodeToString(got))
		})
	}
}

func TestBase38DecodeRejectsOverflowingGroupsAndStrayCharacters(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		sub    string
	}{
		{"S6", 0, "encodes 256, more than 1 bytes hold"},     // 0xFF + 1 in 2 characters
		{"OE71", 0, "encodes 65536, more than 2 bytes hold"}, // 0xFFFF + 1 in 4 characters
		{"QLS18", 0, "encodes 16777216"},                     // 0xFFFFFF + 1 in 5 characters
		{"0\x01", 1, `character "\x01"`},
		{"[0", 0, `character "["`},
		{"A0A", 0, "trailing group of 3"},
		{"000000", 5, "trailing group of 1"},
		{"00000000", 5, "trailing group of 3"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := base38Decode(tt.in)
			be, ok := err.(*base38Error)
			require.True(t, ok, "want *base38Error, got %v", err)
			assert.Equal(t, tt.offset, be.offset)
			assert.Contains(t, be.msg, tt.sub)
		})
	}
	// Every character outside the alphabet is refused, including those of QR alphanumeric mode.
	for c := range 256 {
		s := string([]byte{byte(c), '0'})
		_, err := base38Decode(s)
		assert.Equal(t, strings.IndexByte(base38Alphabet, byte(c)) < 0, err != nil, "character %q", c)
	}
}

func TestVerhoeffTablesFollowFromTheDihedralGroup(t *testing.T) {
	// D5 as the symmetries of a pentagon: 0-4 rotations r^k, 5-9 reflections s·r^k.
	compose := func(a, b int) int {
		ra, sa, rb, sb := a%5, a >= 5, b%5, b >= 5
		switch {
		case !sa && !sb:
			return (ra + rb) % 5
		case !sa && sb:
			return 5 + (ra+rb)%5
		case sa && !sb:
			return 5 + ((ra-rb)%5+5)%5
		default:
			return ((ra-rb)%5 + 5) % 5
		}
	}
	for a := range 10 {
		for b := range 10 {
			require.Equal(t, compose(a, b), int(verhoeffD[a][b]), "d[%d][%d]", a, b)
		}
		require.Equal(t, 0, int(verhoeffD[a][verhoeffInv[a]]), "inv[%d]", a)
	}
	sigma := verhoeffP[1]
	for i := 1; i < 8; i++ {
		for j := range 10 {
			require.Equal(t, verhoeffP[i-1][sigma[j]], verhoeffP[i][j], "p[%d][%d]", i, j)
		}
	}
	for j := range 10 {
		require.Equal(t, uint8(j), verhoeffP[7][sigma[j]], "the permutation has order 8")
	}
}

func TestVerhoeffCatchesEverySingleErrorAndAdjacentSwap(t *testing.T) {
	require.Equal(t, byte('3'), verhoeffCheckDigit("236"), "the textbook example 236 → 2363")
	require.True(t, verhoeffValid("2363"))
	const code = "34970112332"
	require.True(t, verhoeffValid(code))
	for i := range len(code) {
		for d := byte('0'); d <= '9'; d++ {
			if d == code[i] {
				continue
			}
			bad := []byte(code)
			bad[i] = d
			assert.False(t, verhoeffValid(string(bad)), "digit %d changed to %c", i, d)
		}
		if i+1 < len(code) && code[i] != code[i+1] {
			bad := []byte(code)
			bad[i], bad[i+1] = bad[i+1], bad[i]
			assert.False(t, verhoeffValid(string(bad)), "digits %d and %d swapped", i, i+1)
		}
	}
	assert.Equal(t, byte(0), verhoeffCheckDigit("12a"))
	assert.False(t, verhoeffValid("12a"))
}

func genPayload() gopter.Gen {
	return gopter.CombineGens(
		gen.UInt16(), gen.UInt16(), gen.UInt8Range(0, 2), gen.UInt8(), gen.UInt16Range(0, 0xFFF),
		gen.UInt32Range(MinPasscode, MaxPasscode).SuchThat(func(v uint32) bool { return ValidatePasscode(v) == nil }),
		gen.SliceOf(gen.UInt8()),
	).Map(func(v []any) Payload {
		p := Payload{
			Form: FormQRCode, VendorID: v[0].(uint16), ProductID: v[1].(uint16),
			Flow: CommissioningFlow(v[2].(uint8)), Rendezvous: Rendezvous(v[3].(uint8)),
			Discriminator: LongDiscriminator(v[4].(uint16)), Passcode: v[5].(uint32),
		}
		if ext := v[6].([]uint8); len(ext) > 0 {
			p.Extension = ext
		}
		return p
	})
}

func TestEncodedPayloadsParseBackToTheSameValues(t *testing.T) {
	params := gopter.DefaultTestParametersWithSeed(20202021)
	params.MinSuccessfulTests = 500
	props := gopter.NewProperties(params)

	props.Property("a QR code parses back to the payload it encodes", prop.ForAll(func(p Payload) bool {
		s, err := p.QRCode()
		if err != nil {
			return false
		}
		got, err := Parse(s)
		return err == nil && equalPayload(p, got)
	}, genPayload()))

	props.Property("a manual code keeps passcode, short discriminator and, off the standard flow, the ids",
		prop.ForAll(func(p Payload) bool {
			s, err := p.ManualCode()
			if err != nil || (len(s) == 21) != (p.Flow != FlowStandard) {
				return false
			}
			got, err := Parse(s)
			if err != nil || got.Form != FormManualCode || got.Passcode != p.Passcode ||
				got.Discriminator != ShortDiscriminator(p.Discriminator.Short()) ||
				got.HasVendorProduct() != (p.Flow != FlowStandard) {
				return false
			}
			if got.HasVendorProduct() && (got.VendorID != p.VendorID || got.ProductID != p.ProductID) {
				return false
			}
			again, err := got.ManualCode()
			return err == nil && again == s
		}, genPayload()))

	props.Property("a manual code printed in dashed groups parses the same", prop.ForAll(func(p Payload) bool {
		s, err := p.ManualCode()
		if err != nil {
			return false
		}
		dashed := s[:4] + "-" + s[4:7] + " " + s[7:]
		a, errA := Parse(s)
		b, errB := Parse(dashed)
		return errA == nil && errB == nil && equalPayload(a, b)
	}, genPayload()))

	props.TestingRun(t)
}

func equalPayload(a, b Payload) bool {
	return a.Form == b.Form && a.Version == b.Version && a.VendorID == b.VendorID &&
		a.ProductID == b.ProductID && a.Flow == b.Flow && a.Rendezvous == b.Rendezvous &&
		a.Discriminator == b.Discriminator && a.Passcode == b.Passcode && bytes.Equal(a.Extension, b.Extension)
}

// FuzzParse: Parse never panics; a parsed payload re-encodes to the same characters (the parser
// accepts only canonical encodings) and parses again to the same values; errors say where.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"MT:Y.K9042C00KA0648G00", "MT:YNJV7VSC00CMVH7E4810AK00", "34970112332", "1604-371-4310",
		"745492075300001000013", "MT:M5L90MP500K64J00000*M5L90U.D010K4J00000", "MT:", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Less(t, e.Offset, len(s), "offset inside the input")
			require.GreaterOrEqual(t, e.Offset, -1)
			require.Equal(t, Payload{}, p)
			return
		}
		require.NoError(t, ValidatePasscode(p.Passcode))
		var again string
		switch p.Form {
		case FormQRCode:
			again, err = p.QRCode()
			require.NoError(t, err)
			require.Equal(t, strings.TrimSpace(s), again)
		case FormManualCode:
			again, err = p.ManualCode()
			require.NoError(t, err)
			require.Equal(t, digitsOnly(s), again)
		default:
			t.Fatalf("unknown form %v", p.Form)
		}
		p2, err := Parse(again)
		require.NoError(t, err)
		require.True(t, equalPayload(p, p2), "%+v != %+v", p, p2)
	})
}

// FuzzBase38: decode then encode gives the input back, and encode then decode gives the bytes back.
func FuzzBase38(f *testing.F) {
	f.Add("KKHF3W2S013OPM3EJX11", []byte("Hello World!"))
	f.Add("S6", []byte{0xff, 0xff, 0xff})
	f.Add("Y.K9042C00KA0648G00", []byte{})
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		if got, err := base38Decode(s); err == nil {
			require.Equal(t, s, base38Encode(got))
		} else {
			be := err.(*base38Error)
			require.True(t, be.offset >= 0 && be.offset < len(s), "offset %d in %q", be.offset, s)
		}
		enc := base38Encode(b)
		dec, err := base38Decode(enc)
		require.NoError(t, err)
		require.True(t, bytes.Equal(b, dec))
	})
}
