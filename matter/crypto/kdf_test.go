package mcrypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type paseExchange struct {
	Passcode       uint32   `json:"passcode"`
	Iterations     int      `json:"iterations"`
	Salt           hexBytes `json:"salt"`
	W0sW1s         hexBytes `json:"w0s_w1s_pbkdf2_80"`
	W0             hexBytes `json:"w0"`
	W1             hexBytes `json:"w1"`
	L              hexBytes `json:"L"`
	Request        hexBytes `json:"pbkdf_param_request_payload"`
	Response       hexBytes `json:"pbkdf_param_response_payload"`
	ContextHash    hexBytes `json:"context_hash"`
	Y              hexBytes `json:"y"`
	XFromInitiator hexBytes `json:"X_from_initiator"`
	YPoint         hexBytes `json:"Y"`
	Z              hexBytes `json:"Z"`
	V              hexBytes `json:"V"`
	TT             hexBytes `json:"TT"`
	Ka             hexBytes `json:"Ka"`
	Ke             hexBytes `json:"Ke"`
	KcA            hexBytes `json:"KcA"`
	KcB            hexBytes `json:"KcB"`
	CA             hexBytes `json:"cA_expected_from_initiator"`
	CB             hexBytes `json:"cB"`
	I2R            hexBytes `json:"I2RKey"`
	R2I            hexBytes `json:"R2IKey"`
	Challenge      hexBytes `json:"AttestationChallenge"`
}

type paseFile struct {
	Exchanges   []paseExchange `json:"pase_exchanges"`
	ContextOnly struct {
		Request  hexBytes `json:"pbkdf_param_request_payload"`
		Response hexBytes `json:"pbkdf_param_response_payload"`
		Hash     hexBytes `json:"context_hash"`
	} `json:"context_hash_only"`
	RSMatter struct {
		Passcode   uint32   `json:"passcode"`
		Iterations int      `json:"iterations"`
		Salt       hexBytes `json:"salt"`
		W0sW1s     hexBytes `json:"w0s_w1s_80"`
	} `json:"pbkdf2_w0s_w1s"`
	CHIPDefault struct {
		Passcode   uint32   `json:"passcode"`
		Iterations int      `json:"iterations"`
		Salt       hexBytes `json:"salt"`
		W0         hexBytes `json:"w0"`
		L          hexBytes `json:"L"`
		W1         hexBytes `json:"w1_computed"`
		W0L        hexBytes `json:"verifier_w0_L_97"`
	} `json:"chip_default_test_device_verifier"`
}

func loadPASE(t testing.TB) paseFile {
	var f paseFile
	loadJSON(t, "vectors/matter_pase.json", &f)
	require.Len(t, f.Exchanges, 2)
	return f
}

