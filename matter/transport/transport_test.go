package transport

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	loop6 = netip.MustParseAddrPort("[::1]:0")
	loop4 = netip.MustParseAddrPort("127.0.0.1:0")
)

func listenOrSkip(t *testing.T, network string, addr netip.AddrPort) *UDP {
	t.Helper()
	u, err := ListenUDP(network, addr)
	if err != nil && addr.Addr().Is6() {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = u.Close() })
	return u
}

func TestUDPCarriesDatagramsOverLoopback(t *testing.T) {
	for _, c := range []struct {
		name    string
		network string
		addr    netip.AddrPort
	}{
		{"over IPv6", "udp6", loop6},
		{"over IPv4", "udp4", loop4},
		{"over IPv4 on a dual-stack socket", "udp", loop4},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := listenOrSkip(t, c.network, c.addr)
			b := listenOrSkip(t, c.network, c.addr)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()

			msg := []byte("matter datagram")
			require.NoError(t, a.Send(ctx, b.LocalAddr(), msg))
			msg[0] = 'X' // the transport must not keep the caller's slice
			got, from, err := b.Receive(ctx)
			require.NoError(t, err)
			assert.Equal(t, "matter datagram", string(got))
			assert.Equal(t, a.LocalAddr(), from, "the source address is the sender's local address")

			// And back, to the address we learnt.
			require.NoError(t, b.Send(ctx, from, []byte("reply")))
			got, _, err = a.Receive(ctx)
			require.NoError(t, err)
			assert.Equal(t, "reply", string(got))
		})
	}
}

func TestUDPReceiveStopsWhenTheContextEnds(t *testing.T) {
	u := listenOrSkip(t, "udp6", loop6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, _, err := u.Receive(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// The cancelled read leaves no stale deadline behind: the next Receive waits for data.
	other := listenOrSkip(t, "udp6", loop6)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = other.Send(ctx2, u.LocalAddr(), []byte("late"))
	}()
	got, _, err := u.Receive(ctx2)
	require.NoError(t, err)
	assert.Equal(t, "late", string(got))
}

func TestUDPReceiveReturnsErrClosedAfterClose(t *testing.T) {
	u, err := ListenUDP("udp4", loop4)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, _, err := u.Receive(context.Background())
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, u.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not return after Close")
	}
}

func TestUDPSendHonoursACancelledContext(t *testing.T) {
	u := listenOrSkip(t, "udp4", loop4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, u.Send(ctx, u.LocalAddr(), []byte("x")), context.Canceled)
}

func TestListenUDPNamesTheAddressOnFailure(t *testing.T) {
	_, err := ListenUDP("udp4", netip.MustParseAddrPort("[::1]:0"))
	assert.ErrorContains(t, err, "[::1]:0")
}

func TestMemPipeDeliversCopiesBothWays(t *testing.T) {
	a, b := Pipe()
	ctx := context.Background()
	msg := []byte("hello")
	require.NoError(t, a.Send(ctx, b.LocalAddr(), msg))
	msg[0] = 'X'
	got, from, err := b.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))
	assert.Equal(t, a.LocalAddr(), from)
	require.NoError(t, b.Send(ctx, from, []byte("back")))
	got, _, err = a.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "back", string(got))
}

func TestMemNetworkDropsWhatNobodyCanReceive(t *testing.T) {
	n := NewMemNetwork()
	a, err := n.Listen(netip.AddrPort{})
	require.NoError(t, err)
	b, err := n.Listen(netip.AddrPort{})
	require.NoError(t, err)
	ctx := context.Background()

	require.NoError(t, a.Send(ctx, netip.MustParseAddrPort("[fd00::99]:1"), []byte("nobody")))
	assert.Equal(t, int64(1), n.Dropped(), "an unknown address")
	for range memQueue + 3 {
		require.NoError(t, a.Send(ctx, b.LocalAddr(), []byte("x")))
	}
	assert.Equal(t, int64(4), n.Dropped(), "a full queue drops like a socket buffer")
	require.NoError(t, b.Close())
	require.NoError(t, a.Send(ctx, b.LocalAddr(), []byte("closed")))
	assert.Equal(t, int64(5), n.Dropped(), "a closed endpoint")

	_, err = n.Listen(a.LocalAddr())
	assert.ErrorContains(t, err, "already in use")
}

func TestMemReceiveEndsWithTheContextOrClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _, err := a.Receive(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		done := make(chan error)
		go func() {
			_, _, err := b.Receive(context.Background())
			done <- err
		}()
		synctest.Wait()
		require.NoError(t, b.Close())
		assert.ErrorIs(t, <-done, ErrClosed)
		assert.ErrorIs(t, b.Send(context.Background(), a.LocalAddr(), nil), ErrClosed)
	})
}

// lossSeed is the seed of the lossy tests; set OTACONF_LOSSY_SEED to replay another one.
func lossSeed(t *testing.T, def uint64) uint64 {
	t.Helper()
	if s := os.Getenv("OTACONF_LOSSY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		def = v
	}
	t.Logf("lossy link seed %d (replay with OTACONF_LOSSY_SEED=%d)", def, def)
	return def
}

// runLink pushes n numbered datagrams one way through a link and returns what came out, in order.
func runLink(t *testing.T, cfg LossConfig, n int) ([]string, LinkStats) {
	t.Helper()
	l, err := NewLink(cfg)
	require.NoError(t, err)
	from, to := netip.MustParseAddrPort("[fd00::1]:1"), netip.MustParseAddrPort("[fd00::2]:1")
	var out []string
	for i := range n {
		l.Forward(from, to, []byte(strconv.Itoa(i)), func(b []byte) { out = append(out, string(b)) })
	}
	l.Close()
	return out, l.Stats()
}

func TestLinkIsDeterministicForASeed(t *testing.T) {
	seed := lossSeed(t, 7)
	cfg := LossConfig{Seed: seed, Drop: 0.2, Duplicate: 0.1, Reorder: 0.2}
	a, sa := runLink(t, cfg, 500)
	b, sb := runLink(t, cfg, 500)
	assert.Equal(t, a, b)
	assert.Equal(t, sa, sb)
	cfg.Seed++
	c, _ := runLink(t, cfg, 500)
	assert.NotEqual(t, a, c, "another seed gives another pattern")
}

func TestLinkAppliesRoughlyTheConfiguredShares(t *testing.T) {
	seed := lossSeed(t, 11)
	const n = 20000
	_, s := runLink(t, LossConfig{Seed: seed, Drop: 0.1, Duplicate: 0.05, Reorder: 0.1}, n)
	assert.Equal(t, n, s.In)
	assert.InDelta(t, 0.10, float64(s.Dropped)/n, 0.015)
	assert.InDelta(t, 0.05, float64(s.Duplicated)/n, 0.015)
	// A datagram is only held when nothing else is held, so slightly fewer than 10% are reordered.
	assert.InDelta(t, 0.09, float64(s.Reordered)/n, 0.02)
	// Everything not dropped comes out, duplicates twice (the last held one is discarded by Close).
	assert.InDelta(t, n-s.Dropped+s.Duplicated, s.Delivered, 1)
}

func TestLinkReordersAHeldDatagramBehindItsSuccessor(t *testing.T) {
	out, s := runLink(t, LossConfig{Reorder: 1}, 4)
	// 0 is held, 1 passes and releases 0; 2 is held, 3 releases it.
	assert.Equal(t, []string{"1", "0", "3", "2"}, out)
	assert.Equal(t, 2, s.Reordered)
}

func TestLinkReleasesAHeldDatagramAfterTheHoldTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := NewLink(LossConfig{Reorder: 1, Hold: 25 * time.Millisecond})
		require.NoError(t, err)
		got := make(chan time.Time, 1)
		start := time.Now()
		l.Forward(netip.AddrPort{}, netip.AddrPort{}, []byte("x"), func([]byte) { got <- time.Now() })
		select {
		case at := <-got:
			assert.Equal(t, 25*time.Millisecond, at.Sub(start))
		case <-time.After(time.Second):
			t.Fatal("held datagram never released")
		}
	})
}

