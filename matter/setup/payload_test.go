package setup

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Public QR codes with their decoded values: the CHIP SDK's default test device, its
// SetupPayload unit tests (TestHelpers.h) and python onboarding-code test table
// (run_python_setup_payload_test.py, produced by chip-tool), and matter.js's PairingCodeSchemaTest.
func TestParseDecodesPublishedQRCodes(t *testing.T) {
	tests := []struct {
		name, code string
		vid, pid   uint16
		flow       CommissioningFlow
		rv         Rendezvous
		disc       uint16
		passcode   uint32
		ext        string
	}{
		{"the CHIP all-clusters-app default (0xFFF1/0x8000, BLE)", "MT:Y.K9042C00KA0648G00", 0xFFF1, 0x8000, FlowStandard, RendezvousBLE, 3840, 20202021, ""},
		{"the CHIP SetupPayload test default", "MT:M5L90MP500K64J00000", 12, 1, FlowStandard, RendezvousSoftAP, 128, 2048, ""},
		{"matter.js' example", "MT:YNJV7VSC00CMVH7SR00", 9050, 65279, FlowStandard, RendezvousBLE, 2976, 34567890, ""},
		{"matter.js' example with 3 bytes of TLV data", "MT:YNJV7VSC00CMVH7E4810AK00", 9050, 65279, FlowStandard, RendezvousBLE, 2976, 34567890, "010203"},
		{"chip-tool: vid 4891 pid 2", "MT:U9VJ0OMV172PX813210", 4891, 2, FlowStandard, RendezvousBLE, 3431, 49910688, ""},
		{"chip-tool: no vid/pid, on-network", "MT:00000CQM00KA0648G00", 0, 0, FlowStandard, RendezvousOnNetwork, 3840, 20202021, ""},
		{"chip-tool: user-intent flow", "MT:A3L90ARR15G6N57Y900", 1, 1, FlowUserIntent, RendezvousOnNetwork, 3781, 12349876, ""},
		{"chip-tool: custom flow, vid 0xFFF3", "MT:MZWA6G6026O2XP0II00", 65523, 32920, FlowCustom, RendezvousOnNetwork, 2310, 23005908, ""},
		{"chip-tool: custom flow over BLE", "MT:KSNK4M5113-JPR4UY00", 4387, 18, FlowCustom, RendezvousBLE, 3091, 43338551, ""},
		{"chip-tool: BLE and on-network", "MT:0A.T0P--00Y0OJ0.510", 9029, 4131, FlowCustom, RendezvousBLE | RendezvousOnNetwork, 80, 54757432, ""},
		{"chip-tool: all three classic transports", "MT:EPX0482F26DAVY09R10", 69, 16, FlowUserIntent, RendezvousSoftAP | RendezvousBLE | RendezvousOnNetwork, 174, 81235604, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.code)
			require.NoError(t, err)
			assert.Equal(t, FormQRCode, p.Form)
			assert.Equal(t, uint8(0), p.Version)
			assert.Equal(t, tt.vid, p.VendorID, "vendor id")
			assert.Equal(t, tt.pid, p.ProductID, "product id")
			assert.True(t, p.HasVendorProduct())
			assert.Equal(t, tt.flow, p.Flow, "flow")
			assert.Equal(t, tt.rv, p.Rendezvous, "rendezvous")
			long, ok := p.Discriminator.Long()
			assert.True(t, ok)
			assert.Equal(t, tt.disc, long, "discriminator")
			assert.Equal(t, uint8(tt.disc>>8), p.Discriminator.Short())
			assert.Equal(t, tt.passcode, p.Passcode, "passcode")
			assert.Equal(t, tt.ext, hex.EncodeToString(p.Extension), "extension")

			again, err := p.QRCode()
			require.NoError(t, err)
			assert.Equal(t, tt.code, again, "re-encoding gives the printed code back")
		})
	}
}

