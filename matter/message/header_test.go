package message

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type headerVectorFile struct {
	Vectors []struct {
		Name           string `json:"name"`
		Hex            string `json:"hex"`
		HexBytes4To7   string `json:"hex_bytes_4_to_7"`
		DecodedSummary any    `json:"decoded"`
	} `json:"vectors"`
}

func loadHeaderVectors(t testing.TB) headerVectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/message_header.json")
	require.NoError(t, err)
	var f headerVectorFile
	require.NoError(t, json.Unmarshal(b, &f))
	require.Len(t, f.Vectors, 5, "message_header.json changed shape")
	return f
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// pbkdfPayload is the PBKDFParamRequest TLV shared by vectors 0, 2 and 3.
const pbkdfPayload = "153001204715a406c6b0496ad52039e347db8528cb69a1cb2fce6f2318552ae65e103aca250233dc240300280435052501881325022c011818"

func TestMessageHeaderVectorsDecodeToTheValuesMatterJSAsserts(t *testing.T) {
	f := loadHeaderVectors(t)
	payload := unhex(t, pbkdfPayload)

	cases := []struct {
		name string
		want Message
	}{
		{"PBKDFParamRequest from an initiator carries its ephemeral source node id", Message{
			Header:   Header{Counter: 401755914, HasSource: true, SourceNodeID: 5936706156730294398},
			Protocol: ProtocolHeader{Initiator: true, Reliable: true, Opcode: 0x20, ExchangeID: 25811, ProtocolID: ProtocolSecureChannel},
			Payload:  payload,
		}},
		{"PBKDFParamResponse echoes the ephemeral id as destination and acks the request", Message{
			Header: Header{Counter: 2031257377, DestKind: DestNode, DestNodeID: 5936706156730294398},
			Protocol: ProtocolHeader{Reliable: true, HasAck: true, AckCounter: 401755914, Opcode: 0x21,
				ExchangeID: 25811, ProtocolID: ProtocolSecureChannel},
		}},
		{"a message extension is kept as opaque bytes", Message{
			Header:   Header{Counter: 401755914, HasSource: true, SourceNodeID: 5936706156730294398, Extensions: []byte{1, 2, 3}},
			Protocol: ProtocolHeader{Initiator: true, Reliable: true, Opcode: 0x20, ExchangeID: 25811, ProtocolID: ProtocolSecureChannel},
			Payload:  payload,
		}},
		{"a secured extension is kept as opaque bytes", Message{
			Header: Header{Counter: 401755914, HasSource: true, SourceNodeID: 5936706156730294398},
			Protocol: ProtocolHeader{Initiator: true, Reliable: true, Opcode: 0x20, ExchangeID: 25811,
				ProtocolID: ProtocolSecureChannel, SecuredExtensions: []byte{1, 2, 3}},
			Payload: payload,
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wire := unhex(t, f.Vectors[i].Hex)
			got, err := DecodeMessage(wire)
			require.NoError(t, err)
			if c.want.Payload == nil {
				// The response payload is long; check only that it is the tail after the headers.
				c.want.Payload = got.Payload
				assert.Equal(t, byte(0x15), got.Payload[0], "payload starts with a TLV anonymous struct")
			}
			assert.Equal(t, c.want, got)

			enc, err := c.want.Encode()
			require.NoError(t, err)
			assert.Equal(t, wire, enc, "encoding the typed value reproduces the vector bytes")
			assert.Equal(t, len(wire), c.want.Len())
		})
	}

	t.Run("the first vector's payload starts at byte 22", func(t *testing.T) {
		wire := unhex(t, f.Vectors[0].Hex)
		h, n, err := DecodeHeader(wire)
		require.NoError(t, err)
		_, m, err := DecodeProtocolHeader(wire[n:])
		require.NoError(t, err)
		assert.Equal(t, 22, n+m)
		assert.Equal(t, 16, h.Len())
	})

	t.Run("a vendor protocol id puts the vendor id before the protocol id", func(t *testing.T) {
		ph := ProtocolHeader{Opcode: 1, ExchangeID: 2, ProtocolID: VendorProtocol(0xFFF1, 0x1234)}
		b, err := ph.Encode()
		require.NoError(t, err)
		assert.Equal(t, unhex(t, f.Vectors[4].HexBytes4To7), b[4:8])
		assert.Equal(t, byte(0x10), b[0]&0x10, "V flag set")
		got, n, err := DecodeProtocolHeader(b)
		require.NoError(t, err)
		assert.Equal(t, len(b), n)
		assert.Equal(t, ph, got)
		assert.Equal(t, uint16(0xFFF1), got.ProtocolID.Vendor())
	})
}

