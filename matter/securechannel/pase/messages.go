package pase

import (
	"fmt"
	"math"
	"time"

	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/tlv"
)

// Sizes fixed by §4.14.1.2 and §3.10.
const (
	RandomSize = 32 // initiatorRandom, responderRandom
	PointSize  = 65 // pA, pB: uncompressed P-256 points
	HashSize   = 32 // cA, cB: HMAC-SHA256
)

// PBKDF salt bounds (§4.14.1.2: pbkdf_parameters.salt is 16..32 octets).
const (
	MinSaltLen = 16
	MaxSaltLen = 32
)

// SessionParams is the session-parameter-struct carried as tag 5 of PBKDFParamRequest and
// PBKDFParamResponse (and of Sigma1/Sigma2). A zero field is absent on the wire: none of them has
// 0 as a meaningful value, and a peer that sends 0 is read as one that sent nothing.
type SessionParams struct {
	// MRP holds SESSION_IDLE_INTERVAL (tag 1, u32 ms), SESSION_ACTIVE_INTERVAL (tag 2, u32 ms) and
	// SESSION_ACTIVE_THRESHOLD (tag 3, u16 ms). Durations are sent in whole milliseconds.
	MRP                      session.MRPParams
	DataModelRevision        uint16 // tag 4
	InteractionModelRevision uint16 // tag 5
	SpecificationVersion     uint32 // tag 6
	MaxPathsPerInvoke        uint16 // tag 7
	SupportedTransports      uint16 // tag 8, bitmap (bit 0 TCP client, bit 1 TCP server)
	MaxTCPMessageSize        uint32 // tag 9
}

var sessionParamNames = map[uint8]string{
	1: "SESSION_IDLE_INTERVAL", 2: "SESSION_ACTIVE_INTERVAL", 3: "SESSION_ACTIVE_THRESHOLD",
	4: "DATA_MODEL_REVISION", 5: "INTERACTION_MODEL_REVISION", 6: "SPECIFICATION_VERSION",
	7: "MAX_PATHS_PER_INVOKE", 8: "SUPPORTED_TRANSPORTS", 9: "MAX_TCP_MESSAGE_SIZE",
}

// PBKDFParamRequest is the first PASE message (opcode 0x20), from the commissioner.
type PBKDFParamRequest struct {
	InitiatorRandom    [RandomSize]byte // tag 1
	InitiatorSessionID uint16           // tag 2
	PasscodeID         uint16           // tag 3: 0, the default passcode
	HasPBKDFParameters bool             // tag 4: the commissioner already knows salt and iterations
	SessionParams      *SessionParams   // tag 5, optional
}

// PBKDFParameters are the salt and iteration count the device derived its verifier with.
type PBKDFParameters struct {
	Iterations uint32 // tag 1
	Salt       []byte // tag 2, 16..32 bytes
}

// PBKDFParamResponse is the device's answer (opcode 0x21).
type PBKDFParamResponse struct {
	InitiatorRandom    [RandomSize]byte // tag 1, echoed
	ResponderRandom    [RandomSize]byte // tag 2
	ResponderSessionID uint16           // tag 3
	PBKDF              *PBKDFParameters // tag 4, present when the request's HasPBKDFParameters was false
	SessionParams      *SessionParams   // tag 5, optional
}

// Pake1 carries the commissioner's SPAKE2+ share pA = X (opcode 0x22).
type Pake1 struct {
	PA [PointSize]byte // tag 1
}

// Pake2 carries the device's share pB = Y and its confirmation cB (opcode 0x23).
type Pake2 struct {
	PB [PointSize]byte // tag 1
	CB [HashSize]byte  // tag 2
}

// Pake3 carries the commissioner's confirmation cA (opcode 0x24).
type Pake3 struct {
	CA [HashSize]byte // tag 1
}

// --- encoding -------------------------------------------------------------------------------

func writeMillis(w *tlv.Writer, tag uint8, d time.Duration, max uint64, field string) error {
	if d <= 0 {
		return nil
	}
	ms := uint64(d / time.Millisecond)
	if ms > max {
		return fmt.Errorf("pase: session parameter %s of %v does not fit in %d bits of milliseconds [%s]", field, d, bitsOf(max), secParams)
	}
	w.Uint(tlv.Context(tag), ms)
	return nil
}

func appendSessionParams(w *tlv.Writer, tag uint8, p *SessionParams) error {
	if p == nil {
		return nil
	}
	w.StartStruct(tlv.Context(tag))
	if err := writeMillis(w, 1, p.MRP.Idle, math.MaxUint32, "SESSION_IDLE_INTERVAL"); err != nil {
		return err
	}
	if err := writeMillis(w, 2, p.MRP.Active, math.MaxUint32, "SESSION_ACTIVE_INTERVAL"); err != nil {
		return err
	}
	if err := writeMillis(w, 3, p.MRP.ActiveThreshold, math.MaxUint16, "SESSION_ACTIVE_THRESHOLD"); err != nil {
		return err
	}
	for _, f := range []struct {
		tag uint8
		v   uint64
	}{
		{4, uint64(p.DataModelRevision)}, {5, uint64(p.InteractionModelRevision)}, {6, uint64(p.SpecificationVersion)},
		{7, uint64(p.MaxPathsPerInvoke)}, {8, uint64(p.SupportedTransports)}, {9, uint64(p.MaxTCPMessageSize)},
	} {
		if f.v != 0 {
			w.Uint(tlv.Context(f.tag), f.v)
		}
	}
	w.End()
	return nil
}

