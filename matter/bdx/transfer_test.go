package bdx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otaconf/otaconf/matter/securechannel"
)

func TestFullTransfersDeliverTheFileByteForByte(t *testing.T) {
	const mbs = 1024
	for _, size := range []int{0, 1, mbs - 1, mbs, mbs + 1, 3 * mbs, 1 << 20} {
		t.Run(fmt.Sprintf("a %d-byte file arrives whole in %d blocks with no findings", size, size/mbs+1), func(t *testing.T) {
			file := image(size, uint64(size))
			r, _ := armed(t, file, Config{})
			out := transfer(t, r, peerA, nil, ReceiveOptions{Expected: file})
			require.NoError(t, out.err)
			require.NoError(t, out.serveErr)
			assert.Empty(t, out.res.Findings)
			assert.True(t, bytes.Equal(file, out.got), "received bytes differ")
			assert.True(t, out.res.Complete)
			assert.Equal(t, mbs, out.res.MaxBlockSize)
			// Full blocks are Blocks; the last, shorter (maybe empty) one is the BlockEOF.
			assert.Equal(t, size/mbs+1, out.res.Blocks)
			assert.Equal(t, int64(size), out.res.Bytes)
			assert.Zero(t, r.Active())
		})
	}
}

func TestResumeWindowsSkipsAndAcksAreServedExactly(t *testing.T) {
	file := image(10_000, 7)
	tests := []struct {
		name string
		opts ReceiveOptions
		want []byte
	}{
		{"a resume from STARTOFS 2500 gets file[2500:]", ReceiveOptions{StartOffset: 2500}, file[2500:]},
		{"a resume at the last byte gets one byte", ReceiveOptions{StartOffset: 9999}, file[9999:]},
		{"a window of 3000 bytes from 100 gets exactly that", ReceiveOptions{StartOffset: 100, Length: 3000}, file[100:3100]},
		{"a window ending on a block boundary ends with an empty BlockEOF", ReceiveOptions{Length: 2048}, file[:2048]},
		{"WIDERANGE fields work like narrow ones", ReceiveOptions{StartOffset: 10, Length: 20, WideRange: true}, file[10:30]},
		{"a skip of 1500 bytes at block 2 leaves a hole", ReceiveOptions{SkipAtBlock: 2, SkipBytes: 1500},
			append(bytes.Clone(file[:2048]), file[3548:]...)},
		{"a skip past the end ends the transfer", ReceiveOptions{SkipAtBlock: 2, SkipBytes: 1 << 40}, file[:2048]},
		{"a skip at block 0 after a resume", ReceiveOptions{StartOffset: 1000, SkipAtBlock: 0, SkipBytes: 24}, file[1024:]},
		{"optional BlockAcks change nothing", ReceiveOptions{SendBlockAck: true}, file},
		{"a small proposal of 100 is granted exactly and works", ReceiveOptions{MaxBlockSize: 100}, file},
		{"a large proposal is capped at 1024", ReceiveOptions{MaxBlockSize: 8192}, file},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := armed(t, file, Config{})
			tt.opts.Expected = file
			out := transfer(t, r, peerA, nil, tt.opts)
			require.NoError(t, out.err)
			require.NoError(t, out.serveErr)
			assert.Empty(t, out.res.Findings)
			assert.True(t, bytes.Equal(tt.want, out.got), "got %d bytes, want %d", len(out.got), len(tt.want))
			assert.True(t, out.res.Complete)
		})
	}
}

