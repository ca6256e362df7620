package bdx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/bits"
	"sync"
	"time"

	"github.com/otaconf/otaconf/matter/securechannel"
)

// Peer identifies the node at the other end of the CASE session: a node has a different node id on
// each fabric, so both parts are needed to bind a transfer (ota-provider.md §5).
type Peer struct {
	FabricIndex uint8
	NodeID      uint64
}

func (p Peer) String() string { return fmt.Sprintf("fabric %d node 0x%016X", p.FabricIndex, p.NodeID) }

// File is what a transfer serves. *bytes.Reader, *io.SectionReader and an *os.File wrapped with its
// size all fit.
type File interface {
	io.ReaderAt
	Size() int64
}

// Lookup decides whether peer may read the file named designator. Any error refuses the transfer with
// FILE_DESIGNATOR_UNKNOWN; *Arming.Lookup is the standard choice.
type Lookup func(peer Peer, designator []byte) (File, error)

// Responder defaults and limits.
const (
	// DefaultMaxBlockSize is the configured block-size cap: TC-SU-3.3 step 1 requires 1024 over non-TCP.
	DefaultMaxBlockSize = 1024
	// MinIdleTimeout is the shortest idle timeout allowed and the default (TC-SU-3.3 step 4; CHIP-EX
	// 300 s, matter.js BDX_TRANSFER_IDLE_TIMEOUT).
	MinIdleTimeout = 5 * time.Minute
	// DefaultMaxTransfers is the default number of transfers served at once.
	DefaultMaxTransfers = 8

	blockHeaderLen   = 4 // BlockCounter before the data, §6.3
	abortSendTimeout = 2 * time.Second
)

// Config tunes a Responder. The zero value gives the defaults.
type Config struct {
	// MaxBlockSize caps the negotiated block size; 0 means DefaultMaxBlockSize.
	MaxBlockSize int
	// MaxPayload is the largest application payload the transport carries; blocks are at most
	// MaxPayload-4 bytes (§6.3). 0 means no cap beyond MaxBlockSize.
	MaxPayload int
	// IdleTimeout ends a transfer that received nothing for that long; 0 means MinIdleTimeout.
	// Shorter values are refused: the rule is ≥ 5 minutes.
	IdleTimeout time.Duration
	// MaxTransfers is how many transfers may be active at once before RESPONDER_BUSY; 0 means
	// DefaultMaxTransfers.
	MaxTransfers int
	// Logger receives accept/end records; nil keeps the Responder silent.
	Logger *slog.Logger
	// Now is the clock Serve uses; nil means time.Now. Accept and Handle take the time as an argument.
	Now func() time.Time
}

// Responder is the provider side of OTA BDX: it accepts ReceiveInits and serves synchronous
// receiver-drive transfers. It holds only the set of active transfers; it is safe for concurrent use.
type Responder struct {
	cfg    Config
	lookup Lookup
	log    *slog.Logger

	mu     sync.Mutex
	active map[*Transfer]struct{}
}

// NewResponder checks cfg, fills in defaults and returns a Responder that resolves designators with lookup.
func NewResponder(lookup Lookup, cfg Config) (*Responder, error) {
	if lookup == nil {
		return nil, errors.New("bdx: NewResponder: nil Lookup")
	}
	switch {
	case cfg.MaxBlockSize == 0:
		cfg.MaxBlockSize = DefaultMaxBlockSize
	case cfg.MaxBlockSize < 1 || cfg.MaxBlockSize > math.MaxUint16:
		return nil, fmt.Errorf("bdx: Config.MaxBlockSize %d outside 1..65535", cfg.MaxBlockSize)
	}
	if cfg.MaxPayload != 0 && cfg.MaxPayload <= blockHeaderLen {
		return nil, fmt.Errorf("bdx: Config.MaxPayload %d leaves no room for data after the 4-byte block header", cfg.MaxPayload)
	}
	switch {
	case cfg.IdleTimeout == 0:
		cfg.IdleTimeout = MinIdleTimeout
	case cfg.IdleTimeout < MinIdleTimeout:
		return nil, fmt.Errorf("bdx: Config.IdleTimeout %v is below the %v minimum of TC-SU-3.3 step 4", cfg.IdleTimeout, MinIdleTimeout)
	}
	switch {
	case cfg.MaxTransfers == 0:
		cfg.MaxTransfers = DefaultMaxTransfers
	case cfg.MaxTransfers < 0:
		return nil, fmt.Errorf("bdx: Config.MaxTransfers %d is negative", cfg.MaxTransfers)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Responder{cfg: cfg, lookup: lookup, log: log, active: make(map[*Transfer]struct{})}, nil
}

// Active returns the number of transfers holding a slot (expired ones included until swept).
func (r *Responder) Active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.active)
}

