package tlv

import (
	"encoding/binary"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of containers a Reader accepts and a Writer produces. Matter
// messages nest about six deep; the limit bounds the work and stack an input can demand.
const MaxDepth = 32

type frame struct {
	kind  Kind // container kind
	tag   Tag  // the container element's own tag
	index int  // the container element's index in its parent
	start int  // offset of the container's control octet
	count int  // members read so far
	done  bool // end-of-container consumed
}

// Reader reads TLV elements from a byte slice without copying. The zero value reads nothing; use
// NewReader or Reset. Scalars are returned without allocation and strings as views of the input,
// valid while the input is.
//
// Usage: call Next to move to the next element at the current depth (io.EOF at the end of the
// container or input), read its value, or EnterContainer to descend and ExitContainer to skip the rest
// of a container and return to its parent. Next skips a container that was not entered.
type Reader struct {
	buf   []byte
	off   int
	depth int
	top   frame // the implicit top level
	stack [MaxDepth]frame

	has     bool // cur is valid
	entered bool // cur is a container already entered
	cur     struct {
		start  int
		typ    ElementType
		tag    Tag
		valOff int    // first octet of the value (string data, container members)
		val    uint64 // integer bits, float bits, or string length
		index  int
	}
	err error // sticky decode error
}

// NewReader returns a Reader of b.
func NewReader(b []byte) *Reader {
	r := new(Reader)
	r.Reset(b)
	return r
}

// Reset makes r read b from the start.
func (r *Reader) Reset(b []byte) {
	// Not *r = Reader{...}: that would clear the whole container stack on every reuse.
	r.buf, r.off, r.depth, r.top = b, 0, 0, frame{}
	r.has, r.entered, r.err = false, false, nil
}

func (r *Reader) frame() *frame {
	if r.depth == 0 {
		return &r.top
	}
	return &r.stack[r.depth-1]
}

// Depth is the number of containers entered.
func (r *Reader) Depth() int { return r.depth }

// Offset returns the offset of the current element's control octet, or of the next unread octet
// when there is no current element.
func (r *Reader) Offset() int {
	if r.has {
		return r.cur.start
	}
	return r.off
}

// Type returns the current element's type.
func (r *Reader) Type() ElementType { return r.cur.typ }

// Kind returns the current element's kind, or KindInvalid when there is none.
func (r *Reader) Kind() Kind {
	if !r.has {
		return KindInvalid
	}
	return r.cur.typ.Kind()
}

// Tag returns the current element's tag.
func (r *Reader) Tag() Tag { return r.cur.tag }

// Index returns the current element's position in its container (0 for the first).
func (r *Reader) Index() int { return r.cur.index }

// ContainerKind returns the kind of the innermost entered container, or KindInvalid at top level.
func (r *Reader) ContainerKind() Kind {
	if r.depth == 0 {
		return KindInvalid
	}
	return r.stack[r.depth-1].kind
}

// Path names the current element (or, without one, the container being read) as a path from the
// top level: ".3" is context tag 3, "[2]" the third anonymous member, "$" the top-level element.
func (r *Reader) Path() string {
	var sb strings.Builder
	sb.WriteString("$")
	for i := 0; i < r.depth; i++ {
		f := &r.stack[i]
		writeSegment(&sb, f.tag, f.index, i == 0)
	}
	if r.has {
		writeSegment(&sb, r.cur.tag, r.cur.index, r.depth == 0)
	}
	return sb.String()
}

func writeSegment(sb *strings.Builder, t Tag, index int, top bool) {
	switch {
	case !t.IsAnonymous():
		sb.WriteByte('.')
		sb.WriteString(t.String())
	case top && index == 0:
		// the first top-level element is "$" itself
	default:
		sb.WriteByte('[')
		sb.WriteString(strconv.Itoa(index))
		sb.WriteByte(']')
	}
}

func (r *Reader) fail(off int, err error, detail string) error {
	r.err = &DecodeError{Offset: off, Path: r.Path(), Err: err, Detail: detail}
	return r.err
}

// Next moves to the next element at the current depth. It returns io.EOF after the last element of
// the current container (having consumed its end-of-container) or of the input at top level, and a
// *DecodeError for malformed input. Errors are sticky.
func (r *Reader) Next() error {
	if r.err != nil {
		return r.err
	}
	if r.has && r.cur.typ.Kind().IsContainer() && !r.entered {
		if err := r.EnterContainer(); err != nil {
			return err
		}
		if err := r.ExitContainer(); err != nil {
			return err
		}
	}
	r.has, r.entered = false, false
	f := r.frame()
	if f.done {
		return io.EOF
	}
	if r.off >= len(r.buf) {
		if r.depth == 0 {
			f.done = true
			return io.EOF
		}
		return r.fail(f.start, ErrMissingEnd, "input ends at byte "+strconv.Itoa(len(r.buf))+" inside "+f.kind.String())
	}
	start := r.off
	ctl := r.buf[start]
	typ := ElementType(ctl & 0x1F)
	form := TagForm(ctl >> 5)
	kind := typ.Kind()
	if kind == KindInvalid {
		return r.fail(start, ErrReservedType, "control octet 0x"+hex2(ctl)+" has element type 0x"+hex2(uint8(typ)))
	}
	if kind == KindEnd {
		if r.depth == 0 {
			return r.fail(start, ErrUnexpectedEnd, "")
		}
		if form != FormAnonymous {
			return r.fail(start, ErrTaggedEnd, "control octet 0x"+hex2(ctl))
		}
		r.off++
		f.done = true
		return io.EOF
	}
	p := start + 1
	n := tagLen[form]
	if len(r.buf)-p < n {
		return r.fail(start, ErrTruncated, "tag needs "+strconv.Itoa(n)+" octets, "+strconv.Itoa(len(r.buf)-p)+" left")
	}
	tag := Tag{Form: form}
	b := r.buf[p:]
	switch form {
	case FormContext:
		tag.Number = uint32(b[0])
	case FormCommonProfile2, FormImplicitProfile2:
		tag.Number = uint32(binary.LittleEndian.Uint16(b))
	case FormCommonProfile4, FormImplicitProfile4:
		tag.Number = binary.LittleEndian.Uint32(b)
	case FormFullyQualified6:
		tag.Vendor, tag.Profile = binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])
		tag.Number = uint32(binary.LittleEndian.Uint16(b[4:]))
	case FormFullyQualified8:
		tag.Vendor, tag.Profile = binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])
		tag.Number = binary.LittleEndian.Uint32(b[4:])
	}
	p += n
	r.cur.start, r.cur.typ, r.cur.tag, r.cur.index = start, typ, tag, f.count
	r.has = true
	switch {
	case f.kind == KindStruct && form == FormAnonymous:
		return r.fail(start, ErrAnonymousInStruct, "")
	case f.kind == KindArray && form != FormAnonymous:
		return r.fail(start, ErrTaggedInArray, "tag "+tag.String())
	}
	var val uint64
	switch kind {
	case KindInt, KindUint, KindFloat32, KindFloat64, KindUTF8, KindBytes:
		w := typ.Width()
		if len(r.buf)-p < w {
			what := "value"
			if kind == KindUTF8 || kind == KindBytes {
				what = "length"
			}
			return r.fail(start, ErrTruncated, typ.String()+" "+what+" needs "+strconv.Itoa(w)+" octets, "+strconv.Itoa(len(r.buf)-p)+" left")
		}
		val = readUint(r.buf[p:], w)
		p += w
		if kind == KindUTF8 || kind == KindBytes {
			left := uint64(len(r.buf) - p)
			if val > left {
				return r.fail(start, ErrLengthPastInput, kind.String()+" length "+strconv.FormatUint(val, 10)+" at byte "+strconv.Itoa(p-w)+", "+strconv.FormatUint(left, 10)+" octets left")
			}
			if kind == KindUTF8 && !utf8.Valid(r.buf[p:p+int(val)]) {
				return r.fail(start, ErrInvalidUTF8, "string of "+strconv.FormatUint(val, 10)+" octets at byte "+strconv.Itoa(p))
			}
			r.cur.valOff = p
			p += int(val)
		}
	case KindStruct, KindArray, KindList:
		if r.depth >= MaxDepth {
			return r.fail(start, ErrTooDeep, "limit is "+strconv.Itoa(MaxDepth))
		}
		r.cur.valOff = p
	}
	r.cur.val = val
	r.off = p
	f.count++
	return nil
}

