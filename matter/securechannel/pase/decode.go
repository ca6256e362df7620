package pase

import (
	"errors"
	"fmt"
	"io"

	"github.com/otaconf/otaconf/tlv"
)

// decoder reads one PASE message: an anonymous TLV structure of context-tagged fields (§4.14.1.2),
// strictly. Unknown and non-context tags are skipped (forward compatibility, as CHIP and matter.js
// do); duplicates are errors, since TLV structure members are unique (App. A.2.4).
type decoder struct {
	msg string
	r   tlv.Reader
}

func (d *decoder) fail(field string, off int, err, cause error, detail, section string) error {
	return &DecodeError{Message: d.msg, Field: field, Offset: off, Err: err, Cause: cause, Detail: detail, Section: section}
}

// tlvErr converts an error of the tlv reader into a DecodeError at the right offset.
func (d *decoder) tlvErr(field string, err error) error {
	var de *tlv.DecodeError
	if errors.As(err, &de) {
		return d.fail(field, de.Offset, ErrMalformed, err, fmt.Sprintf("%s (%s)", de.Err, de.Path), "Core App. A")
	}
	var te *tlv.TypeError
	if errors.As(err, &te) {
		return d.fail(field, te.Offset, ErrWrongType, err, fmt.Sprintf("want %s, found %s", te.Want, te.Got), secMessages)
	}
	return d.fail(field, d.r.Offset(), ErrMalformed, err, "", "Core App. A")
}

// open starts reading b, which must hold exactly one anonymous structure, and enters it.
func (d *decoder) open(b []byte) error {
	d.r.Reset(b)
	switch err := d.r.Next(); {
	case err == io.EOF:
		return d.fail("", 0, ErrMalformed, nil, "empty payload, want an anonymous structure", secMessages)
	case err != nil:
		return d.tlvErr("", err)
	}
	if d.r.Kind() != tlv.KindStruct || !d.r.Tag().IsAnonymous() {
		return d.fail("", 0, ErrWrongType, nil, fmt.Sprintf("message is a %s with tag %s, want an anonymous structure", d.r.Type(), d.r.Tag()), secMessages)
	}
	if err := d.r.EnterContainer(); err != nil {
		return d.tlvErr("", err)
	}
	return nil
}

// close leaves the top-level structure and rejects anything after it.
func (d *decoder) close() error {
	if err := d.r.ExitContainer(); err != nil {
		return d.tlvErr("", err)
	}
	switch err := d.r.Next(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return d.tlvErr("", err)
	default:
		return d.fail("", d.r.Offset(), ErrMalformed, nil, "bytes after the message structure", secMessages)
	}
}

// fields calls fn for each context-tagged member of the entered structure (positioned on it) and
// then checks that every tag in required was seen. start is the structure's control-octet offset,
// prefix the structure's field path ("" for the message itself).
func (d *decoder) fields(prefix string, start int, names map[uint8]string, required []uint8, fn func(tag uint8, name string) error) error {
	var seen [4]uint64
	for {
		err := d.r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return d.tlvErr(prefix, err)
		}
		t := d.r.Tag()
		if !t.IsContext() {
			continue // a profile tag: not part of the schema, skipped
		}
		n := uint8(t.Number)
		if seen[n/64]&(1<<(n%64)) != 0 {
			return d.fail(join(prefix, nameOf(names, n)), d.r.Offset(), ErrDuplicateField, nil, fmt.Sprintf("context tag %d given twice", n), "Core App. A.2.4")
		}
		seen[n/64] |= 1 << (n % 64)
		name, known := names[n]
		if !known {
			continue // unknown field: skipped (the reader skips a container not entered)
		}
		if err := fn(n, join(prefix, name)); err != nil {
			return err
		}
	}
	for _, n := range required {
		if seen[n/64]&(1<<(n%64)) == 0 {
			return d.fail(join(prefix, names[n]), start, ErrMissingField, nil, fmt.Sprintf("context tag %d absent", n), secMessages)
		}
	}
	return nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func nameOf(names map[uint8]string, n uint8) string {
	if s, ok := names[n]; ok {
		return s
	}
	return fmt.Sprintf("<tag %d>", n)
}

func (d *decoder) uint(field string, max uint64, section string) (uint64, error) {
	v, err := d.r.Uint()
	if err != nil {
		return 0, d.tlvErr(field, err)
	}
	if v > max {
		return 0, d.fail(field, d.r.Offset(), ErrOutOfRange, nil, fmt.Sprintf("%d does not fit in %d bits", v, bitsOf(max)), section)
	}
	return v, nil
}

func bitsOf(max uint64) int {
	n := 0
	for max > 0 {
		n++
		max >>= 1
	}
	return n
}

func (d *decoder) bool(field string) (bool, error) {
	v, err := d.r.Bool()
	if err != nil {
		return false, d.tlvErr(field, err)
	}
	return v, nil
}

// octets reads an octet string of min..max bytes into a fresh slice.
func (d *decoder) octets(field string, min, max int) ([]byte, error) {
	b, err := d.r.Bytes()
	if err != nil {
		return nil, d.tlvErr(field, err)
	}
	if len(b) < min || len(b) > max {
		want := fmt.Sprintf("%d..%d", min, max)
		if min == max {
			want = fmt.Sprint(min)
		}
		return nil, d.fail(field, d.r.Offset(), ErrLength, nil, fmt.Sprintf("%d bytes, want %s", len(b), want), secMessages)
	}
	return append([]byte(nil), b...), nil
}

// fixed reads an octet string of exactly len(dst) bytes into dst.
func (d *decoder) fixed(field string, dst []byte) error {
	b, err := d.octets(field, len(dst), len(dst))
	if err != nil {
		return err
	}
	copy(dst, b)
	return nil
}

// enter descends into the current member, which must be a structure, and returns its offset.
func (d *decoder) enter(field string) (int, error) {
	off := d.r.Offset()
	if d.r.Kind() != tlv.KindStruct {
		return 0, d.fail(field, off, ErrWrongType, nil, fmt.Sprintf("want a structure, found %s", d.r.Type()), secMessages)
	}
	if err := d.r.EnterContainer(); err != nil {
		return 0, d.tlvErr(field, err)
	}
	return off, nil
}

func (d *decoder) exit(field string) error {
	if err := d.r.ExitContainer(); err != nil {
		return d.tlvErr(field, err)
	}
	return nil
}
