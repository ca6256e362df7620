package message

import (
	"errors"
	"fmt"
)

// Sentinels a caller can branch on with errors.Is. A *FieldError wraps exactly one of them.
var (
	// ErrTruncated: the input ended inside a field.
	ErrTruncated = errors.New("truncated")
	// ErrUnsupportedVersion: the message flags carry a version other than 0 (§4.4.1.1: drop it).
	ErrUnsupportedVersion = errors.New("unsupported message version")
	// ErrReserved: a field holds a value the spec reserves (DSIZ 3, session type 2 or 3).
	ErrReserved = errors.New("reserved value")
	// ErrInvalid: a value cannot be encoded (a length over 65535, an unknown enum value).
	ErrInvalid = errors.New("invalid value")
)

// FieldError says which field of which structure was wrong, where, and why. Decoders never panic and
// derive every length from the input; each failure is a *FieldError with the byte offset of the
// field (0 for encoding errors). Encoders are the exact inverse of decoders: Decode(Encode(v)) == v,
// and Encode(Decode(b)) == b for any b without reserved bits set.
type FieldError struct {
	Struct string // "message header", "protocol header"
	Field  string // e.g. "MessageCounter", "ExchangeFlags.DSIZ"
	Offset int    // byte offset of the field inside the decoded slice (0 when encoding)
	Err    error  // one of the sentinels above
	Detail string // e.g. "need 4 bytes, have 2"
	Spec   string // spec section of the rule, e.g. "§4.4.1.4"
}

func (e *FieldError) Error() string {
	s := fmt.Sprintf("%s: %s at byte %d: %v", e.Struct, e.Field, e.Offset, e.Err)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Spec != "" {
		s += " [" + e.Spec + "]"
	}
	return s
}

func (e *FieldError) Unwrap() error { return e.Err }

// reader is a cursor over an input slice that records the first failure as a *FieldError.
// Reads after a failure return zero values, so decoders check err once per field group.
type reader struct {
	name string
	p    []byte
	off  int
	err  *FieldError
}

func (r *reader) need(field, spec string, n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || len(r.p)-r.off < n {
		r.err = &FieldError{Struct: r.name, Field: field, Offset: r.off, Err: ErrTruncated,
			Detail: fmt.Sprintf("need %d bytes, have %d", n, len(r.p)-r.off), Spec: spec}
		return false
	}
	return true
}

func (r *reader) u8(field, spec string) uint8 {
	if !r.need(field, spec, 1) {
		return 0
	}
	v := r.p[r.off]
	r.off++
	return v
}

func (r *reader) u16(field, spec string) uint16 {
	if !r.need(field, spec, 2) {
		return 0
	}
	v := uint16(r.p[r.off]) | uint16(r.p[r.off+1])<<8
	r.off += 2
	return v
}

func (r *reader) u32(field, spec string) uint32 {
	if !r.need(field, spec, 4) {
		return 0
	}
	b := r.p[r.off:]
	v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	r.off += 4
	return v
}

func (r *reader) u64(field, spec string) uint64 {
	if !r.need(field, spec, 8) {
		return 0
	}
	lo := uint64(r.u32(field, spec))
	hi := uint64(r.u32(field, spec))
	return lo | hi<<32
}

// lenPrefixed reads a u16 length and that many bytes; the result aliases the input and is non-nil
// (an empty extension block decodes to an empty, non-nil slice so that it re-encodes as present).
func (r *reader) lenPrefixed(field, spec string) []byte {
	n := int(r.u16(field+".Length", spec))
	if !r.need(field, spec, n) {
		return nil
	}
	v := r.p[r.off : r.off+n : r.off+n]
	r.off += n
	return v
}

func (r *reader) fail(field, spec string, off int, err error, detail string) {
	if r.err == nil {
		r.err = &FieldError{Struct: r.name, Field: field, Offset: off, Err: err, Detail: detail, Spec: spec}
	}
}

// result converts the recorded failure to an error without the typed-nil trap.
func (r *reader) result() error {
	if r.err == nil {
		return nil
	}
	return r.err
}
