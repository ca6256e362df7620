package mcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"unsafe"
)

// Matter's AES-CCM parameters (Core §3.6): a 13-byte nonce, so L = 2 (messages up to 65535 bytes),
// and a 16-byte MIC.
const (
	CCMNonceSize = 13
	CCMTagSize   = 16
)

// ErrOpen is returned (wrapped) by the CCM Open method when a message does not authenticate:
// wrong key, nonce, additional data, tag, or a ciphertext shorter than the tag.
var ErrOpen = errors.New("mcrypto: CCM message authentication failed")

// ccm is CCM (RFC 3610, NIST SP 800-38C) over a 128-bit block cipher.
type ccm struct {
	b         cipher.Block
	nonceSize int
	tagSize   int
	maxLen    uint64 // 2^(8L) - 1: the length field has L = 15 - nonceSize bytes
}

// NewCCM returns AES-128-CCM with Matter's sizes: 13-byte nonce and 16-byte tag (Core §3.6).
// The key must be 16 bytes.
func NewCCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("mcrypto: AES-CCM-128 key is %d bytes, want 16", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mcrypto: AES-CCM key: %w", err)
	}
	return NewCCMWithSizes(b, CCMNonceSize, CCMTagSize)
}

// NewCCMWithSizes returns CCM over block with the given nonce size (7..13 bytes) and tag size
// (4..16, even), the full parameter space of RFC 3610 §2. The block size must be 16 bytes.
// Like the stdlib's GCM, Seal and Open panic on a nonce of the wrong length and on buffer overlaps
// the cipher.AEAD contract forbids, and Seal panics on a plaintext longer than the length field
// allows (65535 bytes for Matter's 13-byte nonce).
func NewCCMWithSizes(block cipher.Block, nonceSize, tagSize int) (cipher.AEAD, error) {
	if block == nil {
		return nil, errors.New("mcrypto: CCM needs a block cipher, got nil")
	}
	if bs := block.BlockSize(); bs != 16 {
		return nil, fmt.Errorf("mcrypto: CCM needs a 128-bit block cipher, got a %d-byte block", bs)
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, fmt.Errorf("mcrypto: CCM nonce size %d outside 7..13 (RFC 3610 §2: L = 15 - nonce size, 2..8)", nonceSize)
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, fmt.Errorf("mcrypto: CCM tag size %d not one of 4, 6, ..., 16 (RFC 3610 §2)", tagSize)
	}
	l := 15 - nonceSize
	maxLen := ^uint64(0)
	if l < 8 {
		maxLen = 1<<(8*l) - 1
	}
	return &ccm{b: block, nonceSize: nonceSize, tagSize: tagSize, maxLen: maxLen}, nil
}

func (c *ccm) NonceSize() int { return c.nonceSize }
func (c *ccm) Overhead() int  { return c.tagSize }

// Seal encrypts and authenticates plaintext and authenticates additionalData (cipher.AEAD).
func (c *ccm) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("mcrypto: CCM nonce is " + strconv.Itoa(len(nonce)) + " bytes, want " + strconv.Itoa(c.nonceSize))
	}
	if uint64(len(plaintext)) > c.maxLen {
		panic("mcrypto: CCM plaintext of " + strconv.Itoa(len(plaintext)) + " bytes exceeds the length field")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagSize)
	if inexactOverlap(out, plaintext) {
		panic("mcrypto: CCM invalid buffer overlap of output and plaintext")
	}
	if anyOverlap(out, additionalData) {
		panic("mcrypto: CCM invalid buffer overlap of output and additional data")
	}

	// The MAC is taken over the plaintext first, so that sealing in place (dst = plaintext[:0]) works.
	var tag, s0 [16]byte
	c.cbcMAC(&tag, nonce, plaintext, additionalData)
	ctr := c.counterBlock(nonce)
	c.b.Encrypt(s0[:], ctr[:])
	ctr[15] = 1 // A_1; the counter occupies the last L bytes, all zero before.
	cipher.NewCTR(c.b, ctr[:]).XORKeyStream(out[:len(plaintext)], plaintext)
	subtle.XORBytes(out[len(plaintext):], tag[:c.tagSize], s0[:c.tagSize])
	return ret
}

