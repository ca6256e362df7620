package bdx

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/securechannel"
)

func acceptMsg(t testing.TB, tc TransferControl, rc RangeControl, mbs uint16, start, length uint64) Message {
	t.Helper()
	return mustEncode(t, ReceiveAccept{Control: tc, Range: rc, MaxBlockSize: mbs, StartOffset: start, Length: length})
}

func blockMsg(t testing.TB, c uint32, data []byte) Message {
	t.Helper()
	return mustEncode(t, Block{Counter: c, Data: data})
}

func eofMsg(t testing.TB, c uint32, data []byte) Message {
	t.Helper()
	return mustEncode(t, BlockEOF{Counter: c, Data: data})
}

// TestReceiveRecordsEachProviderRuleViolation plays scripted provider answers to Receive. Each case
// is a provider that breaks one rule; the control cases break none.
func TestReceiveRecordsEachProviderRuleViolation(t *testing.T) {
	abc := []byte("abc")
	tests := []struct {
		name     string
		opts     ReceiveOptions
		replies  func(t testing.TB) []Message
		rule     string     // the finding expected, "" for none
		sent     StatusCode // the StatusReport Receive must send to end it, 0 for none
		complete bool
	}{
		{"a correct provider yields no finding", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, DefLen, 1024, 0, 3), eofMsg(t, 0, abc)}
			}, "", 0, true},
		{"a smaller power-of-two grant is fine", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 512, 0, 0), eofMsg(t, 0, abc)}
			},
			"", 0, true},
		{"an accept with both drive bits breaks the one-mode rule", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive|SenderDrive, 0, 1024, 0, 0), eofMsg(t, 0, abc)}
			}, RuleAcceptDriveMode, 0, true},
		{"an accept choosing sender drive is refused with BAD_MESSAGE_CONTENTS", ReceiveOptions{},
			func(t testing.TB) []Message { return []Message{acceptMsg(t, SenderDrive, 0, 1024, 0, 0)} },
			RuleAcceptDriveMode, StatusBadMessageContents, false},
		{"an accept choosing no mode is refused with BAD_MESSAGE_CONTENTS", ReceiveOptions{},
			func(t testing.TB) []Message { return []Message{acceptMsg(t, 0, 0, 1024, 0, 0)} },
			RuleAcceptDriveMode, StatusBadMessageContents, false},
		{"an accept with ASYNC that was not proposed", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive|Async, 0, 1024, 0, 0), eofMsg(t, 0, abc)}
			}, RuleAcceptAsync, 0, true},
		{"an accept with a version above the proposal", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive.WithVersion(2), 0, 1024, 0, 0), eofMsg(t, 0, abc)}
			}, RuleAcceptVersion, 0, true},
		{"a block size above the proposal", ReceiveOptions{MaxBlockSize: 1024},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 2048, 0, 0), eofMsg(t, 0, abc)}
			},
			RuleBlockSizeMax, 0, true},
		{"a block size of 0 is refused", ReceiveOptions{},
			func(t testing.TB) []Message { return []Message{acceptMsg(t, ReceiverDrive, 0, 0, 0, 0)} },
			RuleBlockSizeMax, StatusBadMessageContents, false},
		{"a proposal of 100 granted 64 instead of exactly", ReceiveOptions{MaxBlockSize: 100},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 64, 0, 0), eofMsg(t, 0, abc)}
			},
			RuleBlockSizeExact, 0, true},
		{"a proposal of 1024 granted 1000, not a power of two", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 1000, 0, 0), eofMsg(t, 0, abc)}
			},
			RuleBlockSizePow2, 0, true},
		{"CHIP's STARTOFS in the accept is decoded and reported", ReceiveOptions{StartOffset: 5, Length: 3},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, StartOfs|DefLen, 1024, 5, 3), eofMsg(t, 0, abc)}
			}, RuleAcceptStartOfs, 0, true},
		{"an accept length other than the requested one", ReceiveOptions{Length: 3},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, DefLen, 1024, 0, 4), eofMsg(t, 0, abc)}
			}, RuleAcceptLength, 0, true},
		{"an accept length other than the staged file size", ReceiveOptions{Expected: abc},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, DefLen, 1024, 0, 7), eofMsg(t, 0, abc)}
			}, RuleAcceptLength, 0, true},
		{"a BlockEOF in answer to ReceiveInit", ReceiveOptions{},
			func(t testing.TB) []Message { return []Message{eofMsg(t, 0, abc)} },
			RuleAcceptReply, StatusUnexpectedMessage, false},
		{"a truncated ReceiveAccept", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{{Protocol: ProtocolID, Opcode: uint8(OpReceiveAccept), Payload: []byte{0x20, 0x00}}}
			}, RuleAcceptReply, StatusBadMessageContents, false},
		{"a block counter that does not echo the query", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), blockMsg(t, 0, []byte("abcd")), blockMsg(t, 7, []byte("efgh"))}
			}, RuleBlockCounter, StatusBadBlockCounter, false},
		{"a short block that is not the last", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), blockMsg(t, 0, []byte("abc")), eofMsg(t, 1, []byte("d"))}
			}, RuleBlockSize, 0, true},
		{"a block larger than the block size", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), blockMsg(t, 0, []byte("abcde"))}
			}, RuleBlockOversize, StatusBadMessageContents, false},
		{"a BlockEOF larger than the block size", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), eofMsg(t, 0, []byte("abcde"))}
			}, RuleBlockOversize, StatusBadMessageContents, false},
		{"a BlockEOF before the definite length is reached", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, DefLen, 4, 0, 10), blockMsg(t, 0, []byte("abcd")), eofMsg(t, 1, []byte("e"))}
			}, RuleLengthTotal, 0, true},
		{"a Block past the definite length", ReceiveOptions{Length: 4},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, DefLen, 4, 0, 4), blockMsg(t, 0, []byte("abcd")),
					blockMsg(t, 1, []byte("efgh")), eofMsg(t, 2, nil)}
			}, RuleBlockPastEnd, 0, true},
		{"a ReceiveAccept in answer to a query", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), acceptMsg(t, ReceiverDrive, 0, 4, 0, 0)}
			}, RuleBlockReply, StatusUnexpectedMessage, false},
		{"an empty Block", ReceiveOptions{},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), {Protocol: ProtocolID, Opcode: uint8(OpBlock), Payload: []byte{0, 0, 0, 0}}}
			}, RuleBlockReply, StatusBadMessageContents, false},
		{"bytes that differ from the staged image", ReceiveOptions{Expected: []byte("abcdefgh")},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), blockMsg(t, 0, []byte("abcd")),
					blockMsg(t, 1, []byte("eXgh")), eofMsg(t, 2, nil)}
			}, RuleContent, 0, true},
		{"bytes beyond the end of the staged image", ReceiveOptions{Expected: []byte("ab")},
			func(t testing.TB) []Message {
				return []Message{acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), eofMsg(t, 0, []byte("abc"))}
			}, RuleContent, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{replies: tt.replies(t)}
			tt.opts.Designator = designator
			var buf bytes.Buffer
			res, err := Receive(context.Background(), s, &buf, tt.opts)
			if tt.rule == "" {
				assert.Empty(t, res.Findings)
			} else {
				f, ok := res.Finding(tt.rule)
				require.True(t, ok, "no %s finding in %v", tt.rule, res.Findings)
				assert.NotEmpty(t, f.Ref)
				assert.NotEmpty(t, f.Expected)
				assert.NotEmpty(t, f.Actual)
				assert.NotEqual(t, f.Expected, f.Actual)
				assert.Contains(t, f.String(), tt.rule)
			}
			assert.Equal(t, tt.complete, res.Complete)
			assert.Equal(t, tt.sent, res.Sent)
			last := s.sent[len(s.sent)-1]
			if tt.sent != 0 {
				var serr *StatusError
				require.ErrorAs(t, err, &serr)
				assert.Equal(t, tt.sent, serr.Code)
				assert.Equal(t, tt.sent, statusCodeOf(t, &last), "the last message sent is the StatusReport")
			} else {
				require.NoError(t, err)
				assert.Equal(t, uint8(OpBlockAckEOF), last.Opcode, "the transfer ends with BlockAckEOF")
				assert.Equal(t, int64(buf.Len()), res.Bytes)
			}
		})
	}
}

