package message

import (
	"encoding/binary"
	"fmt"

	"github.com/otaconf/otaconf/matter/securechannel"
)

// ProtocolID is a fully qualified protocol id: vendor id in the high 16 bits, protocol id in the low
// 16 bits, the same 32-bit form a StatusReport carries (App. D). Vendor 0 is the Matter standard.
type ProtocolID uint32

// Standard protocol ids (§4.4.3.5).
const (
	ProtocolSecureChannel ProtocolID = 0x0000
	ProtocolIM            ProtocolID = 0x0001
	ProtocolBDX           ProtocolID = 0x0002
	ProtocolUDC           ProtocolID = 0x0003
)

// VendorProtocol returns the id of protocol p of vendor v.
func VendorProtocol(v, p uint16) ProtocolID { return ProtocolID(v)<<16 | ProtocolID(p) }

// Vendor is the vendor id part (0 for the Matter standard protocols).
func (id ProtocolID) Vendor() uint16 { return uint16(id >> 16) }

// Protocol is the 16-bit protocol id part.
func (id ProtocolID) Protocol() uint16 { return uint16(id) }

func (id ProtocolID) String() string {
	if id.Vendor() == 0 {
		switch id {
		case ProtocolSecureChannel:
			return "SecureChannel"
		case ProtocolIM:
			return "IM"
		case ProtocolBDX:
			return "BDX"
		case ProtocolUDC:
			return "UDC"
		}
	}
	return fmt.Sprintf("Protocol(0x%04X:0x%04X)", id.Vendor(), id.Protocol())
}

// Interaction Model opcodes (protocol 0x0001, §10.2).
const (
	OpIMStatusResponse   uint8 = 0x01
	OpIMReadRequest      uint8 = 0x02
	OpIMSubscribeRequest uint8 = 0x03
	OpIMSubscribeResp    uint8 = 0x04
	OpIMReportData       uint8 = 0x05
	OpIMWriteRequest     uint8 = 0x06
	OpIMWriteResponse    uint8 = 0x07
	OpIMInvokeRequest    uint8 = 0x08
	OpIMInvokeResponse   uint8 = 0x09
	OpIMTimedRequest     uint8 = 0x0A
)

// BDX opcodes (protocol 0x0002, §11.22).
const (
	OpBDXSendInit           uint8 = 0x01
	OpBDXSendAccept         uint8 = 0x02
	OpBDXReceiveInit        uint8 = 0x04
	OpBDXReceiveAccept      uint8 = 0x05
	OpBDXBlockQuery         uint8 = 0x10
	OpBDXBlock              uint8 = 0x11
	OpBDXBlockEOF           uint8 = 0x12
	OpBDXBlockAck           uint8 = 0x13
	OpBDXBlockAckEOF        uint8 = 0x14
	OpBDXBlockQueryWithSkip uint8 = 0x15
)

var opNames = map[ProtocolID]map[uint8]string{
	ProtocolSecureChannel: {
		securechannel.OpMsgCounterSyncReq: "MsgCounterSyncReq", securechannel.OpMsgCounterSyncRsp: "MsgCounterSyncRsp",
		securechannel.OpStandaloneAck: "StandaloneAck", securechannel.OpPBKDFParamRequest: "PBKDFParamRequest",
		securechannel.OpPBKDFParamResponse: "PBKDFParamResponse", securechannel.OpPASEPake1: "Pake1",
		securechannel.OpPASEPake2: "Pake2", securechannel.OpPASEPake3: "Pake3", securechannel.OpCASESigma1: "Sigma1",
		securechannel.OpCASESigma2: "Sigma2", securechannel.OpCASESigma3: "Sigma3",
		securechannel.OpCASESigma2Resume: "Sigma2Resume", securechannel.OpStatusReport: "StatusReport",
		securechannel.OpICDCheckIn: "ICDCheckIn",
	},
	ProtocolIM: {
		OpIMStatusResponse: "StatusResponse", OpIMReadRequest: "ReadRequest",
		OpIMSubscribeRequest: "SubscribeRequest", OpIMSubscribeResp: "SubscribeResponse",
		OpIMReportData: "ReportData", OpIMWriteRequest: "WriteRequest", OpIMWriteResponse: "WriteResponse",
		OpIMInvokeRequest: "InvokeRequest", OpIMInvokeResponse: "InvokeResponse", OpIMTimedRequest: "TimedRequest",
	},
	ProtocolBDX: {
		OpBDXSendInit: "SendInit", OpBDXSendAccept: "SendAccept", OpBDXReceiveInit: "ReceiveInit",
		OpBDXReceiveAccept: "ReceiveAccept", OpBDXBlockQuery: "BlockQuery", OpBDXBlock: "Block",
		OpBDXBlockEOF: "BlockEOF", OpBDXBlockAck: "BlockAck", OpBDXBlockAckEOF: "BlockAckEOF",
		OpBDXBlockQueryWithSkip: "BlockQueryWithSkip",
	},
}

