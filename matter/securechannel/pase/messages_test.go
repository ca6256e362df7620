package pase

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	mcrypto "github.com/otaconf/otaconf/matter/crypto"
	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/matter/session"
)

type paseVectors struct {
	Exchanges []struct {
		Source     string `json:"source"`
		Iterations uint32 `json:"iterations"`
		Salt       string `json:"salt"`
		Request    string `json:"pbkdf_param_request_payload"`
		Response   string `json:"pbkdf_param_response_payload"`
		Context    string `json:"context_hash"`
		X          string `json:"X_from_initiator"`
		Y          string `json:"Y"`
		CA         string `json:"cA_expected_from_initiator"`
		CB         string `json:"cB"`
	} `json:"pase_exchanges"`
	ContextOnly struct {
		Request  string `json:"pbkdf_param_request_payload"`
		Response string `json:"pbkdf_param_response_payload"`
		Context  string `json:"context_hash"`
	} `json:"context_hash_only"`
}

// Real PBKDFParamRequest/Response payloads (matter.js and CHIP runs) decode to what they carry and
// encode back to the same bytes, and the context hash over our encoding is the recorded one.
func TestRecordedPBKDFPayloadsDecodeAndEncodeByteExactly(t *testing.T) {
	var v paseVectors
	loadJSON(t, "matter_pase.json", &v)
	type pairVec struct{ name, req, resp, ctx, salt string }
	cases := []pairVec{{"context-only CHIP capture", v.ContextOnly.Request, v.ContextOnly.Response, v.ContextOnly.Context, ""}}
	for i, e := range v.Exchanges {
		cases = append(cases, pairVec{"matter.js exchange " + string(rune('1'+i)), e.Request, e.Response, e.Context, e.Salt})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reqBytes, respBytes := unhex(t, c.req), unhex(t, c.resp)
			req, err := DecodePBKDFParamRequest(reqBytes)
			require.NoError(t, err)
			resp, err := DecodePBKDFParamResponse(respBytes)
			require.NoError(t, err)

			assert.Equal(t, req.InitiatorRandom, resp.InitiatorRandom, "the response echoes the initiator random")
			assert.Zero(t, req.PasscodeID)
			assert.False(t, req.HasPBKDFParameters)
			assert.NotZero(t, req.InitiatorSessionID)
			assert.NotZero(t, resp.ResponderSessionID)
			require.NotNil(t, resp.PBKDF)
			assert.EqualValues(t, 1000, resp.PBKDF.Iterations)
			if c.salt != "" {
				assert.Equal(t, unhex(t, c.salt), resp.PBKDF.Salt)
			}
			require.NoError(t, checkResponse(&req, &resp))

			gotReq, err := req.Append(nil)
			require.NoError(t, err)
			assert.Equal(t, reqBytes, gotReq, "PBKDFParamRequest re-encodes byte for byte")
			gotResp, err := resp.Append(nil)
			require.NoError(t, err)
			assert.Equal(t, respBytes, gotResp, "PBKDFParamResponse re-encodes byte for byte")
			assert.Equal(t, unhex(t, c.ctx), mcrypto.PASEContext(gotReq, gotResp))
		})
	}
}

// The CHIP capture advertises SII 5000 ms and SAI 300 ms on both sides; they land in MRPParams.
func TestSessionParametersDecodeIntoMRPParams(t *testing.T) {
	var v paseVectors
	loadJSON(t, "matter_pase.json", &v)
	req, err := DecodePBKDFParamRequest(unhex(t, v.ContextOnly.Request))
	require.NoError(t, err)
	resp, err := DecodePBKDFParamResponse(unhex(t, v.ContextOnly.Response))
	require.NoError(t, err)
	want := &SessionParams{MRP: session.MRPParams{Idle: 5 * time.Second, Active: 300 * time.Millisecond}}
	assert.Equal(t, want, req.SessionParams)
	assert.Equal(t, want, resp.SessionParams)
	assert.Nil(t, (mustDecodeReq(t, unhex(t, v.Exchanges[0].Request))).SessionParams, "absent tag 5 stays absent")
}

