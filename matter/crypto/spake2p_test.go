package mcrypto

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"filippo.io/nistec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type spakeVector struct {
	Context    string   `json:"context_string"`
	IDProver   string   `json:"idProver"`
	IDVerifier string   `json:"idVerifier"`
	W0         hexBytes `json:"w0"`
	W1         hexBytes `json:"w1"`
	L          hexBytes `json:"L"`
	X          hexBytes `json:"x"`
	XPoint     hexBytes `json:"X"`
	Y          hexBytes `json:"y"`
	YPoint     hexBytes `json:"Y"`
	Z          hexBytes `json:"Z"`
	V          hexBytes `json:"V"`
	TT         hexBytes `json:"TT"`
	Ka         hexBytes `json:"Ka"`
	Ke         hexBytes `json:"Ke"`
	KcA        hexBytes `json:"KcA"`
	KcB        hexBytes `json:"KcB"`
	CA         hexBytes `json:"cA_MAC_KcA"`
	CB         hexBytes `json:"cB_MAC_KcB"`
}

type spakeFile struct {
	M, N    hexBytes
	Vectors []spakeVector
}

func loadSPAKE(t testing.TB) spakeFile {
	var f spakeFile
	loadJSON(t, "vectors/spake2plus_p256_draft01.json", &f)
	require.Len(t, f.Vectors, 4)
	return f
}

func assertHex(t *testing.T, want, got []byte, field string) {
	t.Helper()
	assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), field)
}

func TestSPAKE2PlusConstantsAreTheDraft01Points(t *testing.T) {
	f := loadSPAKE(t)
	require.Equal(t, hex.EncodeToString(f.M), hex.EncodeToString(spakeM))
	require.Equal(t, hex.EncodeToString(f.N), hex.EncodeToString(spakeN))
}

func TestSPAKE2PlusReproducesEveryDraft01Intermediate(t *testing.T) {
	f := loadSPAKE(t)
	for i, v := range f.Vectors {
		t.Run("vector "+string(rune('1'+i))+" idProver="+v.IDProver+" idVerifier="+v.IDVerifier, func(t *testing.T) {
			ctx, idP, idV := []byte(v.Context), []byte(v.IDProver), []byte(v.IDVerifier)
			p, err := NewProverWithScalar(ctx, idP, idV, v.W0, v.W1, v.X)
			require.NoError(t, err)
			assertHex(t, v.XPoint, p.Share(), "X")

			ver, err := NewVerifierWithScalar(ctx, idP, idV, v.W0, v.L, v.Y)
			require.NoError(t, err)
			vs, err := ver.share(p.Share())
			require.NoError(t, err)

			ps, err := p.finish(vs.Y, vs.cB)
			require.NoError(t, err)

			for side, s := range map[string]*keySchedule{"verifier": vs, "prover": ps} {
				t.Run(side, func(t *testing.T) {
					assertHex(t, v.YPoint, s.Y, "Y")
					assertHex(t, v.Z, s.Z, "Z")
					assertHex(t, v.V, s.V, "V")
					assertHex(t, v.TT, s.TT, "TT")
					assertHex(t, v.Ka, s.Ka, "Ka")
					assertHex(t, v.Ke, s.Ke, "Ke")
					assertHex(t, v.KcA, s.KcA, "KcA")
					assertHex(t, v.KcB, s.KcB, "KcB")
					assertHex(t, v.CA, s.cA, "cA")
					assertHex(t, v.CB, s.cB, "cB")
				})
			}

			ke, err := ver.Confirm(v.CA)
			require.NoError(t, err)
			assertHex(t, v.Ke, ke, "Ke from Confirm")
		})
	}
}

func TestSPAKE2PlusProverFinishReturnsCAAndKe(t *testing.T) {
	v := loadSPAKE(t).Vectors[0]
	p, err := NewProverWithScalar([]byte(v.Context), []byte(v.IDProver), []byte(v.IDVerifier), v.W0, v.W1, v.X)
	require.NoError(t, err)
	cA, ke, err := p.Finish(v.YPoint, v.CB)
	require.NoError(t, err)
	assertHex(t, v.CA, cA, "cA")
	assertHex(t, v.Ke, ke, "Ke")
}

