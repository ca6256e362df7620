package im

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/otaconf/otaconf/tlv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decoder is one of the four message decoders, with the message name its errors start with.
type decoder struct {
	message string
	decode  func([]byte) error
}

var (
	decReq    = decoder{"InvokeRequestMessage", func(b []byte) error { _, err := DecodeInvokeRequest(b); return err }}
	decResp   = decoder{"InvokeResponseMessage", func(b []byte) error { _, err := DecodeInvokeResponse(b); return err }}
	decStatus = decoder{"StatusResponseMessage", func(b []byte) error { _, err := DecodeStatusResponse(b); return err }}
	decTimed  = decoder{"TimedRequestMessage", func(b []byte) error { _, err := DecodeTimedRequest(b); return err }}
)

// req wraps one CommandDataIB (which starts at byte 7) into an InvokeRequestMessage.
func req(cdib string) string { return "15 28 00 28 01 36 02 " + cdib + " 18 24 ff 0c 18" }

// resp wraps one InvokeResponseIB (which starts at byte 5) into an InvokeResponseMessage.
func resp(ib string) string { return "15 28 00 36 01 " + ib + " 18 24 ff 0c 18" }

const pathList = "37 00 24 00 00 24 01 29 24 02 01 18" // endpoint 0, cluster 0x29, command 1

