package setup

import (
	"strconv"
	"strings"
)

// qrPrefix starts every Matter QR code payload (§5.1.3).
const qrPrefix = "MT:"

// The packed 88-bit block of the QR code (§5.1.3.1), fields in this order from the least
// significant bit of a little-endian bit string.
const (
	versionBits       = 3
	vendorIDBits      = 16
	productIDBits     = 16
	flowBits          = 2
	rendezvousBits    = 8
	discriminatorBits = 12
	passcodeBits      = 27
	paddingBits       = 4
	packedBytes       = (versionBits + vendorIDBits + productIDBits + flowBits + rendezvousBits +
		discriminatorBits + passcodeBits + paddingBits) / 8 // 11
)

// bitReader takes fields LSB-first from a byte string.
type bitReader struct {
	b   []byte
	off int // in bits
}

func (r *bitReader) read(n int) uint32 {
	var v uint32
	for i := range n {
		bit := uint32(r.b[(r.off+i)/8]>>uint((r.off+i)%8)) & 1
		v |= bit << uint(i)
	}
	r.off += n
	return v
}

type bitWriter struct {
	b   []byte
	off int
}

func (w *bitWriter) write(v uint32, n int) {
	for i := range n {
		if v>>uint(i)&1 != 0 {
			w.b[(w.off+i)/8] |= 1 << uint((w.off+i)%8)
		}
	}
	w.off += n
}

// parseQR reads "MT:<base38>"; lead is the offset of s in the caller's input, for error offsets.
func parseQR(s string, lead int) (Payload, error) {
	fail := func(off int, field, msg string, err error) (Payload, error) {
		if off >= 0 {
			off += lead
		}
		return Payload{}, &Error{Form: FormQRCode, Offset: off, Field: field, Msg: msg, Err: err}
	}
	body := s[len(qrPrefix):]
	if i := strings.IndexByte(body, '*'); i >= 0 {
		return fail(len(qrPrefix)+i, "", "'*' joins several payloads in one QR code; give them one at a time", nil)
	}
	data, err := base38Decode(body)
	if err != nil {
		be := err.(*base38Error)
		return fail(len(qrPrefix)+be.offset, "", be.msg, nil)
	}
	if len(data) < packedBytes {
		return fail(-1, "", "payload decodes to "+strconv.Itoa(len(data))+" bytes, want at least "+
			strconv.Itoa(packedBytes)+" (19 base38 characters)", nil)
	}
	r := bitReader{b: data[:packedBytes]}
	p := Payload{Form: FormQRCode}
	p.Version = uint8(r.read(versionBits))
	p.VendorID = uint16(r.read(vendorIDBits))
	p.ProductID = uint16(r.read(productIDBits))
	p.Flow = CommissioningFlow(r.read(flowBits))
	p.Rendezvous = Rendezvous(r.read(rendezvousBits))
	p.Discriminator = LongDiscriminator(uint16(r.read(discriminatorBits)))
	p.Passcode = r.read(passcodeBits)
	padding := r.read(paddingBits)

	if p.Version != 0 {
		return fail(-1, "version", "version "+strconv.Itoa(int(p.Version))+" is not supported, only 0 (§5.1.3.1)", nil)
	}
	if p.Flow > FlowCustom {
		return fail(-1, "commissioning flow", "value 3 is reserved (§5.1.3.1)", nil)
	}
	if padding != 0 {
		return fail(-1, "padding", "the 4 padding bits are "+strconv.Itoa(int(padding))+", must be 0 (§5.1.3.1)", nil)
	}
	if msg := checkPasscode(p.Passcode); msg != "" {
		return fail(-1, "passcode", strconv.Itoa(int(p.Passcode))+" is "+msg+" (§5.1.7.1)", ErrInvalidPasscode)
	}
	if len(data) > packedBytes {
		p.Extension = data[packedBytes:]
	}
	return p, nil
}

// QRCode encodes p as an "MT:" QR code payload (§5.1.3). It needs a long discriminator, version 0,
// a valid passcode and a defined flow; Form is ignored and Extension is appended as is.
func (p Payload) QRCode() (string, error) {
	fail := func(field, msg string, err error) (string, error) {
		return "", &Error{Form: FormQRCode, Offset: -1, Field: field, Msg: msg, Err: err}
	}
	long, ok := p.Discriminator.Long()
	switch {
	case p.Version != 0:
		return fail("version", "only version 0 can be encoded", nil)
	case !ok:
		return fail("discriminator", "a QR code needs the 12-bit discriminator, not the short one", nil)
	case long > 0xFFF:
		return fail("discriminator", strconv.Itoa(int(long))+" does not fit in 12 bits", nil)
	case p.Flow > FlowCustom:
		return fail("commissioning flow", "value "+strconv.Itoa(int(p.Flow))+" is not defined", nil)
	}
	if msg := checkPasscode(p.Passcode); msg != "" {
		return fail("passcode", strconv.Itoa(int(p.Passcode))+" is "+msg, ErrInvalidPasscode)
	}
	data := make([]byte, packedBytes, packedBytes+len(p.Extension))
	w := bitWriter{b: data}
	w.write(uint32(p.Version), versionBits)
	w.write(uint32(p.VendorID), vendorIDBits)
	w.write(uint32(p.ProductID), productIDBits)
	w.write(uint32(p.Flow), flowBits)
	w.write(uint32(p.Rendezvous), rendezvousBits)
	w.write(uint32(long), discriminatorBits)
	w.write(p.Passcode, passcodeBits)
	data = append(data, p.Extension...)
	return qrPrefix + base38Encode(data), nil
}