func finish(w *tlv.Writer, msg string) ([]byte, error) {
	b, err := w.Finish()
	if err != nil {
		return nil, fmt.Errorf("pase: encoding %s: %w", msg, err)
	}
	return b, nil
}

// Append appends the TLV payload of m to b, with minimal integer widths and fields in tag order.
func (m PBKDFParamRequest) Append(b []byte) ([]byte, error) {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.Anonymous)
	w.OctetString(tlv.Context(1), m.InitiatorRandom[:])
	w.Uint(tlv.Context(2), uint64(m.InitiatorSessionID))
	w.Uint(tlv.Context(3), uint64(m.PasscodeID))
	w.Bool(tlv.Context(4), m.HasPBKDFParameters)
	if err := appendSessionParams(w, 5, m.SessionParams); err != nil {
		return nil, err
	}
	w.End()
	return finish(w, "PBKDFParamRequest")
}

// Append appends the TLV payload of m to b.
func (m PBKDFParamResponse) Append(b []byte) ([]byte, error) {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.Anonymous)
	w.OctetString(tlv.Context(1), m.InitiatorRandom[:])
	w.OctetString(tlv.Context(2), m.ResponderRandom[:])
	w.Uint(tlv.Context(3), uint64(m.ResponderSessionID))
	if p := m.PBKDF; p != nil {
		if len(p.Salt) < MinSaltLen || len(p.Salt) > MaxSaltLen {
			return nil, fmt.Errorf("pase: encoding PBKDFParamResponse: pbkdf_parameters.salt is %d bytes, want %d..%d [%s]", len(p.Salt), MinSaltLen, MaxSaltLen, secMessages)
		}
		w.StartStruct(tlv.Context(4))
		w.Uint(tlv.Context(1), uint64(p.Iterations))
		w.OctetString(tlv.Context(2), p.Salt)
		w.End()
	}
	if err := appendSessionParams(w, 5, m.SessionParams); err != nil {
		return nil, err
	}
	w.End()
	return finish(w, "PBKDFParamResponse")
}

// Append appends the TLV payload of m to b.
func (m Pake1) Append(b []byte) ([]byte, error) {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.Anonymous)
	w.OctetString(tlv.Context(1), m.PA[:])
	w.End()
	return finish(w, "Pake1")
}

// Append appends the TLV payload of m to b.
func (m Pake2) Append(b []byte) ([]byte, error) {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.Anonymous)
	w.OctetString(tlv.Context(1), m.PB[:])
	w.OctetString(tlv.Context(2), m.CB[:])
	w.End()
	return finish(w, "Pake2")
}

// Append appends the TLV payload of m to b.
func (m Pake3) Append(b []byte) ([]byte, error) {
	w := tlv.NewWriter(b)
	w.StartStruct(tlv.Anonymous)
	w.OctetString(tlv.Context(1), m.CA[:])
	w.End()
	return finish(w, "Pake3")
}

// --- decoding -------------------------------------------------------------------------------

var (
	requestNames  = map[uint8]string{1: "initiatorRandom", 2: "initiatorSessionId", 3: "passcodeId", 4: "hasPBKDFParameters", 5: "initiatorSessionParams"}
	responseNames = map[uint8]string{1: "initiatorRandom", 2: "responderRandom", 3: "responderSessionId", 4: "pbkdf_parameters", 5: "responderSessionParams"}
	pbkdfNames    = map[uint8]string{1: "iterations", 2: "salt"}
	pake1Names    = map[uint8]string{1: "pA"}
	pake2Names    = map[uint8]string{1: "pB", 2: "cB"}
	pake3Names    = map[uint8]string{1: "cA"}
)

// DecodePBKDFParamRequest decodes a PBKDFParamRequest payload strictly (§4.14.1.2).
func DecodePBKDFParamRequest(b []byte) (PBKDFParamRequest, error) {
	var m PBKDFParamRequest
	d := decoder{msg: "PBKDFParamRequest"}
	if err := d.open(b); err != nil {
		return m, err
	}
	err := d.fields("", 0, requestNames, []uint8{1, 2, 3, 4}, func(tag uint8, name string) error {
		var err error
		var v uint64
		switch tag {
		case 1:
			err = d.fixed(name, m.InitiatorRandom[:])
		case 2:
			v, err = d.uint(name, math.MaxUint16, secMessages)
			m.InitiatorSessionID = uint16(v)
		case 3:
			v, err = d.uint(name, math.MaxUint16, secMessages)
			m.PasscodeID = uint16(v)
		case 4:
			m.HasPBKDFParameters, err = d.bool(name)
		case 5:
			m.SessionParams, err = d.sessionParams(name)
		}
		return err
	})
	if err != nil {
		return PBKDFParamRequest{}, err
	}
	if err := d.close(); err != nil {
		return PBKDFParamRequest{}, err
	}
	return m, nil
}

