package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type encryptionVectorFile struct {
	Vectors []struct {
		Name         string `json:"name"`
		Key          string `json:"key"`
		PrivacyKey   string `json:"privacyKey"`
		Plain        string `json:"plain"`
		Encrypted    string `json:"encrypted"`
		Privacy      string `json:"privacy"`
		PrivacyNonce string `json:"privacyNonce"`
		SessionID    uint16 `json:"sessionId"`
		Counter      uint32 `json:"messageCounter"`
	} `json:"vectors"`
	PrivacyNonce struct {
		SessionID    uint16 `json:"session_id"`
		MIC          string `json:"mic"`
		PrivacyNonce string `json:"privacy_nonce"`
	} `json:"privacy_nonce"`
	PrivacyKey struct {
		EncryptionKey string `json:"encryption_key"`
		PrivacyKey    string `json:"privacy_key"`
	} `json:"privacy_key"`
}

func loadEncryptionVectors(t testing.TB) encryptionVectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/message_encryption.json")
	require.NoError(t, err)
	var f encryptionVectorFile
	require.NoError(t, json.Unmarshal(b, &f))
	require.Len(t, f.Vectors, 5, "message_encryption.json changed shape")
	return f
}

func TestPrivacyKeyIsHKDFOfTheEncryptionKey(t *testing.T) {
	f := loadEncryptionVectors(t)
	k, err := DerivePrivacyKey(unhex(t, f.PrivacyKey.EncryptionKey))
	require.NoError(t, err)
	assert.Equal(t, unhex(t, f.PrivacyKey.PrivacyKey), k)
	// The group vectors list the same pair.
	k, err = DerivePrivacyKey(unhex(t, f.Vectors[4].Key))
	require.NoError(t, err)
	assert.Equal(t, unhex(t, f.Vectors[4].PrivacyKey), k)
}

func TestPrivacyNonceIsSessionIDThenTheMICTail(t *testing.T) {
	f := loadEncryptionVectors(t)
	n, err := PrivacyNonce(f.PrivacyNonce.SessionID, unhex(t, f.PrivacyNonce.MIC))
	require.NoError(t, err)
	assert.Equal(t, unhex(t, f.PrivacyNonce.PrivacyNonce), n[:])

	for _, v := range f.Vectors {
		if v.PrivacyNonce == "" {
			continue
		}
		enc := unhex(t, v.Encrypted)
		n, err := PrivacyNonce(v.SessionID, enc[len(enc)-MICSize:])
		require.NoError(t, err)
		assert.Equal(t, unhex(t, v.PrivacyNonce), n[:], v.Name)
	}

	_, err = PrivacyNonce(1, make([]byte, 15))
	assert.ErrorContains(t, err, "15 bytes")
}

func TestPrivacyVectorsObfuscateAndDeobfuscateTheHeader(t *testing.T) {
	f := loadEncryptionVectors(t)
	cases := []struct {
		name  string
		index int
		key   func() []byte
	}{
		// CHIP's test mode uses the encryption key itself as privacy key (see the vector's note).
		{"a PASE unicast message with CHIP's test-mode privacy key", 2, func() []byte { return unhex(t, f.Vectors[2].Key) }},
		{"a group message with its derived privacy key", 4, func() []byte { return unhex(t, f.Vectors[4].PrivacyKey) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := f.Vectors[c.index]
			obf, clear := unhex(t, v.Privacy), unhex(t, v.Encrypted)
			got, err := Deobfuscate(c.key(), obf)
			require.NoError(t, err)
			assert.Equal(t, clear, got)
			h, _, err := DecodeHeader(got)
			require.NoError(t, err)
			assert.Equal(t, v.Counter, h.Counter)
			assert.True(t, h.Privacy)

			again, err := Obfuscate(c.key(), clear)
			require.NoError(t, err)
			assert.Equal(t, obf, again)
			assert.Equal(t, unhex(t, v.Privacy), obf, "input not modified")
		})
	}
}

func TestPrivacyCoversMessageExtensions(t *testing.T) {
	h := Header{SessionID: 9, Privacy: true, Counter: 77, HasSource: true, SourceNodeID: 5, Extensions: []byte{1, 2, 3, 4}}
	b, err := h.Encode()
	require.NoError(t, err)
	msg := append(b, bytes.Repeat([]byte{0xAB}, 5+MICSize)...)
	key := bytes.Repeat([]byte{7}, 16)
	obf, err := Obfuscate(key, msg)
	require.NoError(t, err)
	assert.Equal(t, msg[:4], obf[:4], "flags and session id stay clear")
	assert.NotEqual(t, msg[4:len(b)], obf[4:len(b)])
	assert.Equal(t, msg[len(b):], obf[len(b):], "ciphertext and MIC untouched")
	back, err := Deobfuscate(key, obf)
	require.NoError(t, err)
	assert.Equal(t, msg, back)
}

func TestPrivacyRejectsMalformedInput(t *testing.T) {
	key := make([]byte, 16)
	cases := []struct {
		name string
		msg  []byte
		err  error
	}{
		{"a message shorter than header and MIC", make([]byte, 23), ErrTruncated},
		{"version 1", append([]byte{0x10}, make([]byte, 30)...), ErrUnsupportedVersion},
		{"DSIZ 3", append([]byte{0x03}, make([]byte, 30)...), ErrReserved},
		{"node ids running into the MIC", append([]byte{0x05}, make([]byte, 30)...), ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Deobfuscate(key, c.msg)
			assert.ErrorIs(t, err, c.err)
		})
	}
	t.Run("a bad key length", func(t *testing.T) {
		_, err := Deobfuscate(make([]byte, 5), make([]byte, 40))
		assert.ErrorContains(t, err, "privacy key")
	})
}

func FuzzPrivacy(f *testing.F) {
	for _, v := range loadEncryptionVectors(f).Vectors {
		if v.Privacy != "" {
			f.Add(unhex(f, v.Privacy))
		}
		f.Add(unhex(f, v.Encrypted))
	}
	key := bytes.Repeat([]byte{0x5A}, 16)
	f.Fuzz(func(t *testing.T, p []byte) {
		clear, err := Deobfuscate(key, p)
		if err != nil {
			var de *FieldError
			if !errors.As(err, &de) {
				t.Fatalf("not a *FieldError: %v", err)
			}
			return
		}
		if len(clear) != len(p) || !bytes.Equal(clear[:4], p[:4]) || !bytes.Equal(clear[len(p)-MICSize:], p[len(p)-MICSize:]) {
			t.Fatalf("de-obfuscation touched bytes outside the header fields")
		}
		back, err := Obfuscate(key, clear)
		if err != nil {
			t.Fatalf("obfuscating a de-obfuscated message: %v", err)
		}
		if !bytes.Equal(back, p) {
			t.Fatalf("Obfuscate(Deobfuscate(p)) != p")
		}
	})
}
