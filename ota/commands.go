package ota

import (
	"github.com/otaconf/otaconf/tlv"
)

// QueryImage is the QueryImage request (§11.20.6.5.1). Optional fields are nil when absent;
// MetadataForProvider is absent when nil and present (possibly empty) otherwise.
type QueryImage struct {
	VendorID            uint16
	ProductID           uint16
	SoftwareVersion     uint32
	ProtocolsSupported  []DownloadProtocol
	HardwareVersion     *uint16
	Location            *string
	RequestorCanConsent *bool
	MetadataForProvider []byte
}

// QueryImageResponse is the QueryImageResponse command (§11.20.6.5.2).
type QueryImageResponse struct {
	Status                Status
	DelayedActionTime     *uint32
	ImageURI              *string
	SoftwareVersion       *uint32
	SoftwareVersionString *string
	UpdateToken           []byte
	UserConsentNeeded     *bool
	MetadataForRequestor  []byte
}

// ApplyUpdateRequest is the ApplyUpdateRequest command (§11.20.6.5.3).
type ApplyUpdateRequest struct {
	UpdateToken []byte
	NewVersion  uint32
}

// ApplyUpdateResponse is the ApplyUpdateResponse command (§11.20.6.5.4).
type ApplyUpdateResponse struct {
	Action            ApplyAction
	DelayedActionTime uint32
}

// NotifyUpdateApplied is the NotifyUpdateApplied command (§11.20.6.5.5), answered with a status.
type NotifyUpdateApplied struct {
	UpdateToken     []byte
	SoftwareVersion uint32
}

// Ptr returns a pointer to v, for the optional fields.
func Ptr[T any](v T) *T { return &v }

// Command is implemented by the five typed commands.
type Command interface {
	ID() CommandID
	// WriteTLV writes the command's fields as a structure with the given tag (anonymous for the
	// "fields" form used across otaconf, context tag 1 inside an IM CommandDataIB).
	WriteTLV(w *tlv.Writer, tag tlv.Tag)
}

// Encode returns the fields of c as an anonymous TLV structure.
func Encode(c Command) ([]byte, error) {
	w := tlv.NewWriter(make([]byte, 0, 128))
	c.WriteTLV(w, tlv.Anonymous)
	return w.Finish()
}

// ID implements Command.
func (QueryImage) ID() CommandID { return CmdQueryImage }

// ID implements Command.
func (QueryImageResponse) ID() CommandID { return CmdQueryImageResponse }

// ID implements Command.
func (ApplyUpdateRequest) ID() CommandID { return CmdApplyUpdateRequest }

// ID implements Command.
func (ApplyUpdateResponse) ID() CommandID { return CmdApplyUpdateResponse }

// ID implements Command.
func (NotifyUpdateApplied) ID() CommandID { return CmdNotifyUpdateApplied }

// WriteTLV implements Command.
func (q QueryImage) WriteTLV(w *tlv.Writer, tag tlv.Tag) {
	w.StartStruct(tag)
	w.Uint(tlv.Context(0), uint64(q.VendorID))
	w.Uint(tlv.Context(1), uint64(q.ProductID))
	w.Uint(tlv.Context(2), uint64(q.SoftwareVersion))
	w.StartArray(tlv.Context(3))
	for _, p := range q.ProtocolsSupported {
		w.Uint(tlv.Anonymous, uint64(p))
	}
	w.End()
	if q.HardwareVersion != nil {
		w.Uint(tlv.Context(4), uint64(*q.HardwareVersion))
	}
	if q.Location != nil {
		w.UTF8(tlv.Context(5), *q.Location)
	}
	if q.RequestorCanConsent != nil {
		w.Bool(tlv.Context(6), *q.RequestorCanConsent)
	}
	if q.MetadataForProvider != nil {
		w.OctetString(tlv.Context(7), q.MetadataForProvider)
	}
	w.End()
}

// WriteTLV implements Command.
func (r QueryImageResponse) WriteTLV(w *tlv.Writer, tag tlv.Tag) {
	w.StartStruct(tag)
	w.Uint(tlv.Context(0), uint64(r.Status))
	if r.DelayedActionTime != nil {
		w.Uint(tlv.Context(1), uint64(*r.DelayedActionTime))
	}
	if r.ImageURI != nil {
		w.UTF8(tlv.Context(2), *r.ImageURI)
	}
	if r.SoftwareVersion != nil {
		w.Uint(tlv.Context(3), uint64(*r.SoftwareVersion))
	}
	if r.SoftwareVersionString != nil {
		w.UTF8(tlv.Context(4), *r.SoftwareVersionString)
	}
	if r.UpdateToken != nil {
		w.OctetString(tlv.Context(5), r.UpdateToken)
	}
	if r.UserConsentNeeded != nil {
		w.Bool(tlv.Context(6), *r.UserConsentNeeded)
	}
	if r.MetadataForRequestor != nil {
		w.OctetString(tlv.Context(7), r.MetadataForRequestor)
	}
	w.End()
}

// WriteTLV implements Command.
func (a ApplyUpdateRequest) WriteTLV(w *tlv.Writer, tag tlv.Tag) {
	w.StartStruct(tag)
	w.OctetString(tlv.Context(0), a.UpdateToken)
	w.Uint(tlv.Context(1), uint64(a.NewVersion))
	w.End()
}

// WriteTLV implements Command.
func (a ApplyUpdateResponse) WriteTLV(w *tlv.Writer, tag tlv.Tag) {
	w.StartStruct(tag)
	w.Uint(tlv.Context(0), uint64(a.Action))
	w.Uint(tlv.Context(1), uint64(a.DelayedActionTime))
	w.End()
}

// WriteTLV implements Command.
func (n NotifyUpdateApplied) WriteTLV(w *tlv.Writer, tag tlv.Tag) {
	w.StartStruct(tag)
	w.OctetString(tlv.Context(0), n.UpdateToken)
	w.Uint(tlv.Context(1), uint64(n.SoftwareVersion))
	w.End()
}
