package tlv

import (
	"bytes"
	"fmt"
	"io"
	"math"
)

// Element is one decoded TLV element, for tools, tests and mutation. Only the fields of its Kind are
// meaningful (for a NaN float, Uint may hold its exact IEEE bits, since converting a signalling NaN
// between widths would change them). Width records the encoded width of an integer value or string length (0 means the
// smallest); decoding fills it in only when the encoding was not the smallest, so Encode(Decode(b))
// reproduces b, and Canonical drops it.
type Element struct {
	Tag   Tag
	Kind  Kind
	Int   int64     // KindInt
	Uint  uint64    // KindUint
	Bool  bool      // KindBool
	Float float64   // KindFloat32 (exactly representable as float32), KindFloat64
	Bytes []byte    // KindUTF8, KindBytes
	Elems []Element // KindStruct, KindArray, KindList
	Width int       // 0 (smallest), 1, 2, 4 or 8
}

// Convenience constructors.

// IntElem returns a signed integer element.
func IntElem(t Tag, v int64) Element { return Element{Tag: t, Kind: KindInt, Int: v} }

// UintElem returns an unsigned integer element.
func UintElem(t Tag, v uint64) Element { return Element{Tag: t, Kind: KindUint, Uint: v} }

// BoolElem returns a boolean element.
func BoolElem(t Tag, v bool) Element { return Element{Tag: t, Kind: KindBool, Bool: v} }

// Float32Elem returns a single precision element.
func Float32Elem(t Tag, v float32) Element {
	return Element{Tag: t, Kind: KindFloat32, Float: float64(v)}
}

// Float64Elem returns a double precision element.
func Float64Elem(t Tag, v float64) Element { return Element{Tag: t, Kind: KindFloat64, Float: v} }

// StringElem returns a UTF-8 string element.
func StringElem(t Tag, s string) Element { return Element{Tag: t, Kind: KindUTF8, Bytes: []byte(s)} }

// BytesElem returns an octet string element.
func BytesElem(t Tag, b []byte) Element { return Element{Tag: t, Kind: KindBytes, Bytes: b} }

// NullElem returns a null element.
func NullElem(t Tag) Element { return Element{Tag: t, Kind: KindNull} }

// StructElem returns a structure.
func StructElem(t Tag, members ...Element) Element {
	return Element{Tag: t, Kind: KindStruct, Elems: members}
}

// ArrayElem returns an array.
func ArrayElem(t Tag, members ...Element) Element {
	return Element{Tag: t, Kind: KindArray, Elems: members}
}

// ListElem returns a list.
func ListElem(t Tag, members ...Element) Element {
	return Element{Tag: t, Kind: KindList, Elems: members}
}

// Member returns the first member of a container with the given tag.
func (e *Element) Member(t Tag) (*Element, bool) {
	for i := range e.Elems {
		if e.Elems[i].Tag.Same(t) {
			return &e.Elems[i], true
		}
	}
	return nil, false
}

// Decode decodes exactly one element (with everything inside it) from b.
func Decode(b []byte) (Element, error) {
	r := NewReader(b)
	if err := r.Next(); err != nil {
		if err == io.EOF {
			return Element{}, &DecodeError{Offset: 0, Path: "$", Err: ErrTruncated, Detail: "empty input"}
		}
		return Element{}, err
	}
	e, err := readElement(r)
	if err != nil {
		return Element{}, err
	}
	if r.off != len(b) {
		return Element{}, &DecodeError{Offset: r.off, Path: "$", Err: ErrTrailingBytes, Detail: fmt.Sprintf("%d octets after the element", len(b)-r.off)}
	}
	return e, nil
}

