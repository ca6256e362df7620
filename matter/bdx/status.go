package bdx

import (
	"fmt"

	"github.com/otaconf/otaconf/matter/securechannel"
)

// StatusProtocolID is the 32-bit (vendor << 16 | protocol) id that a StatusReport carries when its
// ProtocolCode is a BDX status code (ota-provider.md §6.2).
const StatusProtocolID uint32 = uint32(ProtocolID)

// StatusCode is a BDX status code, carried as the ProtocolCode of a Secure Channel StatusReport whose
// GeneralCode is FAILURE and whose ProtocolID is 0x00000002 (Core §11.22; ota-provider.md §6.2).
type StatusCode uint16

// BDX status codes (ota-provider.md §6.2 table; matter.js BdxStatusCode, CHIP StatusCode.h).
const (
	StatusLengthTooLarge             StatusCode = 0x12
	StatusLengthTooShort             StatusCode = 0x13
	StatusLengthMismatch             StatusCode = 0x14
	StatusLengthRequired             StatusCode = 0x15
	StatusBadMessageContents         StatusCode = 0x16
	StatusBadBlockCounter            StatusCode = 0x17
	StatusUnexpectedMessage          StatusCode = 0x18
	StatusResponderBusy              StatusCode = 0x19
	StatusTransferFailedUnknownError StatusCode = 0x1F
	StatusTransferMethodNotSupported StatusCode = 0x50
	StatusFileDesignatorUnknown      StatusCode = 0x51
	StatusStartOffsetNotSupported    StatusCode = 0x52
	StatusVersionNotSupported        StatusCode = 0x53
	StatusUnknown                    StatusCode = 0x5F
)

var statusNames = map[StatusCode]string{
	StatusLengthTooLarge:             "LENGTH_TOO_LARGE",
	StatusLengthTooShort:             "LENGTH_TOO_SHORT",
	StatusLengthMismatch:             "LENGTH_MISMATCH",
	StatusLengthRequired:             "LENGTH_REQUIRED",
	StatusBadMessageContents:         "BAD_MESSAGE_CONTENTS",
	StatusBadBlockCounter:            "BAD_BLOCK_COUNTER",
	StatusUnexpectedMessage:          "UNEXPECTED_MESSAGE",
	StatusResponderBusy:              "RESPONDER_BUSY",
	StatusTransferFailedUnknownError: "TRANSFER_FAILED_UNKNOWN_ERROR",
	StatusTransferMethodNotSupported: "TRANSFER_METHOD_NOT_SUPPORTED",
	StatusFileDesignatorUnknown:      "FILE_DESIGNATOR_UNKNOWN",
	StatusStartOffsetNotSupported:    "START_OFFSET_NOT_SUPPORTED",
	StatusVersionNotSupported:        "VERSION_NOT_SUPPORTED",
	StatusUnknown:                    "UNKNOWN",
}

// Known reports whether c is one of the codes of the ota-provider.md §6.2 table.
func (c StatusCode) Known() bool {
	_, ok := statusNames[c]
	return ok
}

func (c StatusCode) String() string {
	if n, ok := statusNames[c]; ok {
		return fmt.Sprintf("%s (0x%02X)", n, uint16(c))
	}
	return fmt.Sprintf("StatusCode(0x%04X)", uint16(c))
}

// Report returns the StatusReport that carries c: GeneralCode FAILURE, ProtocolID 0x00000002, code c.
// §6.2: CHIP's PrepareStatusReport always uses FAILURE for BDX errors.
func (c StatusCode) Report() securechannel.StatusReport {
	return securechannel.StatusReport{
		General:      securechannel.GeneralFailure,
		ProtocolID:   StatusProtocolID,
		ProtocolCode: uint16(c),
	}
}

// Message returns c as a StatusReport Message ready to be sent on the BDX exchange.
func (c StatusCode) Message() Message {
	return Message{Protocol: securechannel.ProtocolID, Opcode: securechannel.OpStatusReport, Payload: c.Report().Encode()}
}

// StatusOf extracts the BDX status code from r. ok is false when r reports on another protocol.
func StatusOf(r securechannel.StatusReport) (code StatusCode, ok bool) {
	if r.ProtocolID != StatusProtocolID {
		return 0, false
	}
	return StatusCode(r.ProtocolCode), true
}
