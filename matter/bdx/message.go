package bdx

import (
	"context"
	"fmt"

	"github.com/otaconf/otaconf/matter/securechannel"
)

// ProtocolID is the BDX protocol id (vendor 0x0000), ota-provider.md §6.1.
const ProtocolID uint16 = 0x0002

// Opcode is a BDX message type (ota-provider.md §6.1).
type Opcode uint8

// BDX opcodes.
const (
	OpSendInit           Opcode = 0x01
	OpSendAccept         Opcode = 0x02
	OpReceiveInit        Opcode = 0x04
	OpReceiveAccept      Opcode = 0x05
	OpBlockQuery         Opcode = 0x10
	OpBlock              Opcode = 0x11
	OpBlockEOF           Opcode = 0x12
	OpBlockAck           Opcode = 0x13
	OpBlockAckEOF        Opcode = 0x14
	OpBlockQueryWithSkip Opcode = 0x15
)

var opNames = map[Opcode]string{
	OpSendInit:           "SendInit",
	OpSendAccept:         "SendAccept",
	OpReceiveInit:        "ReceiveInit",
	OpReceiveAccept:      "ReceiveAccept",
	OpBlockQuery:         "BlockQuery",
	OpBlock:              "Block",
	OpBlockEOF:           "BlockEOF",
	OpBlockAck:           "BlockAck",
	OpBlockAckEOF:        "BlockAckEOF",
	OpBlockQueryWithSkip: "BlockQueryWithSkip",
}

func (o Opcode) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return fmt.Sprintf("Opcode(0x%02X)", uint8(o))
}

// Message is one application message on a BDX exchange: the protocol id and opcode of the exchange
// header plus the payload. BDX messages use ProtocolID 0x0002; a Secure Channel StatusReport
// (protocol 0x0000, opcode 0x40) travels on the same exchange to report errors (ota-provider.md §6.1).
type Message struct {
	Protocol uint16
	Opcode   uint8
	Payload  []byte
}

// IsStatusReport reports whether m is a Secure Channel StatusReport.
func (m Message) IsStatusReport() bool {
	return m.Protocol == securechannel.ProtocolID && m.Opcode == securechannel.OpStatusReport
}

func (m Message) String() string {
	switch {
	case m.Protocol == ProtocolID:
		return fmt.Sprintf("BDX %s (%d bytes)", Opcode(m.Opcode), len(m.Payload))
	case m.IsStatusReport():
		if r, err := securechannel.DecodeStatusReport(m.Payload); err == nil {
			if c, ok := StatusOf(r); ok {
				return fmt.Sprintf("StatusReport{%s, BDX %s}", r.General, c)
			}
			return r.String()
		}
		return fmt.Sprintf("StatusReport (malformed, %d bytes)", len(m.Payload))
	default:
		return fmt.Sprintf("protocol 0x%04X opcode 0x%02X (%d bytes)", m.Protocol, m.Opcode, len(m.Payload))
	}
}

// Body is a typed BDX message. Every message type of this package implements it.
type Body interface {
	// Opcode is the message type written in the exchange header.
	Opcode() Opcode
	// Append appends the wire form to b. It fails only for values that have no valid wire form
	// (a reserved bit set, an empty or over-long file designator, an empty Block).
	Append(b []byte) ([]byte, error)
}

// Encode returns body as a BDX Message.
func Encode(body Body) (Message, error) {
	p, err := body.Append(nil)
	if err != nil {
		return Message{}, err
	}
	return Message{Protocol: ProtocolID, Opcode: uint8(body.Opcode()), Payload: p}, nil
}

// Decode parses a BDX message. Byte-slice fields of the result alias m.Payload. It fails with
// ErrNotBDX for a message of another protocol (a StatusReport included: check IsStatusReport first),
// with ErrUnknownOpcode for an opcode outside §6.1, and with a *FormatError for a malformed payload.
func Decode(m Message) (Body, error) {
	if m.Protocol != ProtocolID {
		return nil, fmt.Errorf("bdx: protocol 0x%04X opcode 0x%02X: %w", m.Protocol, m.Opcode, ErrNotBDX)
	}
	p := m.Payload
	switch Opcode(m.Opcode) {
	case OpSendInit:
		return DecodeSendInit(p)
	case OpSendAccept:
		return DecodeSendAccept(p)
	case OpReceiveInit:
		return DecodeReceiveInit(p)
	case OpReceiveAccept:
		return DecodeReceiveAccept(p)
	case OpBlockQuery:
		return DecodeBlockQuery(p)
	case OpBlock:
		return DecodeBlock(p)
	case OpBlockEOF:
		return DecodeBlockEOF(p)
	case OpBlockAck:
		return DecodeBlockAck(p)
	case OpBlockAckEOF:
		return DecodeBlockAckEOF(p)
	case OpBlockQueryWithSkip:
		return DecodeBlockQueryWithSkip(p)
	}
	return nil, fmt.Errorf("bdx: opcode 0x%02X: %w", m.Opcode, ErrUnknownOpcode)
}

// Exchange is one Matter exchange as the BDX layer sees it: ordered, reliable (MRP below) delivery of
// messages to one peer. Implementations must honour ctx on both calls. This package never changes a
// payload after passing it to Send, so Send may keep it; a payload returned by Recv is the caller's.
type Exchange interface {
	Send(ctx context.Context, m Message) error
	Recv(ctx context.Context) (Message, error)
}
