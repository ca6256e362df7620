package tlv

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Writer builds TLV into a byte slice. It chooses the smallest integer, length and tag widths unless
// a *Width method asks for another (to produce non-canonical encodings on purpose). Misuse (an
// anonymous member of a structure, a tagged member of an array, unbalanced containers, a value that
// does not fit a forced width) is recorded as a sticky error returned by Finish.
type Writer struct {
	buf   []byte
	depth int
	stack [MaxDepth]Kind
	err   error
}

// NewWriter returns a Writer that appends to buf (which may be nil).
func NewWriter(buf []byte) *Writer { return &Writer{buf: buf} }

// Reset makes w append to buf, forgetting its state.
func (w *Writer) Reset(buf []byte) { *w = Writer{buf: buf} }

// Err returns the first misuse error, if any.
func (w *Writer) Err() error { return w.err }

// Bytes returns what has been written so far (a view; valid until the next write).
func (w *Writer) Bytes() []byte { return w.buf }

// Len returns the number of octets written so far.
func (w *Writer) Len() int { return len(w.buf) }

// Finish returns the encoding. It fails if a container is still open or a misuse occurred.
func (w *Writer) Finish() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.depth != 0 {
		return nil, fmt.Errorf("tlv writer: %d container(s) not ended", w.depth)
	}
	return w.buf, nil
}

func (w *Writer) setErr(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("tlv writer: "+format, args...)
	}
}

// head writes the control octet and the tag.
func (w *Writer) head(tag Tag, typ ElementType) bool {
	if w.err != nil {
		return false
	}
	if w.depth > 0 {
		switch w.stack[w.depth-1] {
		case KindStruct:
			if tag.IsAnonymous() {
				w.setErr("anonymous %s inside a structure", typ)
				return false
			}
		case KindArray:
			if !tag.IsAnonymous() {
				w.setErr("tagged %s (tag %s) inside an array", typ, tag)
				return false
			}
		}
	}
	if tag.Form > FormFullyQualified8 {
		w.setErr("invalid tag form %d", tag.Form)
		return false
	}
	switch {
	case tag.Form == FormContext && tag.Number > 0xFF,
		(tag.Form == FormCommonProfile2 || tag.Form == FormImplicitProfile2 || tag.Form == FormFullyQualified6) && tag.Number > 0xFFFF:
		w.setErr("tag number %d does not fit tag form %d", tag.Number, tag.Form)
		return false
	case tag.Form == FormAnonymous && tag.Number != 0:
		w.setErr("anonymous tag with number %d", tag.Number)
		return false
	}
	w.buf = append(w.buf, byte(tag.Form)<<5|byte(typ))
	switch tag.Form {
	case FormContext:
		w.buf = append(w.buf, byte(tag.Number))
	case FormCommonProfile2, FormImplicitProfile2:
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(tag.Number))
	case FormCommonProfile4, FormImplicitProfile4:
		w.buf = binary.LittleEndian.AppendUint32(w.buf, tag.Number)
	case FormFullyQualified6:
		w.buf = binary.LittleEndian.AppendUint16(w.buf, tag.Vendor)
		w.buf = binary.LittleEndian.AppendUint16(w.buf, tag.Profile)
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(tag.Number))
	case FormFullyQualified8:
		w.buf = binary.LittleEndian.AppendUint16(w.buf, tag.Vendor)
		w.buf = binary.LittleEndian.AppendUint16(w.buf, tag.Profile)
		w.buf = binary.LittleEndian.AppendUint32(w.buf, tag.Number)
	}
	return true
}

func (w *Writer) appendUint(v uint64, width int) {
	switch width {
	case 1:
		w.buf = append(w.buf, byte(v))
	case 2:
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(v))
	case 4:
		w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(v))
	default:
		w.buf = binary.LittleEndian.AppendUint64(w.buf, v)
	}
}

// widthCode maps a width of 1, 2, 4 or 8 to the low two bits of the element type.
func widthCode(width int) (ElementType, bool) {
	switch width {
	case 1:
		return 0, true
	case 2:
		return 1, true
	case 4:
		return 2, true
	case 8:
		return 3, true
	}
	return 0, false
}

// IntWidth is the smallest width holding v as a signed integer.
func IntWidth(v int64) int {
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return 1
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 2
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 4
	}
	return 8
}

// UintWidth is the smallest width holding v as an unsigned integer.
func UintWidth(v uint64) int {
	switch {
	case v <= math.MaxUint8:
		return 1
	case v <= math.MaxUint16:
		return 2
	case v <= math.MaxUint32:
		return 4
	}
	return 8
}

// Int writes a signed integer in its smallest width.
func (w *Writer) Int(tag Tag, v int64) { w.IntWithWidth(tag, v, IntWidth(v)) }

