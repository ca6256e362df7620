// Package setup reads the onboarding payload printed on a Matter device — an "MT:" QR code or an
// 11/21-digit manual pairing code — into passcode, discriminator and ids (Core §5.1), and writes them
// back. It does not discover or commission devices, and it keeps QR TLV extension data as raw bytes.
package setup

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Form says which printed form a Payload came from; it decides which fields are known.
type Form uint8

const (
	// FormQRCode is an "MT:" QR code payload (§5.1.3): every field except Extension is always present.
	FormQRCode Form = iota + 1
	// FormManualCode is a manual pairing code (§5.1.4): no rendezvous information, only the short
	// discriminator, and vendor/product ids only in the 21-digit form.
	FormManualCode
)

func (f Form) String() string {
	switch f {
	case FormQRCode:
		return "QR code"
	case FormManualCode:
		return "manual pairing code"
	}
	return "Form(" + strconv.Itoa(int(f)) + ")"
}

// CommissioningFlow is the 2-bit custom-flow field of the QR code (§5.1.3.1).
type CommissioningFlow uint8

const (
	FlowStandard   CommissioningFlow = 0 // commissionable on power-up
	FlowUserIntent CommissioningFlow = 1 // needs a user action first
	FlowCustom     CommissioningFlow = 2 // needs vendor-specific steps (see the DCL)
)

func (f CommissioningFlow) String() string {
	switch f {
	case FlowStandard:
		return "standard"
	case FlowUserIntent:
		return "user-intent"
	case FlowCustom:
		return "custom"
	}
	return "flow(" + strconv.Itoa(int(f)) + ")"
}

// Rendezvous is the discovery-capabilities bitmap of the QR code (§5.1.3.1). Bits not named here
// are kept as read.
type Rendezvous uint8

const (
	RendezvousSoftAP    Rendezvous = 1 << 0
	RendezvousBLE       Rendezvous = 1 << 1
	RendezvousOnNetwork Rendezvous = 1 << 2
	RendezvousWiFiPAF   Rendezvous = 1 << 3
	RendezvousNFC       Rendezvous = 1 << 4
)

var rendezvousNames = [...]string{"SoftAP", "BLE", "OnNetwork", "WiFiPAF", "NFC"}

