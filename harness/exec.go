package harness

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otaconf/otaconf/harness/adapter"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
)

// Exec returns a Target that runs command (a shell command line) as a child process speaking the
// adapter protocol (package adapter). The child's stderr is copied to stderr when it is not nil. A
// child that dies, hangs or writes garbage fails the request in progress with a clear error and is
// restarted for the next one.
func Exec(command string, stderr io.Writer) Target {
	return &execTarget{name: "exec:" + command, c: adapter.NewClient(command, stderr)}
}

type execTarget struct {
	name string
	c    *adapter.Client
}

func (t *execTarget) Identity(ctx context.Context) (Identity, error) {
	rep, _, err := t.c.Do(ctx, adapter.Request{Op: "hello", Version: adapter.Version}, 0)
	if err != nil {
		return Identity{}, err
	}
	if rep.Version != adapter.Version {
		return Identity{}, fmt.Errorf("%s speaks adapter protocol version %d, want %d", t.name, rep.Version, adapter.Version)
	}
	id := Identity{Name: t.name, NodeIDs: map[uint8]uint64{}, PICS: rep.PICS, Steerable: rep.Scenarios}
	n, err := adapter.ParseNodeID(rep.ProviderNodeID)
	if err != nil {
		return Identity{}, fmt.Errorf("%s hello: provider_node_id: %w", t.name, err)
	}
	id.NodeIDs[1] = n
	for f, s := range rep.NodeIDs {
		fi, err1 := strconv.ParseUint(f, 10, 8)
		n, err2 := adapter.ParseNodeID(s)
		if err1 != nil || err2 != nil {
			return Identity{}, fmt.Errorf("%s hello: node_ids entry %q: %q is not a fabric index and 16 hex digits", t.name, f, s)
		}
		id.NodeIDs[uint8(fi)] = n
	}
	if rep.Endpoint == nil {
		return Identity{}, fmt.Errorf("%s hello: no endpoint", t.name)
	}
	id.Endpoint = *rep.Endpoint
	return id, nil
}

func (t *execTarget) Invoke(ctx context.Context, r ota.Requestor, endpoint uint16, cluster uint32, cmd ota.CommandID, fields []byte) (ota.Response, error) {
	c32, f := uint32(cmd), hex.EncodeToString(fields)
	rep, _, err := t.c.Do(ctx, adapter.Request{Op: "invoke", Endpoint: &endpoint, Cluster: &cluster, Command: &c32, Fields: &f, Requestor: adapter.WireRequestor(r)}, 0)
	if err != nil {
		return ota.Response{}, err
	}
	if rep.Status == nil {
		return ota.Response{}, fmt.Errorf("%s: invoke reply without status", t.name)
	}
	resp := ota.Response{Status: im.Status(*rep.Status)}
	if rep.Command != nil {
		if rep.Fields == nil {
			return ota.Response{}, fmt.Errorf("%s: invoke reply with command %d but no fields", t.name, *rep.Command)
		}
		b, err := hex.DecodeString(*rep.Fields)
		if err != nil {
			return ota.Response{}, fmt.Errorf("%s: invoke reply fields: %w", t.name, err)
		}
		resp.HasCommand, resp.Command, resp.Fields = true, ota.CommandID(*rep.Command), b
	}
	return resp, nil
}

func (t *execTarget) OpenBDX(ctx context.Context, r ota.Requestor) (Exchange, error) {
	rep, gen, err := t.c.Do(ctx, adapter.Request{Op: "bdx_open", Requestor: adapter.WireRequestor(r)}, 0)
	if err != nil {
		return nil, err
	}
	return &execExchange{t: t, id: rep.Exchange, gen: gen}, nil
}

func (t *execTarget) SetScenario(ctx context.Context, s scenario.Request) error {
	_, _, err := t.c.Do(ctx, adapter.Request{Op: "scenario", Name: string(s.Name), Delay: s.Delay}, 0)
	if err != nil && !errors.Is(err, adapter.ErrChild) && strings.Contains(err.Error(), "unsupported") {
		return fmt.Errorf("%w: %v", scenario.ErrUnsupported, err)
	}
	return err
}

func (t *execTarget) Close() error { return t.c.Close() }

type execExchange struct {
	replyQueue
	t      *execTarget
	id     uint64
	gen    int
	mu     sync.Mutex
	closed bool
}

func (e *execExchange) Send(ctx context.Context, m bdx.Message) error {
	p, o, pl := m.Protocol, m.Opcode, hex.EncodeToString(m.Payload)
	rep, _, err := e.t.c.Do(ctx, adapter.Request{Op: "bdx_send", Exchange: e.id, Protocol: &p, Opcode: &o, Payload: &pl}, e.gen)
	if err != nil {
		return err
	}
	for _, w := range rep.Messages {
		msg, err := w.Parse()
		if err != nil {
			return fmt.Errorf("%s: bdx_send reply: %w", e.t.name, err)
		}
		e.push(msg)
	}
	return nil
}

func (e *execExchange) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _, err := e.t.c.Do(ctx, adapter.Request{Op: "bdx_close", Exchange: e.id}, e.gen)
	if errors.Is(err, adapter.ErrChild) {
		return nil // the child is gone, and the exchange with it
	}
	return err
}
