package setup

import (
	"strconv"
	"strings"
)

// Manual pairing code layout (§5.1.4.1), in decimal digits:
//
//	digit 1      version (1 bit, 0) | VID_PID_PRESENT (1 bit) | discriminator bits 11..10
//	digits 2-6   discriminator bits 9..8 (as bits 15..14) | passcode bits 13..0
//	digits 7-10  passcode bits 26..14
//	digits 11-20 vendor id (5 digits), product id (5 digits), only when VID_PID_PRESENT
//	last digit   Verhoeff check digit over all the others
const (
	manualShortLen = 11
	manualLongLen  = 21
	vidPidPresent  = 1 << 2
)

// parseManual reads a manual pairing code; lead is the offset of s in the caller's input.
func parseManual(s string, lead int) (Payload, error) {
	fail := func(off int, field, msg string, err error) (Payload, error) {
		if off >= 0 {
			off += lead
		}
		return Payload{}, &Error{Form: FormManualCode, Offset: off, Field: field, Msg: msg, Err: err}
	}
	// §5.1.4: codes are printed in groups; spaces and dashes between digits carry nothing.
	digits := make([]byte, 0, manualLongLen)
	pos := make([]int, 0, manualLongLen) // offset in s of each digit, for error messages
	for i := range len(s) {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
			pos = append(pos, i)
		case c == ' ' || c == '-':
		default:
			return fail(i, "", "character "+strconv.Quote(s[i:i+1])+" is not a digit, space or dash", nil)
		}
	}
	if len(digits) != manualShortLen && len(digits) != manualLongLen {
		return fail(-1, "", strconv.Itoa(len(digits))+" digits, want 11 or 21", nil)
	}
	d := string(digits)
	if !verhoeffValid(d) {
		want := verhoeffCheckDigit(d[:len(d)-1])
		return fail(pos[len(d)-1], "check digit", "is "+d[len(d)-1:]+", want "+string(want)+" (Verhoeff)", ErrCheckDigit)
	}
	first := d[0] - '0'
	if first > 7 {
		return fail(pos[0], "version", "leading digit "+d[:1]+" means version 1, only version 0 is supported", nil)
	}
	long := first&vidPidPresent != 0
	if long != (len(d) == manualLongLen) {
		what := "11 digits but the leading digit says vendor and product ids follow"
		if !long {
			what = "21 digits but the leading digit says no vendor and product ids follow"
		}
		return fail(pos[0], "VID_PID_PRESENT", what, nil)
	}
	chunk2, _ := strconv.Atoi(d[1:6])
	chunk3, _ := strconv.Atoi(d[6:10])
	if chunk2 > 0xFFFF {
		return fail(pos[1], "digits 2-6", strconv.Itoa(chunk2)+" does not fit in 16 bits", nil)
	}
	if chunk3 > 0x1FFF {
		return fail(pos[6], "digits 7-10", strconv.Itoa(chunk3)+" does not fit in 13 bits", nil)
	}
	p := Payload{
		Form:          FormManualCode,
		Flow:          FlowStandard,
		Discriminator: ShortDiscriminator(first&0x3<<2 | uint8(chunk2>>14)),
		Passcode:      uint32(chunk3)<<14 | uint32(chunk2&0x3FFF),
	}
	if long {
		vid, _ := strconv.Atoi(d[10:15])
		pid, _ := strconv.Atoi(d[15:20])
		if vid > 0xFFFF {
			return fail(pos[10], "vendor id", strconv.Itoa(vid)+" does not fit in 16 bits", nil)
		}
		if pid > 0xFFFF {
			return fail(pos[15], "product id", strconv.Itoa(pid)+" does not fit in 16 bits", nil)
		}
		p.VendorID, p.ProductID = uint16(vid), uint16(pid)
		p.Flow = FlowCustom
	}
	if msg := checkPasscode(p.Passcode); msg != "" {
		return fail(-1, "passcode", strconv.Itoa(int(p.Passcode))+" is "+msg+" (§5.1.7.1)", ErrInvalidPasscode)
	}
	return p, nil
}

// ManualCode encodes p as a manual pairing code (§5.1.4), digits only: 21 digits with vendor and
// product ids when Flow is not standard, 11 otherwise. Only the short discriminator is used.
func (p Payload) ManualCode() (string, error) {
	fail := func(field, msg string, err error) (string, error) {
		return "", &Error{Form: FormManualCode, Offset: -1, Field: field, Msg: msg, Err: err}
	}
	switch {
	case p.Version != 0:
		return fail("version", "only version 0 can be encoded", nil)
	case !p.Discriminator.valid():
		return fail("discriminator", p.Discriminator.String()+" does not fit its field", nil)
	}
	if msg := checkPasscode(p.Passcode); msg != "" {
		return fail("passcode", strconv.Itoa(int(p.Passcode))+" is "+msg, ErrInvalidPasscode)
	}
	short := uint32(p.Discriminator.Short())
	first := short >> 2
	long := p.Flow != FlowStandard
	if long {
		first |= vidPidPresent
	}
	var b strings.Builder
	b.Grow(manualLongLen)
	b.WriteByte(byte('0' + first))
	writePadded(&b, (short&0x3)<<14|p.Passcode&0x3FFF, 5)
	writePadded(&b, p.Passcode>>14, 4)
	if long {
		writePadded(&b, uint32(p.VendorID), 5)
		writePadded(&b, uint32(p.ProductID), 5)
	}
	b.WriteByte(verhoeffCheckDigit(b.String()))
	return b.String(), nil
}

func writePadded(b *strings.Builder, v uint32, width int) {
	s := strconv.FormatUint(uint64(v), 10)
	for range width - len(s) {
		b.WriteByte('0')
	}
	b.WriteString(s)
}