// Sweep ends every transfer idle for the idle timeout at now and returns how many it ended. Accept
// sweeps by itself, so a dead transfer never keeps a peer Busy (bugs #4, #5, #15).
func (r *Responder) Sweep(now time.Time) int {
	r.mu.Lock()
	ts := make([]*Transfer, 0, len(r.active))
	for t := range r.active {
		ts = append(ts, t)
	}
	r.mu.Unlock()
	n := 0
	for _, t := range ts {
		// Lock order is Transfer then Responder, so Expired runs without r.mu held.
		if t.expire(now) {
			n++
		}
	}
	return n
}

func (r *Responder) reserve(t *Transfer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.active) >= r.cfg.MaxTransfers {
		return false
	}
	r.active[t] = struct{}{}
	return true
}

func (r *Responder) release(t *Transfer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.active, t)
}

// blockSize negotiates the block size for a proposal (§6.5.2, TC-SU-3.3 step 1): never more than
// proposed, the configured cap or the transport payload minus the block header; a proposal of 16..128
// that fits is granted exactly; anything else gets the largest power of two that fits. proposal ≥ 1.
func (r *Responder) blockSize(proposal uint16) int {
	limit := r.cfg.MaxBlockSize
	if r.cfg.MaxPayload > 0 {
		limit = min(limit, r.cfg.MaxPayload-blockHeaderLen)
	}
	p := int(proposal)
	if p >= 16 && p <= 128 && p <= limit {
		return p
	}
	return 1 << (bits.Len(uint(min(p, limit))) - 1)
}

// Accept handles the first message of a BDX exchange from peer. On success it returns the Transfer
// and the ReceiveAccept to send. Otherwise the Transfer is nil, reply is the StatusReport to send and
// err (a *StatusError) says why; reply is nil only when m is itself a StatusReport, which is never
// answered. Checks run in the order of the status table in doc.go.
func (r *Responder) Accept(now time.Time, peer Peer, m Message) (t *Transfer, reply *Message, err error) {
	t, accept, serr := r.accept(now, peer, m)
	if serr != nil {
		if m.IsStatusReport() {
			r.log.Info("bdx: ignored StatusReport before ReceiveInit", "peer", peer, "err", serr.Err)
			return nil, nil, serr.Err
		}
		r.log.Info("bdx: refused transfer", "peer", peer, "status", serr.Code, "err", serr.Err)
		msg := serr.Code.Message()
		return nil, &msg, serr
	}
	r.log.Info("bdx: accepted transfer", "peer", peer, "designator", string(t.designator),
		"block_size", t.mbs, "start", t.start, "length", t.end-t.start)
	msg, _ := Encode(accept) // accept is built below from valid parts; it cannot fail to encode
	return t, &msg, nil
}