func TestEveryDecodeErrorNamesTheFieldThePathAndTheOffset(t *testing.T) {
	golden := unhex(t, queryImageInvokeHex)
	deep := []byte{0x15}
	for range 40 {
		deep = append(deep, 0x37, 0x09)
	}
	deep = append(deep, bytes.Repeat([]byte{0x18}, 41)...)

	tests := []struct {
		name   string
		decode decoder
		in     []byte
		hex    string
		err    error  // im sentinel
		cause  error  // tlv sentinel, if any
		field  string // without the message name
		path   string
		offset int
	}{
		// Malformed TLV.
		{name: "an empty payload", decode: decReq, in: []byte{}, err: ErrMalformedTLV, cause: tlv.ErrTruncated, path: "$", offset: 0},
		{name: "a payload that starts with an end-of-container", decode: decReq, hex: "18", err: ErrMalformedTLV, cause: tlv.ErrUnexpectedEnd, path: "$"},
		{name: "a reserved element type", decode: decReq, hex: "15 28 00 3f", err: ErrMalformedTLV, cause: tlv.ErrReservedType, field: "[1]", path: "$[1]", offset: 3},
		{name: "a tag cut short", decode: decReq, hex: "15 28", err: ErrMalformedTLV, cause: tlv.ErrTruncated, field: "[0]", path: "$[0]", offset: 1},
		{name: "bytes after the message", decode: decReq, in: append(append([]byte(nil), golden...), 0x00), err: ErrMalformedTLV, cause: tlv.ErrTrailingBytes, path: "$", offset: 45},
		{name: "a message without its end-of-container", decode: decReq, in: golden[:44], err: ErrMalformedTLV, cause: tlv.ErrMissingEnd, path: "$", offset: 0},
		{name: "input that ends inside the command fields", decode: decReq, in: golden[:36], err: ErrMalformedTLV, cause: tlv.ErrTruncated,
			field: ".InvokeRequests[0].CommandFields.3[0]", path: "$.2[0].1.3[0]", offset: 35},
		{name: "a reserved element type after a nested container inside the fields", decode: decReq,
			hex: req("15 37 00 24 00 00 24 01 29 24 02 00 18 35 01 37 01 17 18 04 01 1f 18 18 18"), err: ErrMalformedTLV, cause: tlv.ErrReservedType,
			field: ".InvokeRequests[0].CommandFields.1[2]", path: "$.2[0].1.1[2]", offset: 28},
		{name: "a string whose length runs past the input", decode: decReq, hex: "15 30 05 10 01 02", err: ErrMalformedTLV, cause: tlv.ErrLengthPastInput, field: ".5", path: "$.5", offset: 1},
		{name: "containers nested deeper than tlv.MaxDepth", decode: decReq, in: deep, err: ErrMalformedTLV, cause: tlv.ErrTooDeep,
			field: strings.Repeat(".9", 32), path: "$" + strings.Repeat(".9", 32), offset: 63},
		{name: "a tagged end-of-container", decode: decReq, hex: "15 28 00 38 00", err: ErrMalformedTLV, cause: tlv.ErrTaggedEnd, path: "$", offset: 3},
		{name: "an anonymous member of the message structure", decode: decReq, hex: "15 08 18", err: ErrMalformedTLV, cause: tlv.ErrAnonymousInStruct, field: "[0]", path: "$[0]", offset: 1},
		{name: "a tagged member of InvokeRequests", decode: decReq, hex: "15 28 00 28 01 36 02 35 01 18 18 24 ff 0c 18", err: ErrMalformedTLV, cause: tlv.ErrTaggedInArray,
			field: ".InvokeRequests.1", path: "$.2.1", offset: 7},

		// The message structure.
		{name: "a payload that is an integer, not a structure", decode: decReq, hex: "04 01", err: ErrWrongType, cause: tlv.ErrWrongType, path: "$"},
		{name: "a message structure that carries a tag", decode: decReq, hex: "35 01 18", err: ErrWrongType, path: "$"},

		// InvokeRequestMessage.
		{name: "a request without SuppressResponse", decode: decReq, hex: "15 28 01 36 02 18 18", err: ErrMissingField, field: ".SuppressResponse", path: "$.0"},
		{name: "a request without TimedRequest", decode: decReq, hex: "15 28 00 36 02 18 18", err: ErrMissingField, field: ".TimedRequest", path: "$.1"},
		{name: "a request without InvokeRequests", decode: decReq, hex: "15 28 00 28 01 18", err: ErrMissingField, field: ".InvokeRequests", path: "$.2"},
		{name: "a SuppressResponse that is an integer", decode: decReq, hex: "15 24 00 00 28 01 36 02 18 18", err: ErrWrongType, cause: tlv.ErrWrongType, field: ".SuppressResponse", path: "$.0", offset: 1},
		{name: "a SuppressResponse given twice", decode: decReq, hex: "15 28 00 28 00 28 01 36 02 18 18", err: ErrDuplicateField, field: ".SuppressResponse", path: "$.0", offset: 3},
		{name: "InvokeRequests that are a list", decode: decReq, hex: "15 28 00 28 01 37 02 18 18", err: ErrWrongType, cause: tlv.ErrWrongType, field: ".InvokeRequests", path: "$.2", offset: 5},
		{name: "an InteractionModelRevision beyond uint8", decode: decReq, hex: "15 28 00 28 01 36 02 18 25 ff 00 01 18", err: ErrOutOfRange, field: ".InteractionModelRevision", path: "$.255", offset: 8},
		{name: "an InteractionModelRevision that is a boolean", decode: decReq, hex: "15 28 00 28 01 36 02 18 29 ff 18", err: ErrWrongType, field: ".InteractionModelRevision", path: "$.255", offset: 8},
		{name: "an InteractionModelRevision given twice", decode: decReq, hex: "15 28 00 28 01 36 02 18 24 ff 0c 24 ff 0b 18", err: ErrDuplicateField, field: ".InteractionModelRevision", path: "$.255", offset: 11},

		// CommandDataIB and CommandPathIB.
		{name: "a CommandDataIB that is an integer", decode: decReq, hex: req("04 00"), err: ErrWrongType, field: ".InvokeRequests[0]", path: "$.2[0]", offset: 7},
		{name: "a CommandDataIB without CommandPath", decode: decReq, hex: req("15 35 01 18 18"), err: ErrMissingField, field: ".InvokeRequests[0].CommandPath", path: "$.2[0].0", offset: 7},
		{name: "a CommandPath that is a structure", decode: decReq, hex: req("15 35 00 24 00 00 24 01 29 24 02 00 18 18"), err: ErrPathNotList, cause: tlv.ErrWrongType,
			field: ".InvokeRequests[0].CommandPath", path: "$.2[0].0", offset: 8},
		{name: "a CommandPath that is an integer", decode: decReq, hex: req("15 24 00 00 18"), err: ErrPathNotList, field: ".InvokeRequests[0].CommandPath", path: "$.2[0].0", offset: 8},
		{name: "a CommandPath without EndpointID", decode: decReq, hex: req("15 37 00 24 01 29 24 02 00 18 18"), err: ErrMissingField,
			field: ".InvokeRequests[0].CommandPath.EndpointID", path: "$.2[0].0.0", offset: 8},
		{name: "a CommandPath without ClusterID", decode: decReq, hex: req("15 37 00 24 00 00 24 02 00 18 18"), err: ErrMissingField,
			field: ".InvokeRequests[0].CommandPath.ClusterID", path: "$.2[0].0.1", offset: 8},
		{name: "a CommandPath without CommandID", decode: decReq, hex: req("15 37 00 24 00 00 24 01 29 18 18"), err: ErrMissingField,
			field: ".InvokeRequests[0].CommandPath.CommandID", path: "$.2[0].0.2", offset: 8},
		{name: "an EndpointID beyond uint16", decode: decReq, hex: req("15 37 00 26 00 00 00 01 00 24 01 29 24 02 00 18 18"), err: ErrOutOfRange,
			field: ".InvokeRequests[0].CommandPath.EndpointID", path: "$.2[0].0.0", offset: 10},
		{name: "a signed EndpointID", decode: decReq, hex: req("15 37 00 20 00 00 24 01 29 24 02 00 18 18"), err: ErrWrongType, cause: tlv.ErrWrongType,
			field: ".InvokeRequests[0].CommandPath.EndpointID", path: "$.2[0].0.0", offset: 10},
		{name: "a ClusterID beyond uint32", decode: decReq, hex: req("15 37 00 24 00 00 27 01 00 00 00 00 01 00 00 00 24 02 00 18 18"), err: ErrOutOfRange,
			field: ".InvokeRequests[0].CommandPath.ClusterID", path: "$.2[0].0.1", offset: 13},
		{name: "an EndpointID given twice", decode: decReq, hex: req("15 37 00 24 00 00 24 00 01 24 01 29 24 02 00 18 18"), err: ErrDuplicateField,
			field: ".InvokeRequests[0].CommandPath.EndpointID", path: "$.2[0].0.0", offset: 13},
		{name: "CommandFields that are an array", decode: decReq, hex: req("15 37 00 24 00 00 24 01 29 24 02 00 18 36 01 18 18"), err: ErrWrongType,
			field: ".InvokeRequests[0].CommandFields", path: "$.2[0].1", offset: 20},
		{name: "a CommandRef beyond uint16", decode: decReq, hex: req("15 37 00 24 00 00 24 01 29 24 02 00 18 26 02 00 00 01 00 18"), err: ErrOutOfRange,
			field: ".InvokeRequests[0].CommandRef", path: "$.2[0].2", offset: 20},

		// InvokeResponseMessage, InvokeResponseIB, CommandStatusIB, StatusIB.
		{name: "a response without SuppressResponse", decode: decResp, hex: "15 36 01 18 24 ff 0c 18", err: ErrMissingField, field: ".SuppressResponse", path: "$.0"},
		{name: "a response without InvokeResponses", decode: decResp, hex: "15 28 00 18", err: ErrMissingField, field: ".InvokeResponses", path: "$.1"},
		{name: "InvokeResponses that are a structure", decode: decResp, hex: "15 28 00 35 01 18 18", err: ErrWrongType, field: ".InvokeResponses", path: "$.1", offset: 3},
		{name: "a MoreChunkedMessages that is an integer", decode: decResp, hex: "15 28 00 36 01 18 24 02 01 18", err: ErrWrongType, field: ".MoreChunkedMessages", path: "$.2", offset: 6},
		{name: "an InvokeResponseIB that is an integer", decode: decResp, hex: resp("04 00"), err: ErrWrongType, field: ".InvokeResponses[0]", path: "$.1[0]", offset: 5},
		{name: "an InvokeResponseIB with neither Command nor Status", decode: decResp, hex: resp("15 18"), err: ErrMissingField, field: ".InvokeResponses[0]", path: "$.1[0]", offset: 5},
		{name: "an InvokeResponseIB with both Command and Status", decode: decResp, hex: resp("15 35 00 " + pathList + " 18 35 01 " + pathList + " 35 01 24 00 00 18 18 18"),
			err: ErrAmbiguousResponse, field: ".InvokeResponses[0].Status", path: "$.1[0].1", offset: 21},
		{name: "a Command that is an integer", decode: decResp, hex: resp("15 24 00 00 18"), err: ErrWrongType, field: ".InvokeResponses[0].Command", path: "$.1[0].0", offset: 6},
		{name: "a response Command whose path is a structure", decode: decResp, hex: resp("15 35 00 35 00 24 00 00 24 01 29 24 02 01 18 18 18"), err: ErrPathNotList,
			field: ".InvokeResponses[0].Command.CommandPath", path: "$.1[0].0.0", offset: 8},
		{name: "a CommandStatusIB without StatusIB", decode: decResp, hex: resp("15 35 01 " + pathList + " 18 18"), err: ErrMissingField,
			field: ".InvokeResponses[0].Status.Status", path: "$.1[0].1.1", offset: 6},
		{name: "a CommandStatusIB without CommandPath", decode: decResp, hex: resp("15 35 01 35 01 24 00 00 18 18 18"), err: ErrMissingField,
			field: ".InvokeResponses[0].Status.CommandPath", path: "$.1[0].1.0", offset: 6},
		{name: "a StatusIB that is an integer", decode: decResp, hex: resp("15 35 01 " + pathList + " 24 01 00 18 18"), err: ErrWrongType,
			field: ".InvokeResponses[0].Status.Status", path: "$.1[0].1.1", offset: 20},
		{name: "a StatusIB without Status", decode: decResp, hex: resp("15 35 01 " + pathList + " 35 01 24 01 05 18 18 18"), err: ErrMissingField,
			field: ".InvokeResponses[0].Status.Status.Status", path: "$.1[0].1.1.0", offset: 20},
		{name: "a Status beyond uint8", decode: decResp, hex: resp("15 35 01 " + pathList + " 35 01 25 00 00 01 18 18 18"), err: ErrOutOfRange,
			field: ".InvokeResponses[0].Status.Status.Status", path: "$.1[0].1.1.0", offset: 22},
		{name: "a ClusterStatus beyond uint8", decode: decResp, hex: resp("15 35 01 " + pathList + " 35 01 24 00 01 25 01 00 01 18 18 18"), err: ErrOutOfRange,
			field: ".InvokeResponses[0].Status.Status.ClusterStatus", path: "$.1[0].1.1.1", offset: 25},
		{name: "a ClusterStatus given twice", decode: decResp, hex: resp("15 35 01 " + pathList + " 35 01 24 00 01 24 01 02 24 01 03 18 18 18"), err: ErrDuplicateField,
			field: ".InvokeResponses[0].Status.Status.ClusterStatus", path: "$.1[0].1.1.1", offset: 28},

		// StatusResponseMessage and TimedRequestMessage.
		{name: "a StatusResponse without Status", decode: decStatus, hex: "15 24 ff 0c 18", err: ErrMissingField, field: ".Status", path: "$.0"},
		{name: "a StatusResponse whose Status is a string", decode: decStatus, hex: "15 2c 00 00 18", err: ErrWrongType, cause: tlv.ErrWrongType, field: ".Status", path: "$.0", offset: 1},
		{name: "a StatusResponse whose Status is beyond uint8", decode: decStatus, hex: "15 25 00 00 01 18", err: ErrOutOfRange, field: ".Status", path: "$.0", offset: 1},
		{name: "a TimedRequest without Timeout", decode: decTimed, hex: "15 18", err: ErrMissingField, field: ".Timeout", path: "$.0"},
		{name: "a TimedRequest whose Timeout is beyond uint16", decode: decTimed, hex: "15 26 00 00 00 01 00 18", err: ErrOutOfRange, field: ".Timeout", path: "$.0", offset: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in == nil {
				in = unhex(t, tc.hex)
			}
			err := tc.decode.decode(in)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.err)
			if tc.cause != nil {
				assert.ErrorIs(t, err, tc.cause)
			}
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.decode.message+tc.field, de.Field, "field")
			assert.Equal(t, tc.path, de.Path, "TLV path")
			assert.Equal(t, tc.offset, de.Offset, "byte offset")
			assert.NotEmpty(t, de.Section, "the rule's source")
			assert.Contains(t, err.Error(), de.Field)
			assert.Contains(t, err.Error(), "at byte "+strconv.Itoa(tc.offset))
		})
	}
}

