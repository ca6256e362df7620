package bdx

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/securechannel"
)

func initMsg(t testing.TB, mod func(*ReceiveInit)) Message {
	t.Helper()
	ri := ReceiveInit{Control: ReceiverDrive, MaxBlockSize: 1024, FileDesignator: designator}
	if mod != nil {
		mod(&ri)
	}
	return mustEncode(t, ri)
}

// TC-BDX-1.4 (accept) and TC-BDX-1.6 (refusals), plus the other Accept paths of the status table.
func TestAcceptAnswersEachReceiveInitWithTheRightReply(t *testing.T) {
	const size = 3000
	file := image(size, 1)
	tests := []struct {
		name   string
		peer   Peer
		msg    func(t testing.TB) Message
		code   StatusCode    // 0: accepted
		accept ReceiveAccept // checked when accepted
	}{
		{"the armed peer asking for the whole file gets MBS 1024 and DEFLEN = size", peerA,
			func(t testing.TB) Message { return initMsg(t, nil) }, 0,
			ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 1024, Length: size}},
		{"a missing definite length is not required", peerA,
			func(t testing.TB) Message { return initMsg(t, func(ri *ReceiveInit) { ri.Range = 0 }) }, 0,
			ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 1024, Length: size}},
		{"a DEFLEN of 0 means indefinite", peerA,
			func(t testing.TB) Message { return initMsg(t, func(ri *ReceiveInit) { ri.Range = DefLen }) }, 0,
			ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 1024, Length: size}},
		{"a smaller definite length is a window of that many bytes", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.Range, ri.StartOffset, ri.Length = StartOfs|DefLen, 100, 500 })
			}, 0, ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 1024, Length: 500}},
		{"a definite length equal to what is left is accepted", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.Range, ri.StartOffset, ri.Length = StartOfs|DefLen, 100, size-100 })
			}, 0, ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 1024, Length: size - 100}},
		{"a resume at the last byte is accepted without STARTOFS in the accept", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.Range, ri.StartOffset = StartOfs, size-1 })
			}, 0, ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 1024, Length: 1}},
		{"a WIDERANGE init with small values is accepted", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.Range, ri.StartOffset = StartOfs|WideRange, 10 })
			}, 0, ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 1024, Length: size - 10}},
		{"a proposed version 3 is answered with version 0", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.Control = (ReceiverDrive | SenderDrive | Async).WithVersion(3) })
			}, 0, ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 1024, Length: size}},

		{"an unknown designator gets FILE_DESIGNATOR_UNKNOWN", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.FileDesignator = []byte("ota/other") })
			},
			StatusFileDesignatorUnknown, ReceiveAccept{}},
		{"another node on the same fabric gets FILE_DESIGNATOR_UNKNOWN", peerB,
			func(t testing.TB) Message { return initMsg(t, nil) }, StatusFileDesignatorUnknown, ReceiveAccept{}},
		{"the same node id on another fabric gets FILE_DESIGNATOR_UNKNOWN", peerAOnF2,
			func(t testing.TB) Message { return initMsg(t, nil) }, StatusFileDesignatorUnknown, ReceiveAccept{}},
		{"a start offset equal to the size gets START_OFFSET_NOT_SUPPORTED", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.Range, ri.StartOffset = StartOfs, size })
			},
			StatusStartOffsetNotSupported, ReceiveAccept{}},
		{"a 64-bit start offset past the end gets START_OFFSET_NOT_SUPPORTED", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.Range, ri.StartOffset = StartOfs|WideRange, 1<<63 })
			}, StatusStartOffsetNotSupported, ReceiveAccept{}},
		{"a definite length beyond the file gets LENGTH_TOO_LARGE", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.Range, ri.Length = DefLen, size+1 })
			},
			StatusLengthTooLarge, ReceiveAccept{}},
		{"a definite length beyond what is left after the offset gets LENGTH_TOO_LARGE", peerA,
			func(t testing.TB) Message {
				return initMsg(t, func(ri *ReceiveInit) { ri.Range, ri.StartOffset, ri.Length = StartOfs|DefLen, 1, size })
			}, StatusLengthTooLarge, ReceiveAccept{}},
		{"sender drive alone gets TRANSFER_METHOD_NOT_SUPPORTED", peerA,
			func(t testing.TB) Message { return initMsg(t, func(ri *ReceiveInit) { ri.Control = SenderDrive }) },
			StatusTransferMethodNotSupported, ReceiveAccept{}},
		{"no drive bit at all gets TRANSFER_METHOD_NOT_SUPPORTED as in CHIP", peerA,
			func(t testing.TB) Message { return initMsg(t, func(ri *ReceiveInit) { ri.Control = 0 }) },
			StatusTransferMethodNotSupported, ReceiveAccept{}},
		{"async alone gets TRANSFER_METHOD_NOT_SUPPORTED", peerA,
			func(t testing.TB) Message { return initMsg(t, func(ri *ReceiveInit) { ri.Control = Async }) },
			StatusTransferMethodNotSupported, ReceiveAccept{}},
		{"a proposed block size of 0 gets BAD_MESSAGE_CONTENTS", peerA,
			func(t testing.TB) Message { return initMsg(t, func(ri *ReceiveInit) { ri.MaxBlockSize = 0 }) },
			StatusBadMessageContents, ReceiveAccept{}},
		{"a designator length past the end gets BAD_MESSAGE_CONTENTS", peerA,
			func(t testing.TB) Message {
				return Message{Protocol: ProtocolID, Opcode: uint8(OpReceiveInit), Payload: []byte{0x20, 0, 0, 4, 9, 0, 'o'}}
			}, StatusBadMessageContents, ReceiveAccept{}},
		{"an empty designator gets BAD_MESSAGE_CONTENTS", peerA,
			func(t testing.TB) Message {
				return Message{Protocol: ProtocolID, Opcode: uint8(OpReceiveInit), Payload: []byte{0x20, 0, 0, 4, 0, 0}}
			}, StatusBadMessageContents, ReceiveAccept{}},
		{"a SendInit to the sender gets UNEXPECTED_MESSAGE", peerA,
			func(t testing.TB) Message {
				return mustEncode(t, SendInit{Control: SenderDrive, MaxBlockSize: 1024, FileDesignator: designator})
			}, StatusUnexpectedMessage, ReceiveAccept{}},
		{"a BlockQuery before any init gets UNEXPECTED_MESSAGE", peerA,
			func(t testing.TB) Message { return mustEncode(t, BlockQuery{}) }, StatusUnexpectedMessage, ReceiveAccept{}},
		{"a message of another protocol gets UNEXPECTED_MESSAGE", peerA,
			func(t testing.TB) Message { return Message{Protocol: 0x0001, Opcode: 0x08} }, StatusUnexpectedMessage, ReceiveAccept{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := armed(t, file, Config{})
			tr, reply, err := r.Accept(t0, tt.peer, tt.msg(t))
			require.NotNil(t, reply)
			if tt.code != 0 {
				require.Nil(t, tr)
				var serr *StatusError
				require.ErrorAs(t, err, &serr)
				assert.Equal(t, tt.code, serr.Code)
				assert.Equal(t, tt.code, statusCodeOf(t, reply))
				assert.Zero(t, r.Active(), "a refused transfer holds no slot")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, tr)
			require.Equal(t, ProtocolID, reply.Protocol)
			require.Equal(t, uint8(OpReceiveAccept), reply.Opcode)
			acc, err := DecodeReceiveAccept(reply.Payload)
			require.NoError(t, err)
			assert.Equal(t, tt.accept, acc)
			assert.Equal(t, 1, r.Active())
		})
	}
}

