package session

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	mcrypto "github.com/otaconf/otaconf/matter/crypto"
	"github.com/otaconf/otaconf/matter/message"
)

type encVectors struct {
	Vectors []struct {
		Name       string `json:"name"`
		Key        string `json:"key"`
		PrivacyKey string `json:"privacyKey"`
		Plain      string `json:"plain"`
		Encrypted  string `json:"encrypted"`
		Privacy    string `json:"privacy"`
		Nonce      string `json:"nonce"`
		Payload    string `json:"payload"`
		SessionID  uint16 `json:"sessionId"`
		Counter    uint32 `json:"messageCounter"`
	} `json:"vectors"`
}

func loadVectors(t testing.TB) encVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/message_encryption.json")
	require.NoError(t, err)
	var v encVectors
	require.NoError(t, json.Unmarshal(b, &v))
	require.Len(t, v.Vectors, 5)
	return v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// counterStart is a random source that makes message.NewCounter start at exactly start.
func counterStart(start uint32) *bytes.Reader {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], start-1)
	return bytes.NewReader(b[:])
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }

// pair returns the two ends of one secure session.
func pair(t testing.TB, initNode, respNode uint64) (initiator, responder *Secure) {
	t.Helper()
	var err error
	initiator, err = NewSecure(SecureConfig{LocalSessionID: 11, PeerSessionID: 22, Role: Initiator,
		I2RKey: key(1), R2IKey: key(2), LocalNodeID: initNode, PeerNodeID: respNode, Rand: counterStart(1000)})
	require.NoError(t, err)
	responder, err = NewSecure(SecureConfig{LocalSessionID: 22, PeerSessionID: 11, Role: Responder,
		I2RKey: key(1), R2IKey: key(2), LocalNodeID: respNode, PeerNodeID: initNode, Rand: counterStart(5000)})
	require.NoError(t, err)
	return initiator, responder
}

func TestSecureMessageVectorsSealAndOpenToTheExactBytes(t *testing.T) {
	v := loadVectors(t)
	for _, i := range []int{0, 1} {
		vec := v.Vectors[i]
		t.Run(vec.Name, func(t *testing.T) {
			plain := unhex(t, vec.Plain)
			want := unhex(t, vec.Encrypted)
			pm, err := message.DecodeMessage(plain)
			require.NoError(t, err)

			// The sender is the PASE initiator (node id 0 in the nonce) that addresses session 3000.
			sender, err := NewSecure(SecureConfig{LocalSessionID: 1, PeerSessionID: vec.SessionID, Role: Initiator,
				I2RKey: unhex(t, vec.Key), R2IKey: key(9), Rand: counterStart(vec.Counter)})
			require.NoError(t, err)
			wire, ctr, err := sender.Seal(&pm.Protocol, pm.Payload)
			require.NoError(t, err)
			assert.Equal(t, vec.Counter, ctr)
			assert.Equal(t, want, wire)

			receiver, err := NewSecure(SecureConfig{LocalSessionID: vec.SessionID, PeerSessionID: 1, Role: Responder,
				I2RKey: unhex(t, vec.Key), R2IKey: key(9)})
			require.NoError(t, err)
			got, dup, err := receiver.Open(want)
			require.NoError(t, err)
			assert.False(t, dup)
			assert.Equal(t, pm.Header, got.Header)
			assert.Equal(t, pm.Protocol, got.Protocol)
			assert.Equal(t, unhex(t, vec.Payload), append([]byte{}, got.Payload...))
		})
	}
}

func TestNonceIsFlagsCounterAndSourceNode(t *testing.T) {
	v := loadVectors(t)
	for _, vec := range v.Vectors {
		wire := unhex(t, vec.Encrypted)
		h, _, err := message.DecodeHeader(wire)
		require.NoError(t, err)
		n := Nonce(wire[3], h.Counter, h.SourceNodeID) // PASE: no source, so 0
		assert.Equal(t, unhex(t, vec.Nonce), n[:], vec.Name)
	}
}

// openManually decrypts a secured message with the exported building blocks, the way a group
// session (not implemented here) would: nonce from the header's own source node id.
func openManually(t *testing.T, k []byte, wire []byte) []byte {
	t.Helper()
	aead, err := mcrypto.NewCCM(k)
	require.NoError(t, err)
	h, n, err := message.DecodeHeader(wire)
	require.NoError(t, err)
	nonce := Nonce(wire[3], h.Counter, h.SourceNodeID)
	plain, err := aead.Open(nil, nonce[:], wire[n:], wire[:n])
	require.NoError(t, err)
	return append(append([]byte{}, wire[:n]...), plain...)
}

