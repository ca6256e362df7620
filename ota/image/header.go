package image

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strings"

	"github.com/otaconf/otaconf/tlv"
)

// Layout constants (§11.21.2).
const (
	// FileIdentifier is the little-endian u32 every image starts with (bytes 1E F1 EE 1B).
	FileIdentifier uint32 = 0x1BEEF11E
	// PrefixSize is the FileIdentifier, TotalSize (u64) and HeaderSize (u32) before the header TLV.
	PrefixSize = 16
	// MaxHeaderSize is the largest HeaderSize accepted. The spec sets no bound; CHIP's
	// OTAImageHeaderParser refuses more than 1024 bytes, so an image above it cannot be served to CHIP
	// requestors, and the bound keeps a hostile HeaderSize from costing memory.
	MaxHeaderSize = 1024
)

// Header constraints (§11.21.2.4).
const (
	MaxSoftwareVersionString = 64
	MaxReleaseNotesURL       = 256
)

// Header tags (§11.21.2.4); their order in the structure is this order.
const (
	tagVendorID = iota
	tagProductID
	tagSoftwareVersion
	tagSoftwareVersionString
	tagPayloadSize
	tagMinApplicable
	tagMaxApplicable
	tagReleaseNotesURL
	tagDigestType
	tagDigest
	numTags
)

// mandatory marks the tags a header must carry.
var mandatory = [numTags]bool{true, true, true, true, true, false, false, false, true, true}

// Prefix is the fixed part of an image before the header TLV.
type Prefix struct {
	FileIdentifier uint32
	TotalSize      uint64 // the whole file: PrefixSize + HeaderSize + PayloadSize
	HeaderSize     uint32 // the header TLV alone
}

func decodePrefix(b []byte) Prefix {
	return Prefix{
		FileIdentifier: binary.LittleEndian.Uint32(b),
		TotalSize:      binary.LittleEndian.Uint64(b[4:]),
		HeaderSize:     binary.LittleEndian.Uint32(b[12:]),
	}
}

func (p Prefix) append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, p.FileIdentifier)
	b = binary.LittleEndian.AppendUint64(b, p.TotalSize)
	return binary.LittleEndian.AppendUint32(b, p.HeaderSize)
}

// Header is the decoded header TLV. Optional fields are nil (Min/Max) or "" (ReleaseNotesURL, whose
// length constraint 1..256 makes an empty value impossible).
type Header struct {
	VendorID              uint16 // 0: any vendor
	ProductID             uint16 // 0: any product
	SoftwareVersion       uint32
	SoftwareVersionString string
	PayloadSize           uint64
	// MinApplicableSoftwareVersion and MaxApplicableSoftwareVersion bound the requestor versions the
	// image is offered to.
	MinApplicableSoftwareVersion *uint32
	MaxApplicableSoftwareVersion *uint32
	ReleaseNotesURL              string
	ImageDigestType              DigestType
	ImageDigest                  []byte // of the payload only
}

// Encode validates h and returns its TLV, with the smallest integer widths (as matter.js and
// CHIP's tool write it). It fails, with every violated constraint, where DecodeHeader would.
func (h *Header) Encode() ([]byte, error) {
	if err := joinProblems(h.check()); err != nil {
		return nil, err
	}
	w := tlv.NewWriter(make([]byte, 0, 64+len(h.SoftwareVersionString)+len(h.ReleaseNotesURL)+len(h.ImageDigest)))
	w.StartStruct(tlv.Anonymous)
	w.Uint(tlv.Context(tagVendorID), uint64(h.VendorID))
	w.Uint(tlv.Context(tagProductID), uint64(h.ProductID))
	w.Uint(tlv.Context(tagSoftwareVersion), uint64(h.SoftwareVersion))
	w.UTF8(tlv.Context(tagSoftwareVersionString), h.SoftwareVersionString)
	w.Uint(tlv.Context(tagPayloadSize), h.PayloadSize)
	if h.MinApplicableSoftwareVersion != nil {
		w.Uint(tlv.Context(tagMinApplicable), uint64(*h.MinApplicableSoftwareVersion))
	}
	if h.MaxApplicableSoftwareVersion != nil {
		w.Uint(tlv.Context(tagMaxApplicable), uint64(*h.MaxApplicableSoftwareVersion))
	}
	if h.ReleaseNotesURL != "" {
		w.UTF8(tlv.Context(tagReleaseNotesURL), h.ReleaseNotesURL)
	}
	w.Uint(tlv.Context(tagDigestType), uint64(h.ImageDigestType))
	w.OctetString(tlv.Context(tagDigest), h.ImageDigest)
	w.End()
	b, err := w.Finish()
	if err != nil {
		return nil, fmt.Errorf("ota image: encoding the header: %w", err)
	}
	if len(b) > MaxHeaderSize {
		return nil, &Error{Offset: -1, Field: FieldHeaderSize, Err: ErrHeaderTooLarge, Detail: fmt.Sprintf("%d bytes, limit %d", len(b), MaxHeaderSize)}
	}
	return b, nil
}