func TestAStatusReportBeforeTheInitIsNeverAnswered(t *testing.T) {
	r, _ := armed(t, image(10, 1), Config{})
	tr, reply, err := r.Accept(t0, peerA, StatusUnknown.Message())
	assert.Nil(t, tr)
	assert.Nil(t, reply)
	assert.ErrorContains(t, err, "instead of ReceiveInit")
	assert.Zero(t, r.Active())
}

func TestBlockSizeNegotiationFollowsTheTCSU33Rules(t *testing.T) {
	tests := []struct {
		proposal   uint16
		maxBlock   int
		maxPayload int
		want       int
	}{
		{1024, 0, 0, 1024},
		{4096, 0, 0, 1024},
		{1000, 0, 0, 512},
		{129, 0, 0, 128},
		{200, 0, 0, 128},
		{128, 0, 0, 128},
		{100, 0, 0, 100},
		{16, 0, 0, 16},
		{15, 0, 0, 8},
		{1, 0, 0, 1},
		{1024, 0, 1174, 1024},
		{4096, 4096, 1174, 1024},
		{8192, 8192, 0, 8192},
		{65535, 65535, 0, 32768},
		{128, 0, 100, 64},
		{90, 0, 100, 90},
		{1024, 1000, 0, 512},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("a proposal of %d with cap %d and payload %d is granted %d", tt.proposal, tt.maxBlock, tt.maxPayload, tt.want)
		t.Run(name, func(t *testing.T) {
			r, _ := armed(t, image(10, 1), Config{MaxBlockSize: tt.maxBlock, MaxPayload: tt.maxPayload})
			_, reply, err := r.Accept(t0, peerA, initMsg(t, func(ri *ReceiveInit) { ri.MaxBlockSize = tt.proposal }))
			require.NoError(t, err)
			acc, err := DecodeReceiveAccept(reply.Payload)
			require.NoError(t, err)
			assert.Equal(t, tt.want, int(acc.MaxBlockSize))
		})
	}
}

