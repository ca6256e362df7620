package im

import (
	"fmt"
)

// Result is the answer to a single-command invoke: either a response command (HasCommand, Status
// SUCCESS, Command its id and Fields its fields as an anonymous structure, nil if the response
// carried none) or an IM status with its optional cluster status.
type Result struct {
	Status        Status
	ClusterStatus *uint8
	HasCommand    bool
	Command       uint32
	Fields        []byte
}

// Err returns a *StatusError when the result is a status other than SUCCESS, else nil.
func (r Result) Err() error {
	if r.HasCommand || r.Status == Success {
		return nil
	}
	return &StatusError{Status: r.Status, ClusterStatus: r.ClusterStatus}
}

// EncodeInvoke returns the InvokeRequestMessage payload that invokes one command: no CommandRef,
// SuppressResponse false, TimedRequest as given (a timed invoke follows a TimedRequest on the same
// exchange). fields is the anonymous structure of the command fields; nil sends
// an empty structure, since requests always carry CommandFields (CHIP and matter.js both do).
func EncodeInvoke(path CommandPath, fields []byte, timed bool) ([]byte, error) {
	if fields == nil {
		fields = emptyFields
	}
	req := [1]CommandData{{Path: path, Fields: fields}}
	return InvokeRequest{TimedRequest: timed, Requests: req[:]}.Append(nil)
}

// DecodeInvokeResult picks the answer to a single-command invoke of want out of the reply payload,
// given the reply's opcode: OpInvokeResponse or OpStatusResponse. A response command must be for
// want's endpoint and cluster (its command id is the response command's, returned in
// Result.Command); a status must be for want exactly. A reply for another path, an empty
// InvokeResponses, more than one response, or MoreChunkedMessages set are errors that say so.
func DecodeInvokeResult(payload []byte, opcode uint8, want CommandPath) (Result, error) {
	switch opcode {
	case OpStatusResponse:
		s, err := DecodeStatusResponse(payload)
		if err != nil {
			return Result{}, err
		}
		return Result{Status: s.Status}, nil
	case OpInvokeResponse:
	default:
		return Result{}, fmt.Errorf("im: reply opcode 0x%02X to an invoke of %v: %w", opcode, want, ErrUnexpectedOpcode)
	}
	m, err := DecodeInvokeResponse(payload)
	if err != nil {
		return Result{}, err
	}
	// Core §10.7.10: one InvokeResponseIB answers each CommandDataIB, and chunking (MoreChunkedMessages)
	// only arises when a batch of responses does not fit one message.
	switch {
	case m.MoreChunked:
		return Result{}, fmt.Errorf("im: InvokeResponseMessage.MoreChunkedMessages (invoke of %v): %w", want, ErrChunked)
	case len(m.Responses) == 0:
		return Result{}, fmt.Errorf("im: InvokeResponseMessage.InvokeResponses (invoke of %v): %w", want, ErrNoResponse)
	case len(m.Responses) > 1:
		return Result{}, fmt.Errorf("im: InvokeResponseMessage.InvokeResponses holds %d responses (invoke of %v): %w", len(m.Responses), want, ErrTooManyResponses)
	}
	r := m.Responses[0]
	if r.Command != nil {
		got := r.Command.Path
		if got.Endpoint != want.Endpoint || got.Cluster != want.Cluster {
			return Result{}, fmt.Errorf("im: InvokeResponseMessage.InvokeResponses[0].Command.CommandPath is %v, want endpoint %d, cluster 0x%04X: %w",
				got, want.Endpoint, want.Cluster, ErrPathMismatch)
		}
		return Result{Status: Success, HasCommand: true, Command: got.Command, Fields: r.Command.Fields}, nil
	}
	if got := r.Status.Path; got != want {
		return Result{}, fmt.Errorf("im: InvokeResponseMessage.InvokeResponses[0].Status.CommandPath is %v, want %v: %w", got, want, ErrPathMismatch)
	}
	return Result{Status: r.Status.Status.Status, ClusterStatus: r.Status.Status.ClusterStatus}, nil
}

// EncodeInvokeResponseCommand returns the InvokeResponseMessage payload answering with a response
// command: path names the response command, fields are its anonymous structure (nil: empty).
func EncodeInvokeResponseCommand(path CommandPath, fields []byte) ([]byte, error) {
	if fields == nil {
		fields = emptyFields
	}
	cd := CommandData{Path: path, Fields: fields}
	resp := [1]InvokeResponseIB{{Command: &cd}}
	return InvokeResponse{Responses: resp[:]}.Append(nil)
}

// EncodeInvokeResponseStatus returns the InvokeResponseMessage payload answering the command at
// path with an IM status (without cluster status; build an InvokeResponse for one). It cannot fail.
func EncodeInvokeResponseStatus(path CommandPath, status Status) []byte {
	cs := CommandStatus{Path: path, Status: StatusIB{Status: status}}
	resp := [1]InvokeResponseIB{{Status: &cs}}
	b, _ := InvokeResponse{Responses: resp[:]}.Append(nil) // a status response has no fields to refuse
	return b
}

// EncodeStatusResponse returns the StatusResponseMessage payload carrying status. It cannot fail.
func EncodeStatusResponse(status Status) []byte {
	b, _ := StatusResponse{Status: status}.Append(nil) // nothing in a StatusResponse can be refused
	return b
}