// check returns h's constraint violations, without file offsets.
func (h *Header) check() []*Error {
	var ps []*Error
	add := func(tag int, sentinel error, detail string) {
		ps = append(ps, &Error{Offset: -1, Field: headerFields[tag], Err: sentinel, Detail: detail})
	}
	if d := checkVersionString(h.SoftwareVersionString); d != "" {
		add(tagSoftwareVersionString, ErrConstraint, d)
	}
	if h.ReleaseNotesURL != "" {
		if d := checkReleaseNotesURL(h.ReleaseNotesURL); d != "" {
			add(tagReleaseNotesURL, ErrConstraint, d)
		}
	}
	if !h.ImageDigestType.Known() {
		add(tagDigestType, ErrUnknownDigestType, unknownDigestDetail(h.ImageDigestType))
	} else if d := checkDigestLen(h.ImageDigestType, len(h.ImageDigest)); d != "" {
		add(tagDigest, ErrConstraint, d)
	}
	return ps
}

// §11.21.2.4: SoftwareVersionString has the Basic Information attribute's constraints, 1..64. The
// bound is in bytes, as CHIP checks it.
func checkVersionString(s string) string {
	if n := len(s); n < 1 || n > MaxSoftwareVersionString {
		return fmt.Sprintf("length %d bytes, want 1..%d", n, MaxSoftwareVersionString)
	}
	return ""
}

// §11.21.2.4: ReleaseNotesURL follows RFC 1738, uses the https scheme, and is at most 256 ASCII
// characters.
func checkReleaseNotesURL(s string) string {
	if n := len(s); n < 1 || n > MaxReleaseNotesURL {
		return fmt.Sprintf("length %d bytes, want 1..%d", n, MaxReleaseNotesURL)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7F {
			return fmt.Sprintf("byte %d of the URL is 0x%02X, not a printable ASCII character", i, c)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%q is not a URL: %v", s, err)
	}
	if !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
		return fmt.Sprintf("%q is not an https URL with a host", s)
	}
	return ""
}

func checkDigestLen(d DigestType, n int) string {
	if n != d.Size() {
		return fmt.Sprintf("%d bytes, %s digests are %d", n, d, d.Size())
	}
	return ""
}

func unknownDigestDetail(d DigestType) string {
	return fmt.Sprintf("%d is not a known IANA named-information hash id (1..12)", uint8(d))
}

// DecodeHeader strictly decodes the header TLV b: exactly HeaderSize bytes holding one anonymous
// structure with context tags 0..9 in ascending order, the mandatory ones present, integers of any
// width within the field's range, and the constraints of §11.21.2.4. Error offsets are file offsets
// (PrefixSize + offset in b). Every problem found is returned, joined.
//
// When every mandatory field could be read, the Header is returned even with an error (constraint
// violations, tag order, unknown tags, a malformed optional field, which is then left out), so that
// a verifier can carry on; otherwise it is zero.
func DecodeHeader(b []byte) (Header, error) {
	h, _, ps, complete := decodeHeader(b)
	if !complete {
		return Header{}, joinProblems(ps)
	}
	return h, joinProblems(ps)
}

// fieldOffsets records where each header field sits in the file (or -1).
type fieldOffsets [numTags]int64

