package ota

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/tlv"
)

// Problem is one thing wrong with a command's fields.
type Problem struct {
	// Status is what the spec has a server answer for it: INVALID_COMMAND for malformed TLV,
	// missing or wrongly typed fields; CONSTRAINT_ERROR for length, count, range and enum violations.
	Status im.Status
	// Also lists answers that implementations give instead and that otaconf tolerates at SHOULD level
	// (the CHIP SDK answers INVALID_COMMAND for length violations, ota-provider.md §4.11).
	Also    []im.Status
	Field   string // "QueryImage.Location"
	Offset  int    // byte offset in the fields' TLV, -1 when the problem is an absence
	Reason  string
	Section string
}

func (p Problem) String() string {
	s := p.Field + ": " + p.Reason
	if p.Offset >= 0 {
		s = fmt.Sprintf("%s (byte %d)", s, p.Offset)
	}
	return s + " [" + p.Section + "]"
}

// Verdict is the Interaction Model status a provider must return for a request, with why.
// A nil *Verdict means the request is valid and must be processed (a response command, or SUCCESS
// for NotifyUpdateApplied).
type Verdict struct {
	Status   im.Status
	Also     []im.Status // tolerated at SHOULD level
	Problems []Problem   // every problem found, the deciding one first
}

// Reason returns the deciding problem as text.
func (v *Verdict) Reason() string {
	if v == nil || len(v.Problems) == 0 {
		return "valid request"
	}
	return v.Problems[0].String()
}

// Allows reports whether status s satisfies v: exactly (MUST) or as a tolerated alternative.
func (v *Verdict) Allows(s im.Status) (exact, tolerated bool) {
	want := im.Success
	if v != nil {
		want = v.Status
	}
	if s == want {
		return true, true
	}
	if v != nil {
		for _, a := range v.Also {
			if a == s {
				return false, true
			}
		}
	}
	return false, false
}

func (v *Verdict) Error() string {
	return fmt.Sprintf("%s: %s", v.Status, v.Reason())
}

// fieldKind is how a field is typed on the wire.
type fieldKind uint8

const (
	kUint fieldKind = iota
	kBool
	kUTF8
	kBytes
	kEnumArray // an array of enum8
)

type fieldSpec struct {
	tag       uint8
	name      string
	kind      fieldKind
	mandatory bool
	max       uint64 // kUint: largest value of the field's type; kEnumArray: of the entries
	enumMax   uint64 // highest defined enum value (kUint enums and kEnumArray), 0 = not an enum
	minLen    int    // strings, octet strings, list counts
	maxLen    int    // -1 = no limit
	section   string
	// lenAlso: answers tolerated for a length violation (CHIP's INVALID_COMMAND).
	lenAlso []im.Status
}

type fieldValue struct {
	present bool
	offset  int
	u       uint64
	b       bool
	s       []byte
	list    []uint64
}

type commandSchema struct {
	name    string
	section string
	fields  []fieldSpec
}

var chipLengthAlt = []im.Status{im.InvalidCommand}