func TestPrivacyAndGroupVectorsDecryptWithTheExportedParts(t *testing.T) {
	v := loadVectors(t)
	cases := []struct {
		name       string
		index      int
		privacyKey func() []byte
	}{
		{"a PASE message with the privacy flag (CHIP test-mode privacy key = encryption key)", 2, func() []byte { return unhex(t, v.Vectors[2].Key) }},
		{"a group message without privacy", 3, nil},
		{"a private group message", 4, func() []byte { return unhex(t, v.Vectors[4].PrivacyKey) }},
	}
	for _, c := range cases {
		vec := v.Vectors[c.index]
		t.Run(c.name, func(t *testing.T) {
			wire := unhex(t, vec.Encrypted)
			if c.privacyKey != nil {
				clear, err := message.Deobfuscate(c.privacyKey(), unhex(t, vec.Privacy))
				require.NoError(t, err)
				require.Equal(t, wire, clear)
			}
			assert.Equal(t, unhex(t, vec.Plain), openManually(t, unhex(t, vec.Key), wire))
		})
	}
}

func TestSecureSessionDropsGroupMessages(t *testing.T) {
	v := loadVectors(t)
	s, err := NewSecure(SecureConfig{LocalSessionID: v.Vectors[3].SessionID, PeerSessionID: 1, Role: Responder,
		I2RKey: unhex(t, v.Vectors[3].Key), R2IKey: key(1)})
	require.NoError(t, err)
	_, _, err = s.Open(unhex(t, v.Vectors[3].Encrypted))
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestSecureSessionRemovesPrivacyObfuscationWithTheDerivedKey(t *testing.T) {
	// Build a message with the P flag by hand (Seal never sets it) and obfuscate it with
	// HKDF(I2RKey, "PrivacyKey"): the responder must restore and authenticate it.
	_, responder := pair(t, 0, 0)
	h := message.Header{SessionID: 22, Privacy: true, Counter: 4242}
	hdr, err := h.Encode()
	require.NoError(t, err)
	ph := message.ProtocolHeader{Initiator: true, Reliable: true, Opcode: 8, ExchangeID: 3, ProtocolID: message.ProtocolIM}
	plain, err := ph.Encode()
	require.NoError(t, err)
	plain = append(plain, "hello"...)
	aead, err := mcrypto.NewCCM(key(1))
	require.NoError(t, err)
	nonce := Nonce(hdr[3], 4242, 0)
	wire := aead.Seal(append([]byte{}, hdr...), nonce[:], plain, hdr)
	pk, err := message.DerivePrivacyKey(key(1))
	require.NoError(t, err)
	obf, err := message.Obfuscate(pk, wire)
	require.NoError(t, err)
	require.NotEqual(t, wire, obf)

	m, dup, err := responder.Open(obf)
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Equal(t, uint32(4242), m.Header.Counter)
	assert.True(t, m.Header.Privacy)
	assert.Equal(t, "hello", string(m.Payload))

	_, _, err = responder.Open(wire)
	assert.ErrorIs(t, err, ErrAuthentication, "the same message without obfuscation no longer authenticates")
}

func TestSecurePairExchangesMessagesBothWays(t *testing.T) {
	cases := []struct {
		name               string
		initNode, respNode uint64
	}{
		{"a PASE session uses node id 0 in both nonces", 0, 0},
		{"a CASE session uses each sender's operational node id", 0x1111, 0x2222},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			initiator, responder := pair(t, c.initNode, c.respNode)
			req := message.ProtocolHeader{Initiator: true, Reliable: true, Opcode: message.OpIMInvokeRequest, ExchangeID: 77, ProtocolID: message.ProtocolIM}
			wire, ctr, err := initiator.Seal(&req, []byte("request"))
			require.NoError(t, err)
			assert.Equal(t, uint32(1000), ctr)
			h, _, err := message.DecodeHeader(wire)
			require.NoError(t, err)
			assert.Equal(t, uint16(22), h.SessionID, "the header carries the peer's session id")
			assert.False(t, h.HasSource, "unicast sessions imply the node ids")
			assert.NotContains(t, string(wire), "request", "the payload is encrypted")

			m, dup, err := responder.Open(wire)
			require.NoError(t, err)
			assert.False(t, dup)
			assert.Equal(t, req, m.Protocol)
			assert.Equal(t, "request", string(m.Payload))

			resp := message.ProtocolHeader{Reliable: true, HasAck: true, AckCounter: ctr, Opcode: message.OpIMInvokeResponse, ExchangeID: 77, ProtocolID: message.ProtocolIM}
			wire2, ctr2, err := responder.Seal(&resp, []byte("response"))
			require.NoError(t, err)
			assert.Equal(t, uint32(5000), ctr2)
			m2, _, err := initiator.Open(wire2)
			require.NoError(t, err)
			assert.Equal(t, resp, m2.Protocol)
			assert.Equal(t, "response", string(m2.Payload))

			_, _, err = initiator.Open(wire)
			assert.ErrorIs(t, err, ErrNotForSession, "a node cannot open its own message: wrong session id")
		})
	}
}

