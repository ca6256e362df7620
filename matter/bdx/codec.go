package bdx

import (
	"encoding/binary"
	"fmt"
	"math"
)

// All multi-byte integers are little-endian; BDX payloads are fixed binary layouts, not TLV
// (Core §11.22.5-6; ota-provider.md §6.3). Decoders are strict: reserved bits, truncated fields and
// trailing bytes after a fixed-size message are errors, so that decode→encode gives back the input.
// Byte-slice fields of decoded values alias the input.

// ReceiveInit is sent by the receiver that starts a transfer; in OTA that is the requestor
// (Core §11.22.5.1; ota-provider.md §6.3, §6.4). The Range byte is written exactly as given: set
// StartOfs to send StartOffset, DefLen to send Length, WideRange to send both as 64-bit.
type ReceiveInit struct {
	Control      TransferControl // PTC: the proposed version and the drive modes the initiator supports
	Range        RangeControl
	MaxBlockSize uint16 // PMBS, the largest block the initiator accepts
	StartOffset  uint64 // STARTOFS, present when Range has StartOfs
	Length       uint64 // proposed definite length, present when Range has DefLen; 0 means indefinite (matter.js)
	// FileDesignator names the file; it must be 1..65535 bytes.
	FileDesignator []byte
	Metadata       []byte // optional TLV, the rest of the message; opaque to this package
}

// SendInit has the ReceiveInit layout; it starts a sender-initiated transfer, which OTA does not use.
type SendInit ReceiveInit

// SendAccept accepts a SendInit (Core §11.22.5.2).
type SendAccept struct {
	Control      TransferControl // TC: exactly one drive mode
	MaxBlockSize uint16
	Metadata     []byte
}

// ReceiveAccept accepts a ReceiveInit (Core §11.22.5.3; ota-provider.md §6.3).
//
// Quirk (§6.3): CHIP writes a StartOffset and sets RC.STARTOFS when it resumes; matter.js and (as far
// as known) the spec have no such field. The decoder reads it when the bit is set, placed before the
// Length as CHIP writes it; the encoder writes it only when asked; our Responder never sets it.
type ReceiveAccept struct {
	Control      TransferControl // TC: the version and the one drive mode chosen
	Range        RangeControl
	MaxBlockSize uint16 // MBS, the negotiated block size
	StartOffset  uint64 // only with Range StartOfs (the CHIP quirk)
	Length       uint64 // definite length, present when Range has DefLen
	Metadata     []byte
}

// BlockQuery asks the sender for block Counter (Core §11.22.6.2).
type BlockQuery struct{ Counter uint32 }

// BlockQueryWithSkip asks for block Counter after skipping BytesToSkip bytes (Core §11.22.6.3).
type BlockQueryWithSkip struct {
	Counter     uint32
	BytesToSkip uint64
}

// Block carries one block of at least one byte (Core §11.22.6.4).
type Block struct {
	Counter uint32
	Data    []byte
}

// BlockEOF carries the last block, which may be empty (Core §11.22.6.5).
type BlockEOF struct {
	Counter uint32
	Data    []byte
}

// BlockAck acknowledges block Counter (Core §11.22.6.6).
type BlockAck struct{ Counter uint32 }

// BlockAckEOF acknowledges the BlockEOF with Counter and ends the transfer (Core §11.22.6.7).
type BlockAckEOF struct{ Counter uint32 }

func (ReceiveInit) Opcode() Opcode        { return OpReceiveInit }
func (SendInit) Opcode() Opcode           { return OpSendInit }
func (SendAccept) Opcode() Opcode         { return OpSendAccept }
func (ReceiveAccept) Opcode() Opcode      { return OpReceiveAccept }
func (BlockQuery) Opcode() Opcode         { return OpBlockQuery }
func (BlockQueryWithSkip) Opcode() Opcode { return OpBlockQueryWithSkip }
func (Block) Opcode() Opcode              { return OpBlock }
func (BlockEOF) Opcode() Opcode           { return OpBlockEOF }
func (BlockAck) Opcode() Opcode           { return OpBlockAck }
func (BlockAckEOF) Opcode() Opcode        { return OpBlockAckEOF }

// ---- encoding ----

func encErr(msg, field, detail string, err error) error {
	return &FormatError{Message: msg, Field: field, Offset: -1, Detail: detail, Err: err}
}