func (r *Responder) accept(now time.Time, peer Peer, m Message) (*Transfer, ReceiveAccept, *StatusError) {
	var none ReceiveAccept
	if m.IsStatusReport() {
		return nil, none, &StatusError{Err: fmt.Errorf("peer sent %s instead of ReceiveInit", m)}
	}
	if m.Protocol != ProtocolID {
		return nil, none, fail(StatusUnexpectedMessage, "first message is %s, not a BDX ReceiveInit", m)
	}
	if Opcode(m.Opcode) != OpReceiveInit {
		// §6.2: SendInit to a sender is UNEXPECTED_MESSAGE; so is any other opening message.
		return nil, none, fail(StatusUnexpectedMessage, "first message is %s, want ReceiveInit (we only send)", Opcode(m.Opcode))
	}
	init, err := DecodeReceiveInit(m.Payload)
	if err != nil {
		return nil, none, &StatusError{Code: StatusBadMessageContents, Err: err}
	}
	if init.MaxBlockSize == 0 {
		return nil, none, fail(StatusBadMessageContents, "ReceiveInit.MaxBlockSize at offset 2 is 0")
	}
	// §6.4: OTA is synchronous receiver-drive. A PTC with neither drive bit is refused with 0x50 as
	// CHIP does; matter.js answers BAD_MESSAGE_CONTENTS there. ASYNC may be offered; we choose sync.
	if !init.Control.Has(ReceiverDrive) {
		return nil, none, fail(StatusTransferMethodNotSupported, "PTC %s does not offer RECEIVER_DRIVE", init.Control)
	}

	t := &Transfer{r: r, peer: peer, lastActive: now}
	r.Sweep(now)
	if !r.reserve(t) {
		return nil, none, fail(StatusResponderBusy, "%d transfers active, limit %d", r.Active(), r.cfg.MaxTransfers)
	}
	ok := false
	defer func() {
		if !ok {
			r.release(t)
		}
	}()

	f, err := r.lookup(peer, init.FileDesignator)
	if err != nil {
		return nil, none, &StatusError{Code: StatusFileDesignatorUnknown, Err: err}
	}
	size := f.Size()
	if size < 0 {
		return nil, none, fail(StatusTransferFailedUnknownError, "file %q reports size %d", init.FileDesignator, size)
	}
	var start uint64
	if init.Range.Has(StartOfs) {
		start = init.StartOffset
	}
	// §6.5.6 / bug #3: resume from STARTOFS; an offset at or past the end cannot be served. Offset 0
	// is the whole file even when the file is empty.
	if start > 0 && start >= uint64(size) {
		return nil, none, fail(StatusStartOffsetNotSupported, "StartOffset %d is not below the file size %d", start, size)
	}
	end := uint64(size)
	// A DEFLEN of 0 means indefinite (matter.js). A smaller DEFLEN is a window: we serve exactly that
	// many bytes and end with BlockEOF. A larger one cannot be met: LENGTH_TOO_LARGE (§6.5.6).
	if init.Range.Has(DefLen) && init.Length > 0 {
		if init.Length > end-start {
			return nil, none, fail(StatusLengthTooLarge, "definite length %d exceeds the %d bytes after offset %d", init.Length, end-start, start)
		}
		end = start + init.Length
	}

	t.designator = append([]byte(nil), init.FileDesignator...)
	t.file = f
	t.mbs = r.blockSize(init.MaxBlockSize)
	t.start, t.pos, t.end = int64(start), int64(start), int64(end)
	ok = true

	// §6.5.8: version = min(ours 0, proposed) = 0. Exactly one mode: RECEIVER_DRIVE, ASYNC clear.
	// §6.3: never STARTOFS in a ReceiveAccept; DEFLEN carries what will be served, when non-empty.
	acc := ReceiveAccept{Control: ReceiverDrive.WithVersion(0), MaxBlockSize: uint16(t.mbs)}
	if n := end - start; n > 0 {
		acc.Range = DefLen
		acc.Length = n
		if n > math.MaxUint32 {
			acc.Range |= WideRange
		}
	}
	return t, acc, nil
}

type transferState uint8

