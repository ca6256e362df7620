package reference

import (
	"container/heap"
	"time"

	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// deadline is when a token or an offer lapses.
type deadline struct {
	at    time.Time
	token string        // the token's key, or "" for an offer
	r     ota.Requestor // the offer's requestor
}

// deadlines is a min-heap of deadlines, so that expiring costs nothing while nothing lapses. Entries
// whose token or offer went away earlier stay until their time or the next compaction.
type deadlines []deadline

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].at.Before(d[j].at) }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i] }
func (d *deadlines) Push(x any)        { *d = append(*d, x.(deadline)) }
func (d *deadlines) Pop() any {
	old := *d
	x := old[len(old)-1]
	*d = old[:len(old)-1]
	return x
}

// schedule records a deadline, compacting the heap when stale entries dominate it. Callers hold p.mu.
func (p *Provider) schedule(d deadline) {
	heap.Push(&p.deadlines, d)
	if live := len(p.tokens) + len(p.offers); len(p.deadlines) > 2*live+1024 {
		kept := p.deadlines[:0]
		for _, e := range p.deadlines {
			if p.current(e) {
				kept = append(kept, e)
			}
		}
		p.deadlines = kept
		heap.Init(&p.deadlines)
	}
}

// current reports whether d still describes a live token or offer.
func (p *Provider) current(d deadline) bool {
	if d.token != "" {
		t := p.tokens[d.token]
		return t != nil && t.expires.Equal(d.at)
	}
	o := p.offers[d.r]
	return o != nil && o.expires.Equal(d.at)
}

// expire drops stale tokens and offers and ends idle transfers. Every entry point runs it first
// (QueryImage, ApplyUpdateRequest, NotifyUpdateApplied, the first message of a BDX exchange), so
// nothing stale is ever acted on. Callers hold p.mu.
func (p *Provider) expire(now time.Time) {
	p.bdx.Sweep(now) // dead transfers must not keep QueryImage Busy (bug #15)
	for len(p.deadlines) > 0 && now.After(p.deadlines[0].at) {
		d := heap.Pop(&p.deadlines).(deadline)
		if !p.current(d) {
			continue
		}
		if d.token != "" {
			p.dropToken(d.token)
		} else {
			p.dropOffer(d.r)
		}
	}
}

// dropToken forgets a token. Callers hold p.mu.
func (p *Provider) dropToken(key string) {
	if t := p.tokens[key]; t != nil {
		if p.latest[t.requestor] == key {
			delete(p.latest, t.requestor)
		}
		delete(p.tokens, key)
	}
}

// dropOffer disarms and forgets requestor r's offer. Callers hold p.mu.
func (p *Provider) dropOffer(r ota.Requestor) {
	if o := p.offers[r]; o != nil {
		p.arming.Disarm(bdx.Peer(r), []byte(o.image.Designator))
		delete(p.offers, r)
	}
}