func TestNewResponderRefusesUnsafeConfigs(t *testing.T) {
	lookup := (&Arming{}).Lookup
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"an idle timeout under five minutes", Config{IdleTimeout: 4 * time.Minute}, "TC-SU-3.3 step 4"},
		{"a block-size cap above 65535", Config{MaxBlockSize: 70000}, "MaxBlockSize"},
		{"a negative block-size cap", Config{MaxBlockSize: -1}, "MaxBlockSize"},
		{"a payload too small for the block header", Config{MaxPayload: 4}, "MaxPayload"},
		{"a negative transfer limit", Config{MaxTransfers: -1}, "MaxTransfers"},
	}
	for _, tt := range tests {
		t.Run("it refuses "+tt.name, func(t *testing.T) {
			_, err := NewResponder(lookup, tt.cfg)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	_, err := NewResponder(nil, Config{})
	assert.ErrorContains(t, err, "nil Lookup")
}

// step drives a transfer with one message and returns the reply.
func step(t testing.TB, tr *Transfer, now time.Time, body Body) (*Message, bool, error) {
	t.Helper()
	return tr.Handle(now, mustEncode(t, body))
}

func TestHandleEndsTheTransferWithOneStatusReportOnEachProtocolError(t *testing.T) {
	// 40 bytes at MBS 16: Block 0 (16), Block 1 (16), BlockEOF 2 (8).
	file := image(40, 2)
	tests := []struct {
		name   string
		before []Body  // sent first, each must succeed
		bad    Message // then this
		code   StatusCode
	}{
		{"a query with the wrong counter gets BAD_BLOCK_COUNTER", nil,
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockQuery), Payload: []byte{1, 0, 0, 0}}, StatusBadBlockCounter},
		{"a repeated query for a block already sent gets BAD_BLOCK_COUNTER", []Body{BlockQuery{0}},
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockQuery), Payload: []byte{0, 0, 0, 0}}, StatusBadBlockCounter},
		{"a skip query with the wrong counter gets BAD_BLOCK_COUNTER", []Body{BlockQuery{0}},
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockQueryWithSkip), Payload: []byte{5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}}, StatusBadBlockCounter},
		{"a BlockAck before any Block gets UNEXPECTED_MESSAGE", nil,
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockAck), Payload: []byte{0, 0, 0, 0}}, StatusUnexpectedMessage},
		{"a BlockAck for the wrong block gets BAD_BLOCK_COUNTER", []Body{BlockQuery{0}},
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockAck), Payload: []byte{3, 0, 0, 0}}, StatusBadBlockCounter},
		{"a BlockAckEOF before the BlockEOF gets UNEXPECTED_MESSAGE", []Body{BlockQuery{0}},
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockAckEOF), Payload: []byte{0, 0, 0, 0}}, StatusUnexpectedMessage},
		{"a BlockQuery after the BlockEOF gets UNEXPECTED_MESSAGE", []Body{BlockQuery{0}, BlockQuery{1}, BlockQuery{2}},
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockQuery), Payload: []byte{3, 0, 0, 0}}, StatusUnexpectedMessage},
		{"a BlockAck after the BlockEOF gets UNEXPECTED_MESSAGE", []Body{BlockQuery{0}, BlockQuery{1}, BlockQuery{2}},
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockAck), Payload: []byte{2, 0, 0, 0}}, StatusUnexpectedMessage},
		{"a BlockAckEOF with the wrong counter gets BAD_BLOCK_COUNTER", []Body{BlockQuery{0}, BlockQuery{1}, BlockQuery{2}},
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockAckEOF), Payload: []byte{1, 0, 0, 0}}, StatusBadBlockCounter},
		{"a malformed BlockQuery gets BAD_MESSAGE_CONTENTS", nil,
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlockQuery), Payload: []byte{0, 0}}, StatusBadMessageContents},
		{"a second ReceiveInit gets UNEXPECTED_MESSAGE", []Body{BlockQuery{0}},
			initMsg(t, nil), StatusUnexpectedMessage},
		{"a Block sent to the sender gets UNEXPECTED_MESSAGE", nil,
			Message{Protocol: ProtocolID, Opcode: uint8(OpBlock), Payload: []byte{0, 0, 0, 0, 1}}, StatusUnexpectedMessage},
		{"an unknown BDX opcode gets UNEXPECTED_MESSAGE", nil,
			Message{Protocol: ProtocolID, Opcode: 0x7F}, StatusUnexpectedMessage},
		{"a message of another protocol gets UNEXPECTED_MESSAGE", nil,
			Message{Protocol: 0x0001, Opcode: 0x08}, StatusUnexpectedMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := armed(t, file, Config{})
			tr, _, err := r.Accept(t0, peerA, initMsg(t, func(ri *ReceiveInit) { ri.MaxBlockSize = 16 }))
			require.NoError(t, err)
			for _, b := range tt.before {
				reply, done, err := step(t, tr, t0, b)
				require.NoError(t, err)
				require.False(t, done)
				require.NotNil(t, reply)
			}
			reply, done, err := tr.Handle(t0, tt.bad)
			assert.True(t, done)
			var serr *StatusError
			require.ErrorAs(t, err, &serr)
			assert.Equal(t, tt.code, serr.Code)
			assert.Equal(t, tt.code, statusCodeOf(t, reply))
			assert.Zero(t, r.Active(), "the slot is released with the error")

			// One StatusReport, then nothing: the transfer is finished.
			reply, done, err = step(t, tr, t0, BlockQuery{0})
			assert.Nil(t, reply)
			assert.True(t, done)
			assert.ErrorIs(t, err, ErrFinished)
			assert.True(t, tr.Info().Done)
		})
	}
}

