package im

import (
	"strconv"

	"github.com/otaconf/otaconf/tlv"
)

// Depths of the command fields structure in a message: message › InvokeRequests › CommandDataIB,
// and message › InvokeResponses › InvokeResponseIB › CommandDataIB.
const (
	requestFieldsDepth  = 3
	responseFieldsDepth = 4
)

// tagRevision is the context tag of InteractionModelRevision in every IM message.
const tagRevision = 0xFF

// message describes a top-level IM message structure for decodeMessage.
type message struct {
	name    string
	section string
	members []field // the known members, the revision included; other context tags are skipped
	must    []field
}

var (
	invokeRequestMsg = message{"InvokeRequestMessage", secInvokeRequest,
		[]field{{"SuppressResponse", 0}, {"TimedRequest", 1}, {"InvokeRequests", 2}, revisionField}, mustInvokeRequest}
	invokeResponseMsg = message{"InvokeResponseMessage", secInvokeResponse,
		[]field{{"SuppressResponse", 0}, {"InvokeResponses", 1}, {"MoreChunkedMessages", 2}, revisionField}, mustInvokeResponse}
	statusResponseMsg = message{"StatusResponseMessage", secStatusResponse, []field{{"Status", 0}, revisionField}, mustStatusResponse}
	timedRequestMsg   = message{"TimedRequestMessage", secTimedRequest, []field{{"Timeout", 0}, revisionField}, mustTimedRequest}

	revisionField = field{"InteractionModelRevision", tagRevision}
)

// decodeMessage walks the structure of an IM message: every known member is handed to member
// (the InteractionModelRevision goes to rev), the mandatory members are required, and nothing may
// follow the structure.
func decodeMessage(b []byte, m *message, rev *uint8, member func(c *cursor, t *trail, e *elem) error) error {
	root := trail{name: m.name}
	c, err := openMessage(b, &root, m.section)
	if err != nil {
		return err
	}
	err = walkMembers(&c, &root, m.section, m.members, m.must, func(c *cursor, t *trail, e *elem) error {
		if e.tag.Number == tagRevision {
			v, err := readUint(t, e, 0xFF, "an unsigned integer (uint8)", "Core §8.1.1")
			*rev = uint8(v)
			return err
		}
		return member(c, t, e)
	})
	if err != nil {
		return err
	}
	return closeMessage(&c)
}

// walkStruct decodes the current member of c, which must be a structure (a `want` one), by handing
// its members to member (see walkMembers), and leaves c after it.
func walkStruct(c *cursor, t *trail, want, section string, members, must []field, member func(sc *cursor, mt *trail, e *elem) error) error {
	if c.cur.typ != tlv.TypeStructure {
		return wrongType(t, &c.cur, "a structure ("+want+")", section)
	}
	sc := c.enterCur(t)
	if err := walkMembers(&sc, t, section, members, must, member); err != nil {
		return err
	}
	c.resume(&sc)
	return nil
}

// walkMembers hands every known context-tagged member of the container sc reads to member, with its
// trail, after checking it is not a repeat; other members are skipped (forward compatibility). Then
// it requires the mandatory members.
func walkMembers(sc *cursor, t *trail, section string, members, must []field, member func(sc *cursor, mt *trail, e *elem) error) error {
	var seen seenSet
	for {
		ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		e := &sc.cur
		if !e.tag.IsContext() {
			continue // includes the anonymous members a list may hold
		}
		for _, f := range members {
			if uint32(f.tag) != e.tag.Number {
				continue
			}
			mt := t.child(f.name, e.tag, sc.n-1)
			if err := seen.mark(&mt, e, section); err != nil {
				return err
			}
			if err := member(sc, &mt, e); err != nil {
				return err
			}
			break
		}
	}
	return seen.require(t, sc.c, section, must)
}

// DecodeInvokeRequest decodes an InvokeRequestMessage payload.
func DecodeInvokeRequest(b []byte) (InvokeRequest, error) {
	var m InvokeRequest
	err := decodeMessage(b, &invokeRequestMsg, &m.IMRevision, func(c *cursor, t *trail, e *elem) (err error) {
		switch e.tag.Number {
		case 0:
			m.SuppressResponse, err = readBool(t, e, secInvokeRequest)
		case 1:
			m.TimedRequest, err = readBool(t, e, secInvokeRequest)
		case 2:
			m.Requests, err = decodeRequests(c, t)
		}
		return err
	})
	if err != nil {
		return InvokeRequest{}, err
	}
	return m, nil
}