// IntWithWidth writes a signed integer in the given width (1, 2, 4 or 8), which must hold v.
func (w *Writer) IntWithWidth(tag Tag, v int64, width int) {
	code, ok := widthCode(width)
	if !ok || IntWidth(v) > width {
		w.setErr("signed integer %d does not fit width %d", v, width)
		return
	}
	if w.head(tag, TypeInt8+code) {
		w.appendUint(uint64(v), width)
	}
}

// Uint writes an unsigned integer in its smallest width.
func (w *Writer) Uint(tag Tag, v uint64) { w.UintWithWidth(tag, v, UintWidth(v)) }

// UintWithWidth writes an unsigned integer in the given width (1, 2, 4 or 8), which must hold v.
func (w *Writer) UintWithWidth(tag Tag, v uint64, width int) {
	code, ok := widthCode(width)
	if !ok || UintWidth(v) > width {
		w.setErr("unsigned integer %d does not fit width %d", v, width)
		return
	}
	if w.head(tag, TypeUint8+code) {
		w.appendUint(v, width)
	}
}

// Bool writes a boolean.
func (w *Writer) Bool(tag Tag, v bool) {
	t := TypeFalse
	if v {
		t = TypeTrue
	}
	w.head(tag, t)
}

// Float32 writes a single precision number.
func (w *Writer) Float32(tag Tag, v float32) {
	if w.head(tag, TypeFloat32) {
		w.buf = binary.LittleEndian.AppendUint32(w.buf, math.Float32bits(v))
	}
}

// Float64 writes a double precision number.
func (w *Writer) Float64(tag Tag, v float64) {
	if w.head(tag, TypeFloat64) {
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(v))
	}
}

func (w *Writer) float32Bits(tag Tag, bits uint32) {
	if w.head(tag, TypeFloat32) {
		w.buf = binary.LittleEndian.AppendUint32(w.buf, bits)
	}
}

func (w *Writer) float64Bits(tag Tag, bits uint64) {
	if w.head(tag, TypeFloat64) {
		w.buf = binary.LittleEndian.AppendUint64(w.buf, bits)
	}
}

// UTF8 writes a UTF-8 string, which must be valid UTF-8.
func (w *Writer) UTF8(tag Tag, s string) { w.UTF8WithWidth(tag, s, UintWidth(uint64(len(s)))) }

// UTF8WithWidth writes a UTF-8 string with a length field of the given width.
func (w *Writer) UTF8WithWidth(tag Tag, s string, width int) {
	if !utf8.ValidString(s) {
		w.setErr("UTF-8 string %q is not valid UTF-8", s)
		return
	}
	w.str(tag, TypeUTF8Len1, len(s), width)
	w.buf = append(w.buf, s...)
}

// OctetString writes an octet string.
func (w *Writer) OctetString(tag Tag, b []byte) {
	w.OctetStringWithWidth(tag, b, UintWidth(uint64(len(b))))
}

// OctetStringWithWidth writes an octet string with a length field of the given width.
func (w *Writer) OctetStringWithWidth(tag Tag, b []byte, width int) {
	w.str(tag, TypeBytesLen1, len(b), width)
	w.buf = append(w.buf, b...)
}

func (w *Writer) str(tag Tag, base ElementType, n, width int) {
	code, ok := widthCode(width)
	if !ok || UintWidth(uint64(n)) > width {
		w.setErr("string length %d does not fit a %d-octet length field", n, width)
		return
	}
	if w.head(tag, base+code) {
		w.appendUint(uint64(n), width)
	}
}

// Null writes a null.
func (w *Writer) Null(tag Tag) { w.head(tag, TypeNull) }

// StartStruct opens a structure; members must be tagged.
func (w *Writer) StartStruct(tag Tag) { w.start(tag, TypeStructure, KindStruct) }

// StartArray opens an array; members must be anonymous.
func (w *Writer) StartArray(tag Tag) { w.start(tag, TypeArray, KindArray) }

// StartList opens a list; members may be tagged or anonymous.
func (w *Writer) StartList(tag Tag) { w.start(tag, TypeList, KindList) }

func (w *Writer) start(tag Tag, typ ElementType, k Kind) {
	if w.err == nil && w.depth >= MaxDepth {
		w.setErr("containers nested deeper than %d", MaxDepth)
		return
	}
	if w.head(tag, typ) {
		w.stack[w.depth] = k
		w.depth++
	}
}

// End closes the innermost open container.
func (w *Writer) End() {
	if w.err != nil {
		return
	}
	if w.depth == 0 {
		w.setErr("End without an open container")
		return
	}
	w.depth--
	w.buf = append(w.buf, byte(TypeEndOfContainer))
}

// Raw appends octets as they are, for deliberately malformed encodings. The Writer does not track
// containers opened or closed by them.
func (w *Writer) Raw(b []byte) {
	if w.err == nil {
		w.buf = append(w.buf, b...)
	}
}
