package mcrypto

import (
	"errors"
	"fmt"
	"io"
	"math/bits"

	"filippo.io/nistec"
)

// p256Order is n, the order of the P-256 base point, as four little-endian 64-bit limbs.
var p256Order = [4]uint64{0xf3b9cac2fc632551, 0xbce6faada7179e84, 0xffffffffffffffff, 0xffffffff00000000}

// reduceModN returns the big-endian value of b reduced mod n, as 32 big-endian bytes.
//
// §3.9/§3.10: w0 and w1 are 40-byte PBKDF2 outputs taken mod n, and the extra 64 bits also make
// random scalars unbiased (FIPS 186-5 §A.2.1). Both are secret, so this is a bit-serial reduction
// whose running time depends only on len(b), not on its value: r = 2r + bit, then subtract n
// whenever the 257-bit result is >= n, selected with masks rather than branches.
func reduceModN(b []byte) [32]byte {
	var r [4]uint64
	for _, byt := range b {
		for i := 7; i >= 0; i-- {
			bit := uint64(byt>>uint(i)) & 1
			// r = 2r + bit; carry is bit 256.
			carry := r[3] >> 63
			r[3] = r[3]<<1 | r[2]>>63
			r[2] = r[2]<<1 | r[1]>>63
			r[1] = r[1]<<1 | r[0]>>63
			r[0] = r[0]<<1 | bit
			// t = r - n (mod 2^256); keep t when the true value carry·2^256 + r is >= n.
			var t [4]uint64
			var borrow uint64
			t[0], borrow = bits.Sub64(r[0], p256Order[0], 0)
			t[1], borrow = bits.Sub64(r[1], p256Order[1], borrow)
			t[2], borrow = bits.Sub64(r[2], p256Order[2], borrow)
			t[3], borrow = bits.Sub64(r[3], p256Order[3], borrow)
			keep := -(carry | (borrow ^ 1)) // all ones when we subtract
			for j := range r {
				r[j] = r[j]&^keep | t[j]&keep
			}
		}
	}
	var out [32]byte
	for i := range 4 {
		w := r[3-i]
		for j := range 8 {
			out[8*i+j] = byte(w >> (56 - 8*uint(j)))
		}
	}
	return out
}

// scalarInRange reports whether s, read big-endian, is in [1, n-1]. It runs in constant time;
// only the verdict is revealed.
func scalarInRange(s *[32]byte) bool {
	var borrow, acc uint64
	for i := range 4 {
		var w uint64
		for j := range 8 {
			w = w<<8 | uint64(s[8*(3-i)+j])
		}
		acc |= w
		_, borrow = bits.Sub64(w, p256Order[i], borrow)
	}
	nonZero := (acc | -acc) >> 63
	return borrow&nonZero == 1 // s < n and s != 0
}

// scalarFromBytes copies a 32-byte big-endian scalar after checking it is in [1, n-1].
func scalarFromBytes(b []byte, what string) ([32]byte, error) {
	var s [32]byte
	if len(b) != 32 {
		return s, fmt.Errorf("mcrypto: %s is %d bytes, want a 32-byte big-endian scalar", what, len(b))
	}
	copy(s[:], b)
	if !scalarInRange(&s) {
		clear(s[:])
		return s, fmt.Errorf("mcrypto: %s is not in [1, n-1] for P-256", what)
	}
	return s, nil
}

// maxScalarDraws bounds the retries of randomScalar, so that a broken reader (all zeros, say)
// fails instead of looping forever. An honest source needs a second draw with probability ~2^-256.
const maxScalarDraws = 8

var errZeroScalar = errors.New("mcrypto: random source keeps yielding zero mod n; it is broken")

// randomScalar draws a uniform scalar in [1, n-1] from r: 40 bytes reduced mod n, retried on zero.
func randomScalar(r io.Reader) ([32]byte, error) {
	if r == nil {
		return [32]byte{}, errors.New("mcrypto: nil random source")
	}
	var buf [40]byte
	defer clear(buf[:])
	for range maxScalarDraws {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return [32]byte{}, fmt.Errorf("mcrypto: reading 40 random bytes for a scalar: %w", err)
		}
		s := reduceModN(buf[:])
		if scalarInRange(&s) {
			return s, nil
		}
	}
	return [32]byte{}, errZeroScalar
}

// parsePoint decodes a 65-byte uncompressed SEC1 P-256 point (Matter sends only this form, §3.10)
// and checks it lies on the curve. The 65-byte form cannot encode the identity.
func parsePoint(b []byte, what string) (*nistec.P256Point, error) {
	if len(b) != 65 || b[0] != 0x04 {
		first := -1
		if len(b) > 0 {
			first = int(b[0])
		}
		return nil, fmt.Errorf("mcrypto: %s is %d bytes starting with %#02x, want 65-byte uncompressed 0x04||x||y", what, len(b), first)
	}
	p, err := nistec.NewP256Point().SetBytes(b)
	if err != nil {
		return nil, fmt.Errorf("mcrypto: %s is not a point on P-256: %w", what, err)
	}
	return p, nil
}