// decodeHeader is DecodeHeader, also returning the field offsets and whether every mandatory field
// was read.
func decodeHeader(b []byte) (h Header, offs fieldOffsets, ps []*Error, complete bool) {
	for i := range offs {
		offs[i] = -1
	}
	r := tlv.NewReader(b)
	fileOff := func() int64 { return PrefixSize + int64(r.Offset()) }
	add := func(field string, off int64, sentinel error, detail string) {
		ps = append(ps, &Error{Offset: off, Field: field, Err: sentinel, Detail: detail})
	}
	tlvFail := func(err error) {
		ps = append(ps, tlvProblem(err))
	}

	switch err := r.Next(); {
	case err == io.EOF:
		add(FieldHeader, PrefixSize, ErrHeaderTLV, "the header is empty (HeaderSize 0)")
		return h, offs, ps, false
	case err != nil:
		tlvFail(err)
		return h, offs, ps, false
	}
	if r.Kind() != tlv.KindStruct || !r.Tag().IsAnonymous() {
		add(FieldHeader, fileOff(), ErrHeaderTLV, fmt.Sprintf("the header is a %s%s, want an anonymous structure", r.Type(), tagSuffix(r.Tag())))
		return h, offs, ps, false
	}
	if err := r.EnterContainer(); err != nil {
		tlvFail(err)
		return h, offs, ps, false
	}
	var have [numTags]bool
	last := -1
	for {
		err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tlvFail(err)
			return h, offs, ps, false
		}
		tag, off := r.Tag(), fileOff()
		if !tag.IsContext() || tag.Number >= numTags {
			add(FieldHeader, off, ErrUnknownField, fmt.Sprintf("tag %s is not one of the context tags 0..9", tagName(tag)))
			continue
		}
		n := int(tag.Number)
		field := headerFields[n]
		if n <= last {
			what := "after tag " + fmt.Sprint(last)
			if offs[n] >= 0 {
				what = "a second time"
			}
			add(field, off, ErrTagOrder, fmt.Sprintf("tag %d appears %s; the header lists tags 0..9 once each, in ascending order", n, what))
			if offs[n] >= 0 {
				continue // keep the first value of a duplicate
			}
		} else {
			last = n
		}
		offs[n] = off
		if p := decodeField(r, &h, n, off); p != nil {
			ps = append(ps, p)
			if p.Err != ErrConstraint && p.Err != ErrUnknownDigestType {
				continue
			}
		}
		have[n] = true
	}
	// Next consumed the end-of-container; this returns to the structure as the current element.
	if err := r.ExitContainer(); err != nil {
		tlvFail(err)
		return h, offs, ps, false
	}
	end := len(r.Raw())
	complete = true
	for n := range numTags {
		if mandatory[n] && !have[n] {
			complete = false
			if offs[n] >= 0 {
				continue // present, but unusable: already reported
			}
			add(headerFields[n], missingAt(offs, n, PrefixSize+int64(end-1)), ErrMissingField, fmt.Sprintf("tag %d (%s) is missing", n, headerFields[n]))
		}
	}
	if h.ImageDigestType.Known() && have[tagDigest] {
		if d := checkDigestLen(h.ImageDigestType, len(h.ImageDigest)); d != "" {
			add(headerFields[tagDigest], offs[tagDigest], ErrConstraint, d)
		}
	}
	if end != len(b) {
		add(FieldHeaderSize, 12, ErrSizeMismatch, fmt.Sprintf("the header structure ends at byte %d, but HeaderSize %d puts the end at byte %d", PrefixSize+end, len(b), PrefixSize+len(b)))
	}
	return h, offs, ps, complete
}

// missingAt is where a missing tag n belonged: at the first later field, or at the end-of-container.
func missingAt(offs fieldOffsets, n int, end int64) int64 {
	for m := n + 1; m < numTags; m++ {
		if offs[m] >= 0 {
			return offs[m]
		}
	}
	return end
}

