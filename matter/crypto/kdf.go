package mcrypto

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"filippo.io/nistec"
)

// PBKDF parameter bounds for PASE (Core §4.14.1: PBKDFParamResponse).
const (
	PBKDFMinIterations = 1000
	PBKDFMaxIterations = 100000
	PBKDFMinSaltLen    = 16
	PBKDFMaxSaltLen    = 32
)

// PASEVerifier derives the SPAKE2+ secrets from a setup passcode (Core §3.9, §3.10, §4.14.1):
// w0s‖w1s = PBKDF2-HMAC-SHA256(passcode as 4 bytes little-endian, salt, iterations, 80 bytes);
// w0 = w0s mod n and w1 = w1s mod n (32 bytes each, big-endian); L = w1·G (65 bytes, uncompressed).
// The commissioner needs w0 and w1; a device stores w0 and L (its "verifier"). Passcode validity
// rules (§5.1.7) are checked by matter/setup, not here.
func PASEVerifier(passcode uint32, salt []byte, iterations int) (w0, w1, L []byte, err error) {
	if iterations < PBKDFMinIterations || iterations > PBKDFMaxIterations {
		return nil, nil, nil, fmt.Errorf("mcrypto: PBKDF iterations %d outside %d..%d (§4.14.1)", iterations, PBKDFMinIterations, PBKDFMaxIterations)
	}
	if len(salt) < PBKDFMinSaltLen || len(salt) > PBKDFMaxSaltLen {
		return nil, nil, nil, fmt.Errorf("mcrypto: PBKDF salt is %d bytes, want %d..%d (§4.14.1)", len(salt), PBKDFMinSaltLen, PBKDFMaxSaltLen)
	}
	var pw [4]byte
	binary.LittleEndian.PutUint32(pw[:], passcode)
	ws, err := pbkdf2.Key(sha256.New, string(pw[:]), salt, iterations, 80)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("mcrypto: PBKDF2 for the PASE verifier: %w", err)
	}
	defer clear(ws)
	w0a := reduceModN(ws[:40])
	w1a := reduceModN(ws[40:])
	if !scalarInRange(&w1a) || !scalarInRange(&w0a) {
		// Probability ~2^-256; a zero w0 or w1 would make L or the shares degenerate.
		return nil, nil, nil, fmt.Errorf("mcrypto: PBKDF2 output reduces to zero mod n; choose another salt")
	}
	p, err := nistec.NewP256Point().ScalarBaseMult(w1a[:])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("mcrypto: computing L = w1·G: %w", err)
	}
	return w0a[:], w1a[:], p.Bytes(), nil
}

// paseContextPrefix starts the SPAKE2+ context of PASE (§4.14.1).
const paseContextPrefix = "CHIP PAKE V1 Commissioning"

// PASEContext returns the SPAKE2+ context for PASE: SHA-256("CHIP PAKE V1 Commissioning" ||
// PBKDFParamRequest payload || PBKDFParamResponse payload), over the exact TLV bytes as sent
// (§4.14.1).
func PASEContext(pbkdfParamRequest, pbkdfParamResponse []byte) []byte {
	h := sha256.New()
	h.Write([]byte(paseContextPrefix))
	h.Write(pbkdfParamRequest)
	h.Write(pbkdfParamResponse)
	return h.Sum(nil)
}

// SessionKeySet is the key material of a secure session (§4.14.1, §4.14.2): I2R encrypts what the
// initiator sends, R2I what the responder sends, and AttestationChallenge feeds device attestation.
type SessionKeySet struct {
	I2R, R2I, AttestationChallenge [16]byte
}

// Session key labels (§4.14.1, §4.14.2).
const (
	SessionKeysInfo           = "SessionKeys"
	SessionResumptionKeysInfo = "SessionResumptionKeys"
)