// OpName names an opcode for logs and errors, e.g. "IM InvokeRequest" or "BDX opcode 0x7F".
func OpName(p ProtocolID, op uint8) string {
	if n, ok := opNames[p][op]; ok {
		return p.String() + " " + n
	}
	return fmt.Sprintf("%s opcode 0x%02X", p, op)
}

// Exchange flag bits (§4.4.3.1).
const (
	exI  = 0x01
	exA  = 0x02
	exR  = 0x04
	exSX = 0x08
	exV  = 0x10
)

// ProtocolHeaderMinLen is the size of a protocol header without optional fields.
const ProtocolHeaderMinLen = 6

// ProtocolHeader is the protocol (exchange) header (§4.4.3). On a secure session it is the first part
// of the encrypted payload. The V flag is derived: it is set iff ProtocolID has a non-zero vendor.
type ProtocolHeader struct {
	Initiator bool // I: sent by the exchange initiator
	Reliable  bool // R: the sender wants an acknowledgement (§4.12)
	// HasAck (A) says AckCounter acknowledges a message the peer sent.
	HasAck     bool
	AckCounter uint32
	Opcode     uint8
	ExchangeID uint16
	ProtocolID ProtocolID
	// SecuredExtensions (SX) are kept as opaque bytes: present iff non-nil.
	SecuredExtensions []byte
}

func (ph *ProtocolHeader) flags() byte {
	var f byte
	if ph.Initiator {
		f |= exI
	}
	if ph.HasAck {
		f |= exA
	}
	if ph.Reliable {
		f |= exR
	}
	if ph.SecuredExtensions != nil {
		f |= exSX
	}
	if ph.ProtocolID.Vendor() != 0 {
		f |= exV
	}
	return f
}

// Len is the encoded size of ph in bytes.
func (ph *ProtocolHeader) Len() int {
	n := ProtocolHeaderMinLen
	if ph.ProtocolID.Vendor() != 0 {
		n += 2
	}
	if ph.HasAck {
		n += 4
	}
	if ph.SecuredExtensions != nil {
		n += 2 + len(ph.SecuredExtensions)
	}
	return n
}

// Append appends the wire form of ph to b.
func (ph *ProtocolHeader) Append(b []byte) ([]byte, error) {
	if len(ph.SecuredExtensions) > 0xFFFF {
		return b, &FieldError{Struct: "protocol header", Field: "SecuredExtensions", Err: ErrInvalid,
			Detail: fmt.Sprintf("%d bytes do not fit a u16 length", len(ph.SecuredExtensions)), Spec: "§4.4.3.7"}
	}
	b = append(b, ph.flags(), ph.Opcode)
	b = binary.LittleEndian.AppendUint16(b, ph.ExchangeID)
	// §4.4.3.4: the vendor id comes before the protocol id.
	if v := ph.ProtocolID.Vendor(); v != 0 {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	b = binary.LittleEndian.AppendUint16(b, ph.ProtocolID.Protocol())
	if ph.HasAck {
		b = binary.LittleEndian.AppendUint32(b, ph.AckCounter)
	}
	if ph.SecuredExtensions != nil {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(ph.SecuredExtensions)))
		b = append(b, ph.SecuredExtensions...)
	}
	return b, nil
}

// Encode returns the wire form of ph.
func (ph *ProtocolHeader) Encode() ([]byte, error) { return ph.Append(make([]byte, 0, ph.Len())) }

// DecodeProtocolHeader parses the protocol header at the start of p and returns it with its length;
// p[n:] is the application payload. SecuredExtensions alias p. Reserved flag bits are ignored.
// A V flag with vendor id 0 decodes to the standard protocol (and re-encodes without V).
func DecodeProtocolHeader(p []byte) (ProtocolHeader, int, error) {
	r := reader{name: "protocol header", p: p}
	var ph ProtocolHeader
	f := r.u8("ExchangeFlags", "§4.4.3.1")
	ph.Opcode = r.u8("ProtocolOpcode", "§4.4.3.2")
	ph.ExchangeID = r.u16("ExchangeID", "§4.4.3.3")
	var vendor uint16
	if f&exV != 0 {
		vendor = r.u16("ProtocolVendorID", "§4.4.3.4")
	}
	ph.ProtocolID = VendorProtocol(vendor, r.u16("ProtocolID", "§4.4.3.5"))
	ph.Initiator = f&exI != 0
	ph.Reliable = f&exR != 0
	if f&exA != 0 {
		ph.HasAck = true
		ph.AckCounter = r.u32("AckedMessageCounter", "§4.4.3.6")
	}
	if f&exSX != 0 {
		ph.SecuredExtensions = r.lenPrefixed("SecuredExtensions", "§4.4.3.7")
	}
	if r.err != nil {
		return ProtocolHeader{}, 0, r.err
	}
	return ph, r.off, nil
}

// IsStandaloneAck reports whether ph is the MRP standalone acknowledgement (secure channel 0x10).
func (ph *ProtocolHeader) IsStandaloneAck() bool {
	return ph.ProtocolID == ProtocolSecureChannel && ph.Opcode == securechannel.OpStandaloneAck
}