func TestAReadErrorEndsTheTransferWithTransferFailed(t *testing.T) {
	r, err := NewResponder(func(Peer, []byte) (File, error) { return failingFile{size: 100}, nil }, Config{})
	require.NoError(t, err)
	tr, _, err := r.Accept(t0, peerA, initMsg(t, nil))
	require.NoError(t, err)
	reply, done, err := step(t, tr, t0, BlockQuery{0})
	assert.True(t, done)
	assert.Equal(t, StatusTransferFailedUnknownError, statusCodeOf(t, reply))
	assert.ErrorContains(t, err, "disk on fire")
	assert.ErrorContains(t, err, "offset 0")
}

func TestANegativeFileSizeIsRefusedWithTransferFailed(t *testing.T) {
	r, err := NewResponder(func(Peer, []byte) (File, error) { return failingFile{size: -1}, nil }, Config{})
	require.NoError(t, err)
	_, reply, err := r.Accept(t0, peerA, initMsg(t, nil))
	assert.Equal(t, StatusTransferFailedUnknownError, statusCodeOf(t, reply))
	assert.ErrorContains(t, err, "size -1")
}

func TestAStatusReportFromThePeerEndsTheTransferSilently(t *testing.T) {
	r, _ := armed(t, image(100, 3), Config{})
	tr, _, err := r.Accept(t0, peerA, initMsg(t, nil))
	require.NoError(t, err)
	reply, done, err := tr.Handle(t0, StatusTransferFailedUnknownError.Message())
	assert.Nil(t, reply, "a StatusReport is never answered with one")
	assert.True(t, done)
	var pe *securechannel.StatusError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, uint16(StatusTransferFailedUnknownError), pe.Report.ProtocolCode)
	assert.Zero(t, r.Active())

	tr, _, err = r.Accept(t0, peerA, initMsg(t, nil))
	require.NoError(t, err)
	_, done, err = tr.Handle(t0, Message{Opcode: securechannel.OpStatusReport, Payload: []byte{1}})
	assert.True(t, done)
	assert.ErrorContains(t, err, "malformed StatusReport")
}

