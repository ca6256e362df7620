package reference

import (
	"context"

	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// BDXSession is one BDX exchange opened by a requestor, driven one message at a time by a transport
// that delivers messages in order (in-process calls, the exec adapter). Not safe for concurrent use;
// different sessions are.
type BDXSession struct {
	p    *Provider
	peer bdx.Peer
	t    *bdx.Transfer
	done bool
}

// OpenBDX starts a BDX exchange from requestor r. The first message must be the ReceiveInit.
func (p *Provider) OpenBDX(r ota.Requestor) bdx.Session {
	return &BDXSession{p: p, peer: bdx.Peer(r)}
}

// Handle processes one message from the requestor and returns the provider's reply, if any, and
// whether the exchange is over (transfer finished, refused or failed).
func (s *BDXSession) Handle(m bdx.Message) (reply *bdx.Message, done bool) {
	if s.done {
		return nil, true
	}
	now := s.p.cfg.Now()
	if s.t == nil {
		s.p.mu.Lock()
		s.p.expire(now) // an offer past its lifetime must not be served
		s.p.mu.Unlock()
		t, rep, err := s.p.bdx.Accept(now, s.peer, m)
		if err != nil || t == nil {
			s.done = true
			return rep, true
		}
		s.t = t
		return rep, false
	}
	rep, finished, _ := s.t.Handle(now, m)
	if finished {
		s.done = true
	}
	return rep, finished
}

// Close abandons the exchange; an unfinished transfer is aborted without a report (the requestor
// went away), freeing its slot.
func (s *BDXSession) Close() {
	if s.t != nil && !s.done {
		s.t.Abort(bdx.StatusTransferFailedUnknownError)
	}
	s.done = true
}

// ServeBDX runs one BDX exchange from requestor r over ex until it ends (for transports with their
// own exchange, like the network stack).
func (p *Provider) ServeBDX(ctx context.Context, r ota.Requestor, ex bdx.Exchange) error {
	return p.bdx.Serve(ctx, bdx.Peer(r), ex)
}
