package im

import "fmt"

// ProtocolID is the Interaction Model protocol id (vendor 0x0000, Core §10.2).
const ProtocolID uint16 = 0x0001

// IM opcodes of the messages this package encodes and decodes (Core §10.2.1).
const (
	OpStatusResponse uint8 = 0x01
	OpInvokeRequest  uint8 = 0x08
	OpInvokeResponse uint8 = 0x09
	OpTimedRequest   uint8 = 0x0A
)

// Revision is the InteractionModelRevision (context tag 0xFF, Core §8.1.1) written into a message
// whose IMRevision is 0. It is 12 because both peers otaconf meets send 12: CHIP's
// src/app/SpecificationDefinedRevisions.h (kInteractionModelRevision) and matter.js's
// Specification.INTERACTION_MODEL_REVISION. chip-tool sent 10 in the 2023 gomat capture and
// matter.js assumes 11 for a peer that announces nothing; decoders take any value. The tag is
// always written because matter.js's message schemas make it mandatory.
const Revision uint8 = 12

// Spec sections the decoders cite (Matter Core 1.3/1.4 numbering).
const (
	secStatusResponse = "Core §10.7.1"
	secTimedRequest   = "Core §10.7.8"
	secInvokeRequest  = "Core §10.7.9"
	secInvokeResponse = "Core §10.7.10"
	secCommandPath    = "Core §10.6.11"
	secCommandData    = "Core §10.6.12"
	secInvokeRespIB   = "Core §10.6.13"
	secCommandStatus  = "Core §10.6.14"
	secStatusIB       = "Core §10.6.17"
)

// CommandPath is a concrete CommandPathIB (Core §10.6.11), encoded as a TLV list. Group invokes,
// whose paths omit the endpoint, are out of scope: EndpointID is mandatory here.
type CommandPath struct {
	Endpoint uint16
	Cluster  uint32
	Command  uint32
}

func (p CommandPath) String() string {
	return fmt.Sprintf("endpoint %d, cluster 0x%04X, command 0x%02X", p.Endpoint, p.Cluster, p.Command)
}

// CommandData is a CommandDataIB (Core §10.6.12). Fields holds the command fields as an anonymous
// TLV structure (15 … 18); nil means the CommandFields element is absent (CHIP always sends it,
// matter.js treats it as optional). Ref is the CommandRef, sent only when batching.
type CommandData struct {
	Path   CommandPath
	Fields []byte
	Ref    *uint16
}

// InvokeRequest is the InvokeRequestMessage (opcode 0x08, Core §10.7.9). In this and the other
// messages, IMRevision 0 encodes as Revision; decoding gives 0 when the message carries none (or
// carries 0), so such a message re-encodes with Revision added.
type InvokeRequest struct {
	SuppressResponse bool
	TimedRequest     bool
	Requests         []CommandData
	IMRevision       uint8
}

// StatusIB is a StatusIB (Core §10.6.17).
type StatusIB struct {
	Status        Status
	ClusterStatus *uint8
}

// CommandStatus is a CommandStatusIB (Core §10.6.14).
type CommandStatus struct {
	Path   CommandPath
	Status StatusIB
	Ref    *uint16
}

// InvokeResponseIB is an InvokeResponseIB (Core §10.6.13): exactly one of Command (a response
// command, its path naming the response command id) and Status is set.
type InvokeResponseIB struct {
	Command *CommandData
	Status  *CommandStatus
}

// InvokeResponse is the InvokeResponseMessage (opcode 0x09, Core §10.7.10).
type InvokeResponse struct {
	SuppressResponse bool
	Responses        []InvokeResponseIB
	MoreChunked      bool // MoreChunkedMessages; written only when true
	IMRevision       uint8
}

// StatusResponse is the StatusResponseMessage (opcode 0x01, Core §10.7.1).
type StatusResponse struct {
	Status     Status
	IMRevision uint8
}

// TimedRequest is the TimedRequestMessage (opcode 0x0A, Core §10.7.8).
type TimedRequest struct {
	TimeoutMs  uint16
	IMRevision uint8
}

func revision(r uint8) uint8 {
	if r == 0 {
		return Revision
	}
	return r
}
