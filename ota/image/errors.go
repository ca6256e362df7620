package image

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors an *Error wraps; test with errors.Is.
var (
	ErrBadMagic          = errors.New("bad file identifier")
	ErrTruncated         = errors.New("file truncated")
	ErrSizeMismatch      = errors.New("size mismatch")
	ErrHeaderTooLarge    = errors.New("header too large")
	ErrTrailingData      = errors.New("trailing data after the payload")
	ErrHeaderTLV         = errors.New("malformed header TLV")
	ErrTagOrder          = errors.New("header tags out of order")
	ErrMissingField      = errors.New("mandatory header field missing")
	ErrUnknownField      = errors.New("unknown header field")
	ErrFieldType         = errors.New("wrong header field type")
	ErrConstraint        = errors.New("header constraint violated")
	ErrUnknownDigestType = errors.New("unknown image digest type")
	ErrDigestMismatch    = errors.New("payload digest mismatch")
	ErrPayloadChanged    = errors.New("payload changed while the image was written")
)

// Field names an *Error can carry: the prefix fields, the header as a whole, its fields (named as in
// the spec) and the payload.
const (
	FieldFileIdentifier = "FileIdentifier"
	FieldTotalSize      = "TotalSize"
	FieldHeaderSize     = "HeaderSize"
	FieldHeader         = "Header"
	FieldPayload        = "Payload"
)

// headerFields names the header's context tags 0..9 (§11.21.2.4).
var headerFields = [10]string{
	"VendorID", "ProductID", "SoftwareVersion", "SoftwareVersionString", "PayloadSize",
	"MinApplicableSoftwareVersion", "MaxApplicableSoftwareVersion", "ReleaseNotesURL",
	"ImageDigestType", "ImageDigest",
}

// section is the spec section a field's rule comes from: the header fields are §11.21.2.4 (the
// section matter.js cites for the header), the prefix and payload the file format §11.21.2.
func section(field string) string {
	if field == FieldHeader {
		return "§11.21.2.4"
	}
	for _, f := range headerFields {
		if f == field {
			return "§11.21.2.4"
		}
	}
	return "§11.21.2"
}

// Error is one problem with an image: what (a sentinel above), where (a byte offset in the file and
// the field), and the detail. Offset is -1 for a header that is not in a file (Header.Encode).
type Error struct {
	Offset int64
	Field  string
	Err    error  // one of the sentinels
	Detail string // what exactly was found
	Cause  error  // an underlying error, such as a *tlv.DecodeError, or nil
}

func (e *Error) Error() string {
	where := e.Field + ", " + section(e.Field)
	if e.Offset >= 0 {
		where = "byte " + strconv.FormatInt(e.Offset, 10) + " (" + where + ")"
	} else {
		where = "(" + where + ")"
	}
	msg := fmt.Sprintf("ota image: %s: %v", where, e.Err)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the sentinel and the cause, so errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// joinProblems turns a problem list into one error (nil for none), in order.
func joinProblems(ps []*Error) error {
	switch len(ps) {
	case 0:
		return nil
	case 1:
		return ps[0]
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}