// DecodeInvokeResponse decodes an InvokeResponseMessage payload.
func DecodeInvokeResponse(b []byte) (InvokeResponse, error) {
	var m InvokeResponse
	err := decodeMessage(b, &invokeResponseMsg, &m.IMRevision, func(c *cursor, t *trail, e *elem) (err error) {
		switch e.tag.Number {
		case 0:
			m.SuppressResponse, err = readBool(t, e, secInvokeResponse)
		case 1:
			m.Responses, err = decodeResponses(c, t)
		case 2:
			m.MoreChunked, err = readBool(t, e, secInvokeResponse)
		}
		return err
	})
	if err != nil {
		return InvokeResponse{}, err
	}
	return m, nil
}

// DecodeStatusResponse decodes a StatusResponseMessage payload.
func DecodeStatusResponse(b []byte) (StatusResponse, error) {
	var m StatusResponse
	err := decodeMessage(b, &statusResponseMsg, &m.IMRevision, func(_ *cursor, t *trail, e *elem) error {
		v, err := readUint(t, e, 0xFF, "an unsigned integer (status, uint8)", secStatusResponse)
		m.Status = Status(v)
		return err
	})
	if err != nil {
		return StatusResponse{}, err
	}
	return m, nil
}

// DecodeTimedRequest decodes a TimedRequestMessage payload.
func DecodeTimedRequest(b []byte) (TimedRequest, error) {
	var m TimedRequest
	err := decodeMessage(b, &timedRequestMsg, &m.IMRevision, func(_ *cursor, t *trail, e *elem) error {
		v, err := readUint(t, e, 0xFFFF, "an unsigned integer (milliseconds, uint16)", secTimedRequest)
		m.TimeoutMs = uint16(v)
		return err
	})
	if err != nil {
		return TimedRequest{}, err
	}
	return m, nil
}

// openMessage checks that b starts with an anonymous structure and returns a cursor over it.
func openMessage(b []byte, root *trail, section string) (cursor, error) {
	if len(b) == 0 {
		return cursor{}, tlvFault(root, fault{0, tlv.ErrTruncated, "empty payload"})
	}
	var e elem
	f := readHead(b, 0, &e)
	switch {
	case f != nil:
		return cursor{}, tlvFault(root, *f)
	case e.kind() == tlv.KindEnd:
		return cursor{}, tlvFault(root, fault{0, tlv.ErrUnexpectedEnd, "the payload starts with an end-of-container"})
	case e.typ != tlv.TypeStructure:
		return cursor{}, wrongType(root, &e, "an anonymous structure (the message)", section)
	case !e.tag.IsAnonymous():
		return cursor{}, &DecodeError{Field: root.fieldPath(), Path: "$", Offset: 0, Err: ErrWrongType,
			Detail: "the message structure carries tag " + e.tag.String() + "; IM messages are anonymous structures", Section: section}
	}
	return enter(b, root, e, 0), nil
}

// closeMessage checks that nothing follows the message structure, whose end c has consumed.
func closeMessage(c *cursor) error {
	if c.off != len(c.b) {
		return tlvFault(c.t, fault{c.off, tlv.ErrTrailingBytes, strconv.Itoa(len(c.b)-c.off) + " octets after the message"})
	}
	return nil
}

func decodeRequests(c *cursor, t *trail) ([]CommandData, error) {
	if c.cur.kind() != tlv.KindArray {
		return nil, wrongType(t, &c.cur, "an array of CommandDataIB", secInvokeRequest)
	}
	ac := c.enterCur(t)
	out := []CommandData{}
	for {
		ok, err := ac.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		it := t.child("", ac.cur.tag, ac.n-1)
		cd, err := decodeCommandData(&ac, &it)
		if err != nil {
			return nil, err
		}
		out = append(out, cd)
	}
	c.resume(&ac)
	return out, nil
}