func TestParseDecodesPublishedManualCodes(t *testing.T) {
	tests := []struct {
		name, code string
		short      uint8
		passcode   uint32
		long       bool
		vid, pid   uint16
	}{
		{"the CHIP default test device", "34970112332", 15, 20202021, false, 0, 0},
		{"matter.js' example", "26318621095", 11, 34567890, false, 0, 0},
		{"matter.js' example printed with dashes", "1604-371-4310", 7, 23456789, false, 0, 0},
		{"chip-tool: 21 digits, vid 1 pid 1", "745492075300001000013", 14, 12349876, true, 1, 1},
		{"chip-tool: 21 digits, vid 0xFFF3", "619156140465523329207", 9, 23005908, true, 65523, 32920},
		{"chip-tool: 21 digits, vid 4387", "702871264504387000187", 12, 43338551, true, 4387, 18},
		{"chip-tool: 21 digits, short discriminator 0", "402104334209029041311", 0, 54757432, true, 9029, 4131},
		{"chip-tool: 21 digits, small ids", "403732495800069000166", 0, 81235604, true, 69, 16},
		{"CHIP parser test (disc 1280, vid 4562, pid 32)", withCheck("52927623630456200032"), 5, 38728284, true, 4562, 32},
		{"CHIP parser test (passcode 1, vid 1, pid 1)", withCheck("40000100000000100001"), 0, 1, true, 1, 1},
		{"spaced groups with surrounding white space", "  3497 0112 332\n", 15, 20202021, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.code)
			require.NoError(t, err)
			assert.Equal(t, FormManualCode, p.Form)
			assert.True(t, p.Discriminator.IsShort())
			_, ok := p.Discriminator.Long()
			assert.False(t, ok, "a manual code has no long discriminator")
			assert.Equal(t, tt.short, p.Discriminator.Short(), "short discriminator")
			assert.Equal(t, tt.passcode, p.Passcode, "passcode")
			assert.Equal(t, tt.long, p.HasVendorProduct())
			assert.Equal(t, tt.vid, p.VendorID, "vendor id")
			assert.Equal(t, tt.pid, p.ProductID, "product id")
			if tt.long {
				assert.Equal(t, FlowCustom, p.Flow)
			} else {
				assert.Equal(t, FlowStandard, p.Flow)
			}
			again, err := p.ManualCode()
			require.NoError(t, err)
			assert.Equal(t, digitsOnly(tt.code), again, "re-encoding gives the printed digits back")
		})
	}
}

func TestQRCodeAndManualCodeOfTheDefaultDeviceAgree(t *testing.T) {
	qr, err := Parse("MT:Y.K9042C00KA0648G00")
	require.NoError(t, err)
	manual, err := qr.ManualCode()
	require.NoError(t, err)
	require.Equal(t, "34970112332", manual)
	m, err := Parse(manual)
	require.NoError(t, err)
	require.True(t, m.Discriminator.Matches(3840))
	require.False(t, m.Discriminator.Matches(3839), "3839 has upper bits 14, not 15")
}

func withCheck(d string) string { return d + string(verhoeffCheckDigit(d)) }

func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// qrWith builds a QR payload string from raw fields, bypassing the encoder's checks.
func qrWith(version, flow, padding uint32, passcode uint32, ext []byte) string {
	data := make([]byte, packedBytes)
	w := bitWriter{b: data}
	w.write(version, versionBits)
	w.write(0xFFF1, vendorIDBits)
	w.write(0x8000, productIDBits)
	w.write(flow, flowBits)
	w.write(uint32(RendezvousBLE), rendezvousBits)
	w.write(3840, discriminatorBits)
	w.write(passcode, passcodeBits)
	w.write(padding, paddingBits)
	return qrPrefix + base38Encode(append(data, ext...))
}

func TestParseRejectsMalformedQRCodes(t *testing.T) {
	const good = "MT:Y.K9042C00KA0648G00"
	tests := []struct {
		name, code string
		offset     int
		field      string
		sub        string
		is         error
	}{
		{"a character outside base38", "MT:Y.K9042C00KA 648G00", 15, "", `character " " is not in the base38 alphabet`, nil},
		{"lower-case letters", "MT:y.K9042C00KA0648G00", 3, "", `character "y"`, nil},
		{"a dropped last character", good[:len(good)-1], 18, "", "trailing group of 3 characters", nil},
		{"a trailing single character", good + "00", 23, "", "trailing group of 1 characters", nil},
		{"a group worth more than 3 bytes", "MT:QLS18" + good[8:], 3, "", `group "QLS18" encodes 16777216, more than 3 bytes hold`, nil},
		{"a 2-character group worth more than a byte", qrWith(0, 0, 0, 20202021, []byte{0}) + "S6", 23, "", `group "S6" encodes 256`, nil},
		{"nothing after the prefix", "MT:", -1, "", "decodes to 0 bytes, want at least 11", nil},
		{"a payload 2 bytes short", "MT:" + base38Encode(make([]byte, 9)), -1, "", "decodes to 9 bytes", nil},
		{"concatenated payloads", "MT:M5L90MP500K64J00000*M5L90U.D010K4J00000", 22, "", "'*' joins several payloads", nil},
		{"version 1", qrWith(1, 0, 0, 20202021, nil), -1, "version", "version 1 is not supported", nil},
		{"the reserved flow 3", qrWith(0, 3, 0, 20202021, nil), -1, "commissioning flow", "value 3 is reserved", nil},
		{"non-zero padding", qrWith(0, 0, 0x8, 20202021, nil), -1, "padding", "must be 0", nil},
		{"the passcode 111111111 (CHIP's marginal case)", "MT:M5L90MP500W-GT68D20", -1, "passcode", "111111111 is outside 1..99999998", ErrInvalidPasscode},
		{"the passcode 12345678", qrWith(0, 0, 0, 12345678, nil), -1, "passcode", "a trivial value", ErrInvalidPasscode},
		{"the passcode 0", qrWith(0, 0, 0, 0, nil), -1, "passcode", "0 is outside", ErrInvalidPasscode},
	}
	for _, tt := range tests {
		t.Run("it rejects "+tt.name, func(t *testing.T) {
			_, err := Parse(tt.code)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, FormQRCode, e.Form)
			assert.Equal(t, tt.offset, e.Offset, "offset")
			assert.Equal(t, tt.field, e.Field, "field")
			assert.Contains(t, err.Error(), tt.sub)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
		})
	}
}

