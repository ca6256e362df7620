package bdx

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/securechannel"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// There are no public byte vectors for BDX (vectors/README.md). Every golden payload below was derived
// by hand from the layouts in ota-provider.md §6.3 / matter-transport.md §7 (little-endian fields, in
// the order PTC/TC · RC · MBS · [STARTOFS] · [DEFLEN] · FDL · FD · metadata), not produced by this code.
func TestEveryMessageEncodesToItsHandDerivedBytesAndDecodesBack(t *testing.T) {
	tests := []struct {
		name   string
		body   Body
		golden string
	}{
		{"a typical OTA ReceiveInit: receiver-drive, no range, MBS 1024, designator ota/image",
			ReceiveInit{Control: ReceiverDrive, MaxBlockSize: 1024, FileDesignator: []byte("ota/image")},
			"20 00 0004 0900 6f74612f696d616765"},
		{"a resuming ReceiveInit puts STARTOFS before DEFLEN, both 32-bit",
			ReceiveInit{Control: ReceiverDrive, Range: StartOfs | DefLen, MaxBlockSize: 1024, StartOffset: 0x1000, Length: 0x200, FileDesignator: []byte("f")},
			"20 03 0004 00100000 00020000 0100 66"},
		{"a WIDERANGE ReceiveInit carries 64-bit fields and trailing metadata",
			ReceiveInit{Control: ReceiverDrive | SenderDrive | Async, Range: StartOfs | DefLen | WideRange, MaxBlockSize: 128,
				StartOffset: 0x1_0000_0000, Length: 5, FileDesignator: []byte("f"), Metadata: []byte{0x15, 0x18}},
			"70 13 8000 0000000001000000 0500000000000000 0100 66 1518"},
		{"a SendInit has the ReceiveInit layout",
			SendInit{Control: SenderDrive.WithVersion(1), MaxBlockSize: 256, FileDesignator: []byte("f")},
			"11 00 0001 0100 66"},
		{"a SendAccept is TC and MBS",
			SendAccept{Control: SenderDrive, MaxBlockSize: 256},
			"10 0001"},
		{"a ReceiveAccept with a definite length",
			ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 1024, Length: 51285},
			"20 01 0004 55c80000"},
		{"CHIP's ReceiveAccept quirk: STARTOFS written before the length",
			ReceiveAccept{Control: ReceiverDrive, Range: StartOfs | DefLen, MaxBlockSize: 1024, StartOffset: 0x100, Length: 0x300},
			"20 03 0004 00010000 00030000"},
		{"a ReceiveAccept without range fields (TC-BDX-1.4 example)",
			ReceiveAccept{Control: ReceiverDrive, MaxBlockSize: 1024},
			"20 00 0004"},
		{"BlockQuery is a little-endian counter", BlockQuery{Counter: 0x01020304}, "04030201"},
		{"BlockQueryWithSkip adds a 64-bit skip", BlockQueryWithSkip{Counter: 2, BytesToSkip: 0x1000}, "02000000 0010000000000000"},
		{"Block is counter then data", Block{Counter: 5, Data: []byte("abc")}, "05000000 616263"},
		{"an empty BlockEOF is just the counter", BlockEOF{Counter: 6}, "06000000"},
		{"BlockAck is a counter", BlockAck{Counter: 5}, "05000000"},
		{"BlockAckEOF is a counter", BlockAckEOF{Counter: 0xFFFFFFFF}, "ffffffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.golden)
			m, err := Encode(tt.body)
			require.NoError(t, err)
			assert.Equal(t, ProtocolID, m.Protocol)
			assert.Equal(t, uint8(tt.body.Opcode()), m.Opcode)
			assert.Equal(t, want, m.Payload)

			back, err := Decode(Message{Protocol: ProtocolID, Opcode: m.Opcode, Payload: want})
			require.NoError(t, err)
			assert.Equal(t, tt.body, back)
		})
	}
}

func TestABDXStatusReportMessageHasTheSpecBytes(t *testing.T) {
	// ota-provider.md §6.2: FAILURE (1) · ProtocolId 0x00000002 · code, little-endian.
	m := StatusStartOffsetNotSupported.Message()
	assert.Equal(t, securechannel.ProtocolID, m.Protocol)
	assert.Equal(t, securechannel.OpStatusReport, m.Opcode)
	assert.Equal(t, unhex(t, "0100 02000000 5200"), m.Payload)
	assert.True(t, m.IsStatusReport())
	assert.Equal(t, "StatusReport{FAILURE, BDX START_OFFSET_NOT_SUPPORTED (0x52)}", m.String())

	sr, err := securechannel.DecodeStatusReport(m.Payload)
	require.NoError(t, err)
	code, ok := StatusOf(sr)
	assert.True(t, ok)
	assert.Equal(t, StatusStartOffsetNotSupported, code)

	_, ok = StatusOf(securechannel.StatusReport{ProtocolID: 0, ProtocolCode: 0x52})
	assert.False(t, ok, "a Secure Channel code is not a BDX code")
}