func mustDecodeReq(t *testing.T, b []byte) PBKDFParamRequest {
	t.Helper()
	r, err := DecodePBKDFParamRequest(b)
	require.NoError(t, err)
	return r
}

// Whole PASE messages from matter.js's codec tests carry payloads this package decodes and re-encodes.
func TestRecordedUnsecuredMessagesCarryDecodablePASEPayloads(t *testing.T) {
	var v struct {
		Vectors []struct {
			Name string `json:"name"`
			Hex  string `json:"hex"`
		} `json:"vectors"`
	}
	loadJSON(t, "message_header.json", &v)
	seen := 0
	for _, vec := range v.Vectors {
		if vec.Hex == "" {
			continue
		}
		t.Run(vec.Name, func(t *testing.T) {
			m, err := message.DecodeMessage(unhex(t, vec.Hex))
			require.NoError(t, err)
			var reenc []byte
			switch {
			case m.Is(message.ProtocolSecureChannel, securechannel.OpPBKDFParamRequest):
				r, err := DecodePBKDFParamRequest(m.Payload)
				require.NoError(t, err)
				require.NotNil(t, r.SessionParams)
				reenc, err = r.Append(nil)
				require.NoError(t, err)
			case m.Is(message.ProtocolSecureChannel, securechannel.OpPBKDFParamResponse):
				r, err := DecodePBKDFParamResponse(m.Payload)
				require.NoError(t, err)
				reenc, err = r.Append(nil)
				require.NoError(t, err)
			default:
				t.Fatalf("unexpected opcode 0x%02X", m.Protocol.Opcode)
			}
			assert.Equal(t, m.Payload, reenc)
			seen++
		})
	}
	assert.Equal(t, 4, seen, "all four recorded messages were checked")
}

// Pake messages built from the recorded X, Y, cA and cB encode to the minimal TLV and back.
func TestPakeMessagesRoundTripTheRecordedValues(t *testing.T) {
	var v paseVectors
	loadJSON(t, "matter_pase.json", &v)
	e := v.Exchanges[0]
	var p1 Pake1
	copy(p1.PA[:], unhex(t, e.X))
	var p2 Pake2
	copy(p2.PB[:], unhex(t, e.Y))
	copy(p2.CB[:], unhex(t, e.CB))
	var p3 Pake3
	copy(p3.CA[:], unhex(t, e.CA))

	b1, err := p1.Append(nil)
	require.NoError(t, err)
	assert.Equal(t, append(append([]byte{0x15, 0x30, 0x01, 0x41}, p1.PA[:]...), 0x18), b1)
	b2, err := p2.Append(nil)
	require.NoError(t, err)
	want2 := append([]byte{0x15, 0x30, 0x01, 0x41}, p2.PB[:]...)
	want2 = append(append(want2, 0x30, 0x02, 0x20), p2.CB[:]...)
	assert.Equal(t, append(want2, 0x18), b2)
	b3, err := p3.Append(nil)
	require.NoError(t, err)
	assert.Equal(t, append(append([]byte{0x15, 0x30, 0x01, 0x20}, p3.CA[:]...), 0x18), b3)

	g1, err := DecodePake1(b1)
	require.NoError(t, err)
	assert.Equal(t, p1, g1)
	g2, err := DecodePake2(b2)
	require.NoError(t, err)
	assert.Equal(t, p2, g2)
	g3, err := DecodePake3(b3)
	require.NoError(t, err)
	assert.Equal(t, p3, g3)
}