func TestHeaderFieldErrorsNameTheFieldAndOffset(t *testing.T) {
	cases := []struct {
		name   string
		hex    string
		err    error
		field  string
		offset int
	}{
		{"an empty input is missing the message flags", "", ErrTruncated, "MessageFlags", 0},
		{"a header cut inside the session id", "0000", ErrTruncated, "SessionID", 1},
		{"a header cut inside the counter", "00000000aabb", ErrTruncated, "MessageCounter", 4},
		{"the S flag without a source node id", "04000000aabbccdd0102", ErrTruncated, "SourceNodeID", 8},
		{"DSIZ 1 without a destination node id", "01000000aabbccdd", ErrTruncated, "DestinationNodeID", 8},
		{"DSIZ 2 with one byte of group id", "02000000aabbccdd01", ErrTruncated, "DestinationGroupID", 8},
		{"MX without the extension length", "00000020aabbccdd", ErrTruncated, "MessageExtensions.Length", 8},
		{"an extension shorter than its length", "00000020aabbccdd050001", ErrTruncated, "MessageExtensions", 10},
		{"version 1 is not supported", "10000000aabbccdd", ErrUnsupportedVersion, "MessageFlags.Version", 0},
		{"DSIZ 3 is reserved", "03000000aabbccdd", ErrReserved, "MessageFlags.DSIZ", 0},
		{"session type 2 is reserved", "00000002aabbccdd", ErrReserved, "SecurityFlags.SessionType", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeHeader(unhex(t, c.hex))
			require.Error(t, err)
			assert.ErrorIs(t, err, c.err)
			var de *FieldError
			require.True(t, errors.As(err, &de))
			assert.Equal(t, c.field, de.Field)
			assert.Equal(t, c.offset, de.Offset)
			assert.Contains(t, err.Error(), c.field)
			assert.Contains(t, err.Error(), "§4.4.1")
		})
	}
}

func TestProtocolHeaderFieldErrorsNameTheFieldAndOffset(t *testing.T) {
	cases := []struct {
		name   string
		hex    string
		field  string
		offset int
	}{
		{"an empty input is missing the exchange flags", "", "ExchangeFlags", 0},
		{"a header cut inside the exchange id", "052001", "ExchangeID", 2},
		{"the V flag without room for the vendor id", "1020010001", "ProtocolVendorID", 4},
		{"the A flag without an acked counter", "022001000000aabb", "AckedMessageCounter", 6},
		{"SX with a length longer than the rest", "082001000000ff00aa", "SecuredExtensions", 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeProtocolHeader(unhex(t, c.hex))
			var de *FieldError
			require.True(t, errors.As(err, &de), "got %v", err)
			assert.ErrorIs(t, err, ErrTruncated)
			assert.Equal(t, c.field, de.Field)
			assert.Equal(t, c.offset, de.Offset)
		})
	}

	t.Run("an error in the protocol header of a whole message counts from the message start", func(t *testing.T) {
		_, err := DecodeMessage(unhex(t, "00000000aabbccdd0520"))
		var de *FieldError
		require.True(t, errors.As(err, &de))
		assert.Equal(t, "ExchangeID", de.Field)
		assert.Equal(t, 10, de.Offset)
	})
}