func TestStatusCodesHaveTheirSpecNames(t *testing.T) {
	want := map[StatusCode]string{
		0x12: "LENGTH_TOO_LARGE", 0x13: "LENGTH_TOO_SHORT", 0x14: "LENGTH_MISMATCH", 0x15: "LENGTH_REQUIRED",
		0x16: "BAD_MESSAGE_CONTENTS", 0x17: "BAD_BLOCK_COUNTER", 0x18: "UNEXPECTED_MESSAGE", 0x19: "RESPONDER_BUSY",
		0x1F: "TRANSFER_FAILED_UNKNOWN_ERROR", 0x50: "TRANSFER_METHOD_NOT_SUPPORTED", 0x51: "FILE_DESIGNATOR_UNKNOWN",
		0x52: "START_OFFSET_NOT_SUPPORTED", 0x53: "VERSION_NOT_SUPPORTED", 0x5F: "UNKNOWN",
	}
	for c := StatusCode(0); c < 0x100; c++ {
		name, known := want[c]
		assert.Equal(t, known, c.Known(), "code 0x%02X", uint16(c))
		if known {
			assert.True(t, strings.HasPrefix(c.String(), name+" ("), "code 0x%02X is %s", uint16(c), c)
		} else {
			assert.True(t, strings.HasPrefix(c.String(), "StatusCode(0x"), "code 0x%02X is %s", uint16(c), c)
		}
	}
}

func TestControlBytesExposeVersionAndModes(t *testing.T) {
	c := (ReceiverDrive | Async).WithVersion(3)
	assert.Equal(t, uint8(3), c.Version())
	assert.Equal(t, TransferControl(0x63), c)
	assert.Equal(t, ReceiverDrive, c.Drives())
	assert.True(t, c.Has(Async))
	assert.False(t, c.Has(SenderDrive))
	assert.Equal(t, "0x63{v3 RECEIVER_DRIVE|ASYNC}", c.String())
	assert.Equal(t, "0x00{v0 no mode}", TransferControl(0).String())
	assert.Equal(t, "0x13{DEFLEN|STARTOFS|WIDERANGE}", (DefLen | StartOfs | WideRange).String())
	assert.Equal(t, "0x04{reserved 0x04}", RangeControl(0x04).String())
}

func TestMalformedPayloadsNameTheFieldAndOffset(t *testing.T) {
	tests := []struct {
		name    string
		op      Opcode
		payload string
		field   string
		offset  int
		want    error
	}{
		{"an empty ReceiveInit lacks its transfer control", OpReceiveInit, "", "TransferControl", 0, ErrTruncated},
		{"reserved bit 7 of the transfer control is refused", OpReceiveInit, "a0 00 0004 0100 66", "TransferControl", 0, ErrReservedBits},
		{"a ReceiveInit cut after the transfer control lacks its range control", OpReceiveInit, "20", "RangeControl", 1, ErrTruncated},
		{"reserved range-control bits are refused", OpReceiveInit, "20 04 0004 0100 66", "RangeControl", 1, ErrReservedBits},
		{"range-control bit 7 is reserved too", OpReceiveInit, "20 80 0004 0100 66", "RangeControl", 1, ErrReservedBits},
		{"a ReceiveInit cut inside the block size", OpReceiveInit, "20 00 00", "MaxBlockSize", 2, ErrTruncated},
		{"STARTOFS announced but cut short", OpReceiveInit, "20 02 0004 0010", "StartOffset", 4, ErrTruncated},
		{"a WIDERANGE start offset needs 8 bytes, not 4", OpReceiveInit, "20 12 0004 00000000 0100 66", "StartOffset", 4, ErrTruncated},
		{"a WIDERANGE length after a 64-bit offset is checked at its own offset", OpReceiveInit, "20 13 0004 0000000000000000 01000000", "Length", 12, ErrTruncated},
		{"a missing designator length", OpReceiveInit, "20 01 0004 01000000 01", "FileDesignatorLength", 8, ErrTruncated},
		{"a zero-length designator is refused", OpReceiveInit, "20 00 0004 0000", "FileDesignatorLength", 4, ErrEmptyDesignator},
		{"a designator length past the end is refused", OpReceiveInit, "20 00 0004 0500 6162", "FileDesignatorLength", 4, ErrTruncated},
		{"a SendInit is checked the same way", OpSendInit, "10 00 0004 0000", "FileDesignatorLength", 4, ErrEmptyDesignator},
		{"a SendAccept cut inside the block size", OpSendAccept, "10 00", "MaxBlockSize", 1, ErrTruncated},
		{"a ReceiveAccept with a reserved transfer-control bit", OpReceiveAccept, "a0 00 0004", "TransferControl", 0, ErrReservedBits},
		{"a ReceiveAccept with a WIDERANGE length cut short", OpReceiveAccept, "20 11 0004 00000000", "Length", 4, ErrTruncated},
		{"a ReceiveAccept with reserved range bits", OpReceiveAccept, "20 20 0004", "RangeControl", 1, ErrReservedBits},
		{"a BlockQuery cut short", OpBlockQuery, "010000", "BlockCounter", 0, ErrTruncated},
		{"a BlockQuery with a trailing byte", OpBlockQuery, "01000000 00", "(end)", 4, ErrTrailingBytes},
		{"a BlockAck with trailing bytes", OpBlockAck, "01000000 0000", "(end)", 4, ErrTrailingBytes},
		{"a BlockAckEOF cut short", OpBlockAckEOF, "", "BlockCounter", 0, ErrTruncated},
		{"a BlockQueryWithSkip cut inside the skip", OpBlockQueryWithSkip, "01000000 01", "BytesToSkip", 4, ErrTruncated},
		{"a BlockQueryWithSkip with a trailing byte", OpBlockQueryWithSkip, "01000000 0100000000000000 ff", "(end)", 12, ErrTrailingBytes},
		{"an empty Block is refused", OpBlock, "01000000", "Data", 4, ErrEmptyBlock},
		{"a Block without a counter", OpBlock, "01", "BlockCounter", 0, ErrTruncated},
		{"a BlockEOF without a counter", OpBlockEOF, "0100", "BlockCounter", 0, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(Message{Protocol: ProtocolID, Opcode: uint8(tt.op), Payload: unhex(t, tt.payload)})
			require.Error(t, err)
			var fe *FormatError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.op.String(), fe.Message)
			assert.Equal(t, tt.field, fe.Field)
			assert.Equal(t, tt.offset, fe.Offset)
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.field)
			assert.Contains(t, err.Error(), "§6.3")
		})
	}
}