func TestEncodersRefuseFieldsThatAreNotOneWellFormedAnonymousStructure(t *testing.T) {
	tests := []struct {
		name   string
		fields []byte
		cause  error
	}{
		{"empty fields", []byte{}, nil},
		{"an integer", []byte{0x04, 0x01}, nil},
		{"an array", []byte{0x16, 0x18}, nil},
		{"a structure with context tag 1", []byte{0x35, 0x01, 0x18}, nil},
		{"a structure without its end", []byte{0x15, 0x24, 0x00, 0x01}, tlv.ErrMissingEnd},
		{"a structure followed by more bytes", []byte{0x15, 0x18, 0x18}, tlv.ErrTrailingBytes},
		{"two structures", []byte{0x15, 0x18, 0x15, 0x18}, tlv.ErrTrailingBytes},
		{"a truncated member", []byte{0x15, 0x25, 0x00, 0x01}, tlv.ErrTruncated},
		{"a reserved element type inside", []byte{0x15, 0x3f, 0x18}, tlv.ErrReservedType},
		{"a string running past the end", []byte{0x15, 0x30, 0x00, 0x09, 0x18}, tlv.ErrLengthPastInput},
		{"a tagged end-of-container", []byte{0x15, 0x38, 0x00}, tlv.ErrTaggedEnd},
		{"nesting that would exceed tlv.MaxDepth in the message", append(append([]byte{0x15}, bytes.Repeat([]byte{0x35, 0x01}, tlv.MaxDepth-3)...), bytes.Repeat([]byte{0x18}, tlv.MaxDepth-2)...), tlv.ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodeInvoke(queryImagePath, tc.fields, false)
			require.ErrorIs(t, err, ErrBadFields)
			if tc.cause != nil {
				assert.ErrorIs(t, err, tc.cause)
			}
			assert.Contains(t, err.Error(), "InvokeRequests[0].CommandFields")

			_, err = EncodeInvokeResponseCommand(queryImagePath, tc.fields)
			require.ErrorIs(t, err, ErrBadFields)
			assert.Contains(t, err.Error(), "InvokeResponses[0].Command.CommandFields")
		})
	}
}