func TestReservedBitsAreIgnoredButTheValuesSurvive(t *testing.T) {
	// Message flags bit 3, security flags bits 2..4, exchange flags bits 5..7 are reserved.
	wire := unhex(t, "0c01001c010000000102030405060708e72034120000aabbccdd77")
	m, err := DecodeMessage(wire)
	require.NoError(t, err)
	assert.True(t, m.Header.HasSource)
	assert.Equal(t, uint64(0x0807060504030201), m.Header.SourceNodeID)
	assert.True(t, m.Protocol.Initiator && m.Protocol.Reliable && m.Protocol.HasAck)
	enc, err := m.Encode()
	require.NoError(t, err)
	again, err := DecodeMessage(enc)
	require.NoError(t, err)
	assert.Equal(t, m, again)
	assert.NotEqual(t, wire, enc, "reserved bits are not reproduced")
}

func TestEncodeRejectsValuesTheWireCannotCarry(t *testing.T) {
	cases := []struct {
		name  string
		enc   func() error
		field string
	}{
		{"a reserved session type", func() error { h := Header{SessionType: 2}; _, err := h.Encode(); return err }, "SecurityFlags.SessionType"},
		{"a reserved destination kind", func() error { h := Header{DestKind: 3}; _, err := h.Encode(); return err }, "MessageFlags.DSIZ"},
		{"message extensions over 65535 bytes", func() error {
			h := Header{Extensions: make([]byte, 0x10000)}
			_, err := h.Encode()
			return err
		}, "MessageExtensions"},
		{"secured extensions over 65535 bytes", func() error {
			ph := ProtocolHeader{SecuredExtensions: make([]byte, 0x10000)}
			_, err := ph.Encode()
			return err
		}, "SecuredExtensions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.enc()
			assert.ErrorIs(t, err, ErrInvalid)
			var de *FieldError
			require.True(t, errors.As(err, &de))
			assert.Equal(t, c.field, de.Field)
		})
	}
}

func TestEmptyExtensionsArePresentAndRoundTrip(t *testing.T) {
	m := Message{
		Header:   Header{SessionID: 7, Counter: 9, Extensions: []byte{}},
		Protocol: ProtocolHeader{Opcode: 1, SecuredExtensions: []byte{}},
	}
	b, err := m.Encode()
	require.NoError(t, err)
	assert.Equal(t, byte(0x20), b[3]&0x20, "MX set")
	got, err := DecodeMessage(b)
	require.NoError(t, err)
	assert.NotNil(t, got.Header.Extensions)
	assert.NotNil(t, got.Protocol.SecuredExtensions)
	assert.Empty(t, got.Header.Extensions)
	assert.Empty(t, got.Payload)
}

func TestSecurityFlagsEncodeEveryBit(t *testing.T) {
	h := Header{Privacy: true, Control: true, SessionType: SessionGroup, Extensions: []byte{}}
	assert.Equal(t, byte(0xE1), h.SecurityFlags())
	h = Header{}
	assert.Equal(t, byte(0), h.SecurityFlags())
}

func TestOpNameNamesKnownOpcodesAndFallsBackToHex(t *testing.T) {
	assert.Equal(t, "IM InvokeRequest", OpName(ProtocolIM, OpIMInvokeRequest))
	assert.Equal(t, "BDX BlockAckEOF", OpName(ProtocolBDX, OpBDXBlockAckEOF))
	assert.Equal(t, "SecureChannel StandaloneAck", OpName(ProtocolSecureChannel, 0x10))
	assert.Equal(t, "BDX opcode 0x7F", OpName(ProtocolBDX, 0x7F))
	assert.Equal(t, "Protocol(0xFFF1:0x0001) opcode 0x01", OpName(VendorProtocol(0xFFF1, 1), 1))
}

func TestMessageIsMatchesProtocolAndOpcode(t *testing.T) {
	m := Message{Protocol: ProtocolHeader{ProtocolID: ProtocolBDX, Opcode: OpBDXBlock}}
	assert.True(t, m.Is(ProtocolBDX, OpBDXBlock))
	assert.False(t, m.Is(ProtocolIM, OpBDXBlock))
	assert.False(t, m.Is(ProtocolBDX, OpBDXBlockEOF))
	assert.True(t, (&ProtocolHeader{Opcode: 0x10}).IsStandaloneAck())
}

