package im

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/otaconf/otaconf/tlv"
)

// This file walks TLV by its framing alone: element types, tag and length fields, ends of
// containers. tlv.Reader also validates what it skips (UTF-8, anonymous members of structures, ...).
// CHIP's TLVReader does not: SkipToEndOfContainer treats nested containers as "unknown" (no tag
// rules) and checks UTF-8 only when a string is read. A fault inside command fields must reach the
// command's decoder (INVALID_COMMAND) rather than fail the interaction (see the package comment).

// tagOctets is the number of tag octets after the control octet, by tag form (Appendix A.7.2).
var tagOctets = [8]int{0, 1, 2, 4, 2, 4, 6, 8}

// elem is one element located in a payload.
type elem struct {
	tag   tlv.Tag
	typ   tlv.ElementType
	start int    // control octet
	body  int    // string data, or a container's first member
	end   int    // one past the element; -1 for a container until its members are walked
	val   uint64 // integer value (zero-extended), or string length
}

func (e *elem) kind() tlv.Kind { return e.typ.Kind() }

// fault is a framing error before it is given a path; err == nil means none.
type fault struct {
	off    int
	err    error // a tlv sentinel
	detail string
}

// readHead reads the element whose control octet is at off (< len(b)) into e: its tag, its scalar
// value or string length, and where its body starts. An end-of-container is read like any element.
// The fault is nil unless the framing is broken (e then holds what could be read).
func readHead(b []byte, off int, e *elem) *fault {
	ctl := b[off]
	*e = elem{typ: tlv.ElementType(ctl & 0x1F), start: off, end: -1}
	form := tlv.TagForm(ctl >> 5)
	kind := e.typ.Kind()
	if kind == tlv.KindInvalid {
		return &fault{off, tlv.ErrReservedType, "control octet 0x" + hex2(ctl) + " has a reserved element type"}
	}
	p := off + 1
	if n := tagOctets[form]; len(b)-p < n {
		return &fault{off, tlv.ErrTruncated, "tag needs " + strconv.Itoa(n) + " octets, " + strconv.Itoa(len(b)-p) + " left"}
	}
	t := b[p:]
	e.tag.Form = form
	switch form {
	case tlv.FormContext:
		e.tag.Number = uint32(t[0])
	case tlv.FormCommonProfile2, tlv.FormImplicitProfile2:
		e.tag.Number = uint32(binary.LittleEndian.Uint16(t))
	case tlv.FormCommonProfile4, tlv.FormImplicitProfile4:
		e.tag.Number = binary.LittleEndian.Uint32(t)
	case tlv.FormFullyQualified6:
		e.tag.Vendor, e.tag.Profile = binary.LittleEndian.Uint16(t), binary.LittleEndian.Uint16(t[2:])
		e.tag.Number = uint32(binary.LittleEndian.Uint16(t[4:]))
	case tlv.FormFullyQualified8:
		e.tag.Vendor, e.tag.Profile = binary.LittleEndian.Uint16(t), binary.LittleEndian.Uint16(t[2:])
		e.tag.Number = binary.LittleEndian.Uint32(t[4:])
	}
	p += tagOctets[form]
	switch kind {
	case tlv.KindInt, tlv.KindUint, tlv.KindFloat32, tlv.KindFloat64, tlv.KindUTF8, tlv.KindBytes:
		w := e.typ.Width()
		if len(b)-p < w {
			return &fault{off, tlv.ErrTruncated, e.typ.String() + " needs " + strconv.Itoa(w) + " octets, " + strconv.Itoa(len(b)-p) + " left"}
		}
		switch w {
		case 1:
			e.val = uint64(b[p])
		case 2:
			e.val = uint64(binary.LittleEndian.Uint16(b[p:]))
		case 4:
			e.val = uint64(binary.LittleEndian.Uint32(b[p:]))
		default:
			e.val = binary.LittleEndian.Uint64(b[p:])
		}
		p += w
		e.body = p
		if kind == tlv.KindUTF8 || kind == tlv.KindBytes {
			if left := uint64(len(b) - p); e.val > left {
				return &fault{off, tlv.ErrLengthPastInput, "length " + strconv.FormatUint(e.val, 10) + ", " + strconv.FormatUint(left, 10) + " octets left"}
			}
			p += int(e.val)
		}
		e.end = p
	case tlv.KindStruct, tlv.KindArray, tlv.KindList:
		e.body = p
	default: // bool, null, end-of-container
		e.body, e.end = p, p
	}
	return nil
}

const hexDigits = "0123456789ABCDEF"

func hex2(c byte) string { return string([]byte{hexDigits[c>>4], hexDigits[c&15]}) }

// trail is the way from the message down to an element, kept on the stack and rendered into
// strings only for an error.
type trail struct {
	up    *trail
	name  string // field name; "" renders the TLV tag or index
	tag   tlv.Tag
	index int
}