func checkControl(msg string, c TransferControl) error {
	if c&tcReservedMask != 0 {
		return encErr(msg, "TransferControl", fmt.Sprintf("0x%02X has bit 7 set", uint8(c)), ErrReservedBits)
	}
	return nil
}

// appendRange writes the optional offset and length selected by rc; the caller has validated rc.
func appendRange(b []byte, msg string, rc RangeControl, offset, length uint64) ([]byte, error) {
	if rc&^rcKnownMask != 0 {
		return nil, encErr(msg, "RangeControl", fmt.Sprintf("0x%02X", uint8(rc)), ErrReservedBits)
	}
	wide := rc.Has(WideRange)
	put := func(b []byte, field string, v uint64) ([]byte, error) {
		if wide {
			return binary.LittleEndian.AppendUint64(b, v), nil
		}
		if v > math.MaxUint32 {
			return nil, encErr(msg, field, fmt.Sprintf("%d needs RC.WIDERANGE", v), ErrTooLong)
		}
		return binary.LittleEndian.AppendUint32(b, uint32(v)), nil
	}
	var err error
	if rc.Has(StartOfs) {
		if b, err = put(b, "StartOffset", offset); err != nil {
			return nil, err
		}
	} else if offset != 0 {
		return nil, encErr(msg, "StartOffset", fmt.Sprintf("%d set without RC.STARTOFS", offset), ErrReservedBits)
	}
	if rc.Has(DefLen) {
		if b, err = put(b, "Length", length); err != nil {
			return nil, err
		}
	} else if length != 0 {
		return nil, encErr(msg, "Length", fmt.Sprintf("%d set without RC.DEFLEN", length), ErrReservedBits)
	}
	return b, nil
}

func appendInit(b []byte, msg string, m ReceiveInit) ([]byte, error) {
	if err := checkControl(msg, m.Control); err != nil {
		return nil, err
	}
	switch {
	case len(m.FileDesignator) == 0:
		return nil, encErr(msg, "FileDesignator", "", ErrEmptyDesignator)
	case len(m.FileDesignator) > math.MaxUint16:
		return nil, encErr(msg, "FileDesignator", fmt.Sprintf("%d bytes, at most 65535", len(m.FileDesignator)), ErrTooLong)
	}
	b = append(b, uint8(m.Control), uint8(m.Range))
	b = binary.LittleEndian.AppendUint16(b, m.MaxBlockSize)
	b, err := appendRange(b, msg, m.Range, m.StartOffset, m.Length)
	if err != nil {
		return nil, err
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(m.FileDesignator)))
	b = append(b, m.FileDesignator...)
	return append(b, m.Metadata...), nil
}

// Append appends the wire form of m to b.
func (m ReceiveInit) Append(b []byte) ([]byte, error) { return appendInit(b, "ReceiveInit", m) }

// Append appends the wire form of m to b.
func (m SendInit) Append(b []byte) ([]byte, error) { return appendInit(b, "SendInit", ReceiveInit(m)) }

// Append appends the wire form of m to b.
func (m SendAccept) Append(b []byte) ([]byte, error) {
	if err := checkControl("SendAccept", m.Control); err != nil {
		return nil, err
	}
	b = append(b, uint8(m.Control))
	b = binary.LittleEndian.AppendUint16(b, m.MaxBlockSize)
	return append(b, m.Metadata...), nil
}

// Append appends the wire form of m to b. StartOffset is written before Length, as CHIP does.
func (m ReceiveAccept) Append(b []byte) ([]byte, error) {
	if err := checkControl("ReceiveAccept", m.Control); err != nil {
		return nil, err
	}
	b = append(b, uint8(m.Control), uint8(m.Range))
	b = binary.LittleEndian.AppendUint16(b, m.MaxBlockSize)
	b, err := appendRange(b, "ReceiveAccept", m.Range, m.StartOffset, m.Length)
	if err != nil {
		return nil, err
	}
	return append(b, m.Metadata...), nil
}

// Append appends the wire form of m to b.
func (m BlockQuery) Append(b []byte) ([]byte, error) {
	return binary.LittleEndian.AppendUint32(b, m.Counter), nil
}

// Append appends the wire form of m to b.
func (m BlockAck) Append(b []byte) ([]byte, error) {
	return binary.LittleEndian.AppendUint32(b, m.Counter), nil
}

