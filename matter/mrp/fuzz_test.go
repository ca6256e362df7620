package mrp

import (
	"context"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/matter/transport"
)

// FuzzNodeHandle feeds arbitrary datagrams to a node's receive path (the function the receive
// goroutine calls). Properties: it never panics, it counts every datagram, and nothing addressed to
// the secure session is delivered unless the peer really sealed it.
func FuzzNodeHandle(f *testing.F) {
	nw := transport.NewMemNetwork()
	nodeTr, err := nw.Listen(netip.AddrPort{})
	require.NoError(f, err)
	peerTr, err := nw.Listen(netip.AddrPort{})
	require.NoError(f, err)
	n, err := NewNode(context.Background(), Config{Transport: nodeTr, Rand: seededRand(1)})
	require.NoError(f, err)
	f.Cleanup(func() { _ = n.Close() })
	ns, ps := securePair(f)
	require.NoError(f, n.AddSession(ns, peerTr.LocalAddr()))
	u, err := n.NewUnsecuredSession(peerTr.LocalAddr())
	require.NoError(f, err)

	var mu sync.Mutex
	sealed := map[string]bool{}
	for i, ph := range []message.ProtocolHeader{
		{Initiator: true, Reliable: true, Opcode: message.OpIMInvokeRequest, ExchangeID: 1, ProtocolID: message.ProtocolIM},
		{HasAck: true, AckCounter: 5, Opcode: 0x10, ExchangeID: 2, ProtocolID: message.ProtocolSecureChannel},
		{Reliable: true, Opcode: message.OpBDXBlock, ExchangeID: 3, ProtocolID: message.ProtocolBDX},
	} {
		wire, _, err := ps.Seal(&ph, []byte{byte(i), 1, 2, 3})
		require.NoError(f, err)
		sealed[string(wire)] = true
		f.Add(wire)
	}
	// Unsecured traffic: a new initiator, and a response to our own unsecured session.
	peerInit, err := session.NewUnsecuredInitiator(fixedReader(7), message.NewCounterAt(9, message.Rollover))
	require.NoError(f, err)
	w, _, err := peerInit.Seal(&message.ProtocolHeader{Initiator: true, Reliable: true, Opcode: 0x20, ExchangeID: 4}, []byte("pbkdf"))
	require.NoError(f, err)
	f.Add(w)
	peerResp, err := session.NewUnsecuredResponder(u.EphemeralNodeID(), message.NewCounterAt(11, message.Rollover))
	require.NoError(f, err)
	w, _, err = peerResp.Seal(&message.ProtocolHeader{Reliable: true, Opcode: 0x21, ExchangeID: 5}, []byte("resp"))
	require.NoError(f, err)
	f.Add(w)
	f.Add([]byte{})
	f.Add([]byte{0, 1, 0, 0, 1, 2, 3, 4})

	from := peerTr.LocalAddr()
	f.Fuzz(func(t *testing.T, p []byte) {
		mu.Lock()
		defer mu.Unlock()
		before := n.Stats()
		n.handle(append([]byte(nil), p...), from)
		after := n.Stats()
		if after.Received != before.Received+1 {
			t.Fatalf("received %d → %d", before.Received, after.Received)
		}
		if h, _, err := message.DecodeHeader(p); err == nil && h.SessionID != 0 &&
			after.Delivered > before.Delivered && !sealed[string(p)] {
			t.Fatalf("forged secure message delivered: %X", p)
		}
		// Keep the node's state small: take and close whatever the input opened.
		for {
			select {
			case x := <-n.accept:
				_ = x.Close()
				continue
			default:
			}
			break
		}
		var opened []*Exchange
		n.mu.Lock()
		for k, x := range n.exchanges {
			if !k.initiator {
				delete(n.exchanges, k)
				opened = append(opened, x)
			}
		}
		n.mu.Unlock()
		for _, x := range opened {
			x.abort(ErrExchangeClosed, false)
		}
	})
}

type fixedReader uint64

func (r fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(r))
		p[i] = b[i%8]
	}
	return len(p), nil
}
