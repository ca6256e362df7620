package message

import (
	"encoding/binary"
	"fmt"
)

// SessionType is the session type carried in the low two bits of the security flags (§4.4.1.3).
type SessionType uint8

// Session types; 2 and 3 are reserved and rejected by DecodeHeader.
const (
	SessionUnicast SessionType = 0
	SessionGroup   SessionType = 1
)

func (t SessionType) String() string {
	switch t {
	case SessionUnicast:
		return "unicast"
	case SessionGroup:
		return "group"
	}
	return fmt.Sprintf("SessionType(%d)", uint8(t))
}

// DestKind says which destination field follows the source node id: the DSIZ bits of the message
// flags (§4.4.1.1).
type DestKind uint8

// Destination kinds; DSIZ 3 is reserved and rejected by DecodeHeader.
const (
	DestNone  DestKind = 0 // no destination field
	DestNode  DestKind = 1 // 64-bit destination node id
	DestGroup DestKind = 2 // 16-bit destination group id
)

// Bit layout of the two flag bytes (§4.4.1.1, §4.4.1.3).
const (
	flagVersionMask = 0xF0
	flagS           = 0x04
	flagDSIZMask    = 0x03

	secP        = 0x80
	secC        = 0x40
	secMX       = 0x20
	secTypeMask = 0x03
)

// HeaderMinLen is the size of a message header without optional fields: flags, session id,
// security flags and counter.
const HeaderMinLen = 8

// Header is the Matter message header (§4.4.1). It is sent in the clear and, on a secure session,
// authenticated as the AAD of the encrypted rest. The version is always 0 (the only one defined).
type Header struct {
	// SessionID is 0 for the unsecured session; otherwise the session id the receiver allocated.
	SessionID uint16
	// Privacy (P) says the counter and node ids are obfuscated with the privacy key (§4.9).
	Privacy bool
	// Control (C) marks a control message (MsgCounterSync), which uses the control counter.
	Control     bool
	SessionType SessionType
	Counter     uint32
	// HasSource (S) says SourceNodeID is present.
	HasSource    bool
	SourceNodeID uint64
	// DestKind (DSIZ) selects DestNodeID, DestGroupID or neither.
	DestKind    DestKind
	DestNodeID  uint64
	DestGroupID uint16
	// Extensions are the message extensions (MX), kept as opaque bytes: present iff non-nil.
	Extensions []byte
}

// SecurityFlags returns the security flags byte h encodes to; it is also the first nonce byte.
func (h *Header) SecurityFlags() byte {
	f := byte(h.SessionType) & secTypeMask
	if h.Privacy {
		f |= secP
	}
	if h.Control {
		f |= secC
	}
	if h.Extensions != nil {
		f |= secMX
	}
	return f
}

// Len is the encoded size of h in bytes.
func (h *Header) Len() int {
	n := HeaderMinLen
	if h.HasSource {
		n += 8
	}
	switch h.DestKind {
	case DestNode:
		n += 8
	case DestGroup:
		n += 2
	}
	if h.Extensions != nil {
		n += 2 + len(h.Extensions)
	}
	return n
}

func (h *Header) validate() error {
	if h.SessionType > SessionGroup {
		return &FieldError{Struct: "message header", Field: "SecurityFlags.SessionType", Err: ErrInvalid,
			Detail: fmt.Sprintf("session type %d is reserved", h.SessionType), Spec: "§4.4.1.3"}
	}
	if h.DestKind > DestGroup {
		return &FieldError{Struct: "message header", Field: "MessageFlags.DSIZ", Err: ErrInvalid,
			Detail: fmt.Sprintf("DSIZ %d is reserved", h.DestKind), Spec: "§4.4.1.1"}
	}
	if len(h.Extensions) > 0xFFFF {
		return &FieldError{Struct: "message header", Field: "MessageExtensions", Err: ErrInvalid,
			Detail: fmt.Sprintf("%d bytes do not fit a u16 length", len(h.Extensions)), Spec: "§4.4.1.7"}
	}
	return nil
}

// Append appends the wire form of h to b.
func (h *Header) Append(b []byte) ([]byte, error) {
	if err := h.validate(); err != nil {
		return b, err
	}
	flags := byte(h.DestKind)
	if h.HasSource {
		flags |= flagS
	}
	b = append(b, flags)
	b = binary.LittleEndian.AppendUint16(b, h.SessionID)
	b = append(b, h.SecurityFlags())
	b = binary.LittleEndian.AppendUint32(b, h.Counter)
	if h.HasSource {
		b = binary.LittleEndian.AppendUint64(b, h.SourceNodeID)
	}
	switch h.DestKind {
	case DestNode:
		b = binary.LittleEndian.AppendUint64(b, h.DestNodeID)
	case DestGroup:
		b = binary.LittleEndian.AppendUint16(b, h.DestGroupID)
	}
	if h.Extensions != nil {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(h.Extensions)))
		b = append(b, h.Extensions...)
	}
	return b, nil
}

// Encode returns the wire form of h.
func (h *Header) Encode() ([]byte, error) { return h.Append(make([]byte, 0, h.Len())) }

// DecodeHeader parses the message header at the start of p and returns it with its length in bytes;
// p[n:] is the (possibly encrypted) rest of the message. Extensions alias p. Reserved flag bits are
// ignored (§4.4.1: reserved bits are ignored on receipt); reserved field values are errors.
func DecodeHeader(p []byte) (Header, int, error) {
	r := reader{name: "message header", p: p}
	var h Header
	flags := r.u8("MessageFlags", "§4.4.1.1")
	if r.err == nil && flags&flagVersionMask != 0 {
		r.fail("MessageFlags.Version", "§4.4.1.1", 0, ErrUnsupportedVersion,
			fmt.Sprintf("version %d, only 0 is defined", flags>>4))
	}
	if r.err == nil && flags&flagDSIZMask == 3 {
		r.fail("MessageFlags.DSIZ", "§4.4.1.1", 0, ErrReserved, "DSIZ 3 is reserved")
	}
	h.SessionID = r.u16("SessionID", "§4.4.1.2")
	sec := r.u8("SecurityFlags", "§4.4.1.3")
	if r.err == nil && sec&secTypeMask > 1 {
		r.fail("SecurityFlags.SessionType", "§4.4.1.3", 3, ErrReserved,
			fmt.Sprintf("session type %d is reserved", sec&secTypeMask))
	}
	h.Counter = r.u32("MessageCounter", "§4.4.1.4")
	if r.err != nil {
		return Header{}, 0, r.err
	}
	h.Privacy = sec&secP != 0
	h.Control = sec&secC != 0
	h.SessionType = SessionType(sec & secTypeMask)
	if flags&flagS != 0 {
		h.HasSource = true
		h.SourceNodeID = r.u64("SourceNodeID", "§4.4.1.5")
	}
	h.DestKind = DestKind(flags & flagDSIZMask)
	switch h.DestKind {
	case DestNode:
		h.DestNodeID = r.u64("DestinationNodeID", "§4.4.1.6")
	case DestGroup:
		h.DestGroupID = r.u16("DestinationGroupID", "§4.4.1.6")
	}
	if sec&secMX != 0 {
		h.Extensions = r.lenPrefixed("MessageExtensions", "§4.4.1.7")
	}
	if r.err != nil {
		return Header{}, 0, r.err
	}
	return h, r.off, nil
}