var (
	queryImageSchema = commandSchema{"QueryImage", "§11.20.6.5.1", []fieldSpec{
		{tag: 0, name: "VendorID", kind: kUint, mandatory: true, max: 0xFFFF, maxLen: -1},
		{tag: 1, name: "ProductID", kind: kUint, mandatory: true, max: 0xFFFF, maxLen: -1},
		{tag: 2, name: "SoftwareVersion", kind: kUint, mandatory: true, max: 0xFFFFFFFF, maxLen: -1},
		{tag: 3, name: "ProtocolsSupported", kind: kEnumArray, mandatory: true, max: 0xFF, enumMax: uint64(ProtocolVendorSpecific), maxLen: MaxProtocolsSupported},
		{tag: 4, name: "HardwareVersion", kind: kUint, max: 0xFFFF, maxLen: -1},
		{tag: 5, name: "Location", kind: kUTF8, minLen: LocationLen, maxLen: LocationLen, lenAlso: chipLengthAlt},
		{tag: 6, name: "RequestorCanConsent", kind: kBool, maxLen: -1},
		{tag: 7, name: "MetadataForProvider", kind: kBytes, maxLen: MaxMetadataLen, lenAlso: chipLengthAlt},
	}}
	queryImageResponseSchema = commandSchema{"QueryImageResponse", "§11.20.6.5.2", []fieldSpec{
		{tag: 0, name: "Status", kind: kUint, mandatory: true, max: 0xFF, maxLen: -1}, // undefined values: QueryImageResponseRules
		{tag: 1, name: "DelayedActionTime", kind: kUint, max: 0xFFFFFFFF, maxLen: -1},
		{tag: 2, name: "ImageURI", kind: kUTF8, maxLen: MaxImageURILen},
		{tag: 3, name: "SoftwareVersion", kind: kUint, max: 0xFFFFFFFF, maxLen: -1},
		{tag: 4, name: "SoftwareVersionString", kind: kUTF8, minLen: MinVersionStringLen, maxLen: MaxVersionStringLen},
		{tag: 5, name: "UpdateToken", kind: kBytes, minLen: MinTokenLen, maxLen: MaxTokenLen},
		{tag: 6, name: "UserConsentNeeded", kind: kBool, maxLen: -1},
		{tag: 7, name: "MetadataForRequestor", kind: kBytes, maxLen: MaxMetadataLen},
	}}
	applyUpdateRequestSchema = commandSchema{"ApplyUpdateRequest", "§11.20.6.5.3", []fieldSpec{
		{tag: 0, name: "UpdateToken", kind: kBytes, mandatory: true, minLen: MinTokenLen, maxLen: MaxTokenLen, lenAlso: chipLengthAlt},
		{tag: 1, name: "NewVersion", kind: kUint, mandatory: true, max: 0xFFFFFFFF, maxLen: -1},
	}}
	applyUpdateResponseSchema = commandSchema{"ApplyUpdateResponse", "§11.20.6.5.4", []fieldSpec{
		{tag: 0, name: "Action", kind: kUint, mandatory: true, max: 0xFF, enumMax: uint64(ActionDiscontinue), maxLen: -1},
		{tag: 1, name: "DelayedActionTime", kind: kUint, mandatory: true, max: 0xFFFFFFFF, maxLen: -1},
	}}
	notifyUpdateAppliedSchema = commandSchema{"NotifyUpdateApplied", "§11.20.6.5.5", []fieldSpec{
		{tag: 0, name: "UpdateToken", kind: kBytes, mandatory: true, minLen: MinTokenLen, maxLen: MaxTokenLen, lenAlso: chipLengthAlt},
		{tag: 1, name: "SoftwareVersion", kind: kUint, mandatory: true, max: 0xFFFFFFFF, maxLen: -1},
	}}
)

const maxFields = 8