// child returns the trail of a member of t's container: its field name ("" if unknown), tag and
// position.
func (t *trail) child(name string, tag tlv.Tag, index int) trail {
	return trail{up: t, name: name, tag: tag, index: index}
}

// The renderers below walk the trail without recursion and without storing its pointers
// anywhere: either would make every trail escape to the heap on the decoders' success path.

// length is the number of nodes from the message down to t.
func (t *trail) length() int {
	n := 0
	for p := t; p != nil; p = p.up {
		n++
	}
	return n
}

// at returns the i-th node from the message (0) down to t (length-1).
func (t *trail) at(i int) *trail {
	p := t
	for k := t.length() - 1; k > i; k-- {
		p = p.up
	}
	return p
}

// tlvPath renders the path as tlv.Reader.Path does: "$" for the message, ".N" for a tagged
// member, "[i]" for an anonymous one.
func (t *trail) tlvPath() string {
	var sb strings.Builder
	sb.WriteString("$")
	for i := 1; i < t.length(); i++ {
		n := t.at(i)
		if n.tag.IsAnonymous() {
			sb.WriteString("[" + strconv.Itoa(n.index) + "]")
		} else {
			sb.WriteString("." + n.tag.String())
		}
	}
	return sb.String()
}

// fieldPath renders the path by field names: "InvokeRequestMessage.InvokeRequests[0].CommandPath";
// below the named fields, by TLV tag or index.
func (t *trail) fieldPath() string {
	var sb strings.Builder
	for i := 0; i < t.length(); i++ {
		n := t.at(i)
		switch {
		case i == 0:
			sb.WriteString(n.name)
		case n.tag.IsAnonymous():
			sb.WriteString("[" + strconv.Itoa(n.index) + "]")
		case n.name != "":
			sb.WriteString("." + n.name)
		default:
			sb.WriteString("." + n.tag.String())
		}
	}
	return sb.String()
}

// tlvFault turns a framing fault at trail t into a *DecodeError.
func tlvFault(t *trail, f fault) *DecodeError {
	path := t.tlvPath()
	return &DecodeError{
		Field: t.fieldPath(), Path: path, Offset: f.off, Err: ErrMalformedTLV,
		Cause:   &tlv.DecodeError{Offset: f.off, Path: path, Err: f.err, Detail: f.detail},
		Detail:  f.detail,
		Section: "Core Appendix A",
	}
}

// cursor walks the members of one container. It checks framing, and the membership rules of
// Appendix A.11 (tagged members in a structure, anonymous ones in an array, untagged ends).
type cursor struct {
	b     []byte
	t     *trail // the container's trail
	c     elem   // the container
	depth int    // containers enclosing the members (tlv.MaxDepth bounds a member container)
	off   int    // next unread octet
	n     int    // members read
	cur   elem
	done  bool
}

// enter returns a cursor over the members of container e (at trail t, inside depth containers).
func enter(b []byte, t *trail, e elem, depth int) cursor {
	return cursor{b: b, t: t, c: e, depth: depth + 1, off: e.body}
}

// next moves to the next member, skipping what is left of the previous one; it returns false after
// the end-of-container. The member's trail is c.t.child("", tag, index) until the caller names it.
func (c *cursor) next() (bool, error) {
	if c.done {
		return false, nil
	}
	if c.n > 0 && c.cur.end < 0 {
		m := c.t.child("", c.cur.tag, c.n-1)
		end, err := skipMembers(c.b, &m, c.cur.body, c.depth+1)
		if err != nil {
			return false, err
		}
		c.cur.end = end
		c.off = end
	}
	if c.off >= len(c.b) {
		return false, tlvFault(c.t, fault{c.c.start, tlv.ErrMissingEnd, "input ends at byte " + strconv.Itoa(len(c.b)) + " inside the " + c.c.kind().String()})
	}
	e := &c.cur
	if f := readHead(c.b, c.off, e); f != nil {
		// The member's tag, when it could be read; else its position.
		m := c.t.child("", e.tag, c.n)
		return false, tlvFault(&m, *f)
	}
	if e.kind() == tlv.KindEnd {
		if !e.tag.IsAnonymous() {
			return false, tlvFault(c.t, fault{e.start, tlv.ErrTaggedEnd, "control octet 0x" + hex2(c.b[e.start])})
		}
		c.off, c.done = e.end, true
		return false, nil
	}
	var f fault
	switch {
	case c.c.kind() == tlv.KindStruct && e.tag.IsAnonymous():
		f = fault{e.start, tlv.ErrAnonymousInStruct, "member " + strconv.Itoa(c.n) + " of the structure has no tag"}
	case c.c.kind() == tlv.KindArray && !e.tag.IsAnonymous():
		f = fault{e.start, tlv.ErrTaggedInArray, "tag " + e.tag.String()}
	case e.kind().IsContainer() && c.depth >= tlv.MaxDepth:
		f = fault{e.start, tlv.ErrTooDeep, "limit is " + strconv.Itoa(tlv.MaxDepth)}
	}
	if f.err != nil {
		m := c.t.child("", e.tag, c.n)
		return false, tlvFault(&m, f)
	}
	c.n++
	c.off = e.end
	return true, nil
}