func decodeResponses(c *cursor, t *trail) ([]InvokeResponseIB, error) {
	if c.cur.kind() != tlv.KindArray {
		return nil, wrongType(t, &c.cur, "an array of InvokeResponseIB", secInvokeResponse)
	}
	ac := c.enterCur(t)
	out := []InvokeResponseIB{}
	for {
		ok, err := ac.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		it := t.child("", ac.cur.tag, ac.n-1)
		r, err := decodeResponseIB(&ac, &it)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	c.resume(&ac)
	return out, nil
}

// decodeResponseIB decodes the current member of c as an InvokeResponseIB.
func decodeResponseIB(c *cursor, t *trail) (InvokeResponseIB, error) {
	var r InvokeResponseIB
	start := c.cur.start
	err := walkStruct(c, t, "InvokeResponseIB", secInvokeRespIB, responseIBMembers, nil, func(sc *cursor, mt *trail, e *elem) error {
		if r.Command != nil || r.Status != nil {
			return &DecodeError{Field: mt.fieldPath(), Path: mt.tlvPath(), Offset: e.start,
				Err: ErrAmbiguousResponse, Detail: "a second choice at byte " + strconv.Itoa(e.start), Section: secInvokeRespIB}
		}
		if e.tag.Number == 0 {
			cd, err := decodeCommandData(sc, mt)
			r.Command = &cd
			return err
		}
		cs, err := decodeCommandStatus(sc, mt)
		r.Status = &cs
		return err
	})
	if err != nil {
		return InvokeResponseIB{}, err
	}
	if r.Command == nil && r.Status == nil {
		return InvokeResponseIB{}, &DecodeError{Field: t.fieldPath(), Path: t.tlvPath(), Offset: start, Err: ErrMissingField,
			Detail: "InvokeResponseIB holds neither Command (context tag 0) nor Status (context tag 1)", Section: secInvokeRespIB}
	}
	return r, nil
}

// decodeCommandData decodes the current member of c as a CommandDataIB.
func decodeCommandData(c *cursor, t *trail) (CommandData, error) {
	var cd CommandData
	err := walkStruct(c, t, "CommandDataIB", secCommandData, commandDataMembers, mustCommandData, func(sc *cursor, mt *trail, e *elem) (err error) {
		switch e.tag.Number {
		case 0:
			cd.Path, err = decodePath(sc, mt)
		case 1:
			cd.Fields, err = decodeFields(sc, mt)
		case 2:
			cd.Ref, err = readRef(mt, e, secCommandData)
		}
		return err
	})
	if err != nil {
		return CommandData{}, err
	}
	return cd, nil
}

// decodeFields returns the current member of c, a structure, re-tagged as anonymous: 0x15 and then
// its bytes after the tag, verbatim. Inside, only framing is checked (see the package comment).
func decodeFields(c *cursor, t *trail) ([]byte, error) {
	e := &c.cur
	if e.typ != tlv.TypeStructure {
		return nil, wrongType(t, e, "a structure (CommandFields)", secCommandData)
	}
	end, err := skipMembers(c.b, t, e.body, c.depth+1)
	if err != nil {
		return nil, err
	}
	c.setEnd(end)
	out := make([]byte, 1+end-e.body)
	out[0] = byte(tlv.TypeStructure)
	copy(out[1:], c.b[e.body:end])
	return out, nil
}

// decodeCommandStatus decodes the current member of c as a CommandStatusIB.
func decodeCommandStatus(c *cursor, t *trail) (CommandStatus, error) {
	var cs CommandStatus
	err := walkStruct(c, t, "CommandStatusIB", secCommandStatus, commandStatusMembers, mustCommandStatus, func(sc *cursor, mt *trail, e *elem) (err error) {
		switch e.tag.Number {
		case 0:
			cs.Path, err = decodePath(sc, mt)
		case 1:
			cs.Status, err = decodeStatusIB(sc, mt)
		case 2:
			cs.Ref, err = readRef(mt, e, secCommandStatus)
		}
		return err
	})
	if err != nil {
		return CommandStatus{}, err
	}
	return cs, nil
}

// decodeStatusIB decodes the current member of c as a StatusIB.
func decodeStatusIB(c *cursor, t *trail) (StatusIB, error) {
	var s StatusIB
	err := walkStruct(c, t, "StatusIB", secStatusIB, statusIBMembers, mustStatusIB, func(_ *cursor, mt *trail, e *elem) error {
		v, err := readUint(mt, e, 0xFF, "an unsigned integer (uint8)", secStatusIB)
		if e.tag.Number == 0 {
			s.Status = Status(v)
		} else {
			cs := uint8(v)
			s.ClusterStatus = &cs
		}
		return err
	})
	if err != nil {
		return StatusIB{}, err
	}
	return s, nil
}

// decodePath decodes the current member of c as a CommandPathIB, which must be a TLV list.
func decodePath(c *cursor, t *trail) (CommandPath, error) {
	var p CommandPath
	if c.cur.kind() != tlv.KindList {
		e := &c.cur
		path := t.tlvPath()
		return p, &DecodeError{Field: t.fieldPath(), Path: path, Offset: e.start, Err: ErrPathNotList,
			Cause:  &tlv.TypeError{Offset: e.start, Path: path, Want: "a list (CommandPathIB)", Got: e.typ},
			Detail: "found a " + e.typ.String() + " (control octet 0x" + hex2(c.b[e.start]) + "), want a list (0x17)", Section: secCommandPath}
	}
	lc := c.enterCur(t)
	err := walkMembers(&lc, t, secCommandPath, mustCommandPath, mustCommandPath, func(_ *cursor, mt *trail, e *elem) error {
		switch e.tag.Number {
		case 0:
			v, err := readUint(mt, e, 0xFFFF, "an unsigned integer (endpoint-no, uint16)", secCommandPath)
			p.Endpoint = uint16(v)
			return err
		case 1:
			v, err := readUint(mt, e, 0xFFFFFFFF, "an unsigned integer (cluster-id, uint32)", secCommandPath)
			p.Cluster = uint32(v)
			return err
		default:
			v, err := readUint(mt, e, 0xFFFFFFFF, "an unsigned integer (command-id, uint32)", secCommandPath)
			p.Command = uint32(v)
			return err
		}
	})
	if err != nil {
		return CommandPath{}, err
	}
	c.resume(&lc)
	return p, nil
}

// readRef reads a CommandRef (uint16).
func readRef(t *trail, e *elem, section string) (*uint16, error) {
	v, err := readUint(t, e, 0xFFFF, "an unsigned integer (uint16)", section)
	if err != nil {
		return nil, err
	}
	ref := uint16(v)
	return &ref, nil
}

func readUint(t *trail, e *elem, max uint64, want, section string) (uint64, error) {
	if e.kind() != tlv.KindUint {
		return 0, wrongType(t, e, want, section)
	}
	if e.val > max {
		return 0, &DecodeError{Field: t.fieldPath(), Path: t.tlvPath(), Offset: e.start, Err: ErrOutOfRange,
			Detail: strconv.FormatUint(e.val, 10) + " exceeds " + strconv.FormatUint(max, 10), Section: section}
	}
	return e.val, nil
}

func readBool(t *trail, e *elem, section string) (bool, error) {
	if e.kind() != tlv.KindBool {
		return false, wrongType(t, e, "a boolean", section)
	}
	return e.typ == tlv.TypeTrue, nil
}

func wrongType(t *trail, e *elem, want, section string) *DecodeError {
	path := t.tlvPath()
	return &DecodeError{Field: t.fieldPath(), Path: path, Offset: e.start, Err: ErrWrongType,
		Cause:  &tlv.TypeError{Offset: e.start, Path: path, Want: want, Got: e.typ},
		Detail: "want " + want + ", found " + e.typ.String(), Section: section}
}

// seenSet records the known context tags met in one container (0..62, and 0xFF).
type seenSet uint64

func bit(n uint32) seenSet {
	if n == tagRevision {
		return 1 << 63
	}
	return 1 << (n & 63)
}

func (s *seenSet) has(n uint32) bool { return *s&bit(n) != 0 }

// mark records member e (at trail t); a second time is an error.
func (s *seenSet) mark(t *trail, e *elem, section string) error {
	if s.has(e.tag.Number) {
		return &DecodeError{Field: t.fieldPath(), Path: t.tlvPath(), Offset: e.start, Err: ErrDuplicateField,
			Detail: "context tag " + e.tag.String() + " again at byte " + strconv.Itoa(e.start), Section: section + ", Appendix A.11.2"}
	}
	*s |= bit(e.tag.Number)
	return nil
}

// field names a mandatory member of a container.
type field struct {
	name string
	tag  uint8
}

// Mandatory members, per container.
var (
	mustInvokeRequest  = []field{{"SuppressResponse", 0}, {"TimedRequest", 1}, {"InvokeRequests", 2}}
	mustInvokeResponse = []field{{"SuppressResponse", 0}, {"InvokeResponses", 1}}
	mustStatusResponse = []field{{"Status", 0}}
	mustTimedRequest   = []field{{"Timeout", 0}}
	mustCommandData    = []field{{"CommandPath", 0}}
	mustCommandStatus  = []field{{"CommandPath", 0}, {"Status", 1}}
	mustStatusIB       = []field{{"Status", 0}}
	mustCommandPath    = []field{{"EndpointID", 0}, {"ClusterID", 1}, {"CommandID", 2}}

	// Members known, per container (the mandatory ones above are all of CommandPathIB's).
	responseIBMembers    = []field{{"Command", 0}, {"Status", 1}}
	commandDataMembers   = []field{{"CommandPath", 0}, {"CommandFields", 1}, {"CommandRef", 2}}
	commandStatusMembers = []field{{"CommandPath", 0}, {"Status", 1}, {"CommandRef", 2}}
	statusIBMembers      = []field{{"Status", 0}, {"ClusterStatus", 1}}
)

// require reports the first of the mandatory fields not met in container c (at trail t).
func (s *seenSet) require(t *trail, c elem, section string, fields []field) error {
	for _, f := range fields {
		if s.has(uint32(f.tag)) {
			continue
		}
		m := t.child(f.name, tlv.Context(f.tag), 0)
		return &DecodeError{Field: m.fieldPath(), Path: m.tlvPath(), Offset: c.start, Err: ErrMissingField,
			Detail: "the " + c.kind().String() + " at byte " + strconv.Itoa(c.start) + " has no " + f.name +
				" (context tag " + strconv.Itoa(int(f.tag)) + ")",
			Section: section}
	}
	return nil
}