var bigN, _ = new(big.Int).SetString("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)

// modN is the math/big oracle for reduceModN.
func modN(b []byte) []byte {
	return new(big.Int).Mod(new(big.Int).SetBytes(b), bigN).FillBytes(make([]byte, 32))
}

func TestPASEVerifierReproducesMatterVectors(t *testing.T) {
	f := loadPASE(t)
	type want struct{ w0, w1, L []byte }
	tests := []struct {
		name       string
		passcode   uint32
		salt       []byte
		iterations int
		want       want
	}{
		{"matter.js PASE run 1", f.Exchanges[0].Passcode, f.Exchanges[0].Salt, f.Exchanges[0].Iterations,
			want{f.Exchanges[0].W0, f.Exchanges[0].W1, f.Exchanges[0].L}},
		{"matter.js PASE run 2", f.Exchanges[1].Passcode, f.Exchanges[1].Salt, f.Exchanges[1].Iterations,
			want{f.Exchanges[1].W0, f.Exchanges[1].W1, f.Exchanges[1].L}},
		{"CHIP default test verifier (20202021, 'SPAKE2P Key Salt', 1000)", f.CHIPDefault.Passcode, f.CHIPDefault.Salt,
			f.CHIPDefault.Iterations, want{f.CHIPDefault.W0, f.CHIPDefault.W1, f.CHIPDefault.L}},
		{"rs-matter chip-tool run (123456, 2000 iterations)", f.RSMatter.Passcode, f.RSMatter.Salt, f.RSMatter.Iterations,
			want{modN(f.RSMatter.W0sW1s[:40]), modN(f.RSMatter.W0sW1s[40:]), nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w0, w1, L, err := PASEVerifier(tt.passcode, tt.salt, tt.iterations)
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(tt.want.w0), hex.EncodeToString(w0), "w0")
			assert.Equal(t, hex.EncodeToString(tt.want.w1), hex.EncodeToString(w1), "w1")
			if tt.want.L != nil {
				assert.Equal(t, hex.EncodeToString(tt.want.L), hex.EncodeToString(L), "L")
			}
			assert.Len(t, L, 65)
		})
	}
	// The CHIP verifier blob is w0 || L, as devices store it.
	w0, _, L, err := PASEVerifier(f.CHIPDefault.Passcode, f.CHIPDefault.Salt, f.CHIPDefault.Iterations)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(f.CHIPDefault.W0L), hex.EncodeToString(append(w0, L...)))
}

func TestPASEVerifierReducesThePBKDF2OutputModN(t *testing.T) {
	f := loadPASE(t)
	for _, ex := range f.Exchanges {
		require.Equal(t, hex.EncodeToString(ex.W0), hex.EncodeToString(modN(ex.W0sW1s[:40])))
		require.Equal(t, hex.EncodeToString(ex.W1), hex.EncodeToString(modN(ex.W0sW1s[40:])))
	}
}

func TestPASEVerifierRejectsOutOfRangeParameters(t *testing.T) {
	salt16 := bytes.Repeat([]byte{1}, 16)
	tests := []struct {
		name       string
		salt       []byte
		iterations int
		wantSub    string
	}{
		{"999 iterations", salt16, 999, "iterations 999 outside 1000..100000"},
		{"100001 iterations", salt16, 100001, "iterations 100001 outside 1000..100000"},
		{"a negative iteration count", salt16, -1, "iterations -1"},
		{"a 15-byte salt", salt16[:15], 1000, "salt is 15 bytes, want 16..32"},
		{"a 33-byte salt", bytes.Repeat([]byte{1}, 33), 1000, "salt is 33 bytes, want 16..32"},
		{"no salt", nil, 1000, "salt is 0 bytes"},
	}
	for _, tt := range tests {
		t.Run("it rejects "+tt.name, func(t *testing.T) {
			w0, w1, L, err := PASEVerifier(20202021, tt.salt, tt.iterations)
			require.ErrorContains(t, err, tt.wantSub)
			require.Nil(t, w0)
			require.Nil(t, w1)
			require.Nil(t, L)
		})
	}
	for _, ok := range []struct {
		salt int
		iter int
	}{{16, 1000}, {32, 1000}, {16, 100000}} {
		_, _, _, err := PASEVerifier(1, make([]byte, ok.salt), ok.iter)
		require.NoError(t, err, "salt %d iterations %d are the inclusive bounds", ok.salt, ok.iter)
	}
}

func TestPASEContextHashesThePBKDFParamPayloads(t *testing.T) {
	f := loadPASE(t)
	tests := []struct {
		name           string
		req, resp, sum []byte
	}{
		{"matter.js PASE run 1", f.Exchanges[0].Request, f.Exchanges[0].Response, f.Exchanges[0].ContextHash},
		{"matter.js PASE run 2", f.Exchanges[1].Request, f.Exchanges[1].Response, f.Exchanges[1].ContextHash},
		{"capture from connectedhomeip with session parameters", f.ContextOnly.Request, f.ContextOnly.Response, f.ContextOnly.Hash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, hex.EncodeToString(tt.sum), hex.EncodeToString(PASEContext(tt.req, tt.resp)))
		})
	}
}

