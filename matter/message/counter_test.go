package message

import (
	"errors"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

func TestNewCounterStartsInOneToTwoPow28(t *testing.T) {
	lowest, highest := uint32(1<<32-1), uint32(0)
	for seed := range uint64(2000) {
		c, err := NewCounter(seeded(seed), NoRollover)
		require.NoError(t, err)
		v, err := c.Next()
		require.NoError(t, err)
		require.GreaterOrEqual(t, v, uint32(1))
		require.LessOrEqual(t, v, uint32(1<<28))
		lowest, highest = min(lowest, v), max(highest, v)
	}
	// 2000 draws from 2^28 values land in the top and bottom eighth with overwhelming probability:
	// this fails if the start were, say, fixed or only 16 bits wide.
	assert.Less(t, lowest, uint32(1<<25))
	assert.Greater(t, highest, uint32(7<<25))
}

func TestNewCounterIsDeterministicForASeed(t *testing.T) {
	a, err := NewCounter(seeded(42), NoRollover)
	require.NoError(t, err)
	b, err := NewCounter(seeded(42), NoRollover)
	require.NoError(t, err)
	va, _ := a.Next()
	vb, _ := b.Next()
	assert.Equal(t, va, vb)
}

func TestNewCounterReportsAFailingRandomSource(t *testing.T) {
	_, err := NewCounter(iotest.ErrReader(errors.New("no entropy")), NoRollover)
	assert.ErrorContains(t, err, "no entropy")
}

func TestCounterIncrementsByOnePerMessage(t *testing.T) {
	c := NewCounterAt(100, NoRollover)
	for want := uint32(100); want < 110; want++ {
		v, err := c.Next()
		require.NoError(t, err)
		assert.Equal(t, want, v)
	}
}

func TestUnicastCounterStopsAtTwoPow32MinusOneInsteadOfRollingOver(t *testing.T) {
	c := NewCounterAt(0xFFFFFFFD, NoRollover)
	v, err := c.Next()
	require.NoError(t, err)
	assert.Equal(t, uint32(0xFFFFFFFD), v)
	v, err = c.Next()
	require.NoError(t, err)
	assert.Equal(t, uint32(0xFFFFFFFE), v)
	_, err = c.Next()
	assert.ErrorIs(t, err, ErrCounterExhausted)
	_, err = c.Next()
	assert.ErrorIs(t, err, ErrCounterExhausted, "an exhausted counter stays exhausted")
}

func TestGlobalUnencryptedCounterRollsOver(t *testing.T) {
	c := NewCounterAt(0xFFFFFFFF, Rollover)
	v, err := c.Next()
	require.NoError(t, err)
	assert.Equal(t, uint32(0xFFFFFFFF), v)
	v, err = c.Next()
	require.NoError(t, err)
	assert.Equal(t, uint32(0), v)
}

func TestSecureUnicastWindow(t *testing.T) {
	type step struct {
		c   uint32
		dup bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"accepts the first counter above zero", []step{{1000, false}}},
		{"rejects counter zero on a fresh session", []step{{0, true}}},
		{"rejects the same counter twice", []step{{1000, false}, {1000, true}}},
		{"accepts an older counter inside the window once", []step{{1000, false}, {990, false}, {990, true}}},
		{"accepts max-31 but rejects max-32", []step{{1000, false}, {969, false}, {968, true}}},
		{"remembers counters across a forward shift", []step{{10, false}, {8, false}, {20, false}, {8, true}, {10, true}, {9, false}}},
		{"forgets a counter once the maximum is 32 above it", []step{{10, false}, {42, false}, {10, true}, {11, false}, {41, false}}},
		{"accepts arbitrary reordering within the window", []step{{5, false}, {3, false}, {4, false}, {1, false}, {2, false}, {3, true}}},
		{"treats the maximum as seen after shifting by exactly 31", []step{{1, false}, {32, false}, {1, true}, {2, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := NewReceiveWindow(WindowSecureUnicast)
			for i, s := range c.steps {
				err := w.Accept(s.c)
				if s.dup {
					require.ErrorIs(t, err, ErrDuplicate, "step %d counter %d", i, s.c)
				} else {
					require.NoError(t, err, "step %d counter %d", i, s.c)
				}
			}
		})
	}
}

func TestUnsecuredWindow(t *testing.T) {
	type step struct {
		c   uint32
		dup bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"trusts the first counter, even zero", []step{{0, false}, {0, true}}},
		{"detects a duplicate inside the window", []step{{500, false}, {499, false}, {499, true}, {500, true}}},
		{"rolls over from 2^32-1 to 0", []step{{0xFFFFFFFF, false}, {0, false}, {1, false}, {0xFFFFFFFF, true}}},
		{"accepts a counter far behind as a restarted peer", []step{{100000, false}, {5, false}, {6, false}, {5, true}}},
		{"after a restart the old counters are far behind again", []step{{100000, false}, {5, false}, {100000, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := NewReceiveWindow(WindowUnsecured)
			for i, s := range c.steps {
				err := w.Accept(s.c)
				if s.dup {
					require.ErrorIs(t, err, ErrDuplicate, "step %d counter %d", i, s.c)
				} else {
					require.NoError(t, err, "step %d counter %d", i, s.c)
				}
			}
		})
	}
}

func TestDuplicateErrorsSayWhyTheCounterWasRejected(t *testing.T) {
	w := NewReceiveWindow(WindowSecureUnicast)
	require.NoError(t, w.Accept(100))
	assert.ErrorContains(t, w.Accept(100), "equals the maximum")
	require.NoError(t, w.Accept(90))
	assert.ErrorContains(t, w.Accept(90), "already seen inside the window")
	assert.ErrorContains(t, w.Accept(60), "behind the 32-entry window")
	assert.Equal(t, uint32(100), w.Max())
}

// FuzzSecureUnicastWindow checks the window against a model that remembers every counter: a counter
// is accepted iff it was never accepted and is within 31 of the running maximum (or above it).
func FuzzSecureUnicastWindow(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 5, 0, 0, 0, 10, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 40, 0, 0, 0, 9, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		w := NewReceiveWindow(WindowSecureUnicast)
		seen := map[uint32]bool{0: true}
		var maxSeen uint32
		for i := 0; i+2 <= len(p); i += 2 {
			// Small counters so that the window and its edges are exercised often.
			c := uint32(p[i]) | uint32(p[i+1]&0x01)<<8
			err := w.Accept(c)
			wantNew := !seen[c] && (c > maxSeen || maxSeen-c < WindowSize)
			if wantNew != (err == nil) {
				t.Fatalf("counter %d after max %d: got %v, model says new=%v", c, maxSeen, err, wantNew)
			}
			if err == nil {
				seen[c] = true
				maxSeen = max(maxSeen, c)
			}
		}
	})
}

func BenchmarkReceiveWindowAccept(b *testing.B) {
	w := NewReceiveWindow(WindowSecureUnicast)
	var c uint32 = 1
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Accept(c); err != nil {
			b.Fatal(err)
		}
		c++
	}
}