// decodeField stores the current element as field n of h. A problem with the sentinel ErrConstraint
// or ErrUnknownDigestType leaves the value stored; any other leaves the field unusable.
func decodeField(r *tlv.Reader, h *Header, n int, off int64) *Error {
	field := headerFields[n]
	bad := func(sentinel error, format string, args ...any) *Error {
		return &Error{Offset: off, Field: field, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
	}
	uintVal := func(bits int) (uint64, *Error) {
		v, err := r.Uint()
		if err != nil {
			return 0, bad(ErrFieldType, "found %s, want an unsigned integer", r.Type())
		}
		if bits < 64 && v>>bits != 0 {
			return 0, bad(ErrFieldType, "%d does not fit in %d bits", v, bits)
		}
		return v, nil
	}
	str := func() (string, *Error) {
		s, err := r.String()
		if err != nil {
			return "", bad(ErrFieldType, "found %s, want a UTF-8 string", r.Type())
		}
		return s, nil
	}
	switch n {
	case tagVendorID, tagProductID:
		v, p := uintVal(16)
		if p != nil {
			return p
		}
		if n == tagVendorID {
			h.VendorID = uint16(v)
		} else {
			h.ProductID = uint16(v)
		}
	case tagSoftwareVersion, tagMinApplicable, tagMaxApplicable:
		v, p := uintVal(32)
		if p != nil {
			return p
		}
		v32 := uint32(v)
		switch n {
		case tagSoftwareVersion:
			h.SoftwareVersion = v32
		case tagMinApplicable:
			h.MinApplicableSoftwareVersion = &v32
		default:
			h.MaxApplicableSoftwareVersion = &v32
		}
	case tagPayloadSize:
		v, p := uintVal(64)
		if p != nil {
			return p
		}
		h.PayloadSize = v
	case tagSoftwareVersionString:
		s, p := str()
		if p != nil {
			return p
		}
		h.SoftwareVersionString = s
		if d := checkVersionString(s); d != "" {
			return bad(ErrConstraint, "%s", d)
		}
	case tagReleaseNotesURL:
		s, p := str()
		if p != nil {
			return p
		}
		h.ReleaseNotesURL = s
		if d := checkReleaseNotesURL(s); d != "" {
			return bad(ErrConstraint, "%s", d)
		}
	case tagDigestType:
		v, p := uintVal(8)
		if p != nil {
			return p
		}
		h.ImageDigestType = DigestType(v)
		if !h.ImageDigestType.Known() {
			return bad(ErrUnknownDigestType, "%s", unknownDigestDetail(h.ImageDigestType))
		}
	case tagDigest:
		b, err := r.Bytes()
		if err != nil {
			return bad(ErrFieldType, "found %s, want an octet string", r.Type())
		}
		h.ImageDigest = bytes.Clone(b)
	}
	return nil
}

// tlvProblem turns a TLV decoding failure into an ErrHeaderTLV problem at its file offset.
func tlvProblem(err error) *Error {
	p := &Error{Offset: PrefixSize, Field: FieldHeader, Err: ErrHeaderTLV, Cause: err, Detail: err.Error()}
	var de *tlv.DecodeError
	var te *tlv.TypeError
	switch {
	case errors.As(err, &de):
		p.Offset = PrefixSize + int64(de.Offset)
		p.Detail = fmt.Sprintf("%s at %s", de.Err, de.Path)
		if de.Detail != "" {
			p.Detail += ": " + de.Detail
		}
	case errors.As(err, &te):
		p.Offset = PrefixSize + int64(te.Offset)
		p.Detail = fmt.Sprintf("at %s: want %s, found %s", te.Path, te.Want, te.Got)
	}
	return p
}

func tagName(t tlv.Tag) string {
	if t.IsAnonymous() {
		return "(anonymous)"
	}
	return t.String()
}

func tagSuffix(t tlv.Tag) string {
	if t.IsAnonymous() {
		return ""
	}
	return " with tag " + t.String()
}

// headerEnd returns the length of the first TLV element of b (the header structure), ignoring what
// follows it.
func headerEnd(b []byte) (int, error) {
	r := tlv.NewReader(b)
	if err := r.Next(); err != nil {
		return 0, err
	}
	if r.Kind().IsContainer() {
		if err := r.EnterContainer(); err != nil {
			return 0, err
		}
		if err := r.ExitContainer(); err != nil {
			return 0, err
		}
	}
	return r.Offset() + len(r.Raw()), nil
}

// Applies reports whether an image with header h may be offered to a requestor that sent vendor,
// product and version in QueryImage: the selection rule of ota-provider.md §4.1 step 3, after
// §11.21.2.4 (VendorID or ProductID 0 match any; the image must be strictly newer; a present Min
// must be ≤ version and a present Max ≥ version).
func Applies(h Header, vendor, product uint16, version uint32) bool {
	switch {
	case h.VendorID != 0 && h.VendorID != vendor,
		h.ProductID != 0 && h.ProductID != product,
		h.SoftwareVersion <= version,
		h.MinApplicableSoftwareVersion != nil && version < *h.MinApplicableSoftwareVersion,
		h.MaxApplicableSoftwareVersion != nil && version > *h.MaxApplicableSoftwareVersion:
		return false
	}
	return true
}

// declaredSize is PrefixSize + headerSize + payload, saturating at MaxUint64.
func declaredSize(headerSize int, payload uint64) uint64 {
	base := uint64(PrefixSize + headerSize)
	if payload > math.MaxUint64-base {
		return math.MaxUint64
	}
	return base + payload
}
