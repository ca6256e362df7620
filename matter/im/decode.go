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
	members []field // the known members; other context tags are skipped (forward compatibility)
	must    []field
}

var (
	invokeRequestMsg = message{"InvokeRequestMessage", secInvokeRequest,
		[]field{{"SuppressResponse", 0}, {"TimedRequest", 1}, {"InvokeRequests", 2}}, mustInvokeRequest}
	invokeResponseMsg = message{"InvokeResponseMessage", secInvokeResponse,
		[]field{{"SuppressResponse", 0}, {"InvokeResponses", 1}, {"MoreChunkedMessages", 2}}, mustInvokeResponse}
	statusResponseMsg = message{"StatusResponseMessage", secStatusResponse, []field{{"Status", 0}}, mustStatusResponse}
	timedRequestMsg   = message{"TimedRequestMessage", secTimedRequest, []field{{"Timeout", 0}}, mustTimedRequest}
)

// decodeMessage walks the structure of an IM message: every known member is checked for
// duplicates and handed to member with its trail; the InteractionModelRevision goes to rev; the
// mandatory members are required at the end, and nothing may follow the structure.
func decodeMessage(b []byte, m *message, rev *uint8, member func(c *cursor, t *trail, e *elem) error) error {
	root := trail{name: m.name}
	c, err := openMessage(b, &root, m.section)
	if err != nil {
		return err
	}
	var seen seenSet
	for {
		ok, err := c.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		e := &c.cur
		if !e.tag.IsContext() {
			continue // unknown tags are skipped (forward compatibility)
		}
		if e.tag.Number == tagRevision {
			if *rev, err = readRevision(&root, &c, &seen, m.section); err != nil {
				return err
			}
			continue
		}
		for _, f := range m.members {
			if uint32(f.tag) != e.tag.Number {
				continue
			}
			t := root.child(f.name, e.tag, c.n-1)
			if err := seen.mark(&t, e, m.section); err != nil {
				return err
			}
			if err := member(&c, &t, e); err != nil {
				return err
			}
		}
	}
	if err := seen.require(&root, c.c, m.section, m.must); err != nil {
		return err
	}
	return closeMessage(&c)
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
	if c.cur.typ != tlv.TypeStructure {
		return r, wrongType(t, &c.cur, "a structure (InvokeResponseIB)", secInvokeRespIB)
	}
	start := c.cur.start
	sc := c.enterCur(t)
	var seen seenSet
	for {
		ok, err := sc.next()
		if err != nil {
			return InvokeResponseIB{}, err
		}
		if !ok {
			break
		}
		e := &sc.cur
		if !e.tag.IsContext() || e.tag.Number > 1 {
			continue
		}
		name := "Command"
		if e.tag.Number == 1 {
			name = "Status"
		}
		mt := t.child(name, e.tag, sc.n-1)
		if err := seen.mark(&mt, e, secInvokeRespIB); err != nil {
			return InvokeResponseIB{}, err
		}
		if seen.has(0) && seen.has(1) {
			return InvokeResponseIB{}, &DecodeError{Field: mt.fieldPath(), Path: mt.tlvPath(), Offset: e.start,
				Err: ErrAmbiguousResponse, Detail: "a second choice at byte " + strconv.Itoa(e.start), Section: secInvokeRespIB}
		}
		if e.tag.Number == 0 {
			cd, err := decodeCommandData(&sc, &mt)
			if err != nil {
				return InvokeResponseIB{}, err
			}
			r.Command = &cd
		} else {
			cs, err := decodeCommandStatus(&sc, &mt)
			if err != nil {
				return InvokeResponseIB{}, err
			}
			r.Status = &cs
		}
	}
	c.resume(&sc)
	if r.Command == nil && r.Status == nil {
		return InvokeResponseIB{}, &DecodeError{Field: t.fieldPath(), Path: t.tlvPath(), Offset: start, Err: ErrMissingField,
			Detail: "InvokeResponseIB holds neither Command (context tag 0) nor Status (context tag 1)", Section: secInvokeRespIB}
	}
	return r, nil
}

