package adapter

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// Provider is what Serve serves: the same method set as harness.Provider.
type Provider interface {
	NodeID(fabric uint8) uint64
	Endpoint() uint16
	Invoke(ctx context.Context, r ota.Requestor, endpoint uint16, cluster uint32, cmd ota.CommandID, fields []byte) ota.Response
	OpenBDX(r ota.Requestor) bdx.Session
}

// ServeOptions add what the hello reply declares beyond the provider itself.
type ServeOptions struct {
	Fabrics []uint8         // fabrics whose node ids hello lists (fabric 1 is always provider_node_id)
	PICS    map[string]bool // declared PICS
}

// Serve answers adapter requests from in on out until in ends (nil) or ctx is cancelled. A malformed
// request gets an error reply and serving goes on.
func Serve(ctx context.Context, in io.Reader, out io.Writer, p Provider, opts ServeOptions) error {
	s := &server{p: p, opts: opts, sessions: map[uint64]bdx.Session{}}
	defer s.closeAll()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), MaxLine)
	enc := json.NewEncoder(out)
	lines := make(chan []byte)
	scanErr := make(chan error, 1)
	go func() {
		defer close(lines)
		for sc.Scan() {
			select {
			case lines <- append([]byte(nil), sc.Bytes()...):
			case <-ctx.Done():
				return
			}
		}
		scanErr <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case line, ok := <-lines:
			if !ok {
				select {
				case err := <-scanErr:
					return err
				default:
					return nil
				}
			}
			if len(line) == 0 {
				continue
			}
			if err := enc.Encode(s.handle(ctx, line)); err != nil {
				return fmt.Errorf("writing a reply: %w", err)
			}
		}
	}
}

type server struct {
	p        Provider
	opts     ServeOptions
	sessions map[uint64]bdx.Session
	next     uint64
}

func (s *server) closeAll() {
	for _, x := range s.sessions {
		x.Close()
	}
}

func (s *server) handle(ctx context.Context, line []byte) Reply {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return Reply{Error: "request is not valid JSON: " + err.Error()}
	}
	rep, err := s.dispatch(ctx, &req)
	if err != nil {
		return Reply{ID: req.ID, Error: err.Error()}
	}
	rep.ID = req.ID
	return rep
}

func (s *server) dispatch(ctx context.Context, req *Request) (Reply, error) {
	switch req.Op {
	case "hello":
		if req.Version != Version {
			return Reply{}, fmt.Errorf("protocol version %d not supported (want %d)", req.Version, Version)
		}
		ep := s.p.Endpoint()
		rep := Reply{Op: "hello", Version: Version, ProviderNodeID: FormatNodeID(s.p.NodeID(1)), Endpoint: &ep, PICS: s.opts.PICS}
		for _, f := range s.opts.Fabrics {
			if f != 1 {
				if rep.NodeIDs == nil {
					rep.NodeIDs = map[string]string{}
				}
				rep.NodeIDs[strconv.Itoa(int(f))] = FormatNodeID(s.p.NodeID(f))
			}
		}
		_, rep.Scenarios = s.p.(interface{ SetScenario(scenario.Request) error })
		return rep, nil
	case "invoke":
		if req.Endpoint == nil || req.Cluster == nil || req.Command == nil || req.Fields == nil {
			return Reply{}, errors.New("invoke needs endpoint, cluster, command and fields")
		}
		r, err := req.Requestor.Parse()
		if err != nil {
			return Reply{}, err
		}
		fields, err := hex.DecodeString(*req.Fields)
		if err != nil {
			return Reply{}, fmt.Errorf("fields: %w", err)
		}
		resp := s.p.Invoke(ctx, r, *req.Endpoint, *req.Cluster, ota.CommandID(*req.Command), fields)
		st := uint8(resp.Status)
		rep := Reply{Status: &st}
		if resp.HasCommand {
			c, f := uint32(resp.Command), hex.EncodeToString(resp.Fields)
			rep.Command, rep.Fields = &c, &f
		}
		return rep, nil
	case "bdx_open":
		r, err := req.Requestor.Parse()
		if err != nil {
			return Reply{}, err
		}
		s.next++
		s.sessions[s.next] = s.p.OpenBDX(r)
		return Reply{Exchange: s.next}, nil
	case "bdx_send":
		sess := s.sessions[req.Exchange]
		if sess == nil {
			return Reply{}, fmt.Errorf("no open BDX exchange %d", req.Exchange)
		}
		if req.Protocol == nil || req.Opcode == nil || req.Payload == nil {
			return Reply{}, errors.New("bdx_send needs protocol, opcode and payload")
		}
		m, err := Message{Protocol: *req.Protocol, Opcode: *req.Opcode, Payload: *req.Payload}.Parse()
		if err != nil {
			return Reply{}, err
		}
		reply, done := sess.Handle(m)
		rep := Reply{Done: done, Messages: []Message{}}
		if reply != nil {
			rep.Messages = append(rep.Messages, WireMessage(*reply))
		}
		return rep, nil
	case "bdx_close":
		if sess := s.sessions[req.Exchange]; sess != nil {
			sess.Close()
			delete(s.sessions, req.Exchange)
		}
		return Reply{}, nil
	case "scenario":
		st, ok := s.p.(interface{ SetScenario(scenario.Request) error })
		if !ok {
			return Reply{}, fmt.Errorf("scenario %q: %w", req.Name, scenario.ErrUnsupported)
		}
		return Reply{}, st.SetScenario(scenario.Request{Name: scenario.Name(req.Name), Delay: req.Delay})
	}
	return Reply{}, fmt.Errorf("unknown op %q", req.Op)
}