// enterCur returns a cursor over the current member, which must be a container; the caller names
// its trail.
func (c *cursor) enterCur(t *trail) cursor { return enter(c.b, t, c.cur, c.depth) }

// resume continues after the current member, whose members child has walked to the end.
func (c *cursor) resume(child *cursor) { c.setEnd(child.off) }

// setEnd records where the current member, a container the caller walked, ends.
func (c *cursor) setEnd(end int) {
	c.cur.end = end
	c.off = end
}

// skipMembers finds the end of a container whose first member is at off, by framing alone; depth
// is the number of containers enclosing its members. t is the container's trail, for errors. It
// walks iteratively, keeping the tags and indices of the open containers, and builds their trails
// only for an error (recursion would put every trail on the heap).
func skipMembers(b []byte, t *trail, off, depth int) (int, error) {
	var tags [tlv.MaxDepth]tlv.Tag
	var indices [tlv.MaxDepth]int
	level, index := 0, 0 // containers opened below t; index of the next member in the innermost
	fail := func(member bool, tag tlv.Tag, f fault) error {
		var nodes [tlv.MaxDepth + 1]trail
		p := t
		for i := 0; i < level; i++ {
			nodes[i] = p.child("", tags[i], indices[i])
			p = &nodes[i]
		}
		if member {
			nodes[level] = p.child("", tag, index)
			p = &nodes[level]
		}
		return tlvFault(p, f)
	}
	for {
		if off >= len(b) {
			return 0, fail(false, tlv.Anonymous, fault{off, tlv.ErrMissingEnd, "input ends at byte " + strconv.Itoa(len(b)) + " inside a container"})
		}
		var e elem
		f := readHead(b, off, &e)
		switch {
		case f != nil:
			return 0, fail(true, e.tag, *f)
		case e.kind() == tlv.KindEnd:
			if !e.tag.IsAnonymous() {
				return 0, fail(false, tlv.Anonymous, fault{off, tlv.ErrTaggedEnd, "control octet 0x" + hex2(b[off])})
			}
			off = e.end
			if level == 0 {
				return off, nil
			}
			level--
			index = indices[level] + 1
		case e.kind().IsContainer():
			if depth+level >= tlv.MaxDepth {
				return 0, fail(true, e.tag, fault{off, tlv.ErrTooDeep, "limit is " + strconv.Itoa(tlv.MaxDepth)})
			}
			tags[level], indices[level] = e.tag, index
			level++
			index = 0
			off = e.body
		default:
			off = e.end
			index++
		}
	}
}

// checkFields reports whether fields is exactly one anonymous structure, well framed, whose
// members sit inside depth enclosing containers once re-tagged into a message.
func checkFields(fields []byte, depth int) error {
	if len(fields) == 0 {
		return &fieldsError{0, "empty", nil}
	}
	var e elem
	f := readHead(fields, 0, &e)
	switch {
	case f != nil:
		return &fieldsError{f.off, f.detail, f.err}
	case e.typ != tlv.TypeStructure:
		return &fieldsError{0, "the element is a " + e.typ.String() + ", not a structure", nil}
	case !e.tag.IsAnonymous():
		return &fieldsError{0, "the structure carries tag " + e.tag.String() + "; give it anonymous (0x15)", nil}
	}
	root := trail{name: "CommandFields"}
	end, err := skipMembers(fields, &root, e.body, depth+1)
	if err != nil {
		de := err.(*DecodeError)
		return &fieldsError{de.Offset, de.Path + ": " + de.Detail, de.Cause}
	}
	if end != len(fields) {
		return &fieldsError{end, strconv.Itoa(len(fields)-end) + " octets after the structure", tlv.ErrTrailingBytes}
	}
	return nil
}

// fieldsError says why command fields were refused by an encoder. It unwraps to ErrBadFields and
// the tlv sentinel behind it, if any.
type fieldsError struct {
	off    int
	detail string
	cause  error
}

func (e *fieldsError) Error() string {
	s := "byte " + strconv.Itoa(e.off) + ": " + ErrBadFields.Error() + ": " + e.detail
	if e.cause != nil {
		s += " (" + e.cause.Error() + ")"
	}
	return s
}

func (e *fieldsError) Unwrap() []error {
	if e.cause != nil {
		return []error{ErrBadFields, e.cause}
	}
	return []error{ErrBadFields}
}
