package harness

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// Identity describes a target.
type Identity struct {
	Name string // "embedded reference", "exec:./provider", ...
	// NodeIDs is the provider's operational node id per fabric index, as the bdx:// host must show it.
	NodeIDs  map[uint8]uint64
	Endpoint uint16
	// PICS the target declares about itself (overridden by the user's PICS file).
	PICS map[string]bool
	// Steerable targets set up scenarios on request.
	Steerable bool
	// MaxRequestors is how many distinct requestor identities the target can act for (0 = any).
	MaxRequestors int
}

// NodeID returns the provider's node id on fabric f, or 0 when unknown.
func (id Identity) NodeID(f uint8) uint64 { return id.NodeIDs[f] }

// Target is a provider under test.
type Target interface {
	// Identity returns the target's identity; an error means it cannot be reached.
	Identity(ctx context.Context) (Identity, error)
	// Invoke invokes a command on the target as requestor r. Fields are the command fields as an
	// anonymous TLV structure. The error is for transport failures only; an IM status is a Response.
	Invoke(ctx context.Context, r ota.Requestor, endpoint uint16, cluster uint32, cmd ota.CommandID, fields []byte) (ota.Response, error)
	// OpenBDX opens a BDX exchange to the target as requestor r (the requestor initiates).
	OpenBDX(ctx context.Context, r ota.Requestor) (Exchange, error)
	// SetScenario asks the target to behave as the scenario says; targets that cannot return an
	// error wrapping scenario.ErrUnsupported.
	SetScenario(ctx context.Context, s scenario.Request) error
	Close() error
}

// Exchange is a BDX exchange with a target.
type Exchange interface {
	bdx.Exchange
	Close() error
}

// ErrNoReply is returned by Recv on exchanges that know synchronously that the provider sent nothing.
var ErrNoReply = errors.New("the provider sent no reply")

// Provider is what an in-process Go provider implements to be tested with InProcess; the reference
// provider (package reference) is one.
type Provider interface {
	NodeID(fabric uint8) uint64
	Endpoint() uint16
	Invoke(ctx context.Context, r ota.Requestor, endpoint uint16, cluster uint32, cmd ota.CommandID, fields []byte) ota.Response
	OpenBDX(r ota.Requestor) bdx.Session
}

// Steerable is implemented by providers that can be set up for scenarios.
type Steerable interface {
	SetScenario(scenario.Request) error
}

// InProcess returns a Target that calls p directly. PICS are the target's declared PICS.
func InProcess(name string, p Provider, fabrics []uint8, pics map[string]bool) Target {
	return &inProcess{name: name, p: p, fabrics: fabrics, pics: pics}
}

type inProcess struct {
	name    string
	p       Provider
	fabrics []uint8
	pics    map[string]bool
}

func (t *inProcess) Identity(context.Context) (Identity, error) {
	id := Identity{Name: t.name, NodeIDs: map[uint8]uint64{}, Endpoint: t.p.Endpoint(), PICS: t.pics}
	for _, f := range t.fabrics {
		id.NodeIDs[f] = t.p.NodeID(f)
	}
	_, id.Steerable = t.p.(Steerable)
	return id, nil
}

func (t *inProcess) Invoke(ctx context.Context, r ota.Requestor, endpoint uint16, cluster uint32, cmd ota.CommandID, fields []byte) (ota.Response, error) {
	if err := ctx.Err(); err != nil {
		return ota.Response{}, err
	}
	return t.p.Invoke(ctx, r, endpoint, cluster, cmd, append([]byte(nil), fields...)), nil
}

func (t *inProcess) OpenBDX(ctx context.Context, r ota.Requestor) (Exchange, error) {
	return &sessionExchange{s: t.p.OpenBDX(r)}, nil
}

func (t *inProcess) SetScenario(_ context.Context, s scenario.Request) error {
	st, ok := t.p.(Steerable)
	if !ok {
		return fmt.Errorf("%s: %w", t.name, scenario.ErrUnsupported)
	}
	return st.SetScenario(s)
}

func (t *inProcess) Close() error { return nil }

// replyQueue holds the provider's replies on exchanges whose transport tells synchronously what the
// provider sent (in-process and adapter targets): Recv never waits, it returns ErrNoReply at once.
type replyQueue struct {
	mu    sync.Mutex
	queue []bdx.Message
}

func (q *replyQueue) push(ms ...bdx.Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = append(q.queue, ms...)
}

// Recv implements bdx.Exchange.
func (q *replyQueue) Recv(ctx context.Context) (bdx.Message, error) {
	if err := ctx.Err(); err != nil {
		return bdx.Message{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) == 0 {
		return bdx.Message{}, ErrNoReply
	}
	m := q.queue[0]
	q.queue = q.queue[1:]
	return m, nil
}

// sessionExchange adapts a message-driven bdx.Session to an Exchange: Send hands the message over
// and queues the reply.
type sessionExchange struct {
	replyQueue
	mu     sync.Mutex
	s      bdx.Session
	closed bool
}

func (e *sessionExchange) Send(ctx context.Context, m bdx.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("bdx exchange closed")
	}
	m.Payload = append([]byte(nil), m.Payload...)
	if reply, _ := e.s.Handle(m); reply != nil {
		e.push(*reply)
	}
	return nil
}

func (e *sessionExchange) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		e.s.Close()
	}
	return nil
}