const (
	awaitQuery  transferState = iota // ReceiveAccept sent; BlockQuery, BlockQueryWithSkip or BlockAck next
	awaitAckEOF                      // BlockEOF sent; only BlockAckEOF may follow
	finished
)

// Transfer is one accepted transfer: an independent object, so transfers back to back or at the same
// time do not share state (bug #9). Its methods are safe for concurrent use.
type Transfer struct {
	r          *Responder
	peer       Peer
	designator []byte
	file       File
	mbs        int
	start, end int64 // the window served, [start, end)

	mu         sync.Mutex
	state      transferState
	pos        int64  // offset of the next byte to send
	next       uint32 // counter the next query must carry
	sentAny    bool
	lastActive time.Time
	endErr     error
}

// TransferInfo describes a transfer for progress reports.
type TransferInfo struct {
	Peer         Peer
	Designator   string
	MaxBlockSize int
	StartOffset  int64
	End          int64 // offset one past the last byte served
	Position     int64 // offset of the next byte to send
	Done         bool
	Err          error // why it ended, nil while running or after success
}

// Info returns a snapshot of t.
func (t *Transfer) Info() TransferInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TransferInfo{
		Peer: t.peer, Designator: string(t.designator), MaxBlockSize: t.mbs,
		StartOffset: t.start, End: t.end, Position: t.pos, Done: t.state == finished, Err: t.endErr,
	}
}

// Expired reports whether t has been idle for the idle timeout at now. An expired transfer is ended
// and releases its slot; Handle then returns ErrFinished wrapping ErrIdleTimeout. No StatusReport is
// sent for a timeout: the peer is presumed gone.
func (t *Transfer) Expired(now time.Time) bool {
	t.expire(now)
	t.mu.Lock()
	defer t.mu.Unlock()
	return errors.Is(t.endErr, ErrIdleTimeout)
}

// expire ends t if it is idle at now and reports whether this call ended it.
func (t *Transfer) expire(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == finished || now.Sub(t.lastActive) < t.r.cfg.IdleTimeout {
		return false
	}
	t.finish(fmt.Errorf("%w: no message for %v since %v", ErrIdleTimeout, now.Sub(t.lastActive), t.lastActive))
	return true
}

// Abort ends t from the provider side (bug #14) and returns the StatusReport to send, or nil when t
// had already ended.
func (t *Transfer) Abort(code StatusCode) *Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == finished {
		return nil
	}
	reply, _, _ := t.failWith(fail(code, "aborted by the provider"))
	return reply
}