func TestWrongNodeIDInTheNonceFailsAuthentication(t *testing.T) {
	initiator, _ := pair(t, 0x1111, 0x2222)
	// This responder believes the initiator is node 0x9999.
	responder, err := NewSecure(SecureConfig{LocalSessionID: 22, PeerSessionID: 11, Role: Responder,
		I2RKey: key(1), R2IKey: key(2), LocalNodeID: 0x2222, PeerNodeID: 0x9999})
	require.NoError(t, err)
	wire, _, err := initiator.Seal(&message.ProtocolHeader{Opcode: 1}, nil)
	require.NoError(t, err)
	_, _, err = responder.Open(wire)
	assert.ErrorIs(t, err, ErrAuthentication)
	assert.ErrorIs(t, err, mcrypto.ErrOpen, "the cipher's own error stays in the chain")
}

func TestSecureOpenReportsDuplicatesButStillDecodesThem(t *testing.T) {
	initiator, responder := pair(t, 0, 0)
	wire, _, err := initiator.Seal(&message.ProtocolHeader{Reliable: true, Opcode: 1}, []byte("x"))
	require.NoError(t, err)
	_, dup, err := responder.Open(wire)
	require.NoError(t, err)
	require.False(t, dup)
	m, dup, err := responder.Open(wire)
	require.NoError(t, err)
	assert.True(t, dup)
	assert.True(t, m.Protocol.Reliable, "the duplicate's header is available so that MRP can ack it")
}

func TestSecureOpenRejectsEveryTamperedByte(t *testing.T) {
	initiator, responder := pair(t, 0, 0)
	wire, _, err := initiator.Seal(&message.ProtocolHeader{Reliable: true, Opcode: 1, ExchangeID: 5}, []byte("payload"))
	require.NoError(t, err)
	for i := range wire {
		for _, bit := range []byte{0x01, 0x80} {
			bad := append([]byte{}, wire...)
			bad[i] ^= bit
			_, _, err := responder.Open(bad)
			require.Error(t, err, "byte %d bit %02x", i, bit)
		}
	}
	for n := range len(wire) {
		_, _, err := responder.Open(wire[:n])
		require.Error(t, err, "truncated to %d bytes", n)
	}
	_, _, err = responder.Open(wire)
	require.NoError(t, err, "the untouched message still opens: the failures above did not advance the window")
}

func TestSealRefusesAPlaintextCCMCannotCarry(t *testing.T) {
	initiator, _ := pair(t, 0, 0)
	_, _, err := initiator.Seal(&message.ProtocolHeader{}, make([]byte, 0xFFFF))
	assert.ErrorIs(t, err, ErrTooLarge)
}

func TestNewSecureValidatesItsConfig(t *testing.T) {
	gcm12 := func(k []byte) (cipher.AEAD, error) {
		b, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	}
	base := SecureConfig{LocalSessionID: 1, PeerSessionID: 2, I2RKey: key(1), R2IKey: key(2)}
	cases := []struct {
		name   string
		mutate func(*SecureConfig)
		msg    string
	}{
		{"a local session id of 0", func(c *SecureConfig) { c.LocalSessionID = 0 }, "0 is the unsecured session"},
		{"a peer session id of 0", func(c *SecureConfig) { c.PeerSessionID = 0 }, "0 is the unsecured session"},
		{"a short I2R key", func(c *SecureConfig) { c.I2RKey = key(1)[:15] }, "I2RKey is 15 bytes"},
		{"a missing R2I key", func(c *SecureConfig) { c.R2IKey = nil }, "R2IKey is 0 bytes"},
		{"an AEAD with a 12-byte nonce", func(c *SecureConfig) { c.NewAEAD = gcm12 }, "12-byte nonce"},
		{"an unknown role", func(c *SecureConfig) { c.Role = 7 }, "unknown role"},
		{"a failing random source", func(c *SecureConfig) { c.Rand = bytes.NewReader(nil) }, "random start"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			c.mutate(&cfg)
			_, err := NewSecure(cfg)
			assert.ErrorContains(t, err, c.msg)
		})
	}
}