func TestRepeatedViolationsAreCountedOnce(t *testing.T) {
	s := &script{replies: []Message{
		acceptMsg(t, ReceiverDrive, 0, 4, 0, 0),
		blockMsg(t, 0, []byte("ab")), blockMsg(t, 1, []byte("cd")), blockMsg(t, 2, []byte("e")), eofMsg(t, 3, nil),
	}}
	res, err := Receive(context.Background(), s, &bytes.Buffer{}, ReceiveOptions{Designator: designator})
	require.NoError(t, err)
	require.Len(t, res.Findings, 1)
	assert.Equal(t, 3, res.Findings[0].Count)
	assert.Equal(t, "block 0", res.Findings[0].At)
	assert.Contains(t, res.Findings[0].String(), "(3 times)")
}

func TestAStatusReportInsteadOfTheAcceptIsDecodedIntoItsBDXCode(t *testing.T) {
	s := &script{replies: []Message{StatusFileDesignatorUnknown.Message()}}
	res, err := Receive(context.Background(), s, &bytes.Buffer{}, ReceiveOptions{Designator: designator})
	var pe *securechannel.StatusError
	require.ErrorAs(t, err, &pe)
	assert.ErrorContains(t, err, "ReceiveInit")
	require.NotNil(t, res.Status)
	assert.True(t, res.StatusIsBDX)
	assert.Equal(t, StatusFileDesignatorUnknown, res.StatusCode)
	assert.Empty(t, res.Findings)
	assert.Len(t, s.sent, 1, "nothing is sent after the provider's report")
}

