package im

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The golden payloads below were derived by hand from Core Appendix A (control octet = tag form <<
// 5 | element type; smallest widths) and the IB layouts of Core §10.6/§10.7 (matter-transport.md
// §6), not produced by this package. One line per element.

var queryImagePath = CommandPath{Endpoint: 0, Cluster: 0x0029, Command: 0x00}

// QueryImage fields: VendorID 0xFFF1, ProductID 0x8000, SoftwareVersion 1, ProtocolsSupported
// [BDXSynchronous] (Core §11.20.6.5.1).
const queryImageFieldsHex = `
15          anonymous structure
25 00 f1 ff   0 VendorID 0xFFF1 (uint16)
25 01 00 80   1 ProductID 0x8000 (uint16)
24 02 01      2 SoftwareVersion 1 (uint32 field, smallest width: uint8)
36 03         3 ProtocolsSupported (array)
04 00           BDXSynchronous 0 (anonymous uint8)
18            end of array
18          end of structure`

const queryImageInvokeHex = `
15          InvokeRequestMessage (anonymous structure)
28 00         0 SuppressResponse false
28 01         1 TimedRequest false
36 02         2 InvokeRequests (array)
15              CommandDataIB
37 00             0 CommandPath (list)
24 00 00            0 EndpointID 0
24 01 29            1 ClusterID 0x0029
24 02 00            2 CommandID 0x00 QueryImage
18                 end of list
35 01              1 CommandFields (structure, context tag 1)
25 00 f1 ff
25 01 00 80
24 02 01
36 03
04 00
18
18                 end of CommandFields
18              end of CommandDataIB
18            end of array
24 ff 0c      0xFF InteractionModelRevision 12
18`

// QueryImageResponse fields: UpdateAvailable, DelayedActionTime 0, a BDX ImageURI, version 2,
// "2.0", an 8-byte token (Core §11.20.6.5.2).
const queryImageResponseFieldsHex = `
15
24 00 00      0 Status UpdateAvailable
24 01 00      1 DelayedActionTime 0
2c 02 18      2 ImageURI, UTF-8 string of 24 octets:
62 64 78 3a 2f 2f 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 31 2f 66    "bdx://0000000000000001/f"
24 03 02      3 SoftwareVersion 2
2c 04 03 32 2e 30   4 SoftwareVersionString "2.0"
30 05 08 01 02 03 04 05 06 07 08   5 UpdateToken (8 octets)
18`

const queryImageResponseHex = `
15          InvokeResponseMessage
28 00         0 SuppressResponse false
36 01         1 InvokeResponses (array)
15              InvokeResponseIB
35 00             0 Command (CommandDataIB)
37 00               0 CommandPath (list)
24 00 00              EndpointID 0
24 01 29              ClusterID 0x0029
24 02 01              CommandID 0x01 QueryImageResponse
18
35 01               1 CommandFields
24 00 00
24 01 00
2c 02 18 62 64 78 3a 2f 2f 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 31 2f 66
24 03 02
2c 04 03 32 2e 30
30 05 08 01 02 03 04 05 06 07 08
18                  end of CommandFields
18                end of CommandDataIB
18              end of InvokeResponseIB
18            end of array
24 ff 0c      InteractionModelRevision 12
18`

// The answer to NotifyUpdateApplied: a status, SUCCESS, for the request's own path.
const notifySuccessHex = `
15
28 00         0 SuppressResponse false
36 01         1 InvokeResponses
15              InvokeResponseIB
35 01             1 Status (CommandStatusIB)
37 00               0 CommandPath
24 00 00
24 01 29
24 02 04              CommandID 0x04 NotifyUpdateApplied
18
35 01               1 StatusIB
24 00 00              0 Status SUCCESS
18
18
18
18
24 ff 0c
18`

const statusResponseHex = `
15
24 00 87      0 Status CONSTRAINT_ERROR
24 ff 0c      InteractionModelRevision 12
18`

const timedRequestHex = `
15
25 00 e8 03   0 Timeout 1000 ms (uint16)
24 ff 0c
18`

func TestTheQueryImageInvokeEncodesToTheHandDerivedBytes(t *testing.T) {
	fields := unhex(t, queryImageFieldsHex)
	golden := unhex(t, queryImageInvokeHex)
	out, err := EncodeInvoke(queryImagePath, fields, false)
	require.NoError(t, err)
	assert.Equal(t, golden, out)

	timed, err := EncodeInvoke(queryImagePath, fields, true)
	require.NoError(t, err)
	want := append([]byte(nil), golden...)
	want[3] = 0x29 // 28 01 → 29 01: TimedRequest true
	assert.Equal(t, want, timed, "a timed invoke differs only in TimedRequest")
}

func TestTheHandDerivedQueryImageInvokeDecodesIntoItsParts(t *testing.T) {
	m, err := DecodeInvokeRequest(unhex(t, queryImageInvokeHex))
	require.NoError(t, err)
	assert.Equal(t, InvokeRequest{
		Requests:   []CommandData{{Path: queryImagePath, Fields: unhex(t, queryImageFieldsHex)}},
		IMRevision: 12,
	}, m)
}

func TestTheQueryImageResponseEncodesToTheHandDerivedBytesAndDecodesAsACommandResult(t *testing.T) {
	fields := unhex(t, queryImageResponseFieldsHex)
	golden := unhex(t, queryImageResponseHex)
	out, err := EncodeInvokeResponseCommand(CommandPath{Endpoint: 0, Cluster: 0x0029, Command: 0x01}, fields)
	require.NoError(t, err)
	assert.Equal(t, golden, out)

	r, err := DecodeInvokeResult(golden, OpInvokeResponse, queryImagePath)
	require.NoError(t, err)
	assert.Equal(t, Result{Status: Success, HasCommand: true, Command: 0x01, Fields: fields}, r)
	assert.NoError(t, r.Err())
}

func TestAStatusAnswerEncodesToTheHandDerivedBytesAndDecodesAsAStatusResult(t *testing.T) {
	notify := CommandPath{Endpoint: 0, Cluster: 0x0029, Command: 0x04}
	golden := unhex(t, notifySuccessHex)
	assert.Equal(t, golden, EncodeInvokeResponseStatus(notify, Success))

	r, err := DecodeInvokeResult(golden, OpInvokeResponse, notify)
	require.NoError(t, err)
	assert.Equal(t, Result{Status: Success}, r)
	assert.NoError(t, r.Err())
}

func TestAStatusWithAClusterStatusSurvivesTheRoundTripAndBecomesAStatusError(t *testing.T) {
	path := CommandPath{Endpoint: 1, Cluster: 0x0029, Command: 0x02}
	b, err := InvokeResponse{Responses: []InvokeResponseIB{{Status: &CommandStatus{
		Path: path, Status: StatusIB{Status: Failure, ClusterStatus: ptr[uint8](5)},
	}}}}.Append(nil)
	require.NoError(t, err)
	assert.Equal(t, unhex(t, `15 28 00 36 01 15 35 01 37 00 24 00 01 24 01 29 24 02 02 18
		35 01 24 00 01 24 01 05 18 18 18 18 24 ff 0c 18`), b)

	r, err := DecodeInvokeResult(b, OpInvokeResponse, path)
	require.NoError(t, err)
	assert.Equal(t, Result{Status: Failure, ClusterStatus: ptr[uint8](5)}, r)
	var se *StatusError
	require.ErrorAs(t, r.Err(), &se)
	assert.Equal(t, Failure, se.Status)
	assert.Equal(t, "IM status FAILURE (0x01), cluster status 0x05", se.Error())
}

func TestAStatusResponseEncodesToTheHandDerivedBytesAndDecodesAsAStatusResult(t *testing.T) {
	golden := unhex(t, statusResponseHex)
	assert.Equal(t, golden, EncodeStatusResponse(ConstraintError))

	m, err := DecodeStatusResponse(golden)
	require.NoError(t, err)
	assert.Equal(t, StatusResponse{Status: ConstraintError, IMRevision: 12}, m)

	r, err := DecodeInvokeResult(golden, OpStatusResponse, queryImagePath)
	require.NoError(t, err)
	assert.Equal(t, Result{Status: ConstraintError}, r)
	var se *StatusError
	require.True(t, errors.As(r.Err(), &se))
	assert.Equal(t, ConstraintError, se.Status)
}

func TestATimedRequestEncodesToTheHandDerivedBytes(t *testing.T) {
	golden := unhex(t, timedRequestHex)
	out, err := TimedRequest{TimeoutMs: 1000}.Append(nil)
	require.NoError(t, err)
	assert.Equal(t, golden, out)
	m, err := DecodeTimedRequest(golden)
	require.NoError(t, err)
	assert.Equal(t, TimedRequest{TimeoutMs: 1000, IMRevision: 12}, m)
}

func TestAppendAppendsAfterWhatTheBufferHolds(t *testing.T) {
	out, err := StatusResponse{Status: Busy, IMRevision: 11}.Append([]byte{0xAA})
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "aa 15 24 00 9c 24 ff 0b 18"), out, "a non-zero IMRevision is written as given")
}