func TestTheProviderCanAbortATransferCleanly(t *testing.T) {
	// Bug #14 (matter-test-scripts #685): an abort sends a StatusReport and releases the state.
	r, _ := armed(t, image(100, 3), Config{})
	tr, _, err := r.Accept(t0, peerA, initMsg(t, nil))
	require.NoError(t, err)
	reply := tr.Abort(StatusUnknown)
	assert.Equal(t, StatusUnknown, statusCodeOf(t, reply))
	assert.Zero(t, r.Active())
	assert.Nil(t, tr.Abort(StatusUnknown), "a second abort has nothing to send")
	var serr *StatusError
	require.ErrorAs(t, tr.Info().Err, &serr)
	assert.Equal(t, StatusUnknown, serr.Code)
}

func TestTheIdleTimeoutKillsATransferAndFreesItsSlot(t *testing.T) {
	// TC-SU-3.3 step 4: after a forced failure the transfer dies after ≥ 5 min idle, and a new
	// transfer can start. The clock is the argument of each call.
	r, _ := armed(t, image(5000, 4), Config{MaxTransfers: 1})
	tr, _, err := r.Accept(t0, peerA, initMsg(t, nil))
	require.NoError(t, err)

	now := t0.Add(4 * time.Minute)
	reply, _, err := step(t, tr, now, BlockQuery{0})
	require.NoError(t, err)
	require.Equal(t, uint8(OpBlock), reply.Opcode)

	// BlockAck restarts the idle timer too.
	now = now.Add(4*time.Minute + 59*time.Second)
	reply, done, err := step(t, tr, now, BlockAck{0})
	require.NoError(t, err)
	assert.Nil(t, reply)
	assert.False(t, done)

	// Busy while it lives.
	_, busy, err := r.Accept(now, peerA, initMsg(t, nil))
	assert.Equal(t, StatusResponderBusy, statusCodeOf(t, busy))
	assert.ErrorContains(t, err, "limit 1")

	assert.False(t, tr.Expired(now.Add(MinIdleTimeout-time.Nanosecond)))
	assert.True(t, tr.Expired(now.Add(MinIdleTimeout)))
	assert.Zero(t, r.Active(), "an expired transfer releases its slot")
	assert.True(t, tr.Expired(now.Add(time.Hour)), "it stays expired")

	reply, done, err = step(t, tr, now.Add(MinIdleTimeout), BlockQuery{1})
	assert.Nil(t, reply, "no StatusReport after a timeout: the peer is presumed gone")
	assert.True(t, done)
	assert.ErrorIs(t, err, ErrFinished)
	assert.ErrorIs(t, err, ErrIdleTimeout)
	assert.ErrorIs(t, tr.Info().Err, ErrIdleTimeout)

	tr2, reply, err := r.Accept(now.Add(MinIdleTimeout), peerA, initMsg(t, nil))
	require.NoError(t, err, "a new transfer starts once the old one timed out")
	require.Equal(t, uint8(OpReceiveAccept), reply.Opcode)
	assert.Zero(t, tr2.Info().Position, "and it starts from offset 0")
}