func TestParseRejectsMalformedManualCodes(t *testing.T) {
	tests := []struct {
		name, code string
		offset     int
		field      string
		sub        string
		is         error
	}{
		{"a wrong check digit", "34970112331", 10, "check digit", "is 1, want 2", ErrCheckDigit},
		{"two swapped digits", "34907112332", 10, "check digit", "want", ErrCheckDigit},
		{"CHIP's wrong-check-digit case", "02684354589", 10, "check digit", "", ErrCheckDigit},
		{"10 digits", "3497011233", -1, "", "10 digits, want 11 or 21", nil},
		{"22 digits", "3497011233200000000000", -1, "", "22 digits", nil},
		{"a letter O for a zero", "3497O112332", 4, "", `character "O" is not a digit`, nil},
		{"a dot", "24184.21961", 5, "", `character "."`, nil},
		{"only separators", " - - ", -1, "", "0 digits", nil},
		{"empty input", "", -1, "", "empty input", nil},
		{"a leading 8 (version 1)", withCheck("8497011233"), 0, "version", "only version 0", nil},
		{"11 digits whose leading digit announces ids", withCheck("7497011233"), 0, "VID_PID_PRESENT", "11 digits but", nil},
		{"21 digits whose leading digit announces none", withCheck("23456789123456785610"), 0, "VID_PID_PRESENT", "21 digits but", nil},
		{"digits 2-6 above 16 bits", withCheck("0999990001"), 1, "digits 2-6", "99999 does not fit in 16 bits", nil},
		{"digits 7-10 above 13 bits", withCheck("0000019999"), 6, "digits 7-10", "9999 does not fit in 13 bits", nil},
		{"a vendor id above 16 bits", withCheck("45292762367000000032"), 10, "vendor id", "70000 does not fit", nil},
		{"a product id above 16 bits", withCheck("45292762360456299999"), 15, "product id", "99999", nil},
		{"the passcode 12345678 (matter.js' example)", "0085 260 7537", -1, "passcode", "12345678 is a trivial value", ErrInvalidPasscode},
		{"the passcode 0 (CHIP's no-pin case)", withCheck("2327680000"), -1, "passcode", "0 is outside", ErrInvalidPasscode},
		{"the passcode 123456780 (CHIP's default, above the range)", withCheck("2361087535"), -1, "passcode", "123456780 is outside", ErrInvalidPasscode},
	}
	for _, tt := range tests {
		t.Run("it rejects "+tt.name, func(t *testing.T) {
			_, err := Parse(tt.code)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, FormManualCode, e.Form)
			assert.Equal(t, tt.offset, e.Offset, "offset")
			assert.Equal(t, tt.field, e.Field, "field")
			assert.Contains(t, err.Error(), tt.sub)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			} else {
				assert.False(t, errors.Is(err, ErrInvalidPasscode) || errors.Is(err, ErrCheckDigit))
			}
		})
	}
}

func TestErrorOffsetsCountLeadingWhiteSpace(t *testing.T) {
	_, err := Parse("  MT:Y.K9042C00KA 648G00")
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, 17, e.Offset)
	_, err = Parse("\t3497O112332")
	require.ErrorAs(t, err, &e)
	require.Equal(t, 5, e.Offset)
	require.Equal(t, `setup: manual pairing code: offset 5: character "O" is not a digit, space or dash`, err.Error())
}

