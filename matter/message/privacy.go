package message

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// MICSize is the size of the message integrity check that ends every secured message (§4.4.2).
const MICSize = 16

// privacyOffset is where the obfuscated part of the header starts: the message counter (§4.9.3).
const privacyOffset = 4

// DerivePrivacyKey returns the privacy key of an encryption key (§4.9.1):
// HKDF-SHA256(ikm = key, salt = empty, info = "PrivacyKey", 16 bytes).
func DerivePrivacyKey(encryptionKey []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, encryptionKey, nil, "PrivacyKey", 16)
	if err != nil {
		return nil, fmt.Errorf("privacy key: %w", err)
	}
	return k, nil
}

// PrivacyNonce returns the privacy nonce (§4.9.2): SessionID (big-endian) || MIC[5:16].
func PrivacyNonce(sessionID uint16, mic []byte) ([13]byte, error) {
	var n [13]byte
	if len(mic) != MICSize {
		return n, fmt.Errorf("privacy nonce: MIC is %d bytes, want %d", len(mic), MICSize)
	}
	binary.BigEndian.PutUint16(n[:2], sessionID)
	copy(n[2:], mic[5:])
	return n, nil
}

// Deobfuscate returns a copy of the secured message msg (header || ciphertext || MIC) whose
// privacy-obfuscated header fields (counter, node ids, message extensions: §4.9.3) are restored, so
// that DecodeHeader reads the real values and the header can serve as the AAD. msg is not modified.
// The P flag stays set: it is part of the authenticated header and of the nonce.
func Deobfuscate(privacyKey, msg []byte) ([]byte, error) { return privacy(privacyKey, msg, false) }

// Obfuscate is the inverse of Deobfuscate, applied by a sender after encryption.
func Obfuscate(privacyKey, msg []byte) ([]byte, error) { return privacy(privacyKey, msg, true) }

// privacy applies the AES-CTR keystream of §4.9.3 (the CCM counter blocks 1, 2, ... of the privacy
// nonce) to the header after the security flags. The extent depends on the clear flags and on the
// extension length, which is itself obfuscated: it is read after removing the keystream when
// de-obfuscating and before adding it when obfuscating.
func privacy(key, msg []byte, obfuscate bool) ([]byte, error) {
	const name = "message header"
	if len(msg) < HeaderMinLen+MICSize {
		return nil, &FieldError{Struct: name, Field: "MessageCounter", Offset: 0, Err: ErrTruncated,
			Detail: fmt.Sprintf("privacy message of %d bytes, need at least %d (header + MIC)", len(msg), HeaderMinLen+MICSize), Spec: "§4.9.3"}
	}
	flags := msg[0]
	if flags&flagVersionMask != 0 {
		return nil, &FieldError{Struct: name, Field: "MessageFlags.Version", Err: ErrUnsupportedVersion,
			Detail: fmt.Sprintf("version %d", flags>>4), Spec: "§4.4.1.1"}
	}
	fixed := 4 // counter
	if flags&flagS != 0 {
		fixed += 8
	}
	switch DestKind(flags & flagDSIZMask) {
	case DestNode:
		fixed += 8
	case DestGroup:
		fixed += 2
	case DestNone:
	default:
		return nil, &FieldError{Struct: name, Field: "MessageFlags.DSIZ", Err: ErrReserved, Detail: "DSIZ 3 is reserved", Spec: "§4.4.1.1"}
	}
	limit := len(msg) - MICSize // the header must end before the MIC
	end := privacyOffset + fixed
	if end > limit {
		return nil, &FieldError{Struct: name, Field: "SourceNodeID/DestinationID", Offset: privacyOffset, Err: ErrTruncated,
			Detail: fmt.Sprintf("obfuscated header needs %d bytes before the MIC, have %d", fixed, limit-privacyOffset), Spec: "§4.9.3"}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("privacy key: %w", err)
	}
	nonce, _ := PrivacyNonce(binary.LittleEndian.Uint16(msg[1:3]), msg[len(msg)-MICSize:])
	var iv [aes.BlockSize]byte
	iv[0] = 1 // CCM flags byte for L = 2: the counter field is 2 bytes
	copy(iv[1:14], nonce[:])
	iv[15] = 1 // keystream starts at counter block 1 (block 0 encrypts the MIC in CCM)
	ctr := cipher.NewCTR(block, iv[:])

	out := append([]byte(nil), msg...)
	ctr.XORKeyStream(out[privacyOffset:end], out[privacyOffset:end])
	if msg[3]&secMX != 0 {
		if end+2 > limit {
			return nil, &FieldError{Struct: name, Field: "MessageExtensions.Length", Offset: end, Err: ErrTruncated,
				Detail: "no room for the extension length before the MIC", Spec: "§4.9.3"}
		}
		var n int
		if obfuscate {
			n = int(binary.LittleEndian.Uint16(out[end:]))
		}
		ctr.XORKeyStream(out[end:end+2], out[end:end+2])
		if !obfuscate {
			n = int(binary.LittleEndian.Uint16(out[end:]))
		}
		end += 2
		if end+n > limit {
			return nil, &FieldError{Struct: name, Field: "MessageExtensions", Offset: end, Err: ErrTruncated,
				Detail: fmt.Sprintf("need %d bytes before the MIC, have %d", n, limit-end), Spec: "§4.9.3"}
		}
		ctr.XORKeyStream(out[end:end+n], out[end:end+n])
	}
	return out, nil
}