// The whole PASE chain of a real commissioning, device side: passcode → w0/L, PBKDFParam payloads →
// context, the initiator's X → Y, Z, V, TT, keys, cB; the initiator's cA confirms; Ke → session keys.
func TestPASEFromPasscodeToSessionKeysMatchesMatterJSRuns(t *testing.T) {
	f := loadPASE(t)
	for i, ex := range f.Exchanges {
		t.Run("matter.js PASE run "+string(rune('1'+i)), func(t *testing.T) {
			w0, _, L, err := PASEVerifier(ex.Passcode, ex.Salt, ex.Iterations)
			require.NoError(t, err)
			ctx := PASEContext(ex.Request, ex.Response)

			ver, err := NewVerifierWithScalar(ctx, nil, nil, w0, L, ex.Y)
			require.NoError(t, err)
			s, err := ver.share(ex.XFromInitiator)
			require.NoError(t, err)
			assertHex(t, ex.YPoint, s.Y, "Y")
			assertHex(t, ex.Z, s.Z, "Z")
			assertHex(t, ex.V, s.V, "V")
			assertHex(t, ex.TT, s.TT, "TT")
			assertHex(t, ex.Ka, s.Ka, "Ka")
			assertHex(t, ex.Ke, s.Ke, "Ke")
			assertHex(t, ex.KcA, s.KcA, "KcA")
			assertHex(t, ex.KcB, s.KcB, "KcB")
			assertHex(t, ex.CB, s.cB, "cB")

			ke, err := ver.Confirm(ex.CA)
			require.NoError(t, err)
			ks, err := SessionKeys(ke, nil, SessionKeysInfo)
			require.NoError(t, err)
			assertHex(t, ex.I2R, ks.I2R[:], "I2R")
			assertHex(t, ex.R2I, ks.R2I[:], "R2I")
			assertHex(t, ex.Challenge, ks.AttestationChallenge[:], "AttestationChallenge")
		})
	}
}

