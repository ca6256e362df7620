package mcrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReduceModNMatchesMathBig(t *testing.T) {
	nMinus1 := new(big.Int).Sub(bigN, big.NewInt(1)).FillBytes(make([]byte, 32))
	n := bigN.FillBytes(make([]byte, 32))
	nPlus1 := new(big.Int).Add(bigN, big.NewInt(1)).FillBytes(make([]byte, 32))
	twoN := new(big.Int).Lsh(bigN, 1).FillBytes(make([]byte, 40))
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty input", nil},
		{"40 zero bytes", make([]byte, 40)},
		{"n - 1", nMinus1},
		{"n", n},
		{"n + 1", nPlus1},
		{"2n as 40 bytes", twoN},
		{"2^256 - 1", bytes.Repeat([]byte{0xff}, 32)},
		{"2^320 - 1", bytes.Repeat([]byte{0xff}, 40)},
		{"one", []byte{1}},
		{"a 64-byte input", bytes.Repeat([]byte{0xa5}, 64)},
	}
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 200 {
		b := make([]byte, 40)
		fill(r, b)
		tests = append(tests, struct {
			name string
			in   []byte
		}{"random 40-byte input " + hex.EncodeToString([]byte{byte(i)}), b})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reduceModN(tt.in)
			require.Equal(t, hex.EncodeToString(modN(tt.in)), hex.EncodeToString(got[:]))
		})
	}
}

func TestScalarInRangeAcceptsExactlyOneToNMinusOne(t *testing.T) {
	tests := []struct {
		name string
		v    *big.Int
		want bool
	}{
		{"zero", big.NewInt(0), false},
		{"one", big.NewInt(1), true},
		{"n - 1", new(big.Int).Sub(bigN, big.NewInt(1)), true},
		{"n", bigN, false},
		{"n + 1", new(big.Int).Add(bigN, big.NewInt(1)), false},
		{"2^256 - 1", new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)), false},
		{"2^255", new(big.Int).Lsh(big.NewInt(1), 255), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s [32]byte
			tt.v.FillBytes(s[:])
			require.Equal(t, tt.want, scalarInRange(&s))
		})
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestRandomScalarFailsCleanlyOnBrokenSources(t *testing.T) {
	boom := errors.New("entropy pool on fire")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"a reader that errors", errReader{boom}, boom},
		{"a reader that ends after 10 bytes", bytes.NewReader(make([]byte, 10)), io.ErrUnexpectedEOF},
		{"a reader of endless zeros", zeroReader{}, errZeroScalar},
		{"a reader of endless n multiples", repeatReader(bigN.FillBytes(make([]byte, 40))), errZeroScalar},
	}
	for _, tt := range tests {
		t.Run("it fails on "+tt.name, func(t *testing.T) {
			_, err := randomScalar(tt.r)
			require.ErrorIs(t, err, tt.want)
		})
	}
	_, err := randomScalar(nil)
	require.ErrorContains(t, err, "nil random source")
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type repeatReader []byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r[i%len(r)]
	}
	return len(p), nil
}

// FuzzReduceModN checks the constant-time reduction against math/big on arbitrary inputs.
func FuzzReduceModN(f *testing.F) {
	f.Add(bigN.FillBytes(make([]byte, 40)))
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 128 {
			return
		}
		got := reduceModN(b)
		require.Equal(t, modN(b), got[:])
		// Reducing again is the identity: the output is already in [0, n-1].
		again := reduceModN(got[:])
		require.Equal(t, got, again)
	})
}