// Every schema violation is a *DecodeError that names the message, the field, the byte offset and
// the rule.
func TestMalformedPayloadsAreRejectedNamingFieldAndOffset(t *testing.T) {
	random := bytes.Repeat([]byte{0xAB}, 32)
	reqWith := func(parts ...[]byte) []byte {
		b := []byte{0x15, 0x30, 0x01, 0x20}
		b = append(b, random...)
		for _, p := range parts {
			b = append(b, p...)
		}
		return append(b, 0x18)
	}
	sid, pid, has := []byte{0x24, 0x02, 0x07}, []byte{0x24, 0x03, 0x00}, []byte{0x28, 0x04}
	cases := []struct {
		name     string
		decode   func([]byte) error
		in       []byte
		sentinel error
		field    string
		offset   int
	}{
		{"an empty payload is malformed", decReq, nil, ErrMalformed, "", 0},
		{"a tagged outer structure is the wrong type", decReq, []byte{0x35, 0x01, 0x18}, ErrWrongType, "", 0},
		{"an outer array is the wrong type", decReq, []byte{0x16, 0x18}, ErrWrongType, "", 0},
		{"an unterminated structure is malformed", decReq, reqWith(sid, pid, has)[:41], ErrMalformed, "", 39},
		{"bytes after the structure are malformed", decReq, append(reqWith(sid, pid, has), 0x18), ErrMalformed, "", 45},
		{"a missing passcodeId is reported at the structure", decReq, reqWith(sid, has), ErrMissingField, "passcodeId", 0},
		{"a 31-byte initiatorRandom has the wrong length", decReq,
			append(append([]byte{0x15, 0x30, 0x01, 0x1F}, random[:31]...), append(append(append(sid, pid...), has...), 0x18)...), ErrLength, "initiatorRandom", 1},
		{"a signed session id is the wrong type", decReq, reqWith([]byte{0x20, 0x02, 0x07}, pid, has), ErrWrongType, "initiatorSessionId", 36},
		{"a session id over 16 bits is out of range", decReq, reqWith([]byte{0x26, 0x02, 0, 0, 1, 0}, pid, has), ErrOutOfRange, "initiatorSessionId", 36},
		{"hasPBKDFParameters as an integer is the wrong type", decReq, reqWith(sid, pid, []byte{0x24, 0x04, 0x00}), ErrWrongType, "hasPBKDFParameters", 42},
		{"a duplicated tag is rejected", decReq, reqWith(sid, sid, pid, has), ErrDuplicateField, "initiatorSessionId", 39},
		{"a session parameter that is not a structure is the wrong type", decReq, reqWith(sid, pid, has, []byte{0x24, 0x05, 0x01}), ErrWrongType, "initiatorSessionParams", 44},
		{"a SESSION_ACTIVE_THRESHOLD over 16 bits is out of range", decReq,
			reqWith(sid, pid, has, []byte{0x35, 0x05, 0x26, 0x03, 0, 0, 1, 0, 0x18}), ErrOutOfRange, "initiatorSessionParams.SESSION_ACTIVE_THRESHOLD", 46},
		{"a 15-byte salt has the wrong length", decResp, respWith(random, append(append([]byte{0x35, 0x04, 0x25, 0x01, 0xE8, 0x03, 0x30, 0x02, 0x0F}, make([]byte, 15)...), 0x18)),
			ErrLength, "pbkdf_parameters.salt", 80},
		{"pbkdf_parameters without iterations is reported at its structure", decResp, respWith(random, append(append([]byte{0x35, 0x04, 0x30, 0x02, 0x10}, make([]byte, 16)...), 0x18)),
			ErrMissingField, "pbkdf_parameters.iterations", 74},
		{"a response without responderSessionId is missing a field", decResp,
			append(append(append(append([]byte{0x15, 0x30, 0x01, 0x20}, random...), 0x30, 0x02, 0x20), random...), 0x18), ErrMissingField, "responderSessionId", 0},
		{"a 64-byte pA has the wrong length", decPake1, append(append([]byte{0x15, 0x30, 0x01, 0x40}, make([]byte, 64)...), 0x18), ErrLength, "pA", 1},
		{"Pake2 without cB is missing a field", decPake2, append(append([]byte{0x15, 0x30, 0x01, 0x41}, make([]byte, 65)...), 0x18), ErrMissingField, "cB", 0},
		{"cA as a UTF-8 string is the wrong type", decPake3, append(append([]byte{0x15, 0x2C, 0x01, 0x20}, bytes.Repeat([]byte{'a'}, 32)...), 0x18), ErrWrongType, "cA", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.decode(c.in)
			require.Error(t, err)
			de := asDecodeError(t, err)
			assert.ErrorIs(t, err, c.sentinel)
			assert.Equal(t, c.field, de.Field)
			assert.Equal(t, c.offset, de.Offset, "offset in %v", err)
			assert.Contains(t, err.Error(), "pase: "+de.Message)
			assert.Contains(t, err.Error(), "[")
		})
	}
}