// decodeFields reads the fields of s from b. Unknown context tags and non-context tags are skipped
// (forward compatibility, Appendix A / §8.9); problems are collected rather than returned early, so
// that a verdict can weigh them.
func decodeFields(s *commandSchema, b []byte) (vals [maxFields]fieldValue, probs []Problem) {
	imProblem := func(field string, off int, reason, section string) {
		probs = append(probs, Problem{Status: im.InvalidCommand, Field: s.name + field, Offset: off, Reason: reason, Section: section})
	}
	r := tlv.NewReader(b)
	if err := r.Next(); err != nil {
		if errors.Is(err, io.EOF) {
			imProblem("", 0, "no command fields (empty TLV)", "§8.10.1 INVALID_COMMAND")
		} else {
			imProblem("", r.Offset(), "malformed TLV: "+err.Error(), "§8.10.1 INVALID_COMMAND")
		}
		return
	}
	if r.Kind() != tlv.KindStruct {
		imProblem("", r.Offset(), "command fields are a "+r.Type().String()+", not a structure", "§8.10.1 INVALID_COMMAND")
		return
	}
	if err := r.EnterContainer(); err != nil {
		imProblem("", r.Offset(), "malformed TLV: "+err.Error(), "§8.10.1 INVALID_COMMAND")
		return
	}
	for {
		err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			imProblem("", offsetOf(err, r), "malformed TLV: "+err.Error(), "§8.10.1 INVALID_COMMAND")
			return
		}
		tag := r.Tag()
		if !tag.IsContext() {
			continue
		}
		var spec *fieldSpec
		for i := range s.fields {
			if uint32(s.fields[i].tag) == tag.Number {
				spec = &s.fields[i]
			}
		}
		if spec == nil {
			continue // unknown context tag: skipped (§8.9 forward compatibility)
		}
		v := &vals[spec.tag]
		field := "." + spec.name
		if v.present {
			// Appendix A.11.2 binds encoders; what a receiver does with a repeated member is not
			// specified, so processing the request (as CHIP's decoders do, last one wins) is
			// tolerated at SHOULD level.
			probs = append(probs, Problem{Status: im.InvalidCommand, Also: []im.Status{im.Success}, Field: s.name + field, Offset: r.Offset(),
				Reason: "field appears twice", Section: "Appendix A.11.2 (a structure's tags are unique), §8.10.1 INVALID_COMMAND"})
			continue
		}
		v.present, v.offset = true, r.Offset()
		sec := s.section
		wrongType := func(want string) {
			imProblem(field, r.Offset(), fmt.Sprintf("want %s, found %s", want, r.Type()), sec+" (field type), §8.10.1 INVALID_COMMAND")
			v.present = false
		}
		switch spec.kind {
		case kUint:
			u, err := r.Uint()
			if err != nil {
				wrongType("an unsigned integer")
				continue
			}
			v.u = u
		case kBool:
			bv, err := r.Bool()
			if err != nil {
				wrongType("a boolean")
				continue
			}
			v.b = bv
		case kUTF8:
			sv, err := r.UTF8()
			if err != nil {
				wrongType("a UTF-8 string")
				continue
			}
			v.s = sv
		case kBytes:
			bv, err := r.Bytes()
			if err != nil {
				wrongType("an octet string")
				continue
			}
			v.s = bv
		case kEnumArray:
			if r.Kind() != tlv.KindArray {
				wrongType("an array (list) of enum8")
				continue
			}
			if err := r.EnterContainer(); err != nil {
				imProblem(field, r.Offset(), "malformed TLV: "+err.Error(), "§8.10.1 INVALID_COMMAND")
				return
			}
			v.list = []uint64{}
			bad := false
			for {
				err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					imProblem(field, offsetOf(err, r), "malformed TLV: "+err.Error(), "§8.10.1 INVALID_COMMAND")
					return
				}
				u, err := r.Uint()
				if err != nil && !bad {
					imProblem(fmt.Sprintf("%s[%d]", field, r.Index()), r.Offset(), fmt.Sprintf("want an enum8 (unsigned integer), found %s", r.Type()), sec+" (field type), §8.10.1 INVALID_COMMAND")
					bad = true
				}
				v.list = append(v.list, u)
			}
			if err := r.ExitContainer(); err != nil {
				imProblem(field, offsetOf(err, r), "malformed TLV: "+err.Error(), "§8.10.1 INVALID_COMMAND")
				return
			}
			if bad {
				v.present = false
			}
		}
	}
	if err := r.ExitContainer(); err != nil {
		imProblem("", offsetOf(err, r), "malformed TLV: "+err.Error(), "§8.10.1 INVALID_COMMAND")
		return
	}
	if err := r.Next(); !errors.Is(err, io.EOF) {
		imProblem("", r.Offset(), "bytes after the command fields structure", "§8.10.1 INVALID_COMMAND")
		return
	}
	// Presence, then constraints (§8.10.1: missing → INVALID_COMMAND; constraints → CONSTRAINT_ERROR).
	for i := range s.fields {
		f := &s.fields[i]
		v := &vals[f.tag]
		field := s.name + "." + f.name
		if !v.present {
			if f.mandatory && !hasProblemFor(probs, field) {
				probs = append(probs, Problem{Status: im.InvalidCommand, Field: field, Offset: -1, Reason: "mandatory field missing", Section: s.section + " (conformance M), §8.10.1 INVALID_COMMAND"})
			}
			continue
		}
		cons := func(reason string, also []im.Status) {
			probs = append(probs, Problem{Status: im.ConstraintError, Also: also, Field: field, Offset: v.offset, Reason: reason, Section: s.section + ", §8.10.1 CONSTRAINT_ERROR"})
		}
		switch f.kind {
		case kUint:
			switch {
			case v.u > f.max:
				cons(fmt.Sprintf("value %d exceeds the type's maximum %d", v.u, f.max), []im.Status{im.InvalidCommand})
			case f.enumMax > 0 && v.u > f.enumMax:
				cons(fmt.Sprintf("value %d is not a defined enum value (0..%d)", v.u, f.enumMax), nil)
			}
		case kUTF8, kBytes:
			unit := "octets"
			if f.kind == kUTF8 {
				unit = "bytes of UTF-8"
			}
			switch {
			case len(v.s) < f.minLen && f.minLen == f.maxLen:
				cons(fmt.Sprintf("length %d, must be exactly %d %s", len(v.s), f.minLen, unit), f.lenAlso)
			case len(v.s) < f.minLen:
				cons(fmt.Sprintf("length %d, below the minimum %d %s", len(v.s), f.minLen, unit), f.lenAlso)
			case f.maxLen >= 0 && len(v.s) > f.maxLen && f.minLen == f.maxLen:
				cons(fmt.Sprintf("length %d, must be exactly %d %s", len(v.s), f.maxLen, unit), f.lenAlso)
			case f.maxLen >= 0 && len(v.s) > f.maxLen:
				cons(fmt.Sprintf("length %d, above the maximum %d %s", len(v.s), f.maxLen, unit), f.lenAlso)
			}
		case kEnumArray:
			if f.maxLen >= 0 && len(v.list) > f.maxLen {
				cons(fmt.Sprintf("%d entries, above the maximum %d", len(v.list), f.maxLen), nil)
			}
			for i, e := range v.list {
				switch {
				case e > f.max:
					cons(fmt.Sprintf("entry %d: value %d exceeds enum8", i, e), []im.Status{im.InvalidCommand})
				case e > f.enumMax:
					cons(fmt.Sprintf("entry %d: value %d is not a defined enum value (0..%d)", i, e, f.enumMax), nil)
				}
			}
		}
	}
	return vals, probs
}

