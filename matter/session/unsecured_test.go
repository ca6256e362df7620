package session

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/message"
)

func loadHeaderVectors(t testing.TB) (request, response []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/message_header.json")
	require.NoError(t, err)
	var f struct {
		Vectors []struct {
			Hex string `json:"hex"`
		} `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	return unhex(t, f.Vectors[0].Hex), unhex(t, f.Vectors[1].Hex)
}

// ephemeralSource is a random source that makes NewUnsecuredInitiator pick node id id.
func ephemeralSource(id uint64) *bytes.Reader {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], id-1)
	return bytes.NewReader(b[:])
}

const vectorEphemeral = 5936706156730294398

func TestUnsecuredSessionReproducesThePBKDFExchangeBytes(t *testing.T) {
	request, response := loadHeaderVectors(t)
	reqMsg, err := message.DecodeMessage(request)
	require.NoError(t, err)
	respMsg, err := message.DecodeMessage(response)
	require.NoError(t, err)

	initiator, err := NewUnsecuredInitiator(ephemeralSource(vectorEphemeral), message.NewCounterAt(401755914, message.Rollover))
	require.NoError(t, err)
	assert.Equal(t, uint64(vectorEphemeral), initiator.EphemeralNodeID())
	wire, ctr, err := initiator.Seal(&reqMsg.Protocol, reqMsg.Payload)
	require.NoError(t, err)
	assert.Equal(t, uint32(401755914), ctr)
	assert.Equal(t, request, wire, "the initiator sends S + its ephemeral source node id")

	responder, err := NewUnsecuredResponder(vectorEphemeral, message.NewCounterAt(2031257377, message.Rollover))
	require.NoError(t, err)
	m, dup, err := responder.Open(request)
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Equal(t, reqMsg, m)

	wire, _, err = responder.Seal(&respMsg.Protocol, respMsg.Payload)
	require.NoError(t, err)
	assert.Equal(t, response, wire, "the responder echoes the ephemeral id as destination")

	m, dup, err = initiator.Open(response)
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Equal(t, respMsg, m)

	_, dup, err = initiator.Open(response)
	require.NoError(t, err)
	assert.True(t, dup, "the same counter again is a duplicate")
}

func TestUnsecuredOpenChecksTheAddressing(t *testing.T) {
	request, response := loadHeaderVectors(t)
	counter := message.NewCounterAt(1, message.Rollover)
	initiator, err := NewUnsecuredInitiator(ephemeralSource(vectorEphemeral), counter)
	require.NoError(t, err)
	stranger, err := NewUnsecuredInitiator(ephemeralSource(42), counter)
	require.NoError(t, err)
	otherPeer, err := NewUnsecuredResponder(43, counter)
	require.NoError(t, err)

	withPrivacy := append([]byte{}, request...)
	withPrivacy[3] |= 0x80
	withSession := append([]byte{}, request...)
	withSession[1] = 5

	cases := []struct {
		name string
		s    *Unsecured
		wire []byte
		err  error
	}{
		{"an initiator ignores a response for another ephemeral id", stranger, response, ErrNotForSession},
		{"an initiator ignores a message without a destination", initiator, request, ErrNotForSession},
		{"a responder ignores another initiator", otherPeer, request, ErrNotForSession},
		{"a responder ignores a message without source", otherPeer, response, ErrNotForSession},
		{"the privacy flag is unsupported without a key", otherPeer, withPrivacy, ErrUnsupported},
		{"a non-zero session id is not the unsecured session", otherPeer, withSession, ErrNotForSession},
		{"a truncated message is a decode error", initiator, response[:10], message.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := c.s.Open(c.wire)
			assert.ErrorIs(t, err, c.err)
			assert.Contains(t, err.Error(), "unsecured session")
		})
	}
}

func TestUnsecuredSessionsShareTheGlobalCounter(t *testing.T) {
	counter := message.NewCounterAt(10, message.Rollover)
	a, err := NewUnsecuredInitiator(ephemeralSource(1), counter)
	require.NoError(t, err)
	b, err := NewUnsecuredResponder(2, counter)
	require.NoError(t, err)
	_, c1, err := a.Seal(&message.ProtocolHeader{}, nil)
	require.NoError(t, err)
	_, c2, err := b.Seal(&message.ProtocolHeader{}, nil)
	require.NoError(t, err)
	assert.Equal(t, []uint32{10, 11}, []uint32{c1, c2})
}

func TestUnsecuredConstructorsNeedACounterAndRandomness(t *testing.T) {
	_, err := NewUnsecuredInitiator(ephemeralSource(1), nil)
	assert.ErrorContains(t, err, "nil global counter")
	_, err = NewUnsecuredResponder(1, nil)
	assert.ErrorContains(t, err, "nil global counter")
	_, err = NewUnsecuredInitiator(bytes.NewReader([]byte{1, 2}), message.NewCounterAt(1, message.Rollover))
	assert.ErrorContains(t, err, "ephemeral node id")
}

func TestEphemeralNodeIDsAreOperationalIDs(t *testing.T) {
	counter := message.NewCounterAt(1, message.Rollover)
	for _, raw := range []uint64{0, maxOperationalNodeID - 1, maxOperationalNodeID, 1<<64 - 1} {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], raw)
		u, err := NewUnsecuredInitiator(bytes.NewReader(b[:]), counter)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, u.EphemeralNodeID(), uint64(1))
		assert.LessOrEqual(t, u.EphemeralNodeID(), uint64(maxOperationalNodeID))
	}
}

func FuzzUnsecuredOpen(f *testing.F) {
	request, response := loadHeaderVectors(f)
	f.Add(request)
	f.Add(response)
	f.Fuzz(func(t *testing.T, p []byte) {
		counter := message.NewCounterAt(1, message.Rollover)
		init, err := NewUnsecuredInitiator(ephemeralSource(vectorEphemeral), counter)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := NewUnsecuredResponder(vectorEphemeral, counter)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*Unsecured{init, resp} {
			m, dup, err := s.Open(p)
			if err != nil {
				if errors.Is(err, ErrAuthentication) {
					t.Fatalf("the unsecured session never authenticates: %v", err)
				}
				continue
			}
			if dup {
				t.Fatalf("the first message of a fresh session is a duplicate")
			}
			// What Open accepts decodes identically on its own and re-encodes stably.
			direct, err := message.DecodeMessage(p)
			if err != nil {
				t.Fatalf("Open accepted what DecodeMessage rejects: %v", err)
			}
			enc, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, direct) {
				t.Fatalf("Open and DecodeMessage disagree: %+v vs %+v", m, direct)
			}
			again, err := message.DecodeMessage(enc)
			if err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if enc2, _ := again.Encode(); !bytes.Equal(enc, enc2) {
				t.Fatalf("decode→encode→decode unstable: %X vs %X", enc, enc2)
			}
			if s.Role() == Initiator && m.Header.DestNodeID != vectorEphemeral {
				t.Fatalf("initiator accepted destination %X", m.Header.DestNodeID)
			}
			if s.Role() == Responder && m.Header.SourceNodeID != vectorEphemeral {
				t.Fatalf("responder accepted source %X", m.Header.SourceNodeID)
			}
		}
	})
}
