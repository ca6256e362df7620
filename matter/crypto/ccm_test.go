package mcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type ccmVector struct {
	Name       string   `json:"name"`
	Key        hexBytes `json:"key"`
	Nonce      hexBytes `json:"nonce"`
	AAD        hexBytes `json:"aad"`
	AADPattern string   `json:"aad_pattern"`
	Plaintext  hexBytes `json:"plaintext"`
	Ciphertext hexBytes `json:"ciphertext"`
	Tag        hexBytes `json:"tag"`
}

// checkCCMVector seals and opens one known answer, with a fresh and with a reused dst.
func checkCCMVector(t *testing.T, aead cipher.AEAD, v ccmVector) {
	t.Helper()
	want := append(bytes.Clone(v.Ciphertext), v.Tag...)
	prefix := []byte("prefix")
	sealed := aead.Seal(bytes.Clone(prefix), v.Nonce, v.Plaintext, v.AAD)
	require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(sealed[len(prefix):]), "Seal output")
	require.Equal(t, prefix, sealed[:len(prefix)], "Seal must append to dst")

	opened, err := aead.Open(nil, v.Nonce, want, v.AAD)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(v.Plaintext), hex.EncodeToString(opened), "Open output")
}

func TestCCMMatchesMatterVectorsWith13ByteNonceAnd16ByteTag(t *testing.T) {
	var file struct{ Vectors []ccmVector }
	loadJSON(t, "vectors/aes_ccm_128.json", &file)
	require.Len(t, file.Vectors, 12)
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			aead, err := NewCCM(v.Key)
			require.NoError(t, err)
			require.Equal(t, CCMNonceSize, aead.NonceSize())
			require.Equal(t, CCMTagSize, aead.Overhead())
			checkCCMVector(t, aead, v)
		})
	}
}

func TestCCMMatchesRFC3610AndSP800_38CAcrossNonceAndTagSizes(t *testing.T) {
	var file struct{ Vectors []ccmVector }
	loadJSON(t, "ccm_rfc3610_sp800_38c.json", &file)
	require.Len(t, file.Vectors, 28)
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			if v.AADPattern != "" {
				// SP 800-38C C.4: 2^16 bytes of associated data, exercising the 0xFFFE length form.
				v.AAD = bytes.Repeat(seq(256), 256)
			}
			b, err := aes.NewCipher(v.Key)
			require.NoError(t, err)
			aead, err := NewCCMWithSizes(b, len(v.Nonce), len(v.Tag))
			require.NoError(t, err)
			checkCCMVector(t, aead, v)
		})
	}
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func pattern(n, a, c int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*a + c)
	}
	return b
}

// These cover what the published vectors do not: associated data around the 0xFF00 switch to the
// 6-byte length prefix, the largest L=2 message, empty inputs and every nonce size.
func TestCCMAgreesWithPythonCryptographyAtLengthBoundaries(t *testing.T) {
	var file struct {
		Key     hexBytes
		Vectors []struct {
			Nonce            hexBytes `json:"nonce"`
			TagSize          int      `json:"tag_size"`
			AADLen           int      `json:"aad_len"`
			PtLen            int      `json:"pt_len"`
			CiphertextSHA256 hexBytes `json:"ciphertext_sha256"`
			Tag              hexBytes `json:"tag"`
		}
	}
	loadJSON(t, "ccm_pattern_vectors.json", &file)
	require.NotEmpty(t, file.Vectors)
	b, err := aes.NewCipher(file.Key)
	require.NoError(t, err)
	for _, v := range file.Vectors {
		name := "nonce" + strconv.Itoa(len(v.Nonce)) + "/tag" + strconv.Itoa(v.TagSize) +
			"/aad" + strconv.Itoa(v.AADLen) + "/pt" + strconv.Itoa(v.PtLen)
		t.Run(name, func(t *testing.T) {
			aead, err := NewCCMWithSizes(b, len(v.Nonce), v.TagSize)
			require.NoError(t, err)
			aad, pt := pattern(v.AADLen, 7, 3), pattern(v.PtLen, 13, 5)
			sealed := aead.Seal(nil, v.Nonce, pt, aad)
			ct, tag := sealed[:v.PtLen], sealed[v.PtLen:]
			sum := sha256.Sum256(ct)
			assert.Equal(t, hex.EncodeToString(v.CiphertextSHA256), hex.EncodeToString(sum[:]), "ciphertext digest")
			assert.Equal(t, hex.EncodeToString(v.Tag), hex.EncodeToString(tag), "tag")
			opened, err := aead.Open(nil, v.Nonce, sealed, aad)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(pt, opened), "round trip")
		})
	}
}