func TestTheDepthLimitForFieldsMatchesWhatTheDecoderAccepts(t *testing.T) {
	// Nesting that just fits a request: the fields structure sits inside 3 containers, so it may
	// hold MaxDepth-4 nested structures.
	n := tlv.MaxDepth - 4
	fields := append(append([]byte{0x15}, bytes.Repeat([]byte{0x35, 0x01}, n)...), bytes.Repeat([]byte{0x18}, n+1)...)
	b, err := EncodeInvoke(queryImagePath, fields, false)
	require.NoError(t, err)
	m, err := DecodeInvokeRequest(b)
	require.NoError(t, err)
	assert.Equal(t, fields, m.Requests[0].Fields)

	// A response nests one level deeper, so the same fields are one too many there.
	_, err = EncodeInvokeResponseCommand(queryImagePath, fields)
	require.ErrorIs(t, err, tlv.ErrTooDeep)
}

func TestAnInvokeResponseIBWithNeitherOrBothChoicesIsRefused(t *testing.T) {
	cd := &CommandData{Path: queryImagePath, Fields: []byte{0x15, 0x18}}
	cs := &CommandStatus{Path: queryImagePath}
	for name, ib := range map[string]InvokeResponseIB{"neither": {}, "both": {Command: cd, Status: cs}} {
		t.Run(name, func(t *testing.T) {
			_, err := InvokeResponse{Responses: []InvokeResponseIB{{Status: cs}, ib}}.Append(nil)
			require.ErrorIs(t, err, ErrBadResponseIB)
			assert.Contains(t, err.Error(), "InvokeResponses[1]")
		})
	}
}