func hasProblemFor(probs []Problem, field string) bool {
	for _, p := range probs {
		if p.Field == field || strings.HasPrefix(p.Field, field+"[") {
			return true
		}
	}
	return false
}

func offsetOf(err error, r *tlv.Reader) int {
	var de *tlv.DecodeError
	if errors.As(err, &de) {
		return de.Offset
	}
	return r.Offset()
}

// verdictOf weighs problems: any INVALID_COMMAND problem decides; otherwise CONSTRAINT_ERROR.
// Where both kinds occur the other status is tolerated too, since implementations validate in
// different orders.
func verdictOf(probs []Problem) *Verdict {
	if len(probs) == 0 {
		return nil
	}
	var invalid, constraint []Problem
	for _, p := range probs {
		if p.Status == im.InvalidCommand {
			invalid = append(invalid, p)
		} else {
			constraint = append(constraint, p)
		}
	}
	v := &Verdict{}
	if len(invalid) > 0 {
		v.Status = im.InvalidCommand
		v.Problems = append(invalid, constraint...)
		if len(constraint) > 0 {
			v.Also = append(v.Also, im.ConstraintError)
		} else if tolerated := invalid[0].Also; len(tolerated) > 0 {
			// An alternative is tolerated only when every problem tolerates it.
			for _, a := range tolerated {
				all := true
				for _, p := range invalid[1:] {
					all = all && containsStatus(p.Also, a)
				}
				if all {
					v.Also = append(v.Also, a)
				}
			}
		}
		return v
	}
	v.Status = im.ConstraintError
	v.Problems = constraint
	for _, p := range constraint {
		for _, a := range p.Also {
			if !containsStatus(v.Also, a) {
				v.Also = append(v.Also, a)
			}
		}
	}
	return v
}