func TestAStatusReportMidTransferKeepsWhatArrived(t *testing.T) {
	other := securechannel.StatusReport{General: securechannel.GeneralBusy, ProtocolID: 0, ProtocolCode: securechannel.CodeBusy}
	s := &script{replies: []Message{
		acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), blockMsg(t, 0, []byte("abcd")),
		{Protocol: securechannel.ProtocolID, Opcode: securechannel.OpStatusReport, Payload: other.Encode()},
	}}
	var buf bytes.Buffer
	res, err := Receive(context.Background(), s, &buf, ReceiveOptions{Designator: designator})
	assert.ErrorContains(t, err, "BlockQuery")
	assert.False(t, res.StatusIsBDX, "a Secure Channel code is not read as a BDX code")
	assert.Equal(t, other, *res.Status)
	assert.Equal(t, "abcd", buf.String())
	assert.Equal(t, 1, res.Blocks)

	s = &script{replies: []Message{{Protocol: securechannel.ProtocolID, Opcode: securechannel.OpStatusReport, Payload: []byte{1, 0}}}}
	_, err = Receive(context.Background(), s, &bytes.Buffer{}, ReceiveOptions{Designator: designator})
	assert.ErrorContains(t, err, "malformed StatusReport")
}

func TestReceiveSendsTheRequestedInitAndQueries(t *testing.T) {
	s := &script{replies: []Message{
		acceptMsg(t, ReceiverDrive, DefLen|WideRange, 4, 0, 8),
		blockMsg(t, 0, []byte("abcd")), blockMsg(t, 1, []byte("efgh")), eofMsg(t, 2, nil),
	}}
	res, err := Receive(context.Background(), s, &bytes.Buffer{}, ReceiveOptions{
		Designator: designator, MaxBlockSize: 4, StartOffset: 1 << 33, Length: 8,
		SkipAtBlock: 1, SkipBytes: 0, SendBlockAck: true,
	})
	require.NoError(t, err)
	assert.Empty(t, res.Findings)
	init, err := DecodeReceiveInit(s.sent[0].Payload)
	require.NoError(t, err)
	assert.Equal(t, ReceiveInit{Control: ReceiverDrive, Range: StartOfs | DefLen | WideRange, MaxBlockSize: 4,
		StartOffset: 1 << 33, Length: 8, FileDesignator: designator}, init)
	var ops []Opcode
	for _, m := range s.sent[1:] {
		ops = append(ops, Opcode(m.Opcode))
	}
	assert.Equal(t, []Opcode{OpBlockQuery, OpBlockAck, OpBlockQuery, OpBlockAck, OpBlockQuery, OpBlockAckEOF}, ops)
}