func TestLinkRejectsImpossibleShares(t *testing.T) {
	for _, cfg := range []LossConfig{{Drop: -0.1}, {Duplicate: 1.5}, {Drop: 0.6, Reorder: 0.6}} {
		_, err := NewLink(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	_, _, _, err := LossyPipe(LossConfig{Drop: 2})
	assert.ErrorContains(t, err, "Drop share 2")
}

func TestLossyPipeDropsEverythingAtShareOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, link, err := LossyPipe(LossConfig{Drop: 1})
		require.NoError(t, err)
		require.NoError(t, a.Send(context.Background(), b.LocalAddr(), []byte("lost")))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _, err = b.Receive(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, LinkStats{In: 1, Dropped: 1}, link.Stats())
	})
}

func TestUDPRelayForwardsBothWaysAndImpairs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	server := listenOrSkip(t, "udp6", loop6)
	client := listenOrSkip(t, "udp6", loop6)

	// An echo server on the upstream side.
	echoDone := make(chan struct{})
	go func() {
		defer close(echoDone)
		for {
			b, from, err := server.Receive(ctx)
			if err != nil {
				return
			}
			_ = server.Send(ctx, from, append([]byte("echo "), b...))
		}
	}()

	t.Run("a perfect link relays every datagram", func(t *testing.T) {
		relay, err := NewUDPRelay(ctx, loop6, server.LocalAddr(), LossConfig{}, nil)
		require.NoError(t, err)
		defer relay.Close()
		for i := range 20 {
			require.NoError(t, client.Send(ctx, relay.Addr(), []byte(strconv.Itoa(i))))
			got, from, err := client.Receive(ctx)
			require.NoError(t, err)
			assert.Equal(t, "echo "+strconv.Itoa(i), string(got))
			assert.Equal(t, relay.Addr(), from)
		}
		assert.Equal(t, 40, relay.Stats().Delivered)
	})

	t.Run("a lossy link loses a share of them", func(t *testing.T) {
		seed := lossSeed(t, 3)
		relay, err := NewUDPRelay(ctx, loop6, server.LocalAddr(), LossConfig{Seed: seed, Drop: 0.3}, nil)
		require.NoError(t, err)
		defer relay.Close()
		received := 0
		for i := range 50 {
			require.NoError(t, client.Send(ctx, relay.Addr(), []byte(fmt.Sprint(i))))
			rctx, rcancel := context.WithTimeout(ctx, 50*time.Millisecond)
			if _, _, err := client.Receive(rctx); err == nil {
				received++
			}
			rcancel()
		}
		s := relay.Stats()
		t.Logf("relay stats %+v, %d of 50 round trips completed", s, received)
		assert.Greater(t, s.Dropped, 0)
		assert.Less(t, received, 50)
		assert.Greater(t, received, 0)
		assert.Equal(t, s.In-s.Dropped, s.Delivered)
	})

	t.Run("the relay stops when its context ends", func(t *testing.T) {
		rctx, rcancel := context.WithCancel(ctx)
		relay, err := NewUDPRelay(rctx, loop6, server.LocalAddr(), LossConfig{}, nil)
		require.NoError(t, err)
		rcancel()
		// Once stopped, the relay's port is free again.
		require.Eventually(t, func() bool {
			u, err := ListenUDP("udp6", relay.Addr())
			if err != nil {
				return false
			}
			_ = u.Close()
			return true
		}, 2*time.Second, 10*time.Millisecond)
		require.NoError(t, relay.Close(), "Close after the context ended is fine")
	})

	cancel()
	<-echoDone
}

func BenchmarkMemPipeSendReceive(b *testing.B) {
	x, y := Pipe()
	ctx := context.Background()
	msg := make([]byte, 100)
	b.ReportAllocs()
	for b.Loop() {
		if err := x.Send(ctx, y.LocalAddr(), msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := y.Receive(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