// matterHeaderLen returns the length of a Matter message header (Core §4.4.1): 8 fixed bytes, then
// the source node id if S, the destination per DSIZ, and the message extensions if MX.
func matterHeaderLen(t *testing.T, msg []byte) int {
	t.Helper()
	require.GreaterOrEqual(t, len(msg), 8)
	n := 8
	if msg[0]&0x04 != 0 {
		n += 8
	}
	switch msg[0] & 0x03 {
	case 1:
		n += 8
	case 2:
		n += 2
	}
	if msg[3]&0x20 != 0 {
		require.GreaterOrEqual(t, len(msg), n+2)
		n += 2 + int(binary.LittleEndian.Uint16(msg[n:]))
	}
	require.GreaterOrEqual(t, len(msg), n)
	return n
}

func TestCCMDecryptsAndReproducesSecuredMatterMessages(t *testing.T) {
	var file struct {
		Vectors []struct {
			Name           string
			Key            hexBytes
			Plain          hexBytes
			Encrypted      hexBytes
			Nonce          hexBytes
			Payload        hexBytes
			SessionID      uint16 `json:"sessionId"`
			MessageCounter uint32 `json:"messageCounter"`
		}
	}
	loadJSON(t, "vectors/message_encryption.json", &file)
	require.Len(t, file.Vectors, 5)
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			hl := matterHeaderLen(t, v.Plain)
			header := v.Plain[:hl]
			require.Equal(t, header, v.Encrypted[:hl], "plain and encrypted share the cleartext header")
			require.Equal(t, v.SessionID, binary.LittleEndian.Uint16(header[1:3]))
			require.Equal(t, v.MessageCounter, binary.LittleEndian.Uint32(header[4:8]))

			// §4.7: nonce = security flags || counter (LE) || source node id (LE, 0 when absent).
			nonce := []byte{header[3]}
			nonce = binary.LittleEndian.AppendUint32(nonce, v.MessageCounter)
			var src uint64
			if header[0]&0x04 != 0 {
				src = binary.LittleEndian.Uint64(header[8:16])
			}
			nonce = binary.LittleEndian.AppendUint64(nonce, src)
			require.Equal(t, hex.EncodeToString(v.Nonce), hex.EncodeToString(nonce), "nonce built from header fields")

			aead, err := NewCCM(v.Key)
			require.NoError(t, err)
			opened, err := aead.Open(nil, nonce, v.Encrypted[hl:], header)
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(v.Plain[hl:]), hex.EncodeToString(opened))
			if len(v.Payload) > 0 {
				require.True(t, bytes.HasSuffix(opened, v.Payload), "application payload ends the plaintext")
			}
			sealed := aead.Seal(bytes.Clone(header), nonce, v.Plain[hl:], header)
			require.Equal(t, hex.EncodeToString(v.Encrypted), hex.EncodeToString(sealed))
		})
	}
}

func TestCCMOpensCASESigma2AndSigma3PayloadsWithTheirFixedNonces(t *testing.T) {
	var file struct {
		Sigma2 struct {
			S2K       hexBytes `json:"S2K"`
			TBEData2  hexBytes `json:"TBEData2"`
			Encrypted hexBytes `json:"encrypted2_with_tag"`
			Nonce     string   `json:"nonce_ascii"`
		} `json:"sigma2_responder_side"`
		Sigma3 struct {
			S3K       hexBytes `json:"S3K"`
			TBEData3  hexBytes `json:"TBEData3"`
			Encrypted hexBytes `json:"encrypted3_with_tag"`
			Nonce     string   `json:"nonce_ascii"`
		} `json:"sigma3_and_session_keys"`
	}
	loadJSON(t, "vectors/case_sigma.json", &file)
	tests := []struct {
		name                 string
		key, plain, enc      []byte
		nonce, expectedNonce string
	}{
		{"Sigma2 TBEData2 under S2K", file.Sigma2.S2K, file.Sigma2.TBEData2, file.Sigma2.Encrypted, file.Sigma2.Nonce, "NCASE_Sigma2N"},
		{"Sigma3 TBEData3 under S3K", file.Sigma3.S3K, file.Sigma3.TBEData3, file.Sigma3.Encrypted, file.Sigma3.Nonce, "NCASE_Sigma3N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.expectedNonce, tt.nonce)
			aead, err := NewCCM(tt.key)
			require.NoError(t, err)
			opened, err := aead.Open(nil, []byte(tt.nonce), tt.enc, nil)
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(tt.plain), hex.EncodeToString(opened))
			require.Equal(t, tt.enc, aead.Seal(nil, []byte(tt.nonce), tt.plain, nil))
		})
	}
}

