package im

import (
	"errors"
	"fmt"
)

// Sentinels a *DecodeError unwraps to; test with errors.Is. A TLV fault also unwraps to the tlv
// sentinel behind it (tlv.ErrTruncated, ...) and a type fault to tlv.ErrWrongType.
var (
	ErrMalformedTLV      = errors.New("malformed TLV")
	ErrWrongType         = errors.New("wrong element type")
	ErrPathNotList       = errors.New("CommandPathIB is not a TLV list")
	ErrMissingField      = errors.New("mandatory field missing")
	ErrDuplicateField    = errors.New("field appears twice")
	ErrOutOfRange        = errors.New("value out of range")
	ErrAmbiguousResponse = errors.New("InvokeResponseIB holds both Command and Status")
)

// Sentinels of encoding and of DecodeInvokeResult, wrapped with context.
var (
	// ErrBadFields: command fields given to an encoder are not one well-formed anonymous structure.
	ErrBadFields = errors.New("command fields are not one well-formed anonymous TLV structure")
	// ErrBadResponseIB: an InvokeResponseIB to encode holds neither or both of Command and Status.
	ErrBadResponseIB = errors.New("InvokeResponseIB must hold exactly one of Command and Status")

	ErrUnexpectedOpcode = errors.New("reply is neither InvokeResponse (0x09) nor StatusResponse (0x01)")
	ErrNoResponse       = errors.New("InvokeResponses is empty")
	ErrTooManyResponses = errors.New("more than one InvokeResponseIB for a single-command invoke")
	ErrChunked          = errors.New("MoreChunkedMessages is set on the reply to a single-command invoke")
	ErrPathMismatch     = errors.New("response is for another command path")
)

// DecodeError is a malformed IM message. Field names the element by message and field names
// ("InvokeRequestMessage.InvokeRequests[0].CommandPath.EndpointID"; below the fields the IM schema
// knows, by TLV tag), Path by TLV element path in the notation of tlv.Reader.Path ("$.2[0].0.0").
// For a missing field both name the field that should have been there and Offset is the control
// octet of the container that lacks it.
type DecodeError struct {
	Field   string
	Path    string
	Offset  int    // byte offset in the payload
	Err     error  // one of the sentinels above
	Cause   error  // the *tlv.DecodeError or *tlv.TypeError behind a TLV or type fault, else nil
	Detail  string // what exactly was found
	Section string // where the rule comes from, e.g. "Core §10.6.11"
}

func (e *DecodeError) Error() string {
	s := fmt.Sprintf("im: %s (%s) at byte %d: %v", e.Field, e.Path, e.Offset, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Section != "" {
		s += " [" + e.Section + "]"
	}
	return s
}

// Unwrap returns the sentinel and, when there is one, the tlv error behind it.
func (e *DecodeError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}
