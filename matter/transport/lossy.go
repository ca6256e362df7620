package transport

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// LossConfig describes an impaired link. Each share is the probability that a datagram gets that
// treatment; one random draw per datagram picks at most one of them, in the order drop, duplicate,
// reorder. The draws come from a generator per direction (from, to) seeded by Seed, so a given seed
// and a given sequence of datagrams in one direction always get the same treatment.
type LossConfig struct {
	Seed      uint64
	Drop      float64 // share of datagrams discarded
	Duplicate float64 // share delivered twice
	Reorder   float64 // share held back and delivered after the next datagram in the same direction
	// Hold bounds how long a held-back datagram waits for a successor; 0 means 10 ms.
	Hold time.Duration
}

func (c LossConfig) String() string {
	return fmt.Sprintf("seed=%d drop=%.2f dup=%.2f reorder=%.2f", c.Seed, c.Drop, c.Duplicate, c.Reorder)
}

// LinkStats counts what a Link did, over both directions.
type LinkStats struct {
	In         int // datagrams offered to the link
	Delivered  int // datagrams handed on (duplicates count twice)
	Dropped    int
	Duplicated int
	Reordered  int
}

// Link applies a LossConfig to the datagrams that pass it. It is safe for concurrent use.
type Link struct {
	cfg LossConfig

	mu     sync.Mutex
	dirs   map[[2]netip.AddrPort]*direction
	stats  LinkStats
	closed bool
}

type direction struct {
	rnd     *rand.Rand
	held    []byte
	deliver func([]byte)
	timer   *time.Timer
}

// NewLink checks cfg and returns a link.
func NewLink(cfg LossConfig) (*Link, error) {
	for _, s := range []struct {
		name string
		v    float64
	}{{"Drop", cfg.Drop}, {"Duplicate", cfg.Duplicate}, {"Reorder", cfg.Reorder}} {
		if s.v < 0 || s.v > 1 {
			return nil, fmt.Errorf("transport: lossy link %s share %v is outside [0, 1]", s.name, s.v)
		}
	}
	if sum := cfg.Drop + cfg.Duplicate + cfg.Reorder; sum > 1 {
		return nil, fmt.Errorf("transport: lossy link shares add up to %v, more than 1", sum)
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 10 * time.Millisecond
	}
	return &Link{cfg: cfg, dirs: map[[2]netip.AddrPort]*direction{}}, nil
}

// Config returns the link's configuration (with defaults filled in).
func (l *Link) Config() LossConfig { return l.cfg }

// Stats returns the counts so far.
func (l *Link) Stats() LinkStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Forward offers datagram b travelling from → to; deliver is called zero, one or two times with it,
// now or (for a reordered datagram) later. deliver must not block for long.
func (l *Link) Forward(from, to netip.AddrPort, b []byte, deliver func([]byte)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	key := [2]netip.AddrPort{from, to}
	d := l.dirs[key]
	if d == nil {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s>%s", from, to)
		d = &direction{rnd: rand.New(rand.NewPCG(l.cfg.Seed, h.Sum64()))}
		l.dirs[key] = d
	}
	d.deliver = deliver
	l.stats.In++
	u := d.rnd.Float64()
	switch {
	case u < l.cfg.Drop:
		l.stats.Dropped++
		return
	case u < l.cfg.Drop+l.cfg.Duplicate:
		l.stats.Duplicated++
		l.deliver(d, b)
		l.deliver(d, b)
	case u < l.cfg.Drop+l.cfg.Duplicate+l.cfg.Reorder && d.held == nil:
		l.stats.Reordered++
		d.held = b
		d.timer = time.AfterFunc(l.cfg.Hold, func() { l.release(d) })
		return
	default:
		l.deliver(d, b)
	}
	// Whatever was held back now arrives after b.
	l.releaseLocked(d)
}

func (l *Link) deliver(d *direction, b []byte) {
	l.stats.Delivered++
	d.deliver(b)
}

func (l *Link) release(d *direction) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.releaseLocked(d)
	}
}

func (l *Link) releaseLocked(d *direction) {
	if d.held == nil {
		return
	}
	d.timer.Stop()
	b := d.held
	d.held, d.timer = nil, nil
	l.deliver(d, b)
}

// Close discards held datagrams and stops their timers; later datagrams are dropped silently.
func (l *Link) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, d := range l.dirs {
		if d.timer != nil {
			d.timer.Stop()
		}
		d.held, d.timer = nil, nil
	}
}