func TestCCMRejectsAnyAlteredInputAndLeavesNoPlaintext(t *testing.T) {
	key := seq(16)
	aead, err := NewCCM(key)
	require.NoError(t, err)
	nonce, aad, pt := pattern(13, 3, 1), pattern(9, 5, 2), pattern(40, 11, 7)
	sealed := aead.Seal(nil, nonce, pt, aad)

	type input struct{ nonce, ct, aad []byte }
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 0x01; return c }
	tests := []struct {
		name string
		in   input
	}{
		{"a flipped ciphertext bit", input{nonce, flip(sealed, 0), aad}},
		{"a flipped last ciphertext bit", input{nonce, flip(sealed, len(pt)-1), aad}},
		{"a flipped tag bit", input{nonce, flip(sealed, len(sealed)-1), aad}},
		{"a flipped nonce bit", input{flip(nonce, 12), sealed, aad}},
		{"a flipped additional-data bit", input{nonce, sealed, flip(aad, 4)}},
		{"missing additional data", input{nonce, sealed, nil}},
		{"a truncated tag", input{nonce, sealed[:len(sealed)-1], aad}},
		{"a ciphertext shorter than the tag", input{nonce, sealed[:15], aad}},
		{"an empty ciphertext", input{nonce, nil, aad}},
	}
	for _, tt := range tests {
		t.Run("it rejects "+tt.name, func(t *testing.T) {
			dst := make([]byte, 0, 128)
			out, err := aead.Open(dst, tt.in.nonce, tt.in.ct, tt.in.aad)
			require.ErrorIs(t, err, ErrOpen)
			require.Nil(t, out)
			assert.Equal(t, make([]byte, 128), dst[:128], "dst must not hold unauthenticated plaintext")
		})
	}
}

func TestCCMSealsAndOpensInPlace(t *testing.T) {
	aead, err := NewCCM(seq(16))
	require.NoError(t, err)
	nonce, aad := pattern(13, 1, 9), []byte("header")
	pt := pattern(100, 17, 3)
	want := aead.Seal(nil, nonce, pt, aad)

	buf := make([]byte, len(pt), len(pt)+aead.Overhead())
	copy(buf, pt)
	sealed := aead.Seal(buf[:0], nonce, buf, aad)
	require.Equal(t, want, sealed)
	require.Equal(t, &buf[0], &sealed[0], "sealing into plaintext[:0] reuses its storage")

	opened, err := aead.Open(sealed[:0], nonce, sealed, aad)
	require.NoError(t, err)
	require.Equal(t, pt, opened)
}

func TestCCMPanicsOnContractViolations(t *testing.T) {
	aead, err := NewCCM(seq(16))
	require.NoError(t, err)
	buf := make([]byte, 64)
	tests := []struct {
		name string
		f    func()
	}{
		{"Seal with a 12-byte nonce", func() { aead.Seal(nil, make([]byte, 12), nil, nil) }},
		{"Open with a 14-byte nonce", func() { _, _ = aead.Open(nil, make([]byte, 14), make([]byte, 16), nil) }},
		{"Seal into a shifted view of the plaintext", func() { aead.Seal(buf[1:1], make([]byte, 13), buf[:20], nil) }},
		{"Seal into the additional data", func() { aead.Seal(buf[:0], make([]byte, 13), []byte("x"), buf[:8]) }},
		{"Open into a shifted view of the ciphertext", func() { _, _ = aead.Open(buf[1:1], make([]byte, 13), buf[:40], nil) }},
		{"Seal of more than 65535 bytes with L = 2", func() { aead.Seal(nil, make([]byte, 13), make([]byte, 1<<16), nil) }},
	}
	for _, tt := range tests {
		t.Run("it panics on "+tt.name, func(t *testing.T) { require.Panics(t, tt.f) })
	}
}