func TestRefusalsReachTheReceiverAsDecodedStatusCodes(t *testing.T) {
	file := image(3000, 8)
	tests := []struct {
		name string
		peer Peer
		opts ReceiveOptions
		want StatusCode
	}{
		{"an unknown designator", peerA, ReceiveOptions{Designator: []byte("nope")}, StatusFileDesignatorUnknown},
		{"another node on the same fabric", peerB, ReceiveOptions{}, StatusFileDesignatorUnknown},
		{"the same node on another fabric", peerAOnF2, ReceiveOptions{}, StatusFileDesignatorUnknown},
		{"a start offset at the end", peerA, ReceiveOptions{StartOffset: 3000}, StatusStartOffsetNotSupported},
		{"a length too large", peerA, ReceiveOptions{Length: 3001}, StatusLengthTooLarge},
		{"sender drive only", peerA, ReceiveOptions{Control: SenderDrive}, StatusTransferMethodNotSupported},
		{"no drive mode at all", peerA, ReceiveOptions{Control: Async}, StatusTransferMethodNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused with "+tt.want.String(), func(t *testing.T) {
			r, _ := armed(t, file, Config{})
			out := transfer(t, r, tt.peer, nil, tt.opts)
			var pe *securechannel.StatusError
			require.ErrorAs(t, out.err, &pe)
			require.NotNil(t, out.res.Status)
			assert.True(t, out.res.StatusIsBDX)
			assert.Equal(t, tt.want, out.res.StatusCode)
			assert.Nil(t, out.res.Accept)
			assert.Empty(t, out.res.Findings, "a refusal is not a rule violation")
			var serr *StatusError
			require.ErrorAs(t, out.serveErr, &serr)
			assert.Equal(t, tt.want, serr.Code)
		})
	}
}

func TestTwoTransfersBackToBackBothSucceed(t *testing.T) {
	// Bug #9 (connectedhomeip #9737): the second sequential transfer failed.
	file := image(5000, 9)
	r, _ := armed(t, file, Config{MaxTransfers: 1})
	for i := range 2 {
		out := transfer(t, r, peerA, nil, ReceiveOptions{Expected: file})
		require.NoError(t, out.err, "transfer %d", i)
		assert.Equal(t, file, out.got, "transfer %d", i)
	}
}

func TestAnAbortedTransferReleasesThePeerForAFreshOne(t *testing.T) {
	// Bugs #14 and #15, TC-SU-3.3 steps 4-5: abort after 3 blocks, then a fresh transfer from 0 and a
	// resume from where the first stopped both work, even with room for only one transfer.
	file := image(8000, 10)
	r, _ := armed(t, file, Config{MaxTransfers: 1})
	out := transfer(t, r, peerA, nil, ReceiveOptions{StopAfterBlocks: 3, AbortCode: StatusTransferFailedUnknownError})
	require.NoError(t, out.err)
	assert.True(t, out.res.Stopped)
	assert.Equal(t, StatusTransferFailedUnknownError, out.res.Sent)
	assert.Equal(t, file[:3072], out.got)
	var pe *securechannel.StatusError
	require.ErrorAs(t, out.serveErr, &pe, "the provider saw the abort")
	assert.Zero(t, r.Active())

	out = transfer(t, r, peerA, nil, ReceiveOptions{Expected: file})
	require.NoError(t, out.err)
	assert.Equal(t, file, out.got)

	out = transfer(t, r, peerA, nil, ReceiveOptions{StartOffset: 3072, Expected: file})
	require.NoError(t, out.err)
	assert.Equal(t, file[3072:], out.got)
}

