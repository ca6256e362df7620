package bdx

import (
	"errors"
	"fmt"
	"sync"
)

// Lookup errors. The Responder answers any Lookup error with FILE_DESIGNATOR_UNKNOWN (0x51).
var (
	ErrUnknownDesignator = errors.New("bdx: file designator unknown")
	ErrNotArmed          = errors.New("bdx: file designator not armed for this peer")
)

// Arming is a Lookup that serves a file only to the peer it was armed for. BDX has no ACL: any node
// with a CASE session can open a BDX exchange, so the provider must check that the ReceiveInit comes
// from the (fabric index, node id) that got UpdateAvailable and names the designator of its ImageURI
// (ota-provider.md §5, §6.5.1; bug #2, connectedhomeip #74130/#74131). The same node on another fabric
// is another peer. The zero value is ready to use and safe for concurrent use; expiring stale arms
// (bug #5) is the caller's policy.
type Arming struct {
	mu    sync.Mutex
	files map[string]map[Peer]File // designator → peer → file
}

// Arm makes designator resolve to f for peer, replacing any earlier arm for the same pair.
func (a *Arming) Arm(peer Peer, designator []byte, f File) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.files == nil {
		a.files = make(map[string]map[Peer]File)
	}
	byPeer := a.files[string(designator)]
	if byPeer == nil {
		byPeer = make(map[Peer]File)
		a.files[string(designator)] = byPeer
	}
	byPeer[peer] = f
}

// Disarm removes the arm for (peer, designator), if any.
func (a *Arming) Disarm(peer Peer, designator []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	byPeer := a.files[string(designator)]
	delete(byPeer, peer)
	if len(byPeer) == 0 {
		delete(a.files, string(designator))
	}
}

// Lookup returns the file armed for (peer, designator). It fails with ErrNotArmed when the designator
// is armed only for other peers and with ErrUnknownDesignator when nobody armed it.
func (a *Arming) Lookup(peer Peer, designator []byte) (File, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	byPeer, ok := a.files[string(designator)]
	if !ok {
		return nil, fmt.Errorf("designator %q: %w", designator, ErrUnknownDesignator)
	}
	f, ok := byPeer[peer]
	if !ok {
		return nil, fmt.Errorf("designator %q requested by %s: %w", designator, peer, ErrNotArmed)
	}
	return f, nil
}