// Handle processes the next message of the exchange at time now. reply, when not nil, must be sent;
// it is the caller's to keep. done reports that the transfer has ended, after
// BlockAckEOF (err nil) or on an error: then reply is the one StatusReport to send (err is a
// *StatusError), or nil when the peer sent a StatusReport, the idle timeout passed (ErrIdleTimeout)
// or t had already ended (ErrFinished). The slot is released as soon as done is true.
func (t *Transfer) Handle(now time.Time, m Message) (reply *Message, done bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == finished {
		if t.endErr == nil {
			return nil, true, ErrFinished
		}
		return nil, true, fmt.Errorf("%w, ended by: %w", ErrFinished, t.endErr)
	}
	if idle := now.Sub(t.lastActive); idle >= t.r.cfg.IdleTimeout {
		err := fmt.Errorf("%w: %s arrived after %v idle", ErrIdleTimeout, m, idle)
		t.finish(err)
		return nil, true, err
	}
	if m.IsStatusReport() {
		// Bug #14 / §6.5.9: the peer aborted; release and never answer a report with a report.
		var err error
		if sr, derr := securechannel.DecodeStatusReport(m.Payload); derr != nil {
			err = fmt.Errorf("bdx: peer aborted with a malformed StatusReport: %w", derr)
		} else {
			err = fmt.Errorf("bdx: peer aborted: %w", &securechannel.StatusError{Report: sr})
		}
		t.finish(err)
		return nil, true, err
	}
	// Dispatch on the opcode and decode the concrete type: no boxing through Body on the block path.
	if m.Protocol != ProtocolID {
		return t.failWith(fail(StatusUnexpectedMessage, "%s on a BDX transfer", m))
	}
	op := Opcode(m.Opcode)
	var counter uint32
	var skip uint64
	var derr error
	switch op {
	case OpBlockQuery:
		var q BlockQuery
		q, derr = DecodeBlockQuery(m.Payload)
		counter = q.Counter
	case OpBlockQueryWithSkip:
		var q BlockQueryWithSkip
		q, derr = DecodeBlockQueryWithSkip(m.Payload)
		counter, skip = q.Counter, q.BytesToSkip
	case OpBlockAck:
		var a BlockAck
		a, derr = DecodeBlockAck(m.Payload)
		counter = a.Counter
	case OpBlockAckEOF:
		var a BlockAckEOF
		a, derr = DecodeBlockAckEOF(m.Payload)
		counter = a.Counter
	default:
		// Init, Accept and Block messages are never sent to a receiver-drive sender once the
		// transfer runs (a second ReceiveInit included, §6.2); neither is an unknown opcode.
		return t.failWith(fail(StatusUnexpectedMessage, "%s is not valid on a running receiver-drive transfer", op))
	}
	if derr != nil {
		return t.failWith(&StatusError{Code: StatusBadMessageContents, Err: derr})
	}
	t.lastActive = now
	switch op {
	case OpBlockQuery, OpBlockQueryWithSkip:
		return t.serve(counter, skip, op)
	case OpBlockAck:
		// §6.1: optional in receiver-drive; it only restarts the idle timer.
		switch {
		case t.state != awaitQuery || !t.sentAny:
			return t.failWith(fail(StatusUnexpectedMessage, "BlockAck(%d) with no Block outstanding", counter))
		case counter != t.next-1:
			return t.failWith(fail(StatusBadBlockCounter, "BlockAck(%d) but the last Block sent was %d", counter, t.next-1))
		}
		return nil, false, nil
	default: // OpBlockAckEOF
		switch {
		case t.state != awaitAckEOF:
			return t.failWith(fail(StatusUnexpectedMessage, "BlockAckEOF(%d) before BlockEOF was sent", counter))
		case counter != t.next-1:
			return t.failWith(fail(StatusBadBlockCounter, "BlockAckEOF(%d) but BlockEOF was %d", counter, t.next-1))
		}
		t.finish(nil)
		t.r.log.Info("bdx: transfer complete", "peer", t.peer, "designator", string(t.designator), "bytes", t.pos-t.start)
		return nil, true, nil
	}
}

// serve answers BlockQuery(counter) or BlockQueryWithSkip(counter, skip) (§6.4 step 3, §6.5.7).
func (t *Transfer) serve(counter uint32, skip uint64, op Opcode) (*Message, bool, error) {
	switch {
	case t.state != awaitQuery:
		return t.failWith(fail(StatusUnexpectedMessage, "%s(%d) after BlockEOF", op, counter))
	case counter != t.next:
		return t.failWith(fail(StatusBadBlockCounter, "%s counter %d, expected %d", op, counter, t.next))
	}
	left := uint64(t.end - t.pos)
	t.pos += int64(min(skip, left)) // skipping past the end leaves nothing: an empty BlockEOF follows
	n := min(int64(t.mbs), t.end-t.pos)
	// A block shorter than MBS, empty included, is the last one: BlockEOF. A full block is a Block even
	// when it ends the file; the next query then gets an empty BlockEOF (§6.3).
	op = OpBlock
	if n < int64(t.mbs) {
		op = OpBlockEOF
	}
	// A fresh payload per reply: callers may queue replies (the harness adapters do), so a reply
	// must not change under them on the next call.
	p := make([]byte, blockHeaderLen+int(n))
	binary.LittleEndian.PutUint32(p, counter)
	if n > 0 {
		got, err := t.file.ReadAt(p[blockHeaderLen:], t.pos)
		if int64(got) < n {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return t.failWith(&StatusError{Code: StatusTransferFailedUnknownError,
				Err: fmt.Errorf("reading %d bytes at offset %d of %q: %w", n, t.pos, t.designator, err)})
		}
	}
	t.pos += n
	t.next = counter + 1 // wraps at 2^32 (§6.4)
	t.sentAny = true
	if op == OpBlockEOF {
		t.state = awaitAckEOF
	}
	return &Message{Protocol: ProtocolID, Opcode: uint8(op), Payload: p}, false, nil
}