func TestAMessageAfterTheIdleTimeoutFindsTheTransferDead(t *testing.T) {
	r, _ := armed(t, image(5000, 4), Config{IdleTimeout: 10 * time.Minute})
	tr, _, err := r.Accept(t0, peerA, initMsg(t, nil))
	require.NoError(t, err)
	reply, done, err := step(t, tr, t0.Add(10*time.Minute), BlockQuery{0})
	assert.Nil(t, reply)
	assert.True(t, done)
	assert.ErrorIs(t, err, ErrIdleTimeout)
	assert.Zero(t, r.Active())
}

func TestAcceptSweepsExpiredTransfersSoAStaleOneNeverKeepsThePeerBusy(t *testing.T) {
	// Bugs #4, #5, #15: a transfer abandoned without a word must not block the next one.
	r, _ := armed(t, image(5000, 4), Config{MaxTransfers: 2})
	for range 2 {
		_, _, err := r.Accept(t0, peerA, initMsg(t, nil))
		require.NoError(t, err)
	}
	_, reply, _ := r.Accept(t0.Add(time.Minute), peerA, initMsg(t, nil))
	assert.Equal(t, StatusResponderBusy, statusCodeOf(t, reply))
	assert.Equal(t, 0, r.Sweep(t0.Add(time.Minute)))

	_, reply, err := r.Accept(t0.Add(MinIdleTimeout), peerA, initMsg(t, nil))
	require.NoError(t, err)
	assert.Equal(t, uint8(OpReceiveAccept), reply.Opcode)
	assert.Equal(t, 1, r.Active())
}

func TestHandleServesBlocksSkipsAndTheFinalEmptyBlockEOF(t *testing.T) {
	// 64 bytes at MBS 16, resume at 8, skip 20 at block 1:
	// block 0 = [8,24), skip to 44, block 1 = [44,60), block 2 = EOF [60,64).
	file := image(64, 5)
	r, _ := armed(t, file, Config{})
	tr, _, err := r.Accept(t0, peerA, initMsg(t, func(ri *ReceiveInit) {
		ri.MaxBlockSize, ri.Range, ri.StartOffset = 16, StartOfs, 8
	}))
	require.NoError(t, err)
	want := []struct {
		q    Body
		op   Opcode
		data []byte
	}{
		{BlockQuery{0}, OpBlock, file[8:24]},
		{BlockQueryWithSkip{1, 20}, OpBlock, file[44:60]},
		{BlockQuery{2}, OpBlockEOF, file[60:64]},
	}
	for _, w := range want {
		reply, done, err := step(t, tr, t0, w.q)
		require.NoError(t, err)
		require.False(t, done)
		require.Equal(t, uint8(w.op), reply.Opcode)
		assert.Equal(t, w.data, reply.Payload[4:])
	}
	reply, done, err := step(t, tr, t0, BlockAckEOF{2})
	assert.Nil(t, reply)
	assert.True(t, done)
	assert.NoError(t, err)
	assert.Zero(t, r.Active())

	// A window that is an exact multiple of MBS ends with an empty BlockEOF; a skip past the end too.
	tr, _, err = r.Accept(t0, peerA, initMsg(t, func(ri *ReceiveInit) { ri.MaxBlockSize = 32 }))
	require.NoError(t, err)
	for i, op := range []Opcode{OpBlock, OpBlock, OpBlockEOF} {
		reply, _, err := step(t, tr, t0, BlockQuery{uint32(i)})
		require.NoError(t, err)
		require.Equal(t, uint8(op), reply.Opcode)
	}
	tr, _, err = r.Accept(t0, peerA, initMsg(t, func(ri *ReceiveInit) { ri.MaxBlockSize = 32 }))
	require.NoError(t, err)
	reply, _, err = step(t, tr, t0, BlockQueryWithSkip{0, 1 << 62})
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 0}, reply.Payload, "an empty BlockEOF 0")
	assert.Equal(t, uint8(OpBlockEOF), reply.Opcode)
}

