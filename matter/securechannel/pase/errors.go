package pase

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/otaconf/otaconf/matter/securechannel"
)

// Sentinels a *DecodeError wraps; test with errors.Is.
var (
	// ErrMalformed: the payload is not well-formed TLV, not one anonymous structure, or has bytes
	// after it.
	ErrMalformed = errors.New("malformed TLV")
	// ErrWrongType: a field has another TLV type than the message schema says.
	ErrWrongType = errors.New("wrong element type")
	// ErrMissingField: a mandatory field is absent.
	ErrMissingField = errors.New("mandatory field missing")
	// ErrDuplicateField: a field appears twice in one structure.
	ErrDuplicateField = errors.New("field appears twice")
	// ErrLength: an octet string has a length the schema does not allow.
	ErrLength = errors.New("wrong length")
	// ErrOutOfRange: an integer does not fit the field's width.
	ErrOutOfRange = errors.New("value out of range")
)

// Sentinels of the handshake; every error Initiate returns wraps exactly one of them.
var (
	// ErrConfirmation: the device's key confirmation cB did not verify. The device holds a verifier
	// for another passcode (or the exchange was tampered with). Also wraps mcrypto.ErrConfirmation.
	ErrConfirmation = errors.New("key confirmation failed: wrong passcode?")
	// ErrRejected: the device answered with a failure StatusReport (the error is a *StatusError).
	ErrRejected = errors.New("the peer rejected the handshake")
	// ErrTimeout: the device did not acknowledge or answer in time (the error is a *TimeoutError).
	ErrTimeout = errors.New("timed out")
	// ErrProtocol: the device's answer broke the protocol: undecodable, unexpected opcode, wrong
	// echoed random, PBKDF parameters out of range, invalid point.
	ErrProtocol = errors.New("protocol violation")
	// ErrLocal: the handshake could not run on this side (node closed, bad options, no randomness).
	ErrLocal = errors.New("local failure")
)

// Spec sections the errors cite (Matter Core 1.3/1.4 numbering).
const (
	secMessages = "Core §4.14.1.2"
	secParams   = "Core §4.13.1 session-parameter-struct"
	secPBKDF    = "Core §3.9, §4.14.1"
)

// DecodeError is a PASE message that does not follow its schema. Field names the field as the spec
// does ("pbkdf_parameters.salt", "responderSessionParams.SESSION_IDLE_INTERVAL"); Offset is the byte
// offset of the offending element's control octet in the payload (for a missing field, of the
// structure that lacks it).
type DecodeError struct {
	Message string // "PBKDFParamResponse"
	Field   string
	Offset  int
	Err     error // one of the sentinels above
	Cause   error // the tlv error behind ErrMalformed or ErrWrongType, if any
	Detail  string
	Section string
}

func (e *DecodeError) Error() string {
	s := fmt.Sprintf("pase: %s", e.Message)
	if e.Field != "" {
		s += "." + e.Field
	}
	s += fmt.Sprintf(" at byte %d: %v", e.Offset, e.Err)
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

// StatusError is a failure StatusReport the device sent instead of the next handshake message.
type StatusError struct {
	Peer   netip.AddrPort
	Role   string // the peer's role: "device" (Initiate) or "commissioner" (Responder)
	Step   string // what the report answered: "PBKDFParamRequest", "Pake1", "Pake3"
	Report securechannel.StatusReport
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("PASE: the %s at %s rejected %s with %s", roleOr(e.Role), e.Peer, e.Step, e.Report)
	if e.Report.ProtocolID == uint32(securechannel.ProtocolID) {
		switch e.Report.ProtocolCode {
		case securechannel.CodeInvalidParameter:
			if e.Step == "Pake3" {
				s += " (INVALID_PARAMETER: our confirmation cA did not verify: wrong passcode?)"
			} else {
				s += " (INVALID_PARAMETER)"
			}
		case securechannel.CodeBusy:
			s += " (BUSY: another commissioner is pairing"
			if d, ok := e.RetryAfter(); ok {
				s += fmt.Sprintf("; retry after %v", d)
			}
			s += ")"
		case securechannel.CodeNoSharedTrustRoots:
			s += " (NO_SHARED_TRUST_ROOTS)"
		case securechannel.CodeCloseSession:
			s += " (CLOSE_SESSION)"
		}
	}
	return s + " [" + secMessages + "]"
}

// Is makes errors.Is(err, ErrRejected) true.
func (e *StatusError) Is(target error) bool { return target == ErrRejected }

// Unwrap exposes the report as a *securechannel.StatusError.
func (e *StatusError) Unwrap() error { return &securechannel.StatusError{Report: e.Report} }

// RetryAfter is the minimum wait a BUSY report asks for (Core App. D: ProtocolData is a u16 of
// milliseconds); ok is false for other reports.
func (e *StatusError) RetryAfter() (d time.Duration, ok bool) {
	r := e.Report
	if r.ProtocolID != uint32(securechannel.ProtocolID) || r.ProtocolCode != securechannel.CodeBusy || len(r.ProtocolData) < 2 {
		return 0, false
	}
	return time.Duration(binary.LittleEndian.Uint16(r.ProtocolData)) * time.Millisecond, true
}

// TimeoutError is a handshake step the device did not acknowledge or answer in time.
type TimeoutError struct {
	Peer    netip.AddrPort
	Role    string        // the peer's role: "device" (Initiate) or "commissioner" (Responder)
	Step    string        // the message sent last: "PBKDFParamRequest", "Pake1", "Pake3"
	Waiting string        // "acknowledgement" or the message expected ("PBKDFParamResponse", ...)
	Elapsed time.Duration // since the handshake started
	Err     error         // *mrp.TimeoutError, context.DeadlineExceeded or the handshake-timeout cause
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("PASE: no %s from the %s at %s after %s (handshake running for %v): %v",
		e.Waiting, roleOr(e.Role), e.Peer, e.Step, e.Elapsed.Round(time.Millisecond), e.Err)
}

// Is makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// Unwrap returns the underlying timeout.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Timeout reports true, like net.Error.
func (e *TimeoutError) Timeout() bool { return true }

func roleOr(r string) string {
	if r == "" {
		return "device"
	}
	return r
}