func TestCCMConstructorsRejectBadParameters(t *testing.T) {
	b, err := aes.NewCipher(seq(16))
	require.NoError(t, err)
	tests := []struct {
		name       string
		build      func() (cipher.AEAD, error)
		wantErrSub string
	}{
		{"a 15-byte key", func() (cipher.AEAD, error) { return NewCCM(seq(15)) }, "want 16"},
		{"a 32-byte key for AES-CCM-128", func() (cipher.AEAD, error) { return NewCCM(seq(32)) }, "want 16"},
		{"a nil block", func() (cipher.AEAD, error) { return NewCCMWithSizes(nil, 13, 16) }, "nil"},
		{"a 6-byte nonce", func() (cipher.AEAD, error) { return NewCCMWithSizes(b, 6, 16) }, "nonce size 6"},
		{"a 14-byte nonce", func() (cipher.AEAD, error) { return NewCCMWithSizes(b, 14, 16) }, "nonce size 14"},
		{"an odd tag", func() (cipher.AEAD, error) { return NewCCMWithSizes(b, 13, 15) }, "tag size 15"},
		{"a 2-byte tag", func() (cipher.AEAD, error) { return NewCCMWithSizes(b, 13, 2) }, "tag size 2"},
		{"an 18-byte tag", func() (cipher.AEAD, error) { return NewCCMWithSizes(b, 13, 18) }, "tag size 18"},
	}
	for _, tt := range tests {
		t.Run("it rejects "+tt.name, func(t *testing.T) {
			a, err := tt.build()
			require.Error(t, err)
			require.Nil(t, a)
			require.Contains(t, err.Error(), tt.wantErrSub)
		})
	}
}

func TestCCMRoundTripsEveryParameterPairAndLength(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b, err := aes.NewCipher(seq(16))
	require.NoError(t, err)
	for nonceSize := 7; nonceSize <= 13; nonceSize++ {
		for tagSize := 4; tagSize <= 16; tagSize += 2 {
			aead, err := NewCCMWithSizes(b, nonceSize, tagSize)
			require.NoError(t, err)
			for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 200} {
				nonce, pt, aad := make([]byte, nonceSize), make([]byte, n), make([]byte, r.IntN(40))
				fill(r, nonce, pt, aad)
				sealed := aead.Seal(nil, nonce, pt, aad)
				require.Len(t, sealed, n+tagSize)
				opened, err := aead.Open(nil, nonce, sealed, aad)
				require.NoError(t, err, "nonce %d tag %d len %d", nonceSize, tagSize, n)
				require.True(t, bytes.Equal(pt, opened))
			}
		}
	}
}

func fill(r *rand.Rand, bufs ...[]byte) {
	for _, b := range bufs {
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	}
}

// FuzzCCMOpen: Open on arbitrary bytes never panics and never returns unauthenticated output;
// Seal then Open returns the plaintext, and the sealed message with any one byte changed is refused.
// keyNonce supplies the 16-byte key and 13-byte nonce (zero-padded or cut), so every input is used.
func FuzzCCMOpen(f *testing.F) {
	f.Add(append(seq(16), pattern(13, 1, 1)...), []byte("plaintext"), []byte("aad"), uint16(0))
	f.Add([]byte{}, []byte{}, []byte{}, uint16(5))
	f.Add(seq(29), bytes.Repeat([]byte{0xAA}, 40), []byte{}, uint16(39))
	f.Fuzz(func(t *testing.T, keyNonce, pt, aad []byte, pos uint16) {
		var kn [16 + 13]byte
		copy(kn[:], keyNonce)
		key, nonce := kn[:16], kn[16:]
		if len(pt) > 1<<16-1 {
			pt = pt[:1<<16-1] // the L = 2 length field's limit; Seal panics beyond it by contract
		}
		aead, err := NewCCM(key)
		require.NoError(t, err)

		// Arbitrary input as a ciphertext: it authenticates only if it is a Seal output.
		if out, err := aead.Open(nil, nonce, pt, aad); err == nil {
			require.Equal(t, pt, aead.Seal(nil, nonce, out, aad), "opened garbage must re-seal to itself")
		} else {
			require.ErrorIs(t, err, ErrOpen)
		}

		sealed := aead.Seal(nil, nonce, pt, aad)
		opened, err := aead.Open(nil, nonce, sealed, aad)
		require.NoError(t, err)
		require.True(t, bytes.Equal(pt, opened))

		i := int(pos) % len(sealed)
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x80
		_, err = aead.Open(nil, nonce, bad, aad)
		require.ErrorIs(t, err, ErrOpen)
	})
}

func BenchmarkCCMSeal1KiB(b *testing.B) {
	aead, _ := NewCCM(seq(16))
	nonce, aad, pt := make([]byte, 13), make([]byte, 8), make([]byte, 1024)
	dst := make([]byte, 0, 1024+16)
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		aead.Seal(dst, nonce, pt, aad)
	}
}

func BenchmarkCCMOpen1KiB(b *testing.B) {
	aead, _ := NewCCM(seq(16))
	nonce, aad, pt := make([]byte, 13), make([]byte, 8), make([]byte, 1024)
	sealed := aead.Seal(nil, nonce, pt, aad)
	dst := make([]byte, 0, 1024)
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := aead.Open(dst, nonce, sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}
