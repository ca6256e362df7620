package tlv

import (
	"errors"
	"fmt"
)

// Sentinel errors a DecodeError wraps; test with errors.Is.
var (
	ErrTruncated         = errors.New("input ends inside an element")
	ErrReservedType      = errors.New("reserved element type")
	ErrUnexpectedEnd     = errors.New("end-of-container outside a container")
	ErrMissingEnd        = errors.New("container has no end-of-container")
	ErrLengthPastInput   = errors.New("length runs past the end of input")
	ErrTooDeep           = errors.New("containers nested too deeply")
	ErrInvalidUTF8       = errors.New("invalid UTF-8 in a UTF-8 string")
	ErrAnonymousInStruct = errors.New("anonymous element inside a structure")
	ErrTaggedInArray     = errors.New("tagged element inside an array")
	ErrTaggedEnd         = errors.New("end-of-container carries a tag")
	ErrTrailingBytes     = errors.New("bytes after the last element")
	ErrWrongType         = errors.New("wrong element type")
	ErrNoElement         = errors.New("no current element")
)

// DecodeError is a decoding failure at a byte offset and element path ("$.3[1]": context tag 3 of the
// top-level element, then its second member).
type DecodeError struct {
	Offset int    // offset of the control octet of the offending element (or where input ended)
	Path   string // element path in the notation of Reader.Path
	Err    error  // one of the sentinel errors above
	Detail string // what exactly was found
}

func (e *DecodeError) Error() string {
	msg := fmt.Sprintf("tlv: byte %d", e.Offset)
	if e.Path != "" {
		msg += " (" + e.Path + ")"
	}
	msg += ": " + e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

// TypeError reports an element of another type than the one asked for. It wraps ErrWrongType.
type TypeError struct {
	Offset int
	Path   string
	Want   string
	Got    ElementType
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("tlv: byte %d (%s): want %s, found %s", e.Offset, e.Path, e.Want, e.Got)
}

func (e *TypeError) Unwrap() error { return ErrWrongType }