func readUint(b []byte, w int) uint64 {
	switch w {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

const hexDigits = "0123456789ABCDEF"

func hex2(b uint8) string { return string([]byte{hexDigits[b>>4], hexDigits[b&15]}) }

// EnterContainer descends into the current element, which must be a structure, array or list.
func (r *Reader) EnterContainer() error {
	if r.err != nil {
		return r.err
	}
	if !r.has || !r.cur.typ.Kind().IsContainer() || r.entered {
		return r.typeErr("a container")
	}
	r.stack[r.depth] = frame{kind: r.cur.typ.Kind(), tag: r.cur.tag, index: r.cur.index, start: r.cur.start}
	r.depth++
	r.has, r.entered = false, false
	r.off = r.cur.valOff
	return nil
}

// ExitContainer skips what is left of the innermost entered container, including its
// end-of-container, and returns to the container as the current element of its parent.
func (r *Reader) ExitContainer() error {
	if r.err != nil {
		return r.err
	}
	if r.depth == 0 {
		return &DecodeError{Offset: r.off, Path: "$", Err: ErrNoElement, Detail: "ExitContainer at top level"}
	}
	for {
		err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	r.depth--
	f := &r.stack[r.depth]
	r.cur.start, r.cur.tag, r.cur.index = f.start, f.tag, f.index
	r.cur.typ = ElementType(r.buf[f.start] & 0x1F)
	r.has, r.entered = true, true
	return nil
}

func (r *Reader) typeErr(want string) error {
	if !r.has {
		return &DecodeError{Offset: r.off, Path: r.Path(), Err: ErrNoElement, Detail: "want " + want}
	}
	return &TypeError{Offset: r.cur.start, Path: r.Path(), Want: want, Got: r.cur.typ}
}

// Int returns the value of a signed integer element.
func (r *Reader) Int() (int64, error) {
	if !r.has || r.cur.typ.Kind() != KindInt {
		return 0, r.typeErr("a signed integer")
	}
	switch r.cur.typ {
	case TypeInt8:
		return int64(int8(r.cur.val)), nil
	case TypeInt16:
		return int64(int16(r.cur.val)), nil
	case TypeInt32:
		return int64(int32(r.cur.val)), nil
	}
	return int64(r.cur.val), nil
}

// Uint returns the value of an unsigned integer element.
func (r *Reader) Uint() (uint64, error) {
	if !r.has || r.cur.typ.Kind() != KindUint {
		return 0, r.typeErr("an unsigned integer")
	}
	return r.cur.val, nil
}

// Bool returns the value of a boolean element.
func (r *Reader) Bool() (bool, error) {
	if !r.has || r.cur.typ.Kind() != KindBool {
		return false, r.typeErr("a boolean")
	}
	return r.cur.typ == TypeTrue, nil
}

// Float returns the value of a single or double precision element.
func (r *Reader) Float() (float64, error) {
	switch {
	case r.has && r.cur.typ == TypeFloat32:
		return float64(math.Float32frombits(uint32(r.cur.val))), nil
	case r.has && r.cur.typ == TypeFloat64:
		return math.Float64frombits(r.cur.val), nil
	}
	return 0, r.typeErr("a floating point number")
}

// Bytes returns an octet string element's contents as a view of the input.
func (r *Reader) Bytes() ([]byte, error) {
	if !r.has || r.cur.typ.Kind() != KindBytes {
		return nil, r.typeErr("an octet string")
	}
	return r.buf[r.cur.valOff : r.cur.valOff+int(r.cur.val) : r.cur.valOff+int(r.cur.val)], nil
}

// UTF8 returns a UTF-8 string element's contents (valid UTF-8) as a view of the input.
func (r *Reader) UTF8() ([]byte, error) {
	if !r.has || r.cur.typ.Kind() != KindUTF8 {
		return nil, r.typeErr("a UTF-8 string")
	}
	return r.buf[r.cur.valOff : r.cur.valOff+int(r.cur.val) : r.cur.valOff+int(r.cur.val)], nil
}

// String returns a UTF-8 string element's contents as a (copied) Go string.
func (r *Reader) String() (string, error) {
	b, err := r.UTF8()
	return string(b), err
}

// IsNull reports whether the current element is null.
func (r *Reader) IsNull() bool { return r.has && r.cur.typ == TypeNull }

// Len returns the length in octets of the current string element's contents.
func (r *Reader) Len() int {
	if k := r.Kind(); k == KindUTF8 || k == KindBytes {
		return int(r.cur.val)
	}
	return 0
}

// Raw returns the encoded octets of the current scalar element (control octet through value). For
// a container it returns only its control octet and tag.
func (r *Reader) Raw() []byte {
	if !r.has {
		return nil
	}
	end := r.off
	if r.cur.typ.Kind().IsContainer() && !r.entered {
		end = r.cur.valOff
	}
	if r.entered {
		return r.buf[r.cur.start:r.off]
	}
	return r.buf[r.cur.start:end]
}
