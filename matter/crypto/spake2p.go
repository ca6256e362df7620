package mcrypto

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"filippo.io/nistec"
)

// SPAKE2+ P-256 as Matter uses it (Core §3.10): draft-bar-cfrg-spake2plus-01 with SHA-256, HKDF and
// HMAC. Not RFC 9383, whose key schedule differs. The prover is the commissioner, the verifier the
// device. Messages: Pake1 carries X, Pake2 carries Y and cB, Pake3 carries cA (§4.14.1).

// ErrConfirmation is returned (wrapped) when the peer's key confirmation MAC (cA or cB) does not
// match: the peer used a different passcode, or the exchange was tampered with.
var ErrConfirmation = errors.New("mcrypto: SPAKE2+ key confirmation failed")

// errSpent is returned when a Prover or Verifier is used past its single exchange.
var errSpent = errors.New("mcrypto: SPAKE2+ state already used; start a new exchange")

// The draft-01 constants M and N for P-256 (§3.10), SEC1 uncompressed.
const (
	spakeMHex = "04886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f5ff355163e43ce224e0b0e65ff02ac8e5c7be09419c785e0ca547d55a12e2d20"
	spakeNHex = "04d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b4907d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7"
)

var spakeM, spakeN = mustPoint(spakeMHex), mustPoint(spakeNHex)

// mustPoint decodes a compile-time constant; failure is a bug in this file, not bad input.
func mustPoint(h string) []byte {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	if _, err := nistec.NewP256Point().SetBytes(b); err != nil {
		panic(err)
	}
	return b
}

// keySchedule holds every intermediate of one exchange; tests compare them with the vectors.
type keySchedule struct {
	Z, V, TT              []byte
	Ka, Ke, KcA, KcB      []byte
	cA, cB                []byte // cA = HMAC(KcA, Y), cB = HMAC(KcB, X)
	X, Y                  []byte
	context, idP, idV, w0 []byte
}