func FuzzDecodeHeader(f *testing.F) {
	for _, v := range loadHeaderVectors(f).Vectors {
		if v.Hex != "" {
			f.Add(unhex(f, v.Hex))
		}
	}
	f.Add(unhex(f, "067ddb0178563412010000000000000002000164ee0e207d"))
	f.Fuzz(func(t *testing.T, p []byte) {
		h, n, err := DecodeHeader(p)
		if err != nil {
			var de *FieldError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(p) {
				t.Fatalf("error %v is not a *FieldError with an offset inside the input", err)
			}
			return
		}
		if n < HeaderMinLen || n > len(p) || n != h.Len() {
			t.Fatalf("consumed %d bytes of %d, Len() = %d", n, len(p), h.Len())
		}
		enc, err := h.Encode()
		if err != nil {
			t.Fatalf("a decoded header does not encode: %v", err)
		}
		h2, n2, err := DecodeHeader(enc)
		if err != nil || n2 != len(enc) {
			t.Fatalf("re-decode: %v (n=%d of %d)", err, n2, len(enc))
		}
		enc2, _ := h2.Encode()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("decode→encode→decode unstable: %X vs %X", enc, enc2)
		}
		// Without reserved bits the encoding is the input itself.
		if p[0]&0x08 == 0 && p[3]&0x1C == 0 && !bytes.Equal(enc, p[:n]) {
			t.Fatalf("encode(decode(%X)) = %X", p[:n], enc)
		}
	})
}

func FuzzDecodeProtocolHeader(f *testing.F) {
	f.Add(unhex(f, "0520d3640000"))
	f.Add(unhex(f, "0621d36400000a4ff217"))
	f.Add(unhex(f, "0d20d36400000300010203"))
	f.Add(unhex(f, "15010200f1ff3412"))
	f.Fuzz(func(t *testing.T, p []byte) {
		ph, n, err := DecodeProtocolHeader(p)
		if err != nil {
			var de *FieldError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(p) {
				t.Fatalf("error %v is not a *FieldError with an offset inside the input", err)
			}
			return
		}
		if n > len(p) || n < ProtocolHeaderMinLen {
			t.Fatalf("consumed %d of %d", n, len(p))
		}
		enc, err := ph.Encode()
		if err != nil {
			t.Fatal(err)
		}
		ph2, n2, err := DecodeProtocolHeader(enc)
		if err != nil || n2 != len(enc) {
			t.Fatalf("re-decode: %v", err)
		}
		if ph.Len() != len(enc) {
			t.Fatalf("Len %d, encoded %d", ph.Len(), len(enc))
		}
		enc2, _ := ph2.Encode()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("decode→encode→decode unstable: %X vs %X", enc, enc2)
		}
		// Reserved bits clear and a V flag only with a non-zero vendor: the encoding is the input.
		vendorZero := p[0]&exV != 0 && ph.ProtocolID.Vendor() == 0
		if p[0]&0xE0 == 0 && !vendorZero && !bytes.Equal(enc, p[:n]) {
			t.Fatalf("encode(decode(%X)) = %X", p[:n], enc)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, v := range loadHeaderVectors(f).Vectors {
		if v.Hex != "" {
			f.Add(unhex(f, v.Hex))
		}
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeMessage(p)
		if err != nil {
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := DecodeMessage(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		enc2, _ := m2.Encode()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable: %X vs %X", enc, enc2)
		}
		if !bytes.Equal(m.Payload, m2.Payload) {
			t.Fatalf("payload changed")
		}
	})
}

func BenchmarkHeaderEncode(b *testing.B) {
	h := Header{SessionID: 0x1234, Counter: 0x01020304, HasSource: true, SourceNodeID: 0x1122334455667788}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = h.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeaderDecode(b *testing.B) {
	wire := unhex(b, "040000000a4ff2177ea0c8a7cb6a6352")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeHeader(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProtocolHeaderEncode(b *testing.B) {
	ph := ProtocolHeader{Initiator: true, Reliable: true, HasAck: true, AckCounter: 7, Opcode: 8, ExchangeID: 9, ProtocolID: ProtocolIM}
	buf := make([]byte, 0, 32)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = ph.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProtocolHeaderDecode(b *testing.B) {
	wire := unhex(b, "0621d36400000a4ff217")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeProtocolHeader(wire); err != nil {
			b.Fatal(err)
		}
	}
}