func TestArmingBindsADesignatorToOneFabricAndNode(t *testing.T) {
	var a Arming
	f := bytes.NewReader([]byte("x"))
	_, err := a.Lookup(peerA, designator)
	assert.ErrorIs(t, err, ErrUnknownDesignator)
	a.Arm(peerA, designator, f)
	got, err := a.Lookup(peerA, designator)
	require.NoError(t, err)
	assert.Same(t, f, got)
	for _, p := range []Peer{peerB, peerAOnF2} {
		_, err := a.Lookup(p, designator)
		assert.ErrorIs(t, err, ErrNotArmed, "peer %s", p)
		assert.ErrorContains(t, err, p.String())
	}
	a.Disarm(peerA, designator)
	_, err = a.Lookup(peerA, designator)
	assert.ErrorIs(t, err, ErrUnknownDesignator)
}

func TestTheResponderIsSafeForConcurrentTransfers(t *testing.T) {
	// Run under -race: eight goroutines accept, serve, expire and sweep at once.
	file := image(10_000, 6)
	r, _ := armed(t, file, Config{MaxTransfers: 8})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			tr, _, err := r.Accept(t0, peerA, initMsg(t, func(ri *ReceiveInit) { ri.MaxBlockSize = 512 }))
			if err != nil {
				errs <- err
				return
			}
			var got []byte
			for i := uint32(0); ; i++ {
				reply, _, err := tr.Handle(t0, Message{Protocol: ProtocolID, Opcode: uint8(OpBlockQuery), Payload: []byte{byte(i), 0, 0, 0}})
				if err != nil {
					errs <- err
					return
				}
				got = append(got, reply.Payload[4:]...)
				_ = tr.Expired(t0)
				_ = r.Sweep(t0)
				if reply.Opcode == uint8(OpBlockEOF) {
					break
				}
			}
			if !bytes.Equal(got, file) {
				errs <- fmt.Errorf("goroutine %d got %d bytes that differ from the file", g, len(got))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Equal(t, 8, r.Active(), "none has sent BlockAckEOF yet")
	assert.Equal(t, 8, r.Sweep(t0.Add(MinIdleTimeout)))
	assert.Zero(t, r.Active())
}

func TestStatusErrorsUnwrapToTheirCause(t *testing.T) {
	cause := errors.New("cause")
	err := fmt.Errorf("wrapped: %w", &StatusError{Code: StatusBadBlockCounter, Err: cause})
	assert.ErrorIs(t, err, cause)
	assert.Contains(t, err.Error(), "BAD_BLOCK_COUNTER (0x17)")
}

func TestRepliesStayValidAfterLaterCalls(t *testing.T) {
	// Adapters queue replies before the receiver reads them; a later Handle must not change them.
	file := image(100, 18)
	r, _ := armed(t, file, Config{})
	tr, _, err := r.Accept(t0, peerA, initMsg(t, func(ri *ReceiveInit) { ri.MaxBlockSize = 32 }))
	require.NoError(t, err)
	first, _, err := step(t, tr, t0, BlockQuery{0})
	require.NoError(t, err)
	second, _, err := step(t, tr, t0, BlockQuery{1})
	require.NoError(t, err)
	assert.Equal(t, append([]byte{0, 0, 0, 0}, file[:32]...), first.Payload)
	assert.Equal(t, append([]byte{1, 0, 0, 0}, file[32:64]...), second.Payload)
}