// schedule computes TT and the keys from it (the draft-01 key schedule Matter fixes in §3.10):
// TT = len‖Context ‖ len‖idProver ‖ len‖idVerifier ‖ len‖M ‖ len‖N ‖ len‖X ‖ len‖Y ‖ len‖Z ‖ len‖V ‖ len‖w0,
// lengths as u64 little-endian; Ka‖Ke = SHA-256(TT); KcA‖KcB = HKDF(Ka, no salt, "ConfirmationKeys", 32).
func schedule(s *keySchedule) error {
	parts := [][]byte{s.context, s.idP, s.idV, spakeM, spakeN, s.X, s.Y, s.Z, s.V, s.w0}
	n := 0
	for _, p := range parts {
		n += 8 + len(p)
	}
	tt := make([]byte, 0, n)
	for _, p := range parts {
		tt = binary.LittleEndian.AppendUint64(tt, uint64(len(p)))
		tt = append(tt, p...)
	}
	s.TT = tt
	sum := sha256.Sum256(tt)
	s.Ka, s.Ke = sum[:16:16], sum[16:]
	kc, err := hkdf.Key(sha256.New, s.Ka, nil, "ConfirmationKeys", 32)
	if err != nil {
		return fmt.Errorf("mcrypto: SPAKE2+ confirmation keys: %w", err)
	}
	s.KcA, s.KcB = kc[:16:16], kc[16:]
	s.cA = mac(s.KcA, s.Y)
	s.cB = mac(s.KcB, s.X)
	return nil
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// share computes x·G + w·P for the public shares X = x·G + w0·M and Y = y·G + w0·N.
func share(x, w *[32]byte, p []byte) ([]byte, error) {
	pt, err := nistec.NewP256Point().SetBytes(p)
	if err != nil {
		return nil, err
	}
	if _, err := pt.ScalarMult(pt, w[:]); err != nil {
		return nil, err
	}
	g, err := nistec.NewP256Point().ScalarBaseMult(x[:])
	if err != nil {
		return nil, err
	}
	return g.Add(g, pt).Bytes(), nil
}

// unblind returns T = S − w0·P for the peer's share S (P = N for the prover, M for the verifier)
// and rejects the identity: an identity T would make Z and V independent of the secrets.
func unblind(s *nistec.P256Point, w0 *[32]byte, p []byte, what string) (*nistec.P256Point, error) {
	q, err := nistec.NewP256Point().SetBytes(p)
	if err != nil {
		return nil, err
	}
	if _, err := q.ScalarMult(q, w0[:]); err != nil {
		return nil, err
	}
	t := nistec.NewP256Point().Add(s, q.Negate(q))
	if t.IsInfinity() == 1 {
		return nil, fmt.Errorf("mcrypto: %s equals w0 times the blinding point; rejected (identity after unblinding)", what)
	}
	return t, nil
}

func mul(p *nistec.P256Point, k *[32]byte) ([]byte, error) {
	r, err := nistec.NewP256Point().ScalarMult(p, k[:])
	if err != nil {
		return nil, err
	}
	return r.Bytes(), nil
}

// Prover is the commissioner's side of SPAKE2+: it knows w0 and w1. One Prover serves one exchange
// and is not safe for concurrent use.
type Prover struct {
	context, idP, idV []byte
	w0, w1, x         [32]byte
	pubX              []byte // X = x·G + w0·M
	spent             bool
}

// NewProver starts a Matter PASE exchange as the prover (empty identities, §4.14.1) with a random
// scalar x drawn from rand. context is PASEContext's output; w0 and w1 come from PASEVerifier.
func NewProver(context, w0, w1 []byte, rand io.Reader) (*Prover, error) {
	x, err := randomScalar(rand)
	if err != nil {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ prover: %w", err)
	}
	defer clear(x[:])
	return NewProverWithScalar(context, nil, nil, w0, w1, x[:])
}

// NewProverWithScalar is NewProver with the scalar x given (32 bytes, in [1, n-1]) and explicit
// identities; it exists for known-answer tests. Never reuse x.
func NewProverWithScalar(context, idProver, idVerifier, w0, w1, x []byte) (*Prover, error) {
	p := &Prover{context: clone(context), idP: clone(idProver), idV: clone(idVerifier)}
	var err error
	if p.w0, err = scalarFromBytes(w0, "SPAKE2+ w0"); err != nil {
		return nil, err
	}
	if p.w1, err = scalarFromBytes(w1, "SPAKE2+ w1"); err != nil {
		return nil, err
	}
	if p.x, err = scalarFromBytes(x, "SPAKE2+ scalar x"); err != nil {
		return nil, err
	}
	if p.pubX, err = share(&p.x, &p.w0, spakeM); err != nil {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ computing X: %w", err)
	}
	return p, nil
}

// Share returns X = x·G + w0·M (65 bytes), the pA field of Pake1.
func (p *Prover) Share() []byte { return clone(p.pubX) }

// Finish takes the verifier's Y and cB (from Pake2), checks cB and returns cA (the cA field of
// Pake3) and the shared key Ke (16 bytes, the input of SessionKeys). A wrong cB yields an error
// wrapping ErrConfirmation. The Prover is spent afterwards, whatever the outcome.
func (p *Prover) Finish(Y, cB []byte) (cA, Ke []byte, err error) {
	s, err := p.finish(Y, cB)
	if err != nil {
		return nil, nil, err
	}
	return s.cA, s.Ke, nil
}

func (p *Prover) finish(Y, cB []byte) (*keySchedule, error) {
	if p.spent {
		return nil, errSpent
	}
	p.spent = true
	defer clear(p.x[:])
	if len(cB) != sha256.Size {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ cB is %d bytes, want %d", len(cB), sha256.Size)
	}
	y, err := parsePoint(Y, "SPAKE2+ share Y")
	if err != nil {
		return nil, err
	}
	t, err := unblind(y, &p.w0, spakeN, "SPAKE2+ share Y")
	if err != nil {
		return nil, err
	}
	s := &keySchedule{X: p.pubX, Y: clone(Y), context: p.context, idP: p.idP, idV: p.idV, w0: clone(p.w0[:])}
	if s.Z, err = mul(t, &p.x); err != nil {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ computing Z: %w", err)
	}
	if s.V, err = mul(t, &p.w1); err != nil {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ computing V: %w", err)
	}
	if err := schedule(s); err != nil {
		return nil, err
	}
	if !hmac.Equal(s.cB, cB) {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ verifier's cB does not match: %w", ErrConfirmation)
	}
	return s, nil
}

// Verifier is the device's side of SPAKE2+: it knows w0 and L = w1·G, not w1. One Verifier serves
// one exchange and is not safe for concurrent use.
type Verifier struct {
	context, idP, idV []byte
	w0, y             [32]byte
	pointL            *nistec.P256Point // L = w1·G
	pubY              []byte            // Y = y·G + w0·N
	wantCA, ke        []byte
	state             int // 0 fresh, 1 shared (awaiting cA), 2 spent
}

// NewVerifier starts a Matter PASE exchange as the verifier (empty identities) with a random
// scalar y drawn from rand. w0 and L come from PASEVerifier (or a device's stored verifier).
func NewVerifier(context, w0, L []byte, rand io.Reader) (*Verifier, error) {
	y, err := randomScalar(rand)
	if err != nil {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ verifier: %w", err)
	}
	defer clear(y[:])
	return NewVerifierWithScalar(context, nil, nil, w0, L, y[:])
}

// NewVerifierWithScalar is NewVerifier with the scalar y given (32 bytes, in [1, n-1]) and
// explicit identities; it exists for known-answer tests. Never reuse y.
func NewVerifierWithScalar(context, idProver, idVerifier, w0, L, y []byte) (*Verifier, error) {
	v := &Verifier{context: clone(context), idP: clone(idProver), idV: clone(idVerifier)}
	var err error
	if v.w0, err = scalarFromBytes(w0, "SPAKE2+ w0"); err != nil {
		return nil, err
	}
	if v.y, err = scalarFromBytes(y, "SPAKE2+ scalar y"); err != nil {
		return nil, err
	}
	if v.pointL, err = parsePoint(L, "SPAKE2+ verifier L"); err != nil {
		return nil, err
	}
	if v.pubY, err = share(&v.y, &v.w0, spakeN); err != nil {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ computing Y: %w", err)
	}
	return v, nil
}

// Share takes the prover's X (from Pake1) and returns Y and cB for Pake2. After an error the
// Verifier is spent.
func (v *Verifier) Share(X []byte) (Y, cB []byte, err error) {
	s, err := v.share(X)
	if err != nil {
		return nil, nil, err
	}
	return clone(s.Y), s.cB, nil
}

func (v *Verifier) share(X []byte) (*keySchedule, error) {
	if v.state != 0 {
		return nil, errSpent
	}
	v.state = 2
	defer clear(v.y[:])
	x, err := parsePoint(X, "SPAKE2+ share X")
	if err != nil {
		return nil, err
	}
	t, err := unblind(x, &v.w0, spakeM, "SPAKE2+ share X")
	if err != nil {
		return nil, err
	}
	s := &keySchedule{X: clone(X), Y: v.pubY, context: v.context, idP: v.idP, idV: v.idV, w0: clone(v.w0[:])}
	if s.Z, err = mul(t, &v.y); err != nil {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ computing Z: %w", err)
	}
	if s.V, err = mul(v.pointL, &v.y); err != nil {
		return nil, fmt.Errorf("mcrypto: SPAKE2+ computing V: %w", err)
	}
	if err := schedule(s); err != nil {
		return nil, err
	}
	v.wantCA, v.ke = s.cA, s.Ke
	v.state = 1
	return s, nil
}

// Confirm checks the prover's cA (from Pake3) and returns the shared key Ke. A wrong cA yields an
// error wrapping ErrConfirmation. The Verifier is spent afterwards.
func (v *Verifier) Confirm(cA []byte) (Ke []byte, err error) {
	if v.state != 1 {
		return nil, errSpent
	}
	v.state = 2
	ok := hmac.Equal(v.wantCA, cA)
	ke := v.ke
	v.wantCA, v.ke = nil, nil
	if !ok {
		clear(ke)
		return nil, fmt.Errorf("mcrypto: SPAKE2+ prover's cA (%d bytes) does not match: %w", len(cA), ErrConfirmation)
	}
	return ke, nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