// DecodePBKDFParamResponse decodes a PBKDFParamResponse payload strictly (§4.14.1.2). Whether
// pbkdf_parameters must be present depends on the request; the initiator checks that.
func DecodePBKDFParamResponse(b []byte) (PBKDFParamResponse, error) {
	var m PBKDFParamResponse
	d := decoder{msg: "PBKDFParamResponse"}
	if err := d.open(b); err != nil {
		return m, err
	}
	err := d.fields("", 0, responseNames, []uint8{1, 2, 3}, func(tag uint8, name string) error {
		var err error
		switch tag {
		case 1:
			err = d.fixed(name, m.InitiatorRandom[:])
		case 2:
			err = d.fixed(name, m.ResponderRandom[:])
		case 3:
			var v uint64
			v, err = d.uint(name, math.MaxUint16, secMessages)
			m.ResponderSessionID = uint16(v)
		case 4:
			m.PBKDF, err = d.pbkdfParams(name)
		case 5:
			m.SessionParams, err = d.sessionParams(name)
		}
		return err
	})
	if err != nil {
		return PBKDFParamResponse{}, err
	}
	if err := d.close(); err != nil {
		return PBKDFParamResponse{}, err
	}
	return m, nil
}

func (d *decoder) pbkdfParams(field string) (*PBKDFParameters, error) {
	start, err := d.enter(field)
	if err != nil {
		return nil, err
	}
	p := &PBKDFParameters{}
	err = d.fields(field, start, pbkdfNames, []uint8{1, 2}, func(tag uint8, name string) error {
		var err error
		switch tag {
		case 1:
			var v uint64
			v, err = d.uint(name, math.MaxUint32, secMessages)
			p.Iterations = uint32(v)
		case 2:
			p.Salt, err = d.octets(name, MinSaltLen, MaxSaltLen)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, d.exit(field)
}

func (d *decoder) sessionParams(field string) (*SessionParams, error) {
	start, err := d.enter(field)
	if err != nil {
		return nil, err
	}
	p := &SessionParams{}
	err = d.fields(field, start, sessionParamNames, nil, func(tag uint8, name string) error {
		max := uint64(math.MaxUint16)
		switch tag {
		case 1, 2, 6, 9:
			max = math.MaxUint32
		}
		v, err := d.uint(name, max, secParams)
		if err != nil {
			return err
		}
		switch tag {
		case 1:
			p.MRP.Idle = time.Duration(v) * time.Millisecond
		case 2:
			p.MRP.Active = time.Duration(v) * time.Millisecond
		case 3:
			p.MRP.ActiveThreshold = time.Duration(v) * time.Millisecond
		case 4:
			p.DataModelRevision = uint16(v)
		case 5:
			p.InteractionModelRevision = uint16(v)
		case 6:
			p.SpecificationVersion = uint32(v)
		case 7:
			p.MaxPathsPerInvoke = uint16(v)
		case 8:
			p.SupportedTransports = uint16(v)
		case 9:
			p.MaxTCPMessageSize = uint32(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, d.exit(field)
}

// DecodePake1 decodes a Pake1 payload strictly (§4.14.1.2).
func DecodePake1(b []byte) (Pake1, error) {
	var m Pake1
	err := decodeSimple(b, "Pake1", pake1Names, func(d *decoder, tag uint8, name string) error {
		return d.fixed(name, m.PA[:])
	})
	if err != nil {
		return Pake1{}, err
	}
	return m, nil
}

// DecodePake2 decodes a Pake2 payload strictly (§4.14.1.2).
func DecodePake2(b []byte) (Pake2, error) {
	var m Pake2
	err := decodeSimple(b, "Pake2", pake2Names, func(d *decoder, tag uint8, name string) error {
		if tag == 1 {
			return d.fixed(name, m.PB[:])
		}
		return d.fixed(name, m.CB[:])
	})
	if err != nil {
		return Pake2{}, err
	}
	return m, nil
}

// DecodePake3 decodes a Pake3 payload strictly (§4.14.1.2).
func DecodePake3(b []byte) (Pake3, error) {
	var m Pake3
	err := decodeSimple(b, "Pake3", pake3Names, func(d *decoder, tag uint8, name string) error {
		return d.fixed(name, m.CA[:])
	})
	if err != nil {
		return Pake3{}, err
	}
	return m, nil
}

// decodeSimple decodes a message whose fields are all mandatory.
func decodeSimple(b []byte, msg string, names map[uint8]string, fn func(d *decoder, tag uint8, name string) error) error {
	d := decoder{msg: msg}
	if err := d.open(b); err != nil {
		return err
	}
	required := make([]uint8, 0, len(names))
	for tag := uint8(1); int(tag) <= len(names); tag++ {
		required = append(required, tag)
	}
	if err := d.fields("", 0, names, required, func(tag uint8, name string) error { return fn(&d, tag, name) }); err != nil {
		return err
	}
	return d.close()
}