func TestStoppingAfterTheEOFLeavesItUnacknowledged(t *testing.T) {
	s := &script{replies: []Message{acceptMsg(t, ReceiverDrive, 0, 4, 0, 0), eofMsg(t, 0, []byte("ab"))}}
	res, err := Receive(context.Background(), s, &bytes.Buffer{}, ReceiveOptions{Designator: designator, StopAfterBlocks: 1})
	require.NoError(t, err)
	assert.True(t, res.Stopped)
	assert.False(t, res.Complete)
	assert.Equal(t, uint8(OpBlockQuery), s.sent[len(s.sent)-1].Opcode, "no BlockAckEOF was sent")
}

func TestAProviderThatIgnoresTheStartOffsetIsCaught(t *testing.T) {
	// Bug #3 (connectedhomeip #15925): the example echoed STARTOFS but served from byte 0.
	file := image(10_000, 15)
	lookup := func(Peer, []byte) (File, error) { return shiftedFile{f: bytes.NewReader(file), shift: 2500}, nil }
	r, err := NewResponder(lookup, Config{})
	require.NoError(t, err)
	out := transfer(t, r, peerA, nil, ReceiveOptions{StartOffset: 2500, Expected: file})
	require.NoError(t, out.err)
	f, ok := out.res.Finding(RuleContent)
	require.True(t, ok, "findings: %v", out.res.Findings)
	assert.Equal(t, "block 0", f.At)
	assert.Contains(t, f.Actual, "matches the image at offset 0 instead of 2500")
}

func TestAProviderThatEchoesTheStartOffsetInItsAcceptIsReported(t *testing.T) {
	// CHIP's ReceiveAccept writer adds STARTOFS (§6.3 quirk); the data itself is right.
	file := image(10_000, 16)
	r, _ := armed(t, file, Config{})
	echo := func(ex Exchange) Exchange {
		return tamper{Exchange: ex, f: func(m Message) Message {
			if m.Protocol != ProtocolID || Opcode(m.Opcode) != OpReceiveAccept {
				return m
			}
			acc, err := DecodeReceiveAccept(m.Payload)
			require.NoError(t, err)
			acc.Range |= StartOfs
			acc.StartOffset = 2500
			return mustEncode(t, acc)
		}}
	}
	out := transfer(t, r, peerA, echo, ReceiveOptions{StartOffset: 2500, Expected: file})
	require.NoError(t, out.err)
	require.Len(t, out.res.Findings, 1)
	assert.Equal(t, RuleAcceptStartOfs, out.res.Findings[0].Rule)
	assert.Equal(t, file[2500:], out.got)
}

func TestAProviderWithAWrongCounterIsStoppedAndToldSo(t *testing.T) {
	file := image(10_000, 17)
	r, _ := armed(t, file, Config{})
	bump := func(ex Exchange) Exchange {
		return tamper{Exchange: ex, f: func(m Message) Message {
			if m.Protocol == ProtocolID && Opcode(m.Opcode) == OpBlock && m.Payload[0] == 2 {
				m.Payload[0] = 3
			}
			return m
		}}
	}
	out := transfer(t, r, peerA, bump, ReceiveOptions{})
	var serr *StatusError
	require.ErrorAs(t, out.err, &serr)
	assert.Equal(t, StatusBadBlockCounter, serr.Code)
	_, ok := out.res.Finding(RuleBlockCounter)
	assert.True(t, ok)
	var pe *securechannel.StatusError
	require.ErrorAs(t, out.serveErr, &pe, "the provider got the BAD_BLOCK_COUNTER report")
	assert.Equal(t, uint16(StatusBadBlockCounter), pe.Report.ProtocolCode)
	assert.Zero(t, r.Active())
}