func chacha(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// exchange runs a full Matter PASE SPAKE2+ exchange in memory.
func exchange(t testing.TB, proverPasscode, devicePasscode uint32, seed byte) (proverKe, verifierKe []byte, err error) {
	salt := []byte("SPAKE2P Key Salt")
	ctx := PASEContext([]byte("request"), []byte("response"))
	w0, w1, _, err := PASEVerifier(proverPasscode, salt, 1000)
	require.NoError(t, err)
	dw0, _, dL, err := PASEVerifier(devicePasscode, salt, 1000)
	require.NoError(t, err)

	p, err := NewProver(ctx, w0, w1, chacha(seed))
	require.NoError(t, err)
	v, err := NewVerifier(ctx, dw0, dL, chacha(seed+1))
	require.NoError(t, err)
	Y, cB, err := v.Share(p.Share())
	require.NoError(t, err)
	cA, proverKe, err := p.Finish(Y, cB)
	if err != nil {
		return nil, nil, err
	}
	verifierKe, err = v.Confirm(cA)
	return proverKe, verifierKe, err
}

func TestSPAKE2PlusExchangeAgreesOnKeWithTheSamePasscode(t *testing.T) {
	pk, vk, err := exchange(t, 20202021, 20202021, 1)
	require.NoError(t, err)
	require.Len(t, pk, 16)
	require.Equal(t, pk, vk)
}

func TestSPAKE2PlusProverRejectsADeviceWithAnotherPasscode(t *testing.T) {
	_, _, err := exchange(t, 20202021, 20202022, 3)
	require.ErrorIs(t, err, ErrConfirmation)
}

func TestSPAKE2PlusRandomSharesDifferPerExchange(t *testing.T) {
	ctx := []byte("ctx")
	v := loadSPAKE(t).Vectors[0]
	p1, err := NewProver(ctx, v.W0, v.W1, chacha(1))
	require.NoError(t, err)
	p2, err := NewProver(ctx, v.W0, v.W1, chacha(2))
	require.NoError(t, err)
	require.NotEqual(t, p1.Share(), p2.Share())
	_, err = NewProver(ctx, v.W0, v.W1, zeroReader{})
	require.ErrorIs(t, err, errZeroScalar)
	_, err = NewVerifier(ctx, v.W0, v.L, zeroReader{})
	require.ErrorIs(t, err, errZeroScalar)
}

// pointBytes returns k·P for a scalar k and the SEC1 point P.
func pointBytes(t testing.TB, k, p []byte) []byte {
	pt, err := nistec.NewP256Point().SetBytes(p)
	require.NoError(t, err)
	_, err = pt.ScalarMult(pt, k)
	require.NoError(t, err)
	return pt.Bytes()
}

func TestSPAKE2PlusProverRejectsBadPake2(t *testing.T) {
	v := loadSPAKE(t).Vectors[0]
	offCurve := bytes.Clone(v.YPoint)
	offCurve[64] ^= 1
	badCB := bytes.Clone(v.CB)
	badCB[0] ^= 1
	tests := []struct {
		name    string
		Y, cB   []byte
		wantErr error
		wantSub string
	}{
		{"a cB that does not match", v.YPoint, badCB, ErrConfirmation, ""},
		{"a 31-byte cB", v.YPoint, v.CB[:31], nil, "cB is 31 bytes"},
		{"a Y off the curve", offCurve, v.CB, nil, "not a point on P-256"},
		{"a compressed Y", append([]byte{0x02 | v.YPoint[64]&1}, v.YPoint[1:33]...), v.CB, nil, "65-byte uncompressed"},
		{"the identity encoding as Y", []byte{0x00}, v.CB, nil, "65-byte uncompressed"},
		{"an empty Y", nil, v.CB, nil, "0 bytes"},
		{"Y = w0·N, which unblinds to the identity", pointBytes(t, v.W0, spakeN), v.CB, nil, "identity after unblinding"},
	}
	for _, tt := range tests {
		t.Run("it rejects "+tt.name, func(t *testing.T) {
			p, err := NewProverWithScalar([]byte(v.Context), []byte(v.IDProver), []byte(v.IDVerifier), v.W0, v.W1, v.X)
			require.NoError(t, err)
			cA, ke, err := p.Finish(tt.Y, tt.cB)
			require.Error(t, err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.ErrorContains(t, err, tt.wantSub)
			require.Nil(t, cA)
			require.Nil(t, ke)
			_, _, err = p.Finish(v.YPoint, v.CB)
			require.ErrorIs(t, err, errSpent, "a failed Finish spends the prover")
		})
	}
}

func TestSPAKE2PlusVerifierRejectsBadPake1AndPake3(t *testing.T) {
	v := loadSPAKE(t).Vectors[0]
	newV := func(t *testing.T) *Verifier {
		ver, err := NewVerifierWithScalar([]byte(v.Context), []byte(v.IDProver), []byte(v.IDVerifier), v.W0, v.L, v.Y)
		require.NoError(t, err)
		return ver
	}
	offCurve := bytes.Clone(v.XPoint)
	offCurve[33] ^= 1
	for _, tt := range []struct {
		name    string
		X       []byte
		wantSub string
	}{
		{"an X off the curve", offCurve, "not a point on P-256"},
		{"X = w0·M, which unblinds to the identity", pointBytes(t, v.W0, spakeM), "identity after unblinding"},
		{"a 64-byte X", v.XPoint[1:], "64 bytes"},
	} {
		t.Run("it rejects "+tt.name, func(t *testing.T) {
			ver := newV(t)
			Y, cB, err := ver.Share(tt.X)
			require.ErrorContains(t, err, tt.wantSub)
			require.Nil(t, Y)
			require.Nil(t, cB)
			_, err = ver.Confirm(v.CA)
			require.ErrorIs(t, err, errSpent)
		})
	}

	t.Run("it rejects a cA that does not match", func(t *testing.T) {
		ver := newV(t)
		_, _, err := ver.Share(v.XPoint)
		require.NoError(t, err)
		bad := bytes.Clone(v.CA)
		bad[31] ^= 1
		ke, err := ver.Confirm(bad)
		require.ErrorIs(t, err, ErrConfirmation)
		require.Nil(t, ke)
		_, err = ver.Confirm(v.CA)
		require.ErrorIs(t, err, errSpent, "one wrong cA ends the exchange")
	})
	t.Run("it rejects Confirm before Share", func(t *testing.T) {
		_, err := newV(t).Confirm(v.CA)
		require.ErrorIs(t, err, errSpent)
	})
	t.Run("it rejects a second Share", func(t *testing.T) {
		ver := newV(t)
		_, _, err := ver.Share(v.XPoint)
		require.NoError(t, err)
		_, _, err = ver.Share(v.XPoint)
		require.ErrorIs(t, err, errSpent)
	})
}

func TestSPAKE2PlusConstructorsRejectBadSecrets(t *testing.T) {
	v := loadSPAKE(t).Vectors[0]
	n := bigN.FillBytes(make([]byte, 32))
	zero := make([]byte, 32)
	offCurve := bytes.Clone(v.L)
	offCurve[10] ^= 1
	tests := []struct {
		name    string
		call    func() error
		wantSub string
	}{
		{"a prover w0 equal to n", func() error { _, err := NewProverWithScalar(nil, nil, nil, n, v.W1, v.X); return err }, "w0 is not in [1, n-1]"},
		{"a prover w1 of zero", func() error { _, err := NewProverWithScalar(nil, nil, nil, v.W0, zero, v.X); return err }, "w1 is not in [1, n-1]"},
		{"a prover scalar of zero", func() error { _, err := NewProverWithScalar(nil, nil, nil, v.W0, v.W1, zero); return err }, "scalar x is not in [1, n-1]"},
		{"a 31-byte w0", func() error { _, err := NewProverWithScalar(nil, nil, nil, v.W0[:31], v.W1, v.X); return err }, "w0 is 31 bytes"},
		{"a verifier L off the curve", func() error { _, err := NewVerifierWithScalar(nil, nil, nil, v.W0, offCurve, v.Y); return err }, "verifier L is not a point"},
		{"a verifier scalar equal to n", func() error { _, err := NewVerifierWithScalar(nil, nil, nil, v.W0, v.L, n); return err }, "scalar y is not in [1, n-1]"},
		{"a prover with a nil random source", func() error { _, err := NewProver(nil, v.W0, v.W1, nil); return err }, "nil random source"},
	}
	for _, tt := range tests {
		t.Run("it rejects "+tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.call(), tt.wantSub)
		})
	}
}