// SessionKeys derives I2R‖R2I‖AttestationChallenge = HKDF-SHA256(secret, salt, info, 48).
// PASE uses secret = Ke, no salt and info "SessionKeys"; CASE uses the ECDH shared secret,
// salt = IPK || SHA-256(Sigma1 || Sigma2 || Sigma3) and the same info.
func SessionKeys(secret, salt []byte, info string) (SessionKeySet, error) {
	var ks SessionKeySet
	if len(secret) == 0 {
		return ks, fmt.Errorf("mcrypto: session keys %q: empty secret", info)
	}
	k, err := hkdf.Key(sha256.New, secret, salt, info, 48)
	if err != nil {
		return ks, fmt.Errorf("mcrypto: session keys %q: %w", info, err)
	}
	copy(ks.I2R[:], k[:16])
	copy(ks.R2I[:], k[16:32])
	copy(ks.AttestationChallenge[:], k[32:])
	clear(k)
	return ks, nil
}

// CompressedFabricID derives the 64-bit compressed fabric identifier used in operational DNS-SD
// names and in IPK derivation (§4.3.2.2): HKDF-SHA256(ikm = root public key without its 0x04
// prefix, salt = fabric id as 8 bytes big-endian, info "CompressedFabric", 8 bytes).
func CompressedFabricID(rootPublicKey []byte, fabricID uint64) ([8]byte, error) {
	var out [8]byte
	if _, err := parsePoint(rootPublicKey, "root public key"); err != nil {
		return out, err
	}
	var salt [8]byte
	binary.BigEndian.PutUint64(salt[:], fabricID)
	k, err := hkdf.Key(sha256.New, rootPublicKey[1:], salt[:], "CompressedFabric", 8)
	if err != nil {
		return out, fmt.Errorf("mcrypto: compressed fabric id: %w", err)
	}
	copy(out[:], k)
	return out, nil
}

// OperationalIPK derives a fabric's operational identity protection key from the epoch key
// given in AddNOC (the IPKValue): HKDF-SHA256(epochKey, salt = compressed fabric id,
// info "GroupKey v1.0", 16 bytes) (Core, "Operational Group Key Derivation").
func OperationalIPK(epochKey []byte, compressedFabricID [8]byte) ([16]byte, error) {
	var out [16]byte
	if len(epochKey) != 16 {
		return out, fmt.Errorf("mcrypto: IPK epoch key is %d bytes, want 16", len(epochKey))
	}
	k, err := hkdf.Key(sha256.New, epochKey, compressedFabricID[:], "GroupKey v1.0", 16)
	if err != nil {
		return out, fmt.Errorf("mcrypto: operational IPK: %w", err)
	}
	copy(out[:], k)
	clear(k)
	return out, nil
}

// DestinationID computes the CASE Sigma1 destination identifier (§4.14.2):
// HMAC-SHA256(key = IPK, initiatorRandom || root public key (65 B) || fabric id (u64 LE) ||
// node id (u64 LE)).
func DestinationID(ipk []byte, initiatorRandom []byte, rootPublicKey []byte, fabricID, nodeID uint64) ([32]byte, error) {
	var out [32]byte
	if len(ipk) != 16 {
		return out, fmt.Errorf("mcrypto: destination id: IPK is %d bytes, want 16", len(ipk))
	}
	if len(initiatorRandom) != 32 {
		return out, fmt.Errorf("mcrypto: destination id: initiator random is %d bytes, want 32", len(initiatorRandom))
	}
	if _, err := parsePoint(rootPublicKey, "destination id: root public key"); err != nil {
		return out, err
	}
	m := hmac.New(sha256.New, ipk)
	m.Write(initiatorRandom)
	m.Write(rootPublicKey)
	var ids [16]byte
	binary.LittleEndian.PutUint64(ids[:8], fabricID)
	binary.LittleEndian.PutUint64(ids[8:], nodeID)
	m.Write(ids[:])
	m.Sum(out[:0])
	return out, nil
}