func TestTransfersRunSideBySideUpToTheLimitAndThenTheResponderIsBusy(t *testing.T) {
	file := image(20_000, 11)
	r, _ := armed(t, file, Config{MaxTransfers: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Three receivers take all slots and pause after their first block.
	type held struct {
		client *pipeEnd
		served chan error
	}
	var hs []held
	for range 3 {
		client, server := pipe()
		h := held{client: client, served: make(chan error, 1)}
		go func() { h.served <- r.Serve(ctx, peerA, server) }()
		require.NoError(t, client.Send(ctx, initMsg(t, nil)))
		m, err := client.Recv(ctx)
		require.NoError(t, err)
		require.Equal(t, uint8(OpReceiveAccept), m.Opcode)
		hs = append(hs, h)
	}
	out := transfer(t, r, peerA, nil, ReceiveOptions{})
	assert.Equal(t, StatusResponderBusy, out.res.StatusCode, "a fourth is refused: %v", out.err)

	// Then all three finish concurrently through Receive-like loops on their own exchanges.
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Go(func() {
			var got []byte
			for c := uint32(0); ; c++ {
				if err := h.client.Send(ctx, mustEncode(t, BlockQuery{c})); err != nil {
					t.Error(err)
					return
				}
				m, err := h.client.Recv(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				got = append(got, m.Payload[4:]...)
				if m.Opcode == uint8(OpBlockEOF) {
					_ = h.client.Send(ctx, mustEncode(t, BlockAckEOF{c}))
					break
				}
			}
			if !bytes.Equal(got, file) {
				t.Errorf("concurrent transfer %d: %d bytes differ from the file", i, len(got))
			}
			if err := <-h.served; err != nil {
				t.Errorf("concurrent transfer %d: Serve: %v", i, err)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, r.Active())
}

func TestServeAbortsWithAStatusReportWhenItsContextEnds(t *testing.T) {
	file := image(5000, 12)
	r, _ := armed(t, file, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	client, server := pipe()
	served := make(chan error, 1)
	go func() { served <- r.Serve(ctx, peerA, server) }()
	bg, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	require.NoError(t, client.Send(bg, initMsg(t, nil)))
	_, err := client.Recv(bg)
	require.NoError(t, err)
	cancel()
	require.ErrorIs(t, <-served, context.Canceled)
	m, err := client.Recv(bg)
	require.NoError(t, err)
	assert.Equal(t, StatusTransferFailedUnknownError, statusCodeOf(t, &m))
	assert.Zero(t, r.Active())
}

func TestServeGivesUpAfterTheIdleTimeoutAndTheNextTransferStartsFresh(t *testing.T) {
	// TC-SU-3.3 step 4 with a fake clock: the receiver goes silent after two blocks; five minutes
	// later Serve has released the transfer; a new download starts from offset 0.
	synctest.Test(t, func(t *testing.T) {
		file := image(6000, 13)
		r, _ := armed(t, file, Config{MaxTransfers: 1})
		ctx := context.Background()
		client, server := pipe()
		served := make(chan error, 1)
		start := time.Now()
		go func() { served <- r.Serve(ctx, peerA, server) }()

		res, err := Receive(ctx, client, &bytes.Buffer{}, ReceiveOptions{Designator: designator, StopAfterBlocks: 2})
		require.NoError(t, err)
		require.True(t, res.Stopped)
		require.Equal(t, 1, r.Active())

		err = <-served
		assert.ErrorIs(t, err, ErrIdleTimeout)
		assert.Equal(t, MinIdleTimeout, time.Since(start), "exactly the idle timeout of fake time")
		assert.Zero(t, r.Active())

		client, server = pipe()
		go func() { served <- r.Serve(ctx, peerA, server) }()
		var buf bytes.Buffer
		res, err = Receive(ctx, client, &buf, ReceiveOptions{Designator: designator, Expected: file})
		require.NoError(t, err)
		assert.Empty(t, res.Findings)
		assert.Equal(t, file, buf.Bytes())
		require.NoError(t, <-served)
	})
}

func TestServeReportsWhenNoInitEverArrives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := armed(t, image(10, 1), Config{})
		_, server := pipe()
		err := r.Serve(context.Background(), peerA, server)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "waiting for ReceiveInit from fabric 1")
	})
}

func TestReceiveTimesOutOnASilentProvider(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, _ := pipe()
		start := time.Now()
		_, err := Receive(context.Background(), client, &bytes.Buffer{}, ReceiveOptions{Designator: designator, ReplyTimeout: time.Minute})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "waiting for the answer to ReceiveInit")
		assert.Equal(t, time.Minute, time.Since(start))
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestAWriteErrorOnTheReceiverAbortsTheTransfer(t *testing.T) {
	file := image(3000, 14)
	r, _ := armed(t, file, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, server := pipe()
	served := make(chan error, 1)
	go func() { served <- r.Serve(ctx, peerA, server) }()
	res, err := Receive(ctx, client, failWriter{}, ReceiveOptions{Designator: designator})
	var serr *StatusError
	require.ErrorAs(t, err, &serr)
	assert.Equal(t, StatusTransferFailedUnknownError, serr.Code)
	assert.ErrorContains(t, err, "disk full")
	assert.Equal(t, StatusTransferFailedUnknownError, res.Sent)
	var pe *securechannel.StatusError
	assert.ErrorAs(t, <-served, &pe)
}

func TestReceiveNeedsADesignator(t *testing.T) {
	_, err := Receive(context.Background(), &script{}, &bytes.Buffer{}, ReceiveOptions{})
	assert.ErrorContains(t, err, "empty Designator")
}