// FuzzSPAKE2PlusPeerMessages feeds arbitrary Pake1/Pake2/Pake3 fields to both roles: nothing panics,
// garbage is refused, and a genuine exchange with fuzzed scalars still agrees on Ke.
func FuzzSPAKE2PlusPeerMessages(f *testing.F) {
	v := loadSPAKE(f).Vectors[0]
	b := func(h hexBytes) []byte { return []byte(h) }
	f.Add(b(v.XPoint), b(v.YPoint), b(v.CB), b(v.CA), b(v.X), b(v.Y))
	f.Add(b(v.L), b(v.L), b(v.CA), b(v.CB), b(v.Y), b(v.X))
	f.Add([]byte{0}, []byte{4}, []byte{}, []byte{}, make([]byte, 32), make([]byte, 40))
	f.Fuzz(func(t *testing.T, X, Y, cB, cA, xSeed, ySeed []byte) {
		ctx := []byte(v.Context)
		x, y := reduceModN(xSeed), reduceModN(ySeed)
		if !scalarInRange(&x) || !scalarInRange(&y) {
			return
		}
		// Hostile Pake2 to a prover.
		p, err := NewProverWithScalar(ctx, nil, nil, v.W0, v.W1, x[:])
		require.NoError(t, err)
		if _, _, err := p.Finish(Y, cB); err == nil {
			t.Fatalf("prover accepted a forged Pake2 (Y %x, cB %x)", Y, cB)
		}
		// Hostile Pake1 and Pake3 to a verifier: Share may succeed on any valid point, Confirm must not.
		ver, err := NewVerifierWithScalar(ctx, nil, nil, v.W0, v.L, y[:])
		require.NoError(t, err)
		if _, _, err := ver.Share(X); err == nil {
			_, err := ver.Confirm(cA)
			require.ErrorIs(t, err, ErrConfirmation)
		}
		// An honest exchange with the fuzzed scalars.
		p, err = NewProverWithScalar(ctx, nil, nil, v.W0, v.W1, x[:])
		require.NoError(t, err)
		ver, err = NewVerifierWithScalar(ctx, nil, nil, v.W0, v.L, y[:])
		require.NoError(t, err)
		gotY, gotCB, err := ver.Share(p.Share())
		require.NoError(t, err)
		gotCA, pke, err := p.Finish(gotY, gotCB)
		require.NoError(t, err)
		vke, err := ver.Confirm(gotCA)
		require.NoError(t, err)
		require.Equal(t, pke, vke)
	})
}

func BenchmarkSPAKE2PlusExchange(b *testing.B) {
	v := loadSPAKE(b).Vectors[0]
	ctx := []byte(v.Context)
	r := chacha(9)
	b.ReportAllocs()
	for b.Loop() {
		p, err := NewProver(ctx, v.W0, v.W1, r)
		if err != nil {
			b.Fatal(err)
		}
		ver, err := NewVerifier(ctx, v.W0, v.L, r)
		if err != nil {
			b.Fatal(err)
		}
		Y, cB, err := ver.Share(p.Share())
		if err != nil {
			b.Fatal(err)
		}
		cA, _, err := p.Finish(Y, cB)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ver.Confirm(cA); err != nil {
			b.Fatal(err)
		}
	}
}
