package im

import (
	"fmt"

	"github.com/otaconf/otaconf/tlv"
)

// fieldsHead is the control octet and tag of CommandFields inside a CommandDataIB: a structure with
// context tag 1 (Core §10.6.12).
var fieldsHead = [2]byte{0x35, 0x01}

// emptyFields is an empty anonymous structure, the fields of a command without fields.
var emptyFields = []byte{0x15, 0x18}

// Append appends the encoded message to b. It fails when a request's Fields are not one well-formed
// anonymous structure (ErrBadFields).
func (m InvokeRequest) Append(b []byte) ([]byte, error) {
	var w tlv.Writer
	w.Reset(b)
	w.StartStruct(tlv.Anonymous)
	w.Bool(tlv.Context(0), m.SuppressResponse)
	w.Bool(tlv.Context(1), m.TimedRequest)
	w.StartArray(tlv.Context(2))
	for i := range m.Requests {
		if err := writeCommandData(&w, tlv.Anonymous, &m.Requests[i], requestFieldsDepth); err != nil {
			return nil, fmt.Errorf("im: InvokeRequestMessage.InvokeRequests[%d].CommandFields: %w", i, err)
		}
	}
	w.End()
	w.Uint(tlv.Context(tagRevision), uint64(revision(m.IMRevision)))
	w.End()
	return w.Finish()
}

// Append appends the encoded message to b. It fails when an InvokeResponseIB holds neither or both
// of Command and Status (ErrBadResponseIB) or a response command's Fields are not one well-formed
// anonymous structure (ErrBadFields).
func (m InvokeResponse) Append(b []byte) ([]byte, error) {
	var w tlv.Writer
	w.Reset(b)
	w.StartStruct(tlv.Anonymous)
	w.Bool(tlv.Context(0), m.SuppressResponse)
	w.StartArray(tlv.Context(1))
	for i := range m.Responses {
		r := &m.Responses[i]
		switch {
		case (r.Command == nil) == (r.Status == nil):
			return nil, fmt.Errorf("im: InvokeResponseMessage.InvokeResponses[%d]: %w", i, ErrBadResponseIB)
		case r.Command != nil:
			w.StartStruct(tlv.Anonymous)
			if err := writeCommandData(&w, tlv.Context(0), r.Command, responseFieldsDepth); err != nil {
				return nil, fmt.Errorf("im: InvokeResponseMessage.InvokeResponses[%d].Command.CommandFields: %w", i, err)
			}
			w.End()
		default:
			w.StartStruct(tlv.Anonymous)
			writeCommandStatus(&w, tlv.Context(1), r.Status)
			w.End()
		}
	}
	w.End()
	if m.MoreChunked {
		w.Bool(tlv.Context(2), true)
	}
	w.Uint(tlv.Context(tagRevision), uint64(revision(m.IMRevision)))
	w.End()
	return w.Finish()
}

// Append appends the encoded message to b.
func (m StatusResponse) Append(b []byte) ([]byte, error) {
	var w tlv.Writer
	w.Reset(b)
	w.StartStruct(tlv.Anonymous)
	w.Uint(tlv.Context(0), uint64(m.Status))
	w.Uint(tlv.Context(tagRevision), uint64(revision(m.IMRevision)))
	w.End()
	return w.Finish()
}

// Append appends the encoded message to b.
func (m TimedRequest) Append(b []byte) ([]byte, error) {
	var w tlv.Writer
	w.Reset(b)
	w.StartStruct(tlv.Anonymous)
	w.Uint(tlv.Context(0), uint64(m.TimeoutMs))
	w.Uint(tlv.Context(tagRevision), uint64(revision(m.IMRevision)))
	w.End()
	return w.Finish()
}

// writePath writes a CommandPathIB: a list, not a structure (Core §10.6.11).
func writePath(w *tlv.Writer, p CommandPath) {
	w.StartList(tlv.Context(0))
	w.Uint(tlv.Context(0), uint64(p.Endpoint))
	w.Uint(tlv.Context(1), uint64(p.Cluster))
	w.Uint(tlv.Context(2), uint64(p.Command))
	w.End()
}

// writeCommandData writes a CommandDataIB with the given tag; its fields sit inside depth
// containers of the message.
func writeCommandData(w *tlv.Writer, tag tlv.Tag, cd *CommandData, depth int) error {
	if cd.Fields != nil {
		if err := checkFields(cd.Fields, depth); err != nil {
			return err
		}
	}
	w.StartStruct(tag)
	writePath(w, cd.Path)
	if cd.Fields != nil {
		// Re-tag: our control octet and tag, then the caller's bytes after the anonymous control
		// octet, verbatim (package comment).
		w.Raw(fieldsHead[:])
		w.Raw(cd.Fields[1:])
	}
	if cd.Ref != nil {
		w.Uint(tlv.Context(2), uint64(*cd.Ref))
	}
	w.End()
	return nil
}

func writeCommandStatus(w *tlv.Writer, tag tlv.Tag, cs *CommandStatus) {
	w.StartStruct(tag)
	writePath(w, cs.Path)
	w.StartStruct(tlv.Context(1))
	w.Uint(tlv.Context(0), uint64(cs.Status.Status))
	if cs.Status.ClusterStatus != nil {
		w.Uint(tlv.Context(1), uint64(*cs.Status.ClusterStatus))
	}
	w.End()
	if cs.Ref != nil {
		w.Uint(tlv.Context(2), uint64(*cs.Ref))
	}
	w.End()
}