func (r Rendezvous) String() string {
	if r == 0 {
		return "none"
	}
	var parts []string
	for i, n := range rendezvousNames {
		if r&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if rest := r &^ (1<<len(rendezvousNames) - 1); rest != 0 {
		parts = append(parts, fmt.Sprintf("%#02x", uint8(rest)))
	}
	return strings.Join(parts, "|")
}

// Discriminator is a device's 12-bit discriminator, or only its upper 4 bits (the "short"
// discriminator) when read from a manual pairing code (§5.1.4). Devices advertise the long value;
// a short one matches any long value with the same upper 4 bits.
type Discriminator struct {
	v     uint16
	short bool
}

// LongDiscriminator returns the full 12-bit discriminator v (0..4095).
func LongDiscriminator(v uint16) Discriminator { return Discriminator{v: v} }

// ShortDiscriminator returns a short discriminator: the upper 4 bits (0..15) of a long one.
func ShortDiscriminator(v uint8) Discriminator { return Discriminator{v: uint16(v), short: true} }

// IsShort reports whether only the upper 4 bits are known.
func (d Discriminator) IsShort() bool { return d.short }

// Long returns the 12-bit value; ok is false for a short discriminator.
func (d Discriminator) Long() (v uint16, ok bool) {
	if d.short {
		return 0, false
	}
	return d.v, true
}

// Short returns the upper 4 bits, which both forms know.
func (d Discriminator) Short() uint8 {
	if d.short {
		return uint8(d.v)
	}
	return uint8(d.v >> 8)
}

// Matches reports whether a device advertising the long discriminator long fits d.
func (d Discriminator) Matches(long uint16) bool {
	if d.short {
		return long>>8 == d.v
	}
	return long == d.v
}

func (d Discriminator) String() string {
	if d.short {
		return "short " + strconv.Itoa(int(d.v))
	}
	return strconv.Itoa(int(d.v))
}

// valid reports whether the value fits its field: 12 bits, or 4 for a short discriminator.
func (d Discriminator) valid() bool {
	if d.short {
		return d.v <= 0xF
	}
	return d.v <= 0xFFF
}

// Payload is the content of an onboarding payload (§5.1.1).
type Payload struct {
	Form Form
	// Version is the payload version; only 0 exists.
	Version uint8
	// VendorID and ProductID are known for QR codes and 21-digit manual codes; see HasVendorProduct.
	VendorID, ProductID uint16
	// Flow is the commissioning flow. A manual code only tells standard (11 digits) from
	// non-standard (21 digits); the latter reads as FlowCustom, as the CHIP SDK reads it.
	Flow CommissioningFlow
	// Rendezvous lists the discovery transports; QR codes only.
	Rendezvous Rendezvous
	// Discriminator is long for QR codes and short for manual codes.
	Discriminator Discriminator
	// Passcode is the 27-bit setup passcode (valid per ValidatePasscode in anything Parse returns).
	Passcode uint32
	// Extension is the TLV data that follows the 88-bit QR block (§5.1.3.3), kept raw; nil if none.
	Extension []byte
}

// HasVendorProduct reports whether VendorID and ProductID were part of the payload.
func (p Payload) HasVendorProduct() bool {
	return p.Form == FormQRCode || p.Flow != FlowStandard
}

// ErrInvalidPasscode is wrapped by every error about a passcode that breaks §5.1.7.1.
var ErrInvalidPasscode = errors.New("invalid setup passcode")

// ErrCheckDigit is wrapped by the error for a manual code whose Verhoeff check digit is wrong.
var ErrCheckDigit = errors.New("check digit mismatch")

// Error describes why a payload could not be read or written.
type Error struct {
	Form   Form   // the form being parsed or encoded
	Offset int    // byte offset in the input the problem starts at, or -1
	Field  string // the payload field concerned, if any
	Msg    string
	Err    error // ErrInvalidPasscode, ErrCheckDigit, or nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("setup: ")
	b.WriteString(e.Form.String())
	if e.Offset >= 0 {
		b.WriteString(": offset ")
		b.WriteString(strconv.Itoa(e.Offset))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(" (")
		b.WriteString(e.Err.Error())
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Passcode bounds (§5.1.7.1).
const (
	MinPasscode = 1
	MaxPasscode = 99999998
)

// ValidatePasscode checks the passcode rules of §5.1.7.1: 1..99999998, and none of the trivial
// values 11111111, 22222222, ..., 88888888, 12345678, 87654321 (00000000 and 99999999 fall outside
// the range). The error wraps ErrInvalidPasscode.
func ValidatePasscode(passcode uint32) error {
	if err := checkPasscode(passcode); err != "" {
		return fmt.Errorf("setup: passcode %08d: %s: %w", passcode, err, ErrInvalidPasscode)
	}
	return nil
}

func checkPasscode(p uint32) string {
	if p < MinPasscode || p > MaxPasscode {
		return "outside " + strconv.Itoa(MinPasscode) + ".." + strconv.Itoa(MaxPasscode)
	}
	if p == 12345678 || p == 87654321 || p%11111111 == 0 {
		return "a trivial value the spec forbids"
	}
	return ""
}

// Parse reads a QR code payload ("MT:..." with nothing else, §5.1.3) or a manual pairing code
// (11 or 21 digits; spaces and dashes are ignored, §5.1.4). Surrounding white space is ignored.
// Every check the spec asks of a commissioner is applied, including the passcode rules.
func Parse(s string) (Payload, error) {
	lead := len(s) - len(strings.TrimLeft(s, " \t\r\n"))
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, qrPrefix) {
		return parseQR(t, lead)
	}
	if t == "" {
		return Payload{}, &Error{Form: FormManualCode, Offset: -1, Msg: "empty input"}
	}
	return parseManual(t, lead)
}