// Append appends the wire form of m to b.
func (m BlockAckEOF) Append(b []byte) ([]byte, error) {
	return binary.LittleEndian.AppendUint32(b, m.Counter), nil
}

// Append appends the wire form of m to b.
func (m BlockQueryWithSkip) Append(b []byte) ([]byte, error) {
	b = binary.LittleEndian.AppendUint32(b, m.Counter)
	return binary.LittleEndian.AppendUint64(b, m.BytesToSkip), nil
}

// Append appends the wire form of m to b. §6.3: a Block carries at least one byte.
func (m Block) Append(b []byte) ([]byte, error) {
	if len(m.Data) == 0 {
		return nil, encErr("Block", "Data", "", ErrEmptyBlock)
	}
	b = binary.LittleEndian.AppendUint32(b, m.Counter)
	return append(b, m.Data...), nil
}

// Append appends the wire form of m to b.
func (m BlockEOF) Append(b []byte) ([]byte, error) {
	b = binary.LittleEndian.AppendUint32(b, m.Counter)
	return append(b, m.Data...), nil
}

// ---- decoding ----

// reader walks a payload and records the first error with its field and offset.
type reader struct {
	msg string
	p   []byte
	off int
	err error
}

func (r *reader) fail(field string, off int, detail string, err error) {
	if r.err == nil {
		r.err = &FormatError{Message: r.msg, Field: field, Offset: off, Detail: detail, Err: err}
	}
}