func TestSessionKeysFromPASEKe(t *testing.T) {
	f := loadPASE(t)
	for i, ex := range f.Exchanges {
		ks, err := SessionKeys(ex.Ke, nil, SessionKeysInfo)
		require.NoError(t, err)
		assert.Equal(t, hex.EncodeToString(ex.I2R), hex.EncodeToString(ks.I2R[:]), "run %d I2R", i+1)
		assert.Equal(t, hex.EncodeToString(ex.R2I), hex.EncodeToString(ks.R2I[:]), "run %d R2I", i+1)
		assert.Equal(t, hex.EncodeToString(ex.Challenge), hex.EncodeToString(ks.AttestationChallenge[:]), "run %d challenge", i+1)
	}
}

type caseFile struct {
	Sigma2 struct {
		InitiatorRandom hexBytes `json:"initiator_random"`
		Sigma1          hexBytes `json:"sigma1_message_payload"`
		IPK             hexBytes `json:"ipk_operational"`
	} `json:"sigma2_responder_side"`
	Fabric struct {
		RootPubKey         hexBytes `json:"root_pubkey"`
		FabricID           uint64   `json:"fabric_id"`
		NodeID             uint64   `json:"responder_node_id"`
		EpochKey           hexBytes `json:"epoch_key"`
		CompressedFabricID hexBytes `json:"compressed_fabric_id"`
		IPK                hexBytes `json:"ipk_operational"`
		DestinationID      hexBytes `json:"destination_id"`
	} `json:"ipk_and_destination_id_computed"`
	Sigma3 struct {
		Sigma1    hexBytes `json:"sigma1_message_payload"`
		Sigma2    hexBytes `json:"sigma2_message_payload"`
		Sigma3    hexBytes `json:"sigma3_message_payload"`
		IPK       hexBytes `json:"ipk_operational"`
		Shared    hexBytes `json:"shared_secret"`
		Keys48    hexBytes `json:"session_keys_48_computed"`
		I2R       hexBytes `json:"I2RKey"`
		R2I       hexBytes `json:"R2IKey"`
		Challenge hexBytes `json:"AttestationChallenge"`
	} `json:"sigma3_and_session_keys"`
}

func loadCASE(t testing.TB) caseFile {
	var f caseFile
	loadJSON(t, "vectors/case_sigma.json", &f)
	return f
}

func TestSessionKeysFromCASESharedSecretAndTranscript(t *testing.T) {
	c := loadCASE(t).Sigma3
	require.NotEmpty(t, c.Sigma1)
	h := sha256.New()
	h.Write(c.Sigma1)
	h.Write(c.Sigma2)
	h.Write(c.Sigma3)
	salt := append(bytes.Clone(c.IPK), h.Sum(nil)...)
	ks, err := SessionKeys(c.Shared, salt, SessionKeysInfo)
	require.NoError(t, err)
	got := append(append(ks.I2R[:], ks.R2I[:]...), ks.AttestationChallenge[:]...)
	require.Equal(t, hex.EncodeToString(c.Keys48), hex.EncodeToString(got))
	require.Equal(t, hex.EncodeToString(c.I2R), hex.EncodeToString(ks.I2R[:]))
	require.Equal(t, hex.EncodeToString(c.R2I), hex.EncodeToString(ks.R2I[:]))
	require.Equal(t, hex.EncodeToString(c.Challenge), hex.EncodeToString(ks.AttestationChallenge[:]))
}

func TestSessionKeysRejectsAnEmptySecret(t *testing.T) {
	_, err := SessionKeys(nil, []byte("salt"), SessionKeysInfo)
	require.ErrorContains(t, err, "empty secret")
}