func TestValidatePasscodeAppliesTheSpecRules(t *testing.T) {
	tests := []struct {
		passcode uint32
		ok       bool
	}{
		{0, false}, {1, true}, {2048, true}, {20202021, true}, {99999998, true}, {99999999, false},
		{100000000, false}, {1 << 27, false}, {11111111, false}, {22222222, false}, {33333333, false},
		{44444444, false}, {55555555, false}, {66666666, false}, {77777777, false}, {88888888, false},
		{12345678, false}, {87654321, false}, {12345679, true}, {11111112, true}, {87654320, true},
	}
	for _, tt := range tests {
		err := ValidatePasscode(tt.passcode)
		if tt.ok {
			assert.NoError(t, err, "%08d is allowed", tt.passcode)
		} else {
			assert.ErrorIs(t, err, ErrInvalidPasscode, "%08d is forbidden", tt.passcode)
		}
	}
}

func TestDiscriminatorExposesWhatEachFormKnows(t *testing.T) {
	long := LongDiscriminator(3840)
	v, ok := long.Long()
	assert.True(t, ok)
	assert.Equal(t, uint16(3840), v)
	assert.Equal(t, uint8(15), long.Short())
	assert.False(t, long.IsShort())
	assert.True(t, long.Matches(3840))
	assert.False(t, long.Matches(3841))
	assert.Equal(t, "3840", long.String())

	short := ShortDiscriminator(15)
	_, ok = short.Long()
	assert.False(t, ok)
	assert.Equal(t, uint8(15), short.Short())
	assert.True(t, short.IsShort())
	for _, d := range []uint16{0xF00, 0xF7F, 0xFFF} {
		assert.True(t, short.Matches(d), "%#x", d)
	}
	assert.False(t, short.Matches(0xEFF))
	assert.Equal(t, "short 15", short.String())
}

func TestEncodersRefuseWhatTheFormCannotCarry(t *testing.T) {
	base := Payload{VendorID: 0xFFF1, ProductID: 0x8000, Rendezvous: RendezvousBLE,
		Discriminator: LongDiscriminator(3840), Passcode: 20202021}
	tests := []struct {
		name   string
		mutate func(*Payload)
		encode func(Payload) (string, error)
		sub    string
		is     error
	}{
		{"a QR code from a short discriminator", func(p *Payload) { p.Discriminator = ShortDiscriminator(15) }, Payload.QRCode, "needs the 12-bit discriminator", nil},
		{"a QR code with a 13-bit discriminator", func(p *Payload) { p.Discriminator = LongDiscriminator(4096) }, Payload.QRCode, "4096 does not fit in 12 bits", nil},
		{"a QR code with flow 3", func(p *Payload) { p.Flow = 3 }, Payload.QRCode, "value 3 is not defined", nil},
		{"a QR code with version 1", func(p *Payload) { p.Version = 1 }, Payload.QRCode, "only version 0", nil},
		{"a QR code with passcode 87654321", func(p *Payload) { p.Passcode = 87654321 }, Payload.QRCode, "trivial", ErrInvalidPasscode},
		{"a manual code with passcode 0", func(p *Payload) { p.Passcode = 0 }, Payload.ManualCode, "outside", ErrInvalidPasscode},
		{"a manual code with short discriminator 16", func(p *Payload) { p.Discriminator = ShortDiscriminator(16) }, Payload.ManualCode, "short 16 does not fit", nil},
		{"a manual code with a 13-bit discriminator", func(p *Payload) { p.Discriminator = LongDiscriminator(4096) }, Payload.ManualCode, "4096 does not fit", nil},
	}
	for _, tt := range tests {
		t.Run("it refuses "+tt.name, func(t *testing.T) {
			p := base
			tt.mutate(&p)
			s, err := tt.encode(p)
			require.Empty(t, s)
			require.ErrorContains(t, err, tt.sub)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
		})
	}
}

func TestStringersNameTheValues(t *testing.T) {
	assert.Equal(t, "SoftAP|BLE|OnNetwork", (RendezvousSoftAP | RendezvousBLE | RendezvousOnNetwork).String())
	assert.Equal(t, "NFC|0x80", (RendezvousNFC | 0x80).String())
	assert.Equal(t, "none", Rendezvous(0).String())
	assert.Equal(t, "user-intent", FlowUserIntent.String())
	assert.Equal(t, "flow(3)", CommissioningFlow(3).String())
	assert.Equal(t, "QR code", FormQRCode.String())
}

func BenchmarkParseQRCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("MT:YNJV7VSC00CMVH7E4810AK00"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseManualCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("7454-9207-5300-0010-00013"); err != nil {
			b.Fatal(err)
		}
	}
}