func containsStatus(list []im.Status, s im.Status) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func optU16(v fieldValue) *uint16 {
	if !v.present {
		return nil
	}
	x := uint16(v.u)
	return &x
}

func optU32(v fieldValue) *uint32 {
	if !v.present {
		return nil
	}
	x := uint32(v.u)
	return &x
}

func optStr(v fieldValue) *string {
	if !v.present {
		return nil
	}
	s := string(v.s)
	return &s
}

func optBool(v fieldValue) *bool {
	if !v.present {
		return nil
	}
	b := v.b
	return &b
}

func optBytes(v fieldValue) []byte {
	if !v.present {
		return nil
	}
	return append([]byte{}, v.s...)
}

// DecodeQueryImage decodes a QueryImage request. A non-nil Verdict gives the status the provider must
// answer instead of processing it; the QueryImage holds whatever could be decoded.
func DecodeQueryImage(b []byte) (QueryImage, *Verdict) {
	v, probs := decodeFields(&queryImageSchema, b)
	q := QueryImage{
		VendorID:            uint16(v[0].u),
		ProductID:           uint16(v[1].u),
		SoftwareVersion:     uint32(v[2].u),
		HardwareVersion:     optU16(v[4]),
		Location:            optStr(v[5]),
		RequestorCanConsent: optBool(v[6]),
		MetadataForProvider: optBytes(v[7]),
	}
	if v[3].present {
		q.ProtocolsSupported = make([]DownloadProtocol, len(v[3].list))
		for i, p := range v[3].list {
			q.ProtocolsSupported[i] = DownloadProtocol(p)
		}
	}
	return q, verdictOf(probs)
}

// DecodeApplyUpdateRequest decodes an ApplyUpdateRequest; see DecodeQueryImage.
func DecodeApplyUpdateRequest(b []byte) (ApplyUpdateRequest, *Verdict) {
	v, probs := decodeFields(&applyUpdateRequestSchema, b)
	return ApplyUpdateRequest{UpdateToken: optBytes(v[0]), NewVersion: uint32(v[1].u)}, verdictOf(probs)
}

// DecodeNotifyUpdateApplied decodes a NotifyUpdateApplied; see DecodeQueryImage.
func DecodeNotifyUpdateApplied(b []byte) (NotifyUpdateApplied, *Verdict) {
	v, probs := decodeFields(&notifyUpdateAppliedSchema, b)
	return NotifyUpdateApplied{UpdateToken: optBytes(v[0]), SoftwareVersion: uint32(v[1].u)}, verdictOf(probs)
}

// ExpectedStatus is the oracle for any invocation of the provider cluster: the Verdict for the given
// command id and fields (nil: the request must be processed). Commands outside the accepted list get
// UNSUPPORTED_COMMAND (§8.10.1).
func ExpectedStatus(cmd CommandID, fields []byte) *Verdict {
	switch cmd {
	case CmdQueryImage:
		_, v := DecodeQueryImage(fields)
		return v
	case CmdApplyUpdateRequest:
		_, v := DecodeApplyUpdateRequest(fields)
		return v
	case CmdNotifyUpdateApplied:
		_, v := DecodeNotifyUpdateApplied(fields)
		return v
	}
	return &Verdict{Status: im.UnsupportedCommand, Problems: []Problem{{
		Status: im.UnsupportedCommand, Field: cmd.String(), Offset: -1,
		Reason: "not in the provider's AcceptedCommandList {0x00, 0x02, 0x04}", Section: "§11.20.6.5, §8.10.1 UNSUPPORTED_COMMAND",
	}}}
}