// failWith ends t with serr and returns its StatusReport as the reply. Callers hold t.mu.
func (t *Transfer) failWith(serr *StatusError) (*Message, bool, error) {
	t.finish(serr)
	t.r.log.Warn("bdx: transfer failed", "peer", t.peer, "designator", string(t.designator), "status", serr.Code, "err", serr.Err)
	reply := serr.Code.Message()
	return &reply, true, serr
}

// finish marks t ended and releases its slot. Callers hold t.mu.
func (t *Transfer) finish(err error) {
	t.state = finished
	t.endErr = err
	t.file = nil
	t.r.release(t)
}

// Serve runs one BDX exchange from peer to its end: it waits for the ReceiveInit, answers it, then
// answers every message until the transfer finishes. Each wait (for a message, or for Send) is
// bounded by the idle timeout. When ctx ends first, the transfer is aborted with
// TRANSFER_FAILED_UNKNOWN_ERROR, sent best-effort.
func (r *Responder) Serve(ctx context.Context, peer Peer, ex Exchange) error {
	idle := fmt.Errorf("%w: nothing from %s for %v: %w", ErrIdleTimeout, peer, r.cfg.IdleTimeout, context.DeadlineExceeded)
	w := newWatchdog(ctx, r.cfg.IdleTimeout, idle)
	defer w.close()
	send := func(t *Transfer, m *Message) error {
		err := ex.Send(w.arm(), *m)
		if err != nil && w.timedOut() {
			err = idle
		}
		w.disarm()
		if err != nil {
			if t != nil {
				t.Abort(StatusTransferFailedUnknownError)
			}
			return fmt.Errorf("bdx: sending %s to %s: %w", m, peer, err)
		}
		return nil
	}

	m, err := ex.Recv(w.arm())
	if err != nil {
		if w.timedOut() {
			err = idle
		}
		return fmt.Errorf("bdx: waiting for ReceiveInit from %s: %w", peer, err)
	}
	w.disarm()
	t, reply, aerr := r.Accept(r.cfg.Now(), peer, m)
	if reply != nil {
		if err := send(t, reply); err != nil {
			return err
		}
	}
	if t == nil {
		return aerr
	}
	for {
		m, err := ex.Recv(w.arm())
		if err != nil {
			switch {
			case w.timedOut():
				t.mu.Lock()
				if t.state != finished {
					t.finish(idle)
				}
				t.mu.Unlock()
				return fmt.Errorf("bdx: transfer to %s: %w", peer, idle)
			case ctx.Err() != nil:
				if msg := t.Abort(StatusTransferFailedUnknownError); msg != nil {
					sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortSendTimeout)
					_ = ex.Send(sctx, *msg) // best effort: the exchange may be gone too
					cancel()
				}
				return fmt.Errorf("bdx: transfer to %s cancelled: %w", peer, ctx.Err())
			default:
				t.Abort(StatusTransferFailedUnknownError)
				return fmt.Errorf("bdx: receiving from %s: %w", peer, err)
			}
		}
		w.disarm()
		reply, done, herr := t.Handle(r.cfg.Now(), m)
		if reply != nil {
			if err := send(t, reply); err != nil {
				return err
			}
		}
		if done {
			return herr
		}
	}
}