// DecodeAll decodes every top-level element of b.
func DecodeAll(b []byte) ([]Element, error) {
	r := NewReader(b)
	var out []Element
	for {
		err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		e, err := readElement(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
}

// ReadElement decodes the Reader's current element, with its members, into a tree. Afterwards
// the Reader stands where Next continues after that element.
func ReadElement(r *Reader) (Element, error) { return readElement(r) }

func readElement(r *Reader) (Element, error) {
	t := r.Type()
	e := Element{Tag: r.Tag(), Kind: t.Kind()}
	switch e.Kind {
	case KindInt:
		e.Int, _ = r.Int()
		if t.Width() != IntWidth(e.Int) {
			e.Width = t.Width()
		}
	case KindUint:
		e.Uint, _ = r.Uint()
		if t.Width() != UintWidth(e.Uint) {
			e.Width = t.Width()
		}
	case KindBool:
		e.Bool, _ = r.Bool()
	case KindFloat32, KindFloat64:
		e.Float, _ = r.Float()
		if math.IsNaN(e.Float) {
			e.Uint = r.cur.val // keep the exact NaN payload; see Element
		}
	case KindUTF8, KindBytes:
		if e.Kind == KindUTF8 {
			v, _ := r.UTF8()
			e.Bytes = bytes.Clone(v)
		} else {
			v, _ := r.Bytes()
			e.Bytes = bytes.Clone(v)
		}
		if e.Bytes == nil {
			e.Bytes = []byte{}
		}
		if t.Width() != UintWidth(uint64(len(e.Bytes))) {
			e.Width = t.Width()
		}
	case KindStruct, KindArray, KindList:
		if err := r.EnterContainer(); err != nil {
			return Element{}, err
		}
		e.Elems = []Element{}
		for {
			err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return Element{}, err
			}
			m, err := readElement(r)
			if err != nil {
				return Element{}, err
			}
			e.Elems = append(e.Elems, m)
		}
		// Next consumed the end-of-container, so this only pops back to the container.
		if err := r.ExitContainer(); err != nil {
			return Element{}, err
		}
	}
	return e, nil
}

// Encode encodes e.
func Encode(e Element) ([]byte, error) { return AppendEncode(nil, e) }

// AppendEncode appends the encoding of e to b.
func AppendEncode(b []byte, e Element) ([]byte, error) {
	w := NewWriter(b)
	if err := e.WriteTo(w); err != nil {
		return nil, err
	}
	return w.Finish()
}

// WriteTo writes e with w. The error is w's sticky error or a malformed element.
func (e *Element) WriteTo(w *Writer) error {
	switch e.Kind {
	case KindInt:
		w.IntWithWidth(e.Tag, e.Int, pick(e.Width, IntWidth(e.Int)))
	case KindUint:
		w.UintWithWidth(e.Tag, e.Uint, pick(e.Width, UintWidth(e.Uint)))
	case KindBool:
		w.Bool(e.Tag, e.Bool)
	case KindFloat32:
		if math.IsNaN(e.Float) && e.Uint != 0 {
			w.float32Bits(e.Tag, uint32(e.Uint))
		} else {
			w.Float32(e.Tag, float32(e.Float))
		}
	case KindFloat64:
		if math.IsNaN(e.Float) && e.Uint != 0 {
			w.float64Bits(e.Tag, e.Uint)
		} else {
			w.Float64(e.Tag, e.Float)
		}
	case KindUTF8:
		w.UTF8WithWidth(e.Tag, string(e.Bytes), pick(e.Width, UintWidth(uint64(len(e.Bytes)))))
	case KindBytes:
		w.OctetStringWithWidth(e.Tag, e.Bytes, pick(e.Width, UintWidth(uint64(len(e.Bytes)))))
	case KindNull:
		w.Null(e.Tag)
	case KindStruct, KindArray, KindList:
		switch e.Kind {
		case KindStruct:
			w.StartStruct(e.Tag)
		case KindArray:
			w.StartArray(e.Tag)
		default:
			w.StartList(e.Tag)
		}
		for i := range e.Elems {
			if err := e.Elems[i].WriteTo(w); err != nil {
				return err
			}
		}
		w.End()
	default:
		w.setErr("element of kind %s cannot be encoded", e.Kind)
	}
	return w.Err()
}

func pick(width, minimal int) int {
	if width == 0 {
		return minimal
	}
	return width
}

// Canonical returns a copy of e with smallest widths and tag forms everywhere.
func (e Element) Canonical() Element {
	e.Width = 0
	e.Tag = e.Tag.Minimal()
	if e.Elems != nil {
		elems := make([]Element, len(e.Elems))
		for i := range e.Elems {
			elems[i] = e.Elems[i].Canonical()
		}
		e.Elems = elems
	}
	return e
}

// Equal reports whether e and f hold the same tags and values, ignoring widths and tag forms.
// Floats compare by bits, so NaN equals the same NaN.
func (e *Element) Equal(f *Element) bool {
	if !e.Tag.Same(f.Tag) || e.Kind != f.Kind {
		return false
	}
	switch e.Kind {
	case KindInt:
		return e.Int == f.Int
	case KindUint:
		return e.Uint == f.Uint
	case KindBool:
		return e.Bool == f.Bool
	case KindFloat32, KindFloat64:
		if math.IsNaN(e.Float) && math.IsNaN(f.Float) {
			return e.Uint == f.Uint
		}
		return math.Float64bits(e.Float) == math.Float64bits(f.Float)
	case KindUTF8, KindBytes:
		return bytes.Equal(e.Bytes, f.Bytes)
	case KindStruct, KindArray, KindList:
		if len(e.Elems) != len(f.Elems) {
			return false
		}
		for i := range e.Elems {
			if !e.Elems[i].Equal(&f.Elems[i]) {
				return false
			}
		}
	}
	return true
}
