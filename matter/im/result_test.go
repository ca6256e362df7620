package im

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeInvokeResultRefusesRepliesThatDoNotAnswerOurSingleCommand(t *testing.T) {
	qir := CommandPath{Endpoint: 0, Cluster: 0x29, Command: 0x01}
	command := func(p CommandPath) InvokeResponseIB {
		return InvokeResponseIB{Command: &CommandData{Path: p, Fields: []byte{0x15, 0x18}}}
	}
	status := func(p CommandPath, s Status) InvokeResponseIB {
		return InvokeResponseIB{Status: &CommandStatus{Path: p, Status: StatusIB{Status: s}}}
	}
	encode := func(m InvokeResponse) []byte {
		b, err := m.Append(nil)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name    string
		payload []byte
		opcode  uint8
		err     error
		says    string
	}{
		{"a ReportData opcode", EncodeStatusResponse(Success), 0x05, ErrUnexpectedOpcode, "reply opcode 0x05"},
		{"a TimedRequest opcode", EncodeStatusResponse(Success), OpTimedRequest, ErrUnexpectedOpcode, "0x0A"},
		{"an empty InvokeResponses", encode(InvokeResponse{}), OpInvokeResponse, ErrNoResponse, "InvokeResponses"},
		{"two responses", encode(InvokeResponse{Responses: []InvokeResponseIB{command(qir), status(queryImagePath, Success)}}), OpInvokeResponse, ErrTooManyResponses, "holds 2 responses"},
		{"MoreChunkedMessages set", encode(InvokeResponse{Responses: []InvokeResponseIB{command(qir)}, MoreChunked: true}), OpInvokeResponse, ErrChunked, "MoreChunkedMessages"},
		{"a status for another command", EncodeInvokeResponseStatus(CommandPath{Cluster: 0x29, Command: 0x02}, Success), OpInvokeResponse, ErrPathMismatch, "command 0x02"},
		{"a status for another endpoint", EncodeInvokeResponseStatus(CommandPath{Endpoint: 1, Cluster: 0x29}, Failure), OpInvokeResponse, ErrPathMismatch, "endpoint 1"},
		{"a response command from another cluster", encode(InvokeResponse{Responses: []InvokeResponseIB{command(CommandPath{Cluster: 0x2A, Command: 0x01})}}), OpInvokeResponse, ErrPathMismatch, "cluster 0x002A"},
		{"a response command from another endpoint", encode(InvokeResponse{Responses: []InvokeResponseIB{command(CommandPath{Endpoint: 2, Cluster: 0x29, Command: 0x01})}}), OpInvokeResponse, ErrPathMismatch, "endpoint 2"},
		{"a malformed InvokeResponse", []byte{0x15, 0x28, 0x00}, OpInvokeResponse, ErrMalformedTLV, "InvokeResponseMessage"},
		{"a malformed StatusResponse", []byte{0x15, 0x18}, OpStatusResponse, ErrMissingField, "StatusResponseMessage.Status"},
		{"an InvokeResponse read as a StatusResponse", EncodeInvokeResponseStatus(queryImagePath, Success), OpStatusResponse, ErrWrongType, "StatusResponseMessage.Status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeInvokeResult(tc.payload, tc.opcode, queryImagePath)
			require.ErrorIs(t, err, tc.err)
			assert.Contains(t, err.Error(), tc.says)
			assert.Equal(t, Result{}, r)
		})
	}
}

func TestAResponseCommandMayCarryAnyCommandIDButAStatusMustMatchThePathExactly(t *testing.T) {
	// The response command of QueryImage is QueryImageResponse (0x01): its path names that id.
	b, err := EncodeInvokeResponseCommand(CommandPath{Cluster: 0x29, Command: 0x01}, nil)
	require.NoError(t, err)
	r, err := DecodeInvokeResult(b, OpInvokeResponse, queryImagePath)
	require.NoError(t, err)
	assert.Equal(t, Result{Status: Success, HasCommand: true, Command: 0x01, Fields: []byte{0x15, 0x18}}, r)

	_, err = DecodeInvokeResult(EncodeInvokeResponseStatus(CommandPath{Cluster: 0x29, Command: 0x01}, Success), OpInvokeResponse, queryImagePath)
	require.ErrorIs(t, err, ErrPathMismatch)
}

func TestAStatusResponseWithSuccessIsReturnedAsItIs(t *testing.T) {
	// Whether SUCCESS in a StatusResponse is an acceptable answer to an invoke is the caller's
	// judgement (the harness grades it); the codec reports what came.
	r, err := DecodeInvokeResult(EncodeStatusResponse(Success), OpStatusResponse, queryImagePath)
	require.NoError(t, err)
	assert.Equal(t, Result{Status: Success}, r)
	assert.NoError(t, r.Err())
}

func TestTheResultStatusErrorNamesTheStatus(t *testing.T) {
	r, err := DecodeInvokeResult(EncodeInvokeResponseStatus(queryImagePath, UnsupportedCommand), OpInvokeResponse, queryImagePath)
	require.NoError(t, err)
	assert.EqualError(t, r.Err(), "IM status UNSUPPORTED_COMMAND (0x81)")
}
