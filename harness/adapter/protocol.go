// Package adapter is otaconf's adapter protocol: how the harness drives an OTA provider running in
// another process ("exec:COMMAND" targets). Requests and replies are JSON objects, one per line, on
// the child's stdin and stdout; the child answers every request with exactly one reply, in order,
// and writes nothing else to stdout (logs go to stderr). Version 1:
//
//	→ {"op":"hello","version":1}
//	← {"op":"hello","version":1,"provider_node_id":"<16 hex>","endpoint":N,
//	   "node_ids":{"2":"<16 hex>"}, "pics":{"MCORE.OTA.HTTPS":true}, "scenarios":true}
//	→ {"op":"invoke","id":N,"endpoint":E,"cluster":41,"command":C,"fields":"<hex TLV>",
//	   "requestor":{"fabric_index":F,"node_id":"<16 hex>"}}
//	← {"id":N,"status":S}                                   an IM status alone
//	← {"id":N,"status":0,"command":R,"fields":"<hex TLV>"}  a response command
//	→ {"op":"bdx_open","id":N,"requestor":{...}}             ← {"id":N,"exchange":X}
//	→ {"op":"bdx_send","id":N,"exchange":X,"protocol":2,"opcode":O,"payload":"<hex>"}
//	← {"id":N,"messages":[{"protocol":P,"opcode":O,"payload":"<hex>"}],"done":false}
//	→ {"op":"bdx_close","id":N,"exchange":X}                 ← {"id":N}
//	→ {"op":"scenario","id":N,"name":"busy","delay":180}     ← {"id":N} or {"id":N,"error":"..."}
//
// "fields" is the command's fields as an anonymous TLV structure (15 … 18). In hello, node_ids,
// pics and scenarios are optional: node_ids gives the provider's node id on fabrics other than the
// one of provider_node_id (fabric 1); scenarios says whether the child takes "scenario" requests
// (harness/scenario names; a child that cannot set one up answers with an "error" containing
// "unsupported"). bdx_send carries one requestor message of a BDX exchange and returns the provider's
// replies to it (none, or one StatusReport/ReceiveAccept/Block/BlockEOF; "done" once the exchange is
// over). Any failure is {"id":N,"error":"what went wrong"}.
package adapter

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
)

// Version is the protocol version.
const Version = 1

// MaxLine bounds a line in either direction (a 1 KiB block is ~2 KiB of hex; fields are small).
const MaxLine = 1 << 20

// Request is any request; Op selects which fields matter.
type Request struct {
	Op        string     `json:"op"`
	ID        uint64     `json:"id,omitempty"`
	Version   int        `json:"version,omitempty"`
	Endpoint  *uint16    `json:"endpoint,omitempty"`
	Cluster   *uint32    `json:"cluster,omitempty"`
	Command   *uint32    `json:"command,omitempty"`
	Fields    *string    `json:"fields,omitempty"`
	Requestor *Requestor `json:"requestor,omitempty"`
	Exchange  uint64     `json:"exchange,omitempty"`
	Protocol  *uint16    `json:"protocol,omitempty"`
	Opcode    *uint8     `json:"opcode,omitempty"`
	Payload   *string    `json:"payload,omitempty"`
	Name      string     `json:"name,omitempty"`
	Delay     uint32     `json:"delay,omitempty"`
}

// Reply is any reply.
type Reply struct {
	Op             string            `json:"op,omitempty"`
	ID             uint64            `json:"id,omitempty"`
	Version        int               `json:"version,omitempty"`
	ProviderNodeID string            `json:"provider_node_id,omitempty"`
	NodeIDs        map[string]string `json:"node_ids,omitempty"`
	Endpoint       *uint16           `json:"endpoint,omitempty"`
	PICS           map[string]bool   `json:"pics,omitempty"`
	Scenarios      bool              `json:"scenarios,omitempty"`
	Status         *uint8            `json:"status,omitempty"`
	Command        *uint32           `json:"command,omitempty"`
	Fields         *string           `json:"fields,omitempty"`
	Exchange       uint64            `json:"exchange,omitempty"`
	Messages       []Message         `json:"messages,omitempty"`
	Done           bool              `json:"done,omitempty"`
	Error          string            `json:"error,omitempty"`
}

// Requestor is a requestor identity on the wire.
type Requestor struct {
	FabricIndex uint8  `json:"fabric_index"`
	NodeID      string `json:"node_id"`
}

// Message is a BDX exchange message on the wire.
type Message struct {
	Protocol uint16 `json:"protocol"`
	Opcode   uint8  `json:"opcode"`
	Payload  string `json:"payload"`
}

// FormatNodeID writes a node id as 16 hex digits.
func FormatNodeID(id uint64) string { return fmt.Sprintf("%016X", id) }

// ParseNodeID reads 16 hex digits (either case).
func ParseNodeID(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("node id %q: want 16 hex digits", s)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("node id %q: %w", s, err)
	}
	return v, nil
}

// WireRequestor converts a requestor to its wire form.
func WireRequestor(r ota.Requestor) *Requestor {
	return &Requestor{FabricIndex: r.FabricIndex, NodeID: FormatNodeID(r.NodeID)}
}

// Parse converts a wire requestor.
func (r *Requestor) Parse() (ota.Requestor, error) {
	if r == nil {
		return ota.Requestor{}, fmt.Errorf("missing requestor")
	}
	id, err := ParseNodeID(r.NodeID)
	return ota.Requestor{FabricIndex: r.FabricIndex, NodeID: id}, err
}

// WireMessage converts a BDX message to its wire form.
func WireMessage(m bdx.Message) Message {
	return Message{Protocol: m.Protocol, Opcode: m.Opcode, Payload: hex.EncodeToString(m.Payload)}
}

// Parse converts a wire message.
func (m Message) Parse() (bdx.Message, error) {
	p, err := hex.DecodeString(m.Payload)
	if err != nil {
		return bdx.Message{}, fmt.Errorf("message payload: %w", err)
	}
	return bdx.Message{Protocol: m.Protocol, Opcode: m.Opcode, Payload: p}, nil
}