func TestUnknownTagsAreSkippedAtEveryLevel(t *testing.T) {
	// The QueryImage invoke with unknown members added: a context tag 9 uint in the message, a
	// common-profile tag in the CommandDataIB, an anonymous and a tag-7 member in the CommandPath
	// list, an unknown nested container (holding invalid UTF-8, checked for framing only) in the
	// message, and a CommandRef.
	payload := unhex(t, `15 28 00 28 01
		24 09 07
		37 0a 2c 01 02 c3 28 15 26 05 01 00 00 00 18 18
		36 02 15
		  37 00 24 00 00 04 05 24 01 29 24 07 01 24 02 00 18
		  44 01 00 29
		  35 01 25 00 f1 ff 25 01 00 80 24 02 01 36 03 04 00 18 18
		  24 02 05
		18 18
		24 ff 0c 18`)
	m, err := DecodeInvokeRequest(payload)
	require.NoError(t, err)
	assert.Equal(t, InvokeRequest{
		Requests:   []CommandData{{Path: queryImagePath, Fields: unhex(t, queryImageFieldsHex), Ref: ptr[uint16](5)}},
		IMRevision: 12,
	}, m)
}

func TestOddEncodingsInsideTheFieldsTravelByteForByte(t *testing.T) {
	tests := []struct {
		name, fields string
	}{
		{"non-minimal integer widths", "15 27 00 f1 ff 00 00 00 00 00 00 18"},
		{"tags out of order and repeated", "15 24 02 01 24 00 01 24 00 02 18"},
		{"invalid UTF-8 in a string", "15 2c 05 02 c3 28 18"},
		{"an anonymous member of the structure", "15 04 07 18"},
		{"a tagged member of an array", "15 36 03 24 01 00 18 18"},
		{"a 4-octet profile tag for a small number", "15 64 01 00 00 00 07 18"},
		{"an empty structure", "15 18"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields := unhex(t, tc.fields)
			req, err := EncodeInvoke(queryImagePath, fields, false)
			require.NoError(t, err)
			m, err := DecodeInvokeRequest(req)
			require.NoError(t, err)
			assert.Equal(t, fields, m.Requests[0].Fields)

			resp, err := EncodeInvokeResponseCommand(CommandPath{Cluster: 0x29, Command: 1}, fields)
			require.NoError(t, err)
			r, err := DecodeInvokeResult(resp, OpInvokeResponse, queryImagePath)
			require.NoError(t, err)
			assert.Equal(t, fields, r.Fields)
		})
	}
}

func TestNilFieldsSendAnEmptyStructureButAnAbsentFieldStaysAbsent(t *testing.T) {
	req, err := EncodeInvoke(queryImagePath, nil, false)
	require.NoError(t, err)
	m, err := DecodeInvokeRequest(req)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x15, 0x18}, m.Requests[0].Fields, "requests always carry CommandFields")

	b, err := InvokeRequest{Requests: []CommandData{{Path: queryImagePath}}}.Append(nil)
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "15 28 00 28 01 36 02 15 37 00 24 00 00 24 01 29 24 02 00 18 18 18 24 ff 0c 18"), b)
	m, err = DecodeInvokeRequest(b)
	require.NoError(t, err)
	assert.Nil(t, m.Requests[0].Fields, "a CommandDataIB without CommandFields decodes to nil fields")

	resp, err := InvokeResponse{Responses: []InvokeResponseIB{{Command: &CommandData{Path: CommandPath{Cluster: 0x29, Command: 1}}}}}.Append(nil)
	require.NoError(t, err)
	r, err := DecodeInvokeResult(resp, OpInvokeResponse, queryImagePath)
	require.NoError(t, err)
	assert.Equal(t, Result{Status: Success, HasCommand: true, Command: 1}, r)
}
