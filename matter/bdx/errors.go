package bdx

import (
	"errors"
	"fmt"
)

// Sentinels a caller can branch on with errors.Is. A *FormatError unwraps to one of the first five.
var (
	ErrTruncated       = errors.New("truncated")
	ErrReservedBits    = errors.New("reserved bits set")
	ErrEmptyDesignator = errors.New("empty file designator")
	ErrTrailingBytes   = errors.New("trailing bytes")
	ErrEmptyBlock      = errors.New("empty Block data")
	ErrTooLong         = errors.New("value too long for its length field")

	ErrNotBDX        = errors.New("not a BDX message")
	ErrUnknownOpcode = errors.New("unknown BDX opcode")

	// ErrIdleTimeout ends a transfer that saw no message for the idle timeout (TC-SU-3.3 step 4).
	ErrIdleTimeout = errors.New("bdx: transfer idle timeout")
	// ErrFinished is returned by a Transfer that has already ended.
	ErrFinished = errors.New("bdx: transfer already finished")
)

// FormatError says which field of which message is malformed and at which byte offset of the
// payload. Offset is -1 for an encoding error (no payload yet).
type FormatError struct {
	Message string // "ReceiveInit"
	Field   string // "FileDesignatorLength"
	Offset  int
	Detail  string // what was found, e.g. "declares 300 bytes, 2 remain"
	Err     error  // one of the sentinels above
}

func (e *FormatError) Error() string {
	at := fmt.Sprintf(" at offset %d", e.Offset)
	if e.Offset < 0 {
		at = ""
	}
	s := fmt.Sprintf("bdx: %s.%s%s: %v", e.Message, e.Field, at, e.Err)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s + " [ota-provider.md §6.3]"
}

func (e *FormatError) Unwrap() error { return e.Err }

// StatusError is the error of a transfer that this side ended by sending a BDX StatusReport. Code is
// the status code sent; Err says why.
type StatusError struct {
	Code StatusCode
	Err  error
}

func (e *StatusError) Error() string { return fmt.Sprintf("bdx: sent %s: %v", e.Code, e.Err) }

func (e *StatusError) Unwrap() error { return e.Err }

// fail builds a *StatusError from a format string.
func fail(code StatusCode, format string, args ...any) *StatusError {
	return &StatusError{Code: code, Err: fmt.Errorf(format, args...)}
}