func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.p)-r.off < n {
		r.fail(field, r.off, fmt.Sprintf("needs %d bytes, %d remain", n, len(r.p)-r.off), ErrTruncated)
		return nil
	}
	b := r.p[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) u8(field string) uint8 {
	if b := r.take(field, 1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16(field string) uint16 {
	if b := r.take(field, 2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32(field string) uint32 {
	if b := r.take(field, 4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64(field string) uint64 {
	if b := r.take(field, 8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// rest returns what is left, or nil when nothing is.
func (r *reader) rest() []byte {
	if r.err != nil || r.off == len(r.p) {
		return nil
	}
	b := r.p[r.off:]
	r.off = len(r.p)
	return b
}

// end fails if bytes remain after a fixed-size message.
func (r *reader) end() {
	if r.err == nil && r.off != len(r.p) {
		r.fail("(end)", r.off, fmt.Sprintf("%d bytes after the last field", len(r.p)-r.off), ErrTrailingBytes)
	}
}

func (r *reader) control() TransferControl {
	off := r.off
	c := TransferControl(r.u8("TransferControl"))
	if r.err == nil && c&tcReservedMask != 0 {
		r.fail("TransferControl", off, fmt.Sprintf("0x%02X has bit 7 set", uint8(c)), ErrReservedBits)
	}
	return c
}

func (r *reader) rangeControl() RangeControl {
	off := r.off
	rc := RangeControl(r.u8("RangeControl"))
	if r.err == nil && rc&^rcKnownMask != 0 {
		r.fail("RangeControl", off, fmt.Sprintf("0x%02X has reserved bits 0x%02X", uint8(rc), uint8(rc&^rcKnownMask)), ErrReservedBits)
	}
	return rc
}

// rangeValue reads a 32-bit or, with WIDERANGE, a 64-bit offset or length.
func (r *reader) rangeValue(field string, rc RangeControl) uint64 {
	if rc.Has(WideRange) {
		return r.u64(field)
	}
	return uint64(r.u32(field))
}

func decodeInit(msg string, p []byte) (ReceiveInit, error) {
	r := reader{msg: msg, p: p}
	var m ReceiveInit
	m.Control = r.control()
	m.Range = r.rangeControl()
	m.MaxBlockSize = r.u16("MaxBlockSize")
	if m.Range.Has(StartOfs) {
		m.StartOffset = r.rangeValue("StartOffset", m.Range)
	}
	if m.Range.Has(DefLen) {
		m.Length = r.rangeValue("Length", m.Range)
	}
	fdlOff := r.off
	fdl := r.u16("FileDesignatorLength")
	if r.err == nil {
		switch {
		case fdl == 0:
			r.fail("FileDesignatorLength", fdlOff, "0", ErrEmptyDesignator)
		case int(fdl) > len(p)-r.off:
			r.fail("FileDesignatorLength", fdlOff, fmt.Sprintf("declares %d bytes, %d remain", fdl, len(p)-r.off), ErrTruncated)
		}
	}
	m.FileDesignator = r.take("FileDesignator", int(fdl))
	m.Metadata = r.rest()
	if r.err != nil {
		return ReceiveInit{}, r.err
	}
	return m, nil
}

// DecodeReceiveInit parses a ReceiveInit payload.
func DecodeReceiveInit(p []byte) (ReceiveInit, error) { return decodeInit("ReceiveInit", p) }

// DecodeSendInit parses a SendInit payload.
func DecodeSendInit(p []byte) (SendInit, error) {
	m, err := decodeInit("SendInit", p)
	return SendInit(m), err
}

// DecodeSendAccept parses a SendAccept payload.
func DecodeSendAccept(p []byte) (SendAccept, error) {
	r := reader{msg: "SendAccept", p: p}
	var m SendAccept
	m.Control = r.control()
	m.MaxBlockSize = r.u16("MaxBlockSize")
	m.Metadata = r.rest()
	if r.err != nil {
		return SendAccept{}, r.err
	}
	return m, nil
}

// DecodeReceiveAccept parses a ReceiveAccept payload, including the StartOffset quirk (see ReceiveAccept).
func DecodeReceiveAccept(p []byte) (ReceiveAccept, error) {
	r := reader{msg: "ReceiveAccept", p: p}
	var m ReceiveAccept
	m.Control = r.control()
	m.Range = r.rangeControl()
	m.MaxBlockSize = r.u16("MaxBlockSize")
	if m.Range.Has(StartOfs) {
		m.StartOffset = r.rangeValue("StartOffset", m.Range)
	}
	if m.Range.Has(DefLen) {
		m.Length = r.rangeValue("Length", m.Range)
	}
	m.Metadata = r.rest()
	if r.err != nil {
		return ReceiveAccept{}, r.err
	}
	return m, nil
}

func decodeCounter(msg string, p []byte) (uint32, error) {
	r := reader{msg: msg, p: p}
	c := r.u32("BlockCounter")
	r.end()
	return c, r.err
}

// DecodeBlockQuery parses a BlockQuery payload.
func DecodeBlockQuery(p []byte) (BlockQuery, error) {
	c, err := decodeCounter("BlockQuery", p)
	if err != nil {
		return BlockQuery{}, err
	}
	return BlockQuery{Counter: c}, nil
}

// DecodeBlockAck parses a BlockAck payload.
func DecodeBlockAck(p []byte) (BlockAck, error) {
	c, err := decodeCounter("BlockAck", p)
	if err != nil {
		return BlockAck{}, err
	}
	return BlockAck{Counter: c}, nil
}

// DecodeBlockAckEOF parses a BlockAckEOF payload.
func DecodeBlockAckEOF(p []byte) (BlockAckEOF, error) {
	c, err := decodeCounter("BlockAckEOF", p)
	if err != nil {
		return BlockAckEOF{}, err
	}
	return BlockAckEOF{Counter: c}, nil
}

// DecodeBlockQueryWithSkip parses a BlockQueryWithSkip payload.
func DecodeBlockQueryWithSkip(p []byte) (BlockQueryWithSkip, error) {
	r := reader{msg: "BlockQueryWithSkip", p: p}
	m := BlockQueryWithSkip{Counter: r.u32("BlockCounter"), BytesToSkip: r.u64("BytesToSkip")}
	r.end()
	if r.err != nil {
		return BlockQueryWithSkip{}, r.err
	}
	return m, nil
}

// DecodeBlock parses a Block payload; §6.3: its Data must not be empty.
func DecodeBlock(p []byte) (Block, error) {
	r := reader{msg: "Block", p: p}
	m := Block{Counter: r.u32("BlockCounter"), Data: r.rest()}
	if r.err == nil && len(m.Data) == 0 {
		r.fail("Data", r.off, "", ErrEmptyBlock)
	}
	if r.err != nil {
		return Block{}, r.err
	}
	return m, nil
}

// DecodeBlockEOF parses a BlockEOF payload; its Data may be empty.
func DecodeBlockEOF(p []byte) (BlockEOF, error) {
	r := reader{msg: "BlockEOF", p: p}
	m := BlockEOF{Counter: r.u32("BlockCounter"), Data: r.rest()}
	if r.err != nil {
		return BlockEOF{}, r.err
	}
	return m, nil
}
