package bdx

import (
	"fmt"
	"strings"
)

// TransferControl is the Transfer Control byte: PTC in an Init (the modes the initiator supports),
// TC in an Accept (the one mode chosen). Core §11.22.5.1; ota-provider.md §6.3.
type TransferControl uint8

// Transfer Control bits. Bits 0-3 hold the BDX version; bit 7 is reserved.
const (
	SenderDrive   TransferControl = 0x10
	ReceiverDrive TransferControl = 0x20
	Async         TransferControl = 0x40

	tcVersionMask  TransferControl = 0x0F
	tcModeMask                     = SenderDrive | ReceiverDrive | Async
	tcReservedMask TransferControl = 0x80
)

// Version is the BDX version in bits 0-3 (0 today).
func (c TransferControl) Version() uint8 { return uint8(c & tcVersionMask) }

// WithVersion returns c with its version bits set to v (only the low 4 bits of v are kept).
func (c TransferControl) WithVersion(v uint8) TransferControl {
	return c&^tcVersionMask | TransferControl(v)&tcVersionMask
}

// Has reports whether every bit of flag is set in c.
func (c TransferControl) Has(flag TransferControl) bool { return c&flag == flag }

// Drives returns only the drive bits (SENDER_DRIVE, RECEIVER_DRIVE) of c.
func (c TransferControl) Drives() TransferControl { return c & (SenderDrive | ReceiverDrive) }

func (c TransferControl) String() string {
	var parts []string
	if c.Has(SenderDrive) {
		parts = append(parts, "SENDER_DRIVE")
	}
	if c.Has(ReceiverDrive) {
		parts = append(parts, "RECEIVER_DRIVE")
	}
	if c.Has(Async) {
		parts = append(parts, "ASYNC")
	}
	if c&tcReservedMask != 0 {
		parts = append(parts, "RESERVED7")
	}
	if len(parts) == 0 {
		parts = append(parts, "no mode")
	}
	return fmt.Sprintf("0x%02X{v%d %s}", uint8(c), c.Version(), strings.Join(parts, "|"))
}

// RangeControl is the Range Control byte of SendInit, ReceiveInit and ReceiveAccept
// (Core §11.22.5.1; ota-provider.md §6.3). Bits 2, 3 and 5-7 are reserved.
type RangeControl uint8

// Range Control bits.
const (
	DefLen    RangeControl = 0x01 // a definite length is present
	StartOfs  RangeControl = 0x02 // a start offset is present
	WideRange RangeControl = 0x10 // offset and length are 64-bit instead of 32-bit

	rcKnownMask = DefLen | StartOfs | WideRange
)

// Has reports whether every bit of flag is set in r.
func (r RangeControl) Has(flag RangeControl) bool { return r&flag == flag }

func (r RangeControl) String() string {
	var parts []string
	if r.Has(DefLen) {
		parts = append(parts, "DEFLEN")
	}
	if r.Has(StartOfs) {
		parts = append(parts, "STARTOFS")
	}
	if r.Has(WideRange) {
		parts = append(parts, "WIDERANGE")
	}
	if r&^rcKnownMask != 0 {
		parts = append(parts, fmt.Sprintf("reserved 0x%02X", uint8(r&^rcKnownMask)))
	}
	return fmt.Sprintf("0x%02X{%s}", uint8(r), strings.Join(parts, "|"))
}
