package mrp

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/matter/transport"
)

func seededRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6d7270)) }

func counterSource(start uint32) *bytes.Reader {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], start-1)
	return bytes.NewReader(b[:])
}

// securePair returns the two ends of a PASE-like secure session: a is the initiator (local id 1),
// b the responder (local id 2).
func securePair(t testing.TB) (a, b *session.Secure) {
	t.Helper()
	k1, k2 := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	a, err := session.NewSecure(session.SecureConfig{LocalSessionID: 1, PeerSessionID: 2, Role: session.Initiator,
		I2RKey: k1, R2IKey: k2, Rand: counterSource(1000)})
	require.NoError(t, err)
	b, err = session.NewSecure(session.SecureConfig{LocalSessionID: 2, PeerSessionID: 1, Role: session.Responder,
		I2RKey: k1, R2IKey: k2, Rand: counterSource(50000)})
	require.NoError(t, err)
	return a, b
}

// rawPeer is a hand-driven peer: a transport endpoint and a session, no MRP. Tests use it to
// observe exactly what a Node puts on the wire and when.
type rawPeer struct {
	t    testing.TB
	tr   transport.Transport
	s    session.Session
	node netip.AddrPort
}

func (p *rawPeer) send(ph message.ProtocolHeader, payload string) (wire []byte, counter uint32) {
	p.t.Helper()
	wire, counter, err := p.s.Seal(&ph, []byte(payload))
	require.NoError(p.t, err)
	p.sendRaw(wire)
	return wire, counter
}

func (p *rawPeer) sendRaw(wire []byte) {
	p.t.Helper()
	require.NoError(p.t, p.tr.Send(context.Background(), p.node, wire))
}

type arrival struct {
	at   time.Time
	wire []byte
	m    message.Message
	dup  bool
}

// recv waits up to d for the next datagram from the node and opens it.
func (p *rawPeer) recv(d time.Duration) (arrival, bool) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	b, _, err := p.tr.Receive(ctx)
	if err != nil {
		return arrival{}, false
	}
	m, dup, err := p.s.Open(b)
	require.NoError(p.t, err, "the node sent something its peer cannot open")
	return arrival{at: time.Now(), wire: b, m: m, dup: dup}, true
}

// fixture is a Node under test talking to a rawPeer over an in-memory network.
type fixture struct {
	n     *Node
	ns    *session.Secure // the node's end
	peer  *rawPeer
	net   *transport.MemNetwork
	start time.Time
}

func newFixture(t testing.TB, seed uint64) *fixture {
	t.Helper()
	nw := transport.NewMemNetwork()
	nodeTr, err := nw.Listen(netip.AddrPort{})
	require.NoError(t, err)
	peerTr, err := nw.Listen(netip.AddrPort{})
	require.NoError(t, err)
	n, err := NewNode(context.Background(), Config{Transport: nodeTr, Rand: seededRand(seed)})
	require.NoError(t, err)
	ns, ps := securePair(t)
	require.NoError(t, n.AddSession(ns, peerTr.LocalAddr()))
	f := &fixture{n: n, ns: ns, net: nw, start: time.Now(),
		peer: &rawPeer{t: t, tr: peerTr, s: ps, node: nodeTr.LocalAddr()}}
	t.Cleanup(func() {
		_ = n.Close()
		_ = peerTr.Close()
	})
	return f
}

// pairNodes returns two Nodes on either end of tr pair with a secure session registered on both.
func pairNodes(t testing.TB, a, b transport.Transport, seed uint64) (client, server *Node, cs, ss *session.Secure) {
	t.Helper()
	var err error
	client, err = NewNode(context.Background(), Config{Transport: a, Rand: seededRand(seed)})
	require.NoError(t, err)
	server, err = NewNode(context.Background(), Config{Transport: b, Rand: seededRand(seed + 1)})
	require.NoError(t, err)
	cs, ss = securePair(t)
	require.NoError(t, client.AddSession(cs, b.LocalAddr()))
	require.NoError(t, server.AddSession(ss, a.LocalAddr()))
	t.Cleanup(func() {
		_ = client.Close()
		_ = server.Close()
	})
	return client, server, cs, ss
}

// lossSeeds returns the seeds for lossy-link tests; OTACONF_LOSSY_SEED replays one.
func lossSeeds(t testing.TB, defaults ...uint64) []uint64 {
	t.Helper()
	if s := os.Getenv("OTACONF_LOSSY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		return []uint64{v}
	}
	return defaults
}