func TestDecodeRefusesOtherProtocolsAndUnknownOpcodes(t *testing.T) {
	_, err := Decode(StatusUnknown.Message())
	assert.ErrorIs(t, err, ErrNotBDX)
	_, err = Decode(Message{Protocol: ProtocolID, Opcode: 0x03, Payload: []byte{0}})
	assert.ErrorIs(t, err, ErrUnknownOpcode)
	assert.Contains(t, err.Error(), "0x03")
}

func TestEncodersRefuseValuesWithoutAValidWireForm(t *testing.T) {
	tests := []struct {
		name  string
		body  Body
		field string
		want  error
	}{
		{"an empty designator", ReceiveInit{Control: ReceiverDrive, MaxBlockSize: 1}, "FileDesignator", ErrEmptyDesignator},
		{"a designator longer than 65535 bytes", ReceiveInit{Control: ReceiverDrive, FileDesignator: make([]byte, 65536)}, "FileDesignator", ErrTooLong},
		{"transfer-control bit 7", ReceiveInit{Control: 0x80 | ReceiverDrive, FileDesignator: designator}, "TransferControl", ErrReservedBits},
		{"a reserved range-control bit", ReceiveInit{Control: ReceiverDrive, Range: 0x08, FileDesignator: designator}, "RangeControl", ErrReservedBits},
		{"a start offset without STARTOFS", ReceiveInit{Control: ReceiverDrive, StartOffset: 5, FileDesignator: designator}, "StartOffset", ErrReservedBits},
		{"a length without DEFLEN", ReceiveAccept{Control: ReceiverDrive, Length: 5}, "Length", ErrReservedBits},
		{"a 33-bit offset without WIDERANGE", ReceiveInit{Control: ReceiverDrive, Range: StartOfs, StartOffset: 1 << 32, FileDesignator: designator}, "StartOffset", ErrTooLong},
		{"a 33-bit length without WIDERANGE", ReceiveAccept{Control: ReceiverDrive, Range: DefLen, Length: 1 << 32}, "Length", ErrTooLong},
		{"a SendAccept with bit 7", SendAccept{Control: 0x90}, "TransferControl", ErrReservedBits},
		{"an empty Block", Block{Counter: 1}, "Data", ErrEmptyBlock},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := Encode(tt.body)
			var fe *FormatError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.Equal(t, -1, fe.Offset)
			assert.True(t, errors.Is(err, tt.want), "%v is not %v", err, tt.want)
			assert.NotContains(t, err.Error(), "offset -1")
		})
	}
}

func TestMessageStringNamesWhatItCarries(t *testing.T) {
	assert.Equal(t, "BDX BlockQuery (4 bytes)", mustEncode(t, BlockQuery{}).String())
	assert.Equal(t, "protocol 0x0001 opcode 0x08 (0 bytes)", Message{Protocol: 1, Opcode: 8}.String())
	assert.Equal(t, "StatusReport (malformed, 1 bytes)", Message{Opcode: securechannel.OpStatusReport, Payload: []byte{1}}.String())
	assert.Equal(t, "Opcode(0x7F)", Opcode(0x7F).String())
}