func TestFabricDerivationsReproduceTheCASEVectors(t *testing.T) {
	f := loadCASE(t)
	fab := f.Fabric

	cfid, err := CompressedFabricID(fab.RootPubKey, fab.FabricID)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(fab.CompressedFabricID), hex.EncodeToString(cfid[:]), "compressed fabric id")

	ipk, err := OperationalIPK(fab.EpochKey, cfid)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(fab.IPK), hex.EncodeToString(ipk[:]), "operational IPK")
	require.Equal(t, hex.EncodeToString(f.Sigma2.IPK), hex.EncodeToString(ipk[:]), "IPK used by Sigma2")

	dest, err := DestinationID(ipk[:], f.Sigma2.InitiatorRandom, fab.RootPubKey, fab.FabricID, fab.NodeID)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(fab.DestinationID), hex.EncodeToString(dest[:]), "destination id")
	// Sigma1 tag 3 (context-tagged 32-byte octet string) carries exactly this destination id.
	require.True(t, bytes.Contains(f.Sigma2.Sigma1, append([]byte{0x30, 0x03, 0x20}, dest[:]...)),
		"the recorded Sigma1 carries the computed destination id")
}

func TestOperationalIPKDerivesTheGroupKeyOfTheMatterGroupMessageVector(t *testing.T) {
	// The group message vector's encryption key is the operational key of its epoch key; the
	// derivation is the same "GroupKey v1.0" HKDF as the IPK.
	var f struct {
		Vectors []struct {
			Name               string
			Key                hexBytes
			EpochKey           hexBytes `json:"epochKey"`
			CompressedFabricID hexBytes `json:"compressedFabricId"`
		}
	}
	loadJSON(t, "vectors/message_encryption.json", &f)
	n := 0
	for _, v := range f.Vectors {
		if v.EpochKey == nil {
			continue
		}
		n++
		got, err := OperationalIPK(v.EpochKey, [8]byte(v.CompressedFabricID))
		require.NoError(t, err)
		require.Equal(t, hex.EncodeToString(v.Key), hex.EncodeToString(got[:]), v.Name)
	}
	require.Equal(t, 2, n)
}

func TestFabricDerivationsRejectMalformedInputs(t *testing.T) {
	f := loadCASE(t).Fabric
	offCurve := bytes.Clone(f.RootPubKey)
	offCurve[64] ^= 1
	compressed := append([]byte{0x02}, f.RootPubKey[1:33]...)
	tests := []struct {
		name    string
		call    func() error
		wantSub string
	}{
		{"a compressed root key for the compressed fabric id", func() error {
			_, err := CompressedFabricID(compressed, 1)
			return err
		}, "65-byte uncompressed"},
		{"an off-curve root key for the compressed fabric id", func() error {
			_, err := CompressedFabricID(offCurve, 1)
			return err
		}, "not a point on P-256"},
		{"a 15-byte epoch key", func() error {
			_, err := OperationalIPK(make([]byte, 15), [8]byte{})
			return err
		}, "epoch key is 15 bytes"},
		{"a 32-byte IPK for the destination id", func() error {
			_, err := DestinationID(make([]byte, 32), make([]byte, 32), f.RootPubKey, 1, 2)
			return err
		}, "IPK is 32 bytes"},
		{"a 16-byte initiator random", func() error {
			_, err := DestinationID(make([]byte, 16), make([]byte, 16), f.RootPubKey, 1, 2)
			return err
		}, "initiator random is 16 bytes"},
		{"an off-curve root key for the destination id", func() error {
			_, err := DestinationID(make([]byte, 16), make([]byte, 32), offCurve, 1, 2)
			return err
		}, "not a point on P-256"},
	}
	for _, tt := range tests {
		t.Run("it rejects "+tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.call(), tt.wantSub)
		})
	}
}

func BenchmarkPASEVerifier1000Iterations(b *testing.B) {
	salt := []byte("SPAKE2P Key Salt")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := PASEVerifier(20202021, salt, 1000); err != nil {
			b.Fatal(err)
		}
	}
}