// decodeCommandData decodes the current member of c as a CommandDataIB.
func decodeCommandData(c *cursor, t *trail) (CommandData, error) {
	var cd CommandData
	if c.cur.typ != tlv.TypeStructure {
		return cd, wrongType(t, &c.cur, "a structure (CommandDataIB)", secCommandData)
	}
	sc := c.enterCur(t)
	var seen seenSet
	for {
		ok, err := sc.next()
		if err != nil {
			return CommandData{}, err
		}
		if !ok {
			break
		}
		e := &sc.cur
		if !e.tag.IsContext() {
			continue
		}
		var mt trail
		switch e.tag.Number {
		case 0:
			mt = t.child("CommandPath", e.tag, sc.n-1)
			err = seen.mark(&mt, e, secCommandData)
			if err == nil {
				cd.Path, err = decodePath(&sc, &mt)
			}
		case 1:
			mt = t.child("CommandFields", e.tag, sc.n-1)
			err = seen.mark(&mt, e, secCommandData)
			if err == nil {
				cd.Fields, err = decodeFields(&sc, &mt)
			}
		case 2:
			mt = t.child("CommandRef", e.tag, sc.n-1)
			var v uint64
			err = seen.mark(&mt, e, secCommandData)
			if err == nil {
				v, err = readUint(&mt, e, 0xFFFF, "an unsigned integer (uint16)", secCommandData)
				ref := uint16(v)
				cd.Ref = &ref
			}
		}
		if err != nil {
			return CommandData{}, err
		}
	}
	if err := seen.require(t, sc.c, secCommandData, mustCommandData); err != nil {
		return CommandData{}, err
	}
	c.resume(&sc)
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
	if c.cur.typ != tlv.TypeStructure {
		return cs, wrongType(t, &c.cur, "a structure (CommandStatusIB)", secCommandStatus)
	}
	sc := c.enterCur(t)
	var seen seenSet
	for {
		ok, err := sc.next()
		if err != nil {
			return CommandStatus{}, err
		}
		if !ok {
			break
		}
		e := &sc.cur
		if !e.tag.IsContext() {
			continue
		}
		var mt trail
		switch e.tag.Number {
		case 0:
			mt = t.child("CommandPath", e.tag, sc.n-1)
			err = seen.mark(&mt, e, secCommandStatus)
			if err == nil {
				cs.Path, err = decodePath(&sc, &mt)
			}
		case 1:
			mt = t.child("Status", e.tag, sc.n-1)
			err = seen.mark(&mt, e, secCommandStatus)
			if err == nil {
				cs.Status, err = decodeStatusIB(&sc, &mt)
			}
		case 2:
			mt = t.child("CommandRef", e.tag, sc.n-1)
			var v uint64
			err = seen.mark(&mt, e, secCommandStatus)
			if err == nil {
				v, err = readUint(&mt, e, 0xFFFF, "an unsigned integer (uint16)", secCommandStatus)
				ref := uint16(v)
				cs.Ref = &ref
			}
		}
		if err != nil {
			return CommandStatus{}, err
		}
	}
	if err := seen.require(t, sc.c, secCommandStatus, mustCommandStatus); err != nil {
		return CommandStatus{}, err
	}
	c.resume(&sc)
	return cs, nil
}

// decodeStatusIB decodes the current member of c as a StatusIB.
func decodeStatusIB(c *cursor, t *trail) (StatusIB, error) {
	var s StatusIB
	if c.cur.typ != tlv.TypeStructure {
		return s, wrongType(t, &c.cur, "a structure (StatusIB)", secStatusIB)
	}
	sc := c.enterCur(t)
	var seen seenSet
	for {
		ok, err := sc.next()
		if err != nil {
			return StatusIB{}, err
		}
		if !ok {
			break
		}
		e := &sc.cur
		if !e.tag.IsContext() || e.tag.Number > 1 {
			continue
		}
		name := "Status"
		if e.tag.Number == 1 {
			name = "ClusterStatus"
		}
		mt := t.child(name, e.tag, sc.n-1)
		if err := seen.mark(&mt, e, secStatusIB); err != nil {
			return StatusIB{}, err
		}
		v, err := readUint(&mt, e, 0xFF, "an unsigned integer (uint8)", secStatusIB)
		if err != nil {
			return StatusIB{}, err
		}
		if e.tag.Number == 0 {
			s.Status = Status(v)
		} else {
			cs := uint8(v)
			s.ClusterStatus = &cs
		}
	}
	if err := seen.require(t, sc.c, secStatusIB, mustStatusIB); err != nil {
		return StatusIB{}, err
	}
	c.resume(&sc)
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
	var seen seenSet
	for {
		ok, err := lc.next()
		if err != nil {
			return CommandPath{}, err
		}
		if !ok {
			break
		}
		e := &lc.cur
		if !e.tag.IsContext() || e.tag.Number > 2 {
			continue // includes anonymous members, which a list may hold
		}
		var v uint64
		switch e.tag.Number {
		case 0:
			mt := t.child("EndpointID", e.tag, lc.n-1)
			err = seen.mark(&mt, e, secCommandPath)
			if err == nil {
				v, err = readUint(&mt, e, 0xFFFF, "an unsigned integer (endpoint-no, uint16)", secCommandPath)
			}
			p.Endpoint = uint16(v)
		case 1:
			mt := t.child("ClusterID", e.tag, lc.n-1)
			err = seen.mark(&mt, e, secCommandPath)
			if err == nil {
				v, err = readUint(&mt, e, 0xFFFFFFFF, "an unsigned integer (cluster-id, uint32)", secCommandPath)
			}
			p.Cluster = uint32(v)
		case 2:
			mt := t.child("CommandID", e.tag, lc.n-1)
			err = seen.mark(&mt, e, secCommandPath)
			if err == nil {
				v, err = readUint(&mt, e, 0xFFFFFFFF, "an unsigned integer (command-id, uint32)", secCommandPath)
			}
			p.Command = uint32(v)
		}
		if err != nil {
			return CommandPath{}, err
		}
	}
	if err := seen.require(t, lc.c, secCommandPath, mustCommandPath); err != nil {
		return CommandPath{}, err
	}
	c.resume(&lc)
	return p, nil
}

func readRevision(root *trail, c *cursor, seen *seenSet, section string) (uint8, error) {
	e := &c.cur
	t := root.child("InteractionModelRevision", e.tag, c.n-1)
	if err := seen.mark(&t, e, section); err != nil {
		return 0, err
	}
	v, err := readUint(&t, e, 0xFF, "an unsigned integer (uint8)", "Core §8.1.1")
	return uint8(v), err
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
