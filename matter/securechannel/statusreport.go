// Package securechannel holds the Secure Channel protocol (protocol id 0x0000) pieces that every other
// layer shares: opcodes and the StatusReport message (Matter Core Appendix D). The PASE and CASE
// handshakes live in sub-packages; this package does no I/O.
package securechannel

import (
	"encoding/binary"
	"fmt"
)

// ProtocolID is the Secure Channel protocol id (vendor 0x0000).
const ProtocolID uint16 = 0x0000

// Secure Channel opcodes (Core §4.11.1).
const (
	OpMsgCounterSyncReq  uint8 = 0x00
	OpMsgCounterSyncRsp  uint8 = 0x01
	OpStandaloneAck      uint8 = 0x10
	OpPBKDFParamRequest  uint8 = 0x20
	OpPBKDFParamResponse uint8 = 0x21
	OpPASEPake1          uint8 = 0x22
	OpPASEPake2          uint8 = 0x23
	OpPASEPake3          uint8 = 0x24
	OpCASESigma1         uint8 = 0x30
	OpCASESigma2         uint8 = 0x31
	OpCASESigma3         uint8 = 0x32
	OpCASESigma2Resume   uint8 = 0x33
	OpStatusReport       uint8 = 0x40
	OpICDCheckIn         uint8 = 0x50
)

// GeneralCode is the general status of a StatusReport (Core Appendix D.3.1).
type GeneralCode uint16

// General status codes.
const (
	GeneralSuccess           GeneralCode = 0
	GeneralFailure           GeneralCode = 1
	GeneralBadPrecondition   GeneralCode = 2
	GeneralOutOfRange        GeneralCode = 3
	GeneralBadRequest        GeneralCode = 4
	GeneralUnsupported       GeneralCode = 5
	GeneralUnexpected        GeneralCode = 6
	GeneralResourceExhausted GeneralCode = 7
	GeneralBusy              GeneralCode = 8
	GeneralTimeout           GeneralCode = 9
	GeneralContinue          GeneralCode = 10
	GeneralAborted           GeneralCode = 11
	GeneralInvalidArgument   GeneralCode = 12
	GeneralNotFound          GeneralCode = 13
	GeneralAlreadyExists     GeneralCode = 14
	GeneralPermissionDenied  GeneralCode = 15
	GeneralDataLoss          GeneralCode = 16
	GeneralMessageTooLarge   GeneralCode = 17
)

var generalNames = [...]string{
	"SUCCESS", "FAILURE", "BAD_PRECONDITION", "OUT_OF_RANGE", "BAD_REQUEST", "UNSUPPORTED",
	"UNEXPECTED", "RESOURCE_EXHAUSTED", "BUSY", "TIMEOUT", "CONTINUE", "ABORTED", "INVALID_ARGUMENT",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "DATA_LOSS", "MESSAGE_TOO_LARGE",
}

func (c GeneralCode) String() string {
	if int(c) < len(generalNames) {
		return generalNames[c]
	}
	return fmt.Sprintf("GeneralCode(%d)", uint16(c))
}

// Secure Channel protocol codes carried in a StatusReport whose ProtocolID is the Secure Channel.
const (
	CodeSessionEstablishmentSuccess uint16 = 0
	CodeNoSharedTrustRoots          uint16 = 1
	CodeInvalidParameter            uint16 = 2
	CodeCloseSession                uint16 = 3
	CodeBusy                        uint16 = 4
)

// StatusReport is the Secure Channel StatusReport message (opcode 0x40). ProtocolID is the 32-bit
// (vendor << 16 | protocol) id of the protocol whose ProtocolCode is reported: 0x00000000 for the
// secure channel, 0x00000002 for BDX.
type StatusReport struct {
	General      GeneralCode
	ProtocolID   uint32
	ProtocolCode uint16
	ProtocolData []byte
}

// statusReportMinLen is GeneralCode (2) + ProtocolID (4) + ProtocolCode (2).
const statusReportMinLen = 8

// Append appends the wire form of r to b.
func (r StatusReport) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(r.General))
	b = binary.LittleEndian.AppendUint32(b, r.ProtocolID)
	b = binary.LittleEndian.AppendUint16(b, r.ProtocolCode)
	return append(b, r.ProtocolData...)
}

// Encode returns the wire form of r.
func (r StatusReport) Encode() []byte {
	return r.Append(make([]byte, 0, statusReportMinLen+len(r.ProtocolData)))
}

// DecodeStatusReport parses a StatusReport payload. ProtocolData aliases p.
func DecodeStatusReport(p []byte) (StatusReport, error) {
	if len(p) < statusReportMinLen {
		return StatusReport{}, fmt.Errorf("status report: %d bytes, need at least %d (GeneralCode u16, ProtocolId u32, ProtocolCode u16)", len(p), statusReportMinLen)
	}
	r := StatusReport{
		General:      GeneralCode(binary.LittleEndian.Uint16(p[0:])),
		ProtocolID:   binary.LittleEndian.Uint32(p[2:]),
		ProtocolCode: binary.LittleEndian.Uint16(p[6:]),
	}
	if len(p) > statusReportMinLen {
		r.ProtocolData = p[statusReportMinLen:]
	}
	return r, nil
}

// IsSuccess reports whether r is the plain success report (SUCCESS, any protocol, code 0).
func (r StatusReport) IsSuccess() bool { return r.General == GeneralSuccess && r.ProtocolCode == 0 }

func (r StatusReport) String() string {
	s := fmt.Sprintf("StatusReport{%s, protocol 0x%08X, code 0x%04X", r.General, r.ProtocolID, r.ProtocolCode)
	if len(r.ProtocolData) > 0 {
		s += fmt.Sprintf(", data %X", r.ProtocolData)
	}
	return s + "}"
}

// Error makes a non-success StatusReport usable as an error value.
type StatusError struct{ Report StatusReport }

func (e *StatusError) Error() string { return "peer sent " + e.Report.String() }