func respWith(random []byte, pbkdf []byte) []byte {
	b := append([]byte{0x15, 0x30, 0x01, 0x20}, random...)
	b = append(append(b, 0x30, 0x02, 0x20), random...)
	b = append(b, 0x24, 0x03, 0x09)
	return append(append(b, pbkdf...), 0x18)
}

func decReq(b []byte) error   { _, err := DecodePBKDFParamRequest(b); return err }
func decResp(b []byte) error  { _, err := DecodePBKDFParamResponse(b); return err }
func decPake1(b []byte) error { _, err := DecodePake1(b); return err }
func decPake2(b []byte) error { _, err := DecodePake2(b); return err }
func decPake3(b []byte) error { _, err := DecodePake3(b); return err }

// Unknown context tags and profile tags are skipped (forward compatibility) and dropped on re-encoding;
// fields out of tag order are accepted and re-encoded in order.
func TestUnknownFieldsAreSkippedAndOrderIsNormalised(t *testing.T) {
	random := bytes.Repeat([]byte{0x11}, 32)
	in := []byte{0x15, 0x28, 0x04, 0x24, 0x03, 0x00, 0x24, 0x02, 0x07}
	in = append(in, 0x35, 0x09, 0x24, 0x01, 0x05, 0x18) // unknown tag 9: a structure
	in = append(in, 0x44, 0x34, 0x12, 0x01)             // implicit-profile tag 0x1234
	in = append(in, 0x30, 0x01, 0x20)
	in = append(in, random...)
	in = append(in, 0x35, 0x05, 0x24, 0x0C, 0x01, 0x25, 0x02, 0x2C, 0x01, 0x18, 0x18) // session params with unknown tag 12
	r, err := DecodePBKDFParamRequest(in)
	require.NoError(t, err)
	assert.EqualValues(t, 7, r.InitiatorSessionID)
	require.NotNil(t, r.SessionParams)
	assert.Equal(t, 300*time.Millisecond, r.SessionParams.MRP.Active)
	out, err := r.Append(nil)
	require.NoError(t, err)
	want := append(append([]byte{0x15, 0x30, 0x01, 0x20}, random...), 0x24, 0x02, 0x07, 0x24, 0x03, 0x00, 0x28, 0x04,
		0x35, 0x05, 0x25, 0x02, 0x2C, 0x01, 0x18, 0x18)
	assert.Equal(t, want, out)
}

// Every session parameter survives encode → decode, at minimal widths.
func TestAllSessionParametersRoundTrip(t *testing.T) {
	p := &SessionParams{
		MRP:               session.MRPParams{Idle: 4294967295 * time.Millisecond, Active: 300 * time.Millisecond, ActiveThreshold: 65535 * time.Millisecond},
		DataModelRevision: 17, InteractionModelRevision: 12, SpecificationVersion: 0x01040200,
		MaxPathsPerInvoke: 1, SupportedTransports: 3, MaxTCPMessageSize: 64000,
	}
	resp := PBKDFParamResponse{ResponderSessionID: 1, SessionParams: p}
	b, err := resp.Append(nil)
	require.NoError(t, err)
	got, err := DecodePBKDFParamResponse(b)
	require.NoError(t, err)
	assert.Equal(t, p, got.SessionParams)
}

// Values the wire cannot carry are refused when encoding, naming the field.
func TestEncodingRefusesWhatTheWireCannotCarry(t *testing.T) {
	_, err := PBKDFParamRequest{SessionParams: &SessionParams{MRP: session.MRPParams{ActiveThreshold: 70 * time.Second}}}.Append(nil)
	assert.ErrorContains(t, err, "SESSION_ACTIVE_THRESHOLD")
	_, err = PBKDFParamResponse{PBKDF: &PBKDFParameters{Iterations: 1000, Salt: make([]byte, 8)}}.Append(nil)
	assert.ErrorContains(t, err, "salt is 8 bytes")
}