// Open authenticates and decrypts ciphertext (cipher.AEAD). On failure it returns an error wrapping
// ErrOpen and leaves no plaintext in dst.
func (c *ccm) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize {
		panic("mcrypto: CCM nonce is " + strconv.Itoa(len(nonce)) + " bytes, want " + strconv.Itoa(c.nonceSize))
	}
	if len(ciphertext) < c.tagSize {
		return nil, fmt.Errorf("ciphertext is %d bytes, shorter than the %d-byte tag: %w", len(ciphertext), c.tagSize, ErrOpen)
	}
	n := len(ciphertext) - c.tagSize
	if uint64(n) > c.maxLen {
		return nil, fmt.Errorf("ciphertext of %d bytes exceeds the CCM length field: %w", n, ErrOpen)
	}
	ct, tag := ciphertext[:n], ciphertext[n:]
	ret, out := sliceForAppend(dst, n)
	if inexactOverlap(out, ciphertext) {
		panic("mcrypto: CCM invalid buffer overlap of output and ciphertext")
	}
	if anyOverlap(out, additionalData) {
		panic("mcrypto: CCM invalid buffer overlap of output and additional data")
	}

	var want, s0 [16]byte
	ctr := c.counterBlock(nonce)
	c.b.Encrypt(s0[:], ctr[:])
	ctr[15] = 1
	cipher.NewCTR(c.b, ctr[:]).XORKeyStream(out, ct)
	c.cbcMAC(&want, nonce, out, additionalData)
	subtle.XORBytes(want[:c.tagSize], want[:c.tagSize], s0[:c.tagSize])
	if subtle.ConstantTimeCompare(want[:c.tagSize], tag) != 1 {
		clear(out) // never hand out unauthenticated plaintext
		return nil, fmt.Errorf("tag mismatch over %d bytes of ciphertext: %w", n, ErrOpen)
	}
	return ret, nil
}

// counterBlock returns A_0 = flags(L-1) || nonce || 0 (RFC 3610 §2.3).
func (c *ccm) counterBlock(nonce []byte) [16]byte {
	var a [16]byte
	a[0] = byte(14 - c.nonceSize) // L - 1
	copy(a[1:], nonce)
	return a
}

// cbcMAC computes the unencrypted tag T over B_0, the length-prefixed additional data and the
// message, each zero-padded to the block size (RFC 3610 §2.2).
func (c *ccm) cbcMAC(out *[16]byte, nonce, msg, aad []byte) {
	l := 15 - c.nonceSize
	var b0 [16]byte
	b0[0] = byte((c.tagSize-2)/2)<<3 | byte(l-1)
	if len(aad) > 0 {
		b0[0] |= 0x40 // Adata
	}
	copy(b0[1:], nonce)
	m := uint64(len(msg))
	for i := 15; i > 15-l; i-- {
		b0[i] = byte(m)
		m >>= 8
	}
	mac := macState{b: c.b}
	mac.write(b0[:])
	if len(aad) > 0 {
		var hdr [10]byte
		a := uint64(len(aad))
		var h []byte
		switch {
		case a < 0xFF00:
			h = append(hdr[:0], byte(a>>8), byte(a))
		case a <= 0xFFFFFFFF:
			h = append(hdr[:0], 0xFF, 0xFE, byte(a>>24), byte(a>>16), byte(a>>8), byte(a))
		default:
			h = append(hdr[:0], 0xFF, 0xFF, byte(a>>56), byte(a>>48), byte(a>>40), byte(a>>32),
				byte(a>>24), byte(a>>16), byte(a>>8), byte(a))
		}
		mac.write(h)
		mac.write(aad)
		mac.pad()
	}
	mac.write(msg)
	mac.pad()
	*out = mac.x
}

// macState is a running CBC-MAC with a zero IV; pad completes a partial block with zeros.
type macState struct {
	b cipher.Block
	x [16]byte
	n int // bytes of the current block already absorbed
}

func (m *macState) write(p []byte) {
	for len(p) > 0 {
		if m.n == 0 && len(p) >= 16 {
			subtle.XORBytes(m.x[:], m.x[:], p[:16])
			m.b.Encrypt(m.x[:], m.x[:])
			p = p[16:]
			continue
		}
		k := subtle.XORBytes(m.x[m.n:], m.x[m.n:], p)
		m.n += k
		p = p[k:]
		if m.n == 16 {
			m.b.Encrypt(m.x[:], m.x[:])
			m.n = 0
		}
	}
}

// pad closes a partial block; zero padding leaves the XOR state unchanged, so only the
// encryption remains.
func (m *macState) pad() {
	if m.n > 0 {
		m.b.Encrypt(m.x[:], m.x[:])
		m.n = 0
	}
}

// sliceForAppend extends in by n bytes, reusing its capacity when possible, and returns the whole
// slice and the new tail.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return head, tail
}

// anyOverlap reports whether x and y share memory at any index.
func anyOverlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}

// inexactOverlap reports whether x and y share memory at some index other than the same one,
// which is the only aliasing the cipher.AEAD contract allows.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	return anyOverlap(x, y)
}