func TestSecureSessionWorksWithAnyThirteenByteAEAD(t *testing.T) {
	// The session layer depends on cipher.AEAD only; GCM with a 13-byte nonce stands in for CCM.
	gcm13 := func(k []byte) (cipher.AEAD, error) {
		b, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCMWithNonceSize(b, 13)
	}
	a, err := NewSecure(SecureConfig{LocalSessionID: 1, PeerSessionID: 2, Role: Initiator, I2RKey: key(1), R2IKey: key(2), NewAEAD: gcm13})
	require.NoError(t, err)
	b, err := NewSecure(SecureConfig{LocalSessionID: 2, PeerSessionID: 1, Role: Responder, I2RKey: key(1), R2IKey: key(2), NewAEAD: gcm13})
	require.NoError(t, err)
	wire, _, err := a.Seal(&message.ProtocolHeader{Opcode: 3}, []byte("gcm"))
	require.NoError(t, err)
	m, _, err := b.Open(wire)
	require.NoError(t, err)
	assert.Equal(t, "gcm", string(m.Payload))
}

func TestMRPParamsDefaults(t *testing.T) {
	assert.Equal(t, MRPParams{Idle: 500 * time.Millisecond, Active: 300 * time.Millisecond, ActiveThreshold: 4 * time.Second}, DefaultMRPParams())
	p := MRPParams{Active: time.Second}.WithDefaults()
	assert.Equal(t, MRPParams{Idle: 500 * time.Millisecond, Active: time.Second, ActiveThreshold: 4 * time.Second}, p)
	initiator, _ := pair(t, 0, 0)
	assert.Equal(t, DefaultMRPParams(), initiator.PeerMRP())
	initiator.SetPeerMRP(MRPParams{Idle: 5 * time.Second})
	assert.Equal(t, 5*time.Second, initiator.PeerMRP().Idle)
}

func FuzzSecureOpen(f *testing.F) {
	initiator, responder := pair(f, 0x10, 0x20)
	sealed := map[string]bool{}
	for _, payload := range []string{"", "a", "hello world", string(make([]byte, 300))} {
		wire, _, err := initiator.Seal(&message.ProtocolHeader{Initiator: true, Reliable: true, Opcode: 8, ExchangeID: 1, ProtocolID: message.ProtocolIM}, []byte(payload))
		require.NoError(f, err)
		sealed[string(wire)] = true
		f.Add(wire)
	}
	for _, vec := range loadVectors(f).Vectors {
		f.Add(unhex(f, vec.Encrypted))
		if vec.Privacy != "" {
			f.Add(unhex(f, vec.Privacy))
		}
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		in := append([]byte{}, p...)
		m, _, err := responder.Open(p)
		if !bytes.Equal(in, p) {
			t.Fatalf("Open modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrAuthentication) && !errors.Is(err, ErrNotForSession) && !errors.Is(err, ErrUnsupported) &&
				!errors.Is(err, message.ErrTruncated) && !errors.Is(err, message.ErrReserved) && !errors.Is(err, message.ErrUnsupportedVersion) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		// Only messages the initiator really sealed authenticate.
		if !sealed[string(p)] {
			t.Fatalf("forged message authenticated: %X", p)
		}
		enc, err := m.Protocol.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := message.DecodeProtocolHeader(enc)
		if err != nil || again.Opcode != m.Protocol.Opcode {
			t.Fatalf("decrypted protocol header does not round-trip: %v", err)
		}
	})
}

func BenchmarkSecureSeal100(b *testing.B) {
	initiator, _ := pair(b, 0, 0)
	ph := message.ProtocolHeader{Initiator: true, Reliable: true, Opcode: 8, ExchangeID: 1, ProtocolID: message.ProtocolIM}
	payload := make([]byte, 100)
	b.ReportAllocs()
	b.SetBytes(100)
	for b.Loop() {
		if _, _, err := initiator.Seal(&ph, payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSecureOpen100(b *testing.B) {
	initiator, responder := pair(b, 0, 0)
	ph := message.ProtocolHeader{Initiator: true, Reliable: true, Opcode: 8, ExchangeID: 1, ProtocolID: message.ProtocolIM}
	wire, _, err := initiator.Seal(&ph, make([]byte, 100))
	require.NoError(b, err)
	b.ReportAllocs()
	b.SetBytes(100)
	for b.Loop() {
		// After the first iteration the message is a duplicate; Open does the same work.
		if _, _, err := responder.Open(wire); err != nil {
			b.Fatal(err)
		}
	}
}
