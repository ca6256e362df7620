package bdx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/bits"
	"time"

	"github.com/otaconf/otaconf/matter/securechannel"
)

// Rule ids of the provider-side checks Receive makes. Each Finding names one.
const (
	RuleAcceptReply     = "bdx.accept.reply"            // the answer to ReceiveInit is a ReceiveAccept or a StatusReport
	RuleAcceptDriveMode = "bdx.accept.drive-mode"       // TC has exactly one drive mode, RECEIVER_DRIVE
	RuleAcceptAsync     = "bdx.accept.async"            // TC has no ASYNC unless it was proposed
	RuleAcceptVersion   = "bdx.accept.version"          // TC version ≤ the proposed version
	RuleBlockSizeMax    = "bdx.accept.block-size"       // 1 ≤ MBS ≤ proposed
	RuleBlockSizeExact  = "bdx.accept.block-size-exact" // a proposal of 16..128 is granted exactly
	RuleBlockSizePow2   = "bdx.accept.block-size-pow2"  // a proposal > 128 gets a power of two
	RuleAcceptStartOfs  = "bdx.accept.startofs"         // ReceiveAccept has no STARTOFS (quirk)
	RuleAcceptLength    = "bdx.accept.length"           // ReceiveAccept DEFLEN agrees with the request and the file
	RuleBlockReply      = "bdx.block.reply"             // the answer to a query is Block, BlockEOF or StatusReport
	RuleBlockCounter    = "bdx.block.counter"           // the block counter echoes the query
	RuleBlockSize       = "bdx.block.size"              // every block but the last carries exactly MBS bytes
	RuleBlockOversize   = "bdx.block.oversize"          // no block carries more than MBS bytes
	RuleBlockPastEnd    = "bdx.block.past-end"          // no data beyond the definite length
	RuleLengthTotal     = "bdx.length.total"            // the bytes received equal the definite length
	RuleContent         = "bdx.data.content"            // the bytes equal the staged image at their offset
)

// Spec references of the rules, as a report prints them.
var ruleRefs = map[string]string{
	RuleAcceptReply:     "ota-provider.md §6.4 step 2",
	RuleAcceptDriveMode: "TC-SU-3.3 step 1; ota-provider.md §6.3 (Accept sets exactly one mode)",
	RuleAcceptAsync:     "ota-provider.md §6.4 (synchronous receiver-drive)",
	RuleAcceptVersion:   "ota-provider.md §6.5.8",
	RuleBlockSizeMax:    "TC-SU-3.3 step 1; ota-provider.md §6.5.2",
	RuleBlockSizeExact:  "TC-SU-3.3 step 1; ota-provider.md §6.5.2",
	RuleBlockSizePow2:   "TC-SU-3.3 step 1; ota-provider.md §6.5.2",
	RuleAcceptStartOfs:  "ota-provider.md §6.3 (ReceiveAccept quirk)",
	RuleAcceptLength:    "ota-provider.md §6.3, §6.5.6",
	RuleBlockReply:      "TC-BDX-2.1; ota-provider.md §6.4 step 3",
	RuleBlockCounter:    "TC-BDX-2.1; ota-provider.md §6.4 (counters)",
	RuleBlockSize:       "TC-SU-3.3 step 1; ota-provider.md §6.5.3",
	RuleBlockOversize:   "ota-provider.md §6.3",
	RuleBlockPastEnd:    "TC-BDX-2.1 (BlockEOF is the last block); ota-provider.md §6.5.6",
	RuleLengthTotal:     "ota-provider.md §6.2 (LENGTH_MISMATCH), §6.5.6",
	RuleContent:         "TC-SU-3.3 step 1 (identical image), step 5 (resume); bug #3",
}

// Finding is one provider-side rule violation seen by Receive.
type Finding struct {
	Rule     string // one of the Rule constants
	Ref      string // where the rule comes from
	At       string // where it was seen: "ReceiveAccept", "Block 3"
	Expected string
	Actual   string
	Count    int // how many times it was seen; the other fields describe the first time
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s at %s: expected %s, got %s [%s]", f.Rule, f.At, f.Expected, f.Actual, f.Ref)
	if f.Count > 1 {
		s += fmt.Sprintf(" (%d times)", f.Count)
	}
	return s
}

// ReceiveOptions configure Receive. Only Designator is required.
type ReceiveOptions struct {
	Designator []byte // the path of the ImageURI
	// Control is the proposed transfer control; 0 means RECEIVER_DRIVE, version 0. Propose ASYNC alone
	// (0x40) to offer no drive mode at all.
	Control TransferControl
	// MaxBlockSize is the proposed block size; 0 means 1024 (TC-SU-2.3: ≤1024 over non-TCP).
	MaxBlockSize uint16
	// StartOffset > 0 sets RC.STARTOFS to resume there (TC-SU-3.3 step 5).
	StartOffset uint64
	// Length > 0 sets RC.DEFLEN to ask for exactly that many bytes.
	Length uint64
	// WideRange sends offset and length as 64-bit fields even when they fit in 32 bits.
	WideRange bool
	// SkipBytes > 0 asks for block SkipAtBlock with BlockQueryWithSkip(SkipAtBlock, SkipBytes).
	SkipAtBlock uint32
	SkipBytes   uint64
	// StopAfterBlocks > 0 stops after that many blocks (a BlockEOF included, which is then not
	// acknowledged) to simulate a failed transfer. With AbortCode set, a StatusReport with that code
	// is sent first; otherwise the receiver just goes silent.
	StopAfterBlocks int
	AbortCode       StatusCode
	// SendBlockAck sends the optional BlockAck after each Block.
	SendBlockAck bool
	// Expected is the whole staged file, when known: each block is compared with it at its offset.
	Expected []byte
	// ReplyTimeout bounds each wait for the provider; 0 means 30 s.
	ReplyTimeout time.Duration
	// Now is the clock used for Timing; nil means time.Now.
	Now func() time.Time
	// Logger receives one record per message; nil keeps Receive silent.
	Logger *slog.Logger
}

// DefaultReplyTimeout bounds each wait of Receive unless ReceiveOptions.ReplyTimeout is set.
const DefaultReplyTimeout = 30 * time.Second

// Timing is how long each phase of a Receive took.
type Timing struct {
	Accept time.Duration // ReceiveInit sent → answer received
	Blocks time.Duration // first query → BlockEOF (or the stop)
	Total  time.Duration
}

// Result is what Receive observed. It is filled as far as the transfer went, also on error.
type Result struct {
	Accept       *ReceiveAccept // nil when the provider did not accept
	MaxBlockSize int            // the negotiated block size
	Bytes        int64          // bytes written to the writer
	Blocks       int            // Block and BlockEOF messages received
	Complete     bool           // BlockEOF received and BlockAckEOF sent
	Stopped      bool           // StopAfterBlocks ended the transfer
	Findings     []Finding
	// Status is the StatusReport the provider sent, if any; StatusCode is its BDX code when
	// StatusIsBDX.
	Status      *securechannel.StatusReport
	StatusCode  StatusCode
	StatusIsBDX bool
	// Sent is the status code of the StatusReport Receive sent to end the transfer, 0 if none.
	Sent   StatusCode
	Timing Timing
}

// Finding returns the finding for rule and whether there is one.
func (r *Result) Finding(rule string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Rule == rule {
			return f, true
		}
	}
	return Finding{}, false
}

// receiver is the state of one Receive call.
type receiver struct {
	ex   Exchange
	w    io.Writer
	opts ReceiveOptions
	log  *slog.Logger
	res  *Result
	dog  *watchdog
}

// Receive downloads one file over ex as the OTA requestor does (initiator and receiver, synchronous
// receiver-drive; ota-provider.md §6.4) and writes it to w. It checks every provider-side rule on the
// way and records violations in Result.Findings. The error is nil for a complete transfer (findings or
// not) and for a requested stop; otherwise it says what ended the transfer: a StatusReport from the
// provider (wrapping *securechannel.StatusError), a violation that made Receive end the transfer
// itself (a *StatusError with the code sent), a timeout (wrapping context.DeadlineExceeded), ctx, or
// the exchange.
func Receive(ctx context.Context, ex Exchange, w io.Writer, opts ReceiveOptions) (Result, error) {
	var res Result
	if len(opts.Designator) == 0 {
		return res, errors.New("bdx: Receive: empty Designator")
	}
	if opts.Control == 0 {
		opts.Control = ReceiverDrive
	}
	if opts.MaxBlockSize == 0 {
		opts.MaxBlockSize = DefaultMaxBlockSize
	}
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = DefaultReplyTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := fmt.Errorf("bdx: no progress for %v (ReplyTimeout): %w", opts.ReplyTimeout, context.DeadlineExceeded)
	rc := &receiver{ex: ex, w: w, opts: opts, log: log, res: &res, dog: newWatchdog(ctx, opts.ReplyTimeout, timeout)}
	defer rc.dog.close()
	start := opts.Now()
	err := rc.run(start)
	res.Timing.Total = opts.Now().Sub(start)
	return res, err
}

func (rc *receiver) find(rule, at, expected, actual string) {
	for i := range rc.res.Findings {
		if rc.res.Findings[i].Rule == rule {
			rc.res.Findings[i].Count++
			return
		}
	}
	rc.log.Warn("bdx: provider rule violated", "rule", rule, "at", at, "expected", expected, "actual", actual)
	rc.res.Findings = append(rc.res.Findings, Finding{Rule: rule, Ref: ruleRefs[rule], At: at, Expected: expected, Actual: actual, Count: 1})
}

// sendPayload sends one BDX message whose payload the caller encoded (a fresh slice, which the
// Exchange may keep).
func (rc *receiver) sendPayload(op Opcode, p []byte, err error) error {
	if err != nil {
		return fmt.Errorf("bdx: encoding %s: %w", op, err)
	}
	return rc.sendMsg(Message{Protocol: ProtocolID, Opcode: uint8(op), Payload: p})
}

func (rc *receiver) sendMsg(m Message) error {
	if rc.log.Enabled(context.Background(), slog.LevelDebug) {
		rc.log.Debug("bdx: send", "msg", m)
	}
	err := rc.ex.Send(rc.dog.arm(), m)
	if err != nil && rc.dog.timedOut() {
		err = rc.dog.cause
	}
	rc.dog.disarm()
	if err != nil {
		return fmt.Errorf("bdx: sending %s: %w", m, err)
	}
	return nil
}

// recv waits for the provider's answer to op (counter is the block asked for, -1 for the init).
func (rc *receiver) recv(op Opcode, counter int64) (Message, error) {
	m, err := rc.ex.Recv(rc.dog.arm())
	if err != nil && rc.dog.timedOut() {
		err = rc.dog.cause
	}
	rc.dog.disarm()
	if err != nil {
		if counter < 0 {
			return Message{}, fmt.Errorf("bdx: waiting for the answer to %s: %w", op, err)
		}
		return Message{}, fmt.Errorf("bdx: waiting for the answer to %s(%d): %w", op, counter, err)
	}
	if rc.log.Enabled(context.Background(), slog.LevelDebug) {
		rc.log.Debug("bdx: recv", "msg", m)
	}
	return m, nil
}

// abort ends the transfer from our side with code, as a real requestor would, and returns the error.
func (rc *receiver) abort(code StatusCode, cause error) error {
	rc.res.Sent = code
	serr := &StatusError{Code: code, Err: cause}
	if err := rc.sendMsg(code.Message()); err != nil {
		return fmt.Errorf("%w (and the StatusReport was not sent: %v)", serr, err)
	}
	return serr
}

// peerStatus records the provider's StatusReport and returns the error for it.
func (rc *receiver) peerStatus(m Message, answering string) error {
	sr, err := securechannel.DecodeStatusReport(m.Payload)
	if err != nil {
		return fmt.Errorf("bdx: provider sent a malformed StatusReport instead of answering %s: %w", answering, err)
	}
	sr.ProtocolData = bytes.Clone(sr.ProtocolData) // Result outlives the exchange's buffer
	rc.res.Status = &sr
	rc.res.StatusCode, rc.res.StatusIsBDX = StatusOf(sr)
	return fmt.Errorf("bdx: provider answered %s with %w", answering, &securechannel.StatusError{Report: sr})
}

func (rc *receiver) run(start time.Time) error {
	o := rc.opts
	init := ReceiveInit{Control: o.Control, MaxBlockSize: o.MaxBlockSize, FileDesignator: o.Designator}
	if o.StartOffset > 0 {
		init.Range |= StartOfs
		init.StartOffset = o.StartOffset
	}
	if o.Length > 0 {
		init.Range |= DefLen
		init.Length = o.Length
	}
	if o.WideRange || o.StartOffset > math.MaxUint32 || o.Length > math.MaxUint32 {
		init.Range |= WideRange
	}
	p, err := init.Append(nil)
	if err := rc.sendPayload(OpReceiveInit, p, err); err != nil {
		return err
	}
	m, err := rc.recv(OpReceiveInit, -1)
	if err != nil {
		return err
	}
	rc.res.Timing.Accept = o.Now().Sub(start)
	if m.IsStatusReport() {
		return rc.peerStatus(m, "ReceiveInit")
	}
	if m.Protocol != ProtocolID || Opcode(m.Opcode) != OpReceiveAccept {
		rc.find(RuleAcceptReply, "reply to ReceiveInit", "ReceiveAccept or StatusReport", m.String())
		return rc.abort(StatusUnexpectedMessage, fmt.Errorf("reply to ReceiveInit is %s", m))
	}
	acc, err := DecodeReceiveAccept(m.Payload)
	if err != nil {
		rc.find(RuleAcceptReply, "ReceiveAccept", "a well-formed ReceiveAccept", err.Error())
		return rc.abort(StatusBadMessageContents, err)
	}
	acc.Metadata = bytes.Clone(acc.Metadata) // Result outlives the exchange's buffer
	rc.res.Accept = &acc
	rc.res.MaxBlockSize = int(acc.MaxBlockSize)
	if err := rc.checkAccept(acc); err != nil {
		return rc.abort(StatusBadMessageContents, err)
	}
	return rc.blocks(acc)
}

// checkAccept records the ReceiveAccept findings and fails for those that make the transfer impossible.
func (rc *receiver) checkAccept(acc ReceiveAccept) error {
	o := rc.opts
	const at = "ReceiveAccept"
	tc := acc.Control
	switch {
	case tc.Drives() != ReceiverDrive:
		rc.find(RuleAcceptDriveMode, at, "exactly RECEIVER_DRIVE", tc.String())
	case !o.Control.Has(ReceiverDrive):
		rc.find(RuleAcceptDriveMode, at, "a mode that was proposed ("+o.Control.String()+")", tc.String())
	}
	if !tc.Has(ReceiverDrive) {
		return fmt.Errorf("ReceiveAccept TC %s does not select RECEIVER_DRIVE", tc)
	}
	if tc.Has(Async) && !o.Control.Has(Async) {
		rc.find(RuleAcceptAsync, at, "ASYNC clear (not proposed)", tc.String())
	}
	if tc.Version() > o.Control.Version() {
		rc.find(RuleAcceptVersion, at, fmt.Sprintf("version ≤ %d", o.Control.Version()), fmt.Sprintf("version %d", tc.Version()))
	}
	mbs, p := int(acc.MaxBlockSize), int(o.MaxBlockSize)
	switch {
	case mbs == 0 || mbs > p:
		rc.find(RuleBlockSizeMax, at, fmt.Sprintf("1..%d (proposed)", p), fmt.Sprint(mbs))
	case p >= 16 && p <= 128 && mbs != p:
		rc.find(RuleBlockSizeExact, at, fmt.Sprintf("%d exactly", p), fmt.Sprint(mbs))
	case p > 128 && bits.OnesCount(uint(mbs)) != 1:
		rc.find(RuleBlockSizePow2, at, fmt.Sprintf("a power of two ≤ %d", p), fmt.Sprint(mbs))
	}
	if mbs == 0 {
		return errors.New("ReceiveAccept MaxBlockSize is 0")
	}
	if acc.Range.Has(StartOfs) {
		actual := fmt.Sprintf("STARTOFS %d", acc.StartOffset)
		if acc.StartOffset != o.StartOffset {
			actual += fmt.Sprintf(" (requested %d)", o.StartOffset)
		}
		rc.find(RuleAcceptStartOfs, at, "RC.STARTOFS clear", actual)
	}
	if acc.Range.Has(DefLen) && acc.Length > 0 {
		switch {
		case o.Length > 0 && acc.Length != o.Length:
			rc.find(RuleAcceptLength, at, fmt.Sprintf("DEFLEN %d as requested", o.Length), fmt.Sprintf("DEFLEN %d", acc.Length))
		case o.Length == 0 && o.Expected != nil && acc.Length != uint64(len(o.Expected))-min(o.StartOffset, uint64(len(o.Expected))):
			rc.find(RuleAcceptLength, at, fmt.Sprintf("DEFLEN %d (file size %d - offset %d)",
				uint64(len(o.Expected))-min(o.StartOffset, uint64(len(o.Expected))), len(o.Expected), o.StartOffset),
				fmt.Sprintf("DEFLEN %d", acc.Length))
		}
	}
	return nil
}

// window returns how many bytes the transfer should deliver (before skips) and whether that is known:
// our DEFLEN, else the provider's, else what the staged file holds after the offset.
func (rc *receiver) window(acc ReceiveAccept) (int64, bool) {
	o := rc.opts
	switch {
	case o.Length > 0:
		return clampInt64(o.Length), true
	case acc.Range.Has(DefLen) && acc.Length > 0:
		return clampInt64(acc.Length), true
	case o.Expected != nil:
		return int64(len(o.Expected)) - int64(min(o.StartOffset, uint64(len(o.Expected)))), true
	}
	return 0, false
}

func clampInt64(v uint64) int64 { return int64(min(v, math.MaxInt64)) }

func blockAt(c uint32) string { return fmt.Sprintf("block %d", c) }

func (rc *receiver) blocks(acc ReceiveAccept) error {
	o, res := rc.opts, rc.res
	mbs := int(acc.MaxBlockSize)
	want, known := rc.window(acc) // bytes still due, skips deducted as they happen
	var got int64                 // bytes received so far
	pos := clampInt64(o.StartOffset)
	contentOK := true
	blocksStart := o.Now()
	defer func() { res.Timing.Blocks = o.Now().Sub(blocksStart) }()

	for counter := uint32(0); ; counter++ {
		qop := OpBlockQuery
		var p []byte
		var err error
		if o.SkipBytes > 0 && counter == o.SkipAtBlock {
			qop = OpBlockQueryWithSkip
			p, err = BlockQueryWithSkip{Counter: counter, BytesToSkip: o.SkipBytes}.Append(nil)
			skip := clampInt64(o.SkipBytes)
			if known {
				skip = min(skip, want-got) // §6.5.7: a skip past the end leaves nothing to send
				want -= skip
			}
			pos = satAdd(pos, skip)
		} else {
			p, err = BlockQuery{Counter: counter}.Append(nil)
		}
		if err := rc.sendPayload(qop, p, err); err != nil {
			return err
		}
		m, err := rc.recv(qop, int64(counter))
		if err != nil {
			return err
		}
		if m.IsStatusReport() {
			return rc.peerStatus(m, fmt.Sprintf("%s(%d)", qop, counter))
		}
		// Decode the concrete type: no boxing through Body on the block path.
		var c uint32
		var data []byte
		var derr error
		eof := false
		switch {
		case m.Protocol == ProtocolID && Opcode(m.Opcode) == OpBlock:
			var b Block
			b, derr = DecodeBlock(m.Payload)
			c, data = b.Counter, b.Data
		case m.Protocol == ProtocolID && Opcode(m.Opcode) == OpBlockEOF:
			var b BlockEOF
			b, derr = DecodeBlockEOF(m.Payload)
			c, data, eof = b.Counter, b.Data, true
		default:
			rc.find(RuleBlockReply, blockAt(counter), "Block, BlockEOF or StatusReport", m.String())
			return rc.abort(StatusUnexpectedMessage, fmt.Errorf("reply to %s(%d) is %s", qop, counter, m))
		}
		if derr != nil {
			rc.find(RuleBlockReply, blockAt(counter), "a well-formed "+Opcode(m.Opcode).String(), derr.Error())
			return rc.abort(StatusBadMessageContents, derr)
		}
		res.Blocks++
		if c != counter {
			rc.find(RuleBlockCounter, blockAt(counter), fmt.Sprintf("counter %d", counter), fmt.Sprintf("counter %d", c))
			return rc.abort(StatusBadBlockCounter, fmt.Errorf("%s counter %d answers query %d", Opcode(m.Opcode), c, counter))
		}
		if len(data) > mbs {
			rc.find(RuleBlockOversize, blockAt(c), fmt.Sprintf("≤ %d bytes (MBS)", mbs), fmt.Sprintf("%d bytes", len(data)))
			return rc.abort(StatusBadMessageContents, fmt.Errorf("%s(%d) carries %d bytes, MBS is %d", Opcode(m.Opcode), c, len(data), mbs))
		}
		if !eof && len(data) != mbs {
			rc.find(RuleBlockSize, blockAt(c), fmt.Sprintf("%d bytes (MBS; not the last block)", mbs), fmt.Sprintf("%d bytes", len(data)))
		}
		if known && got+int64(len(data)) > want {
			rc.find(RuleBlockPastEnd, blockAt(c), fmt.Sprintf("data within the %d-byte window", want),
				fmt.Sprintf("%d bytes after %d already received", len(data), got))
		}
		if o.Expected != nil && contentOK {
			if off, bad := mismatch(o.Expected, pos, data); bad {
				contentOK = false
				rc.find(RuleContent, blockAt(c), fmt.Sprintf("the staged image at offset %d", off), describeAt(o.Expected, off, pos, data))
			}
		}
		if _, err := rc.w.Write(data); err != nil {
			return rc.abort(StatusTransferFailedUnknownError, fmt.Errorf("writing block %d: %w", c, err))
		}
		got += int64(len(data))
		pos = satAdd(pos, int64(len(data)))
		res.Bytes = got

		if eof && known && got != want {
			rc.find(RuleLengthTotal, "BlockEOF "+fmt.Sprint(c), fmt.Sprintf("%d bytes in total", want), fmt.Sprintf("%d bytes", got))
		}
		if o.StopAfterBlocks > 0 && res.Blocks >= o.StopAfterBlocks {
			res.Stopped = true
			if o.AbortCode != 0 {
				res.Sent = o.AbortCode
				return rc.sendMsg(o.AbortCode.Message())
			}
			return nil
		}
		if eof {
			p, err := BlockAckEOF{Counter: c}.Append(nil)
			if err := rc.sendPayload(OpBlockAckEOF, p, err); err != nil {
				return err
			}
			res.Complete = true
			return nil
		}
		if o.SendBlockAck {
			p, err := BlockAck{Counter: c}.Append(nil)
			if err := rc.sendPayload(OpBlockAck, p, err); err != nil {
				return err
			}
		}
	}
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// mismatch reports the first file offset at which data, placed at pos, differs from want (bytes past
// the end of want differ by definition).
func mismatch(want []byte, pos int64, data []byte) (int64, bool) {
	if len(data) == 0 {
		return 0, false
	}
	if pos >= int64(len(want)) {
		return pos, true
	}
	ref := want[pos:]
	n := min(len(ref), len(data))
	for i := 0; i < n; i++ {
		if ref[i] != data[i] {
			return pos + int64(i), true
		}
	}
	if len(data) > n {
		return pos + int64(n), true
	}
	return 0, false
}

// describeAt says what was received at file offset off, and where those bytes really are in the
// image when they can be found (a provider that ignores STARTOFS serves offset 0: bug #3).
func describeAt(want []byte, off, pos int64, data []byte) string {
	i := off - pos
	if off >= int64(len(want)) {
		return fmt.Sprintf("%d bytes past the end of the %d-byte image", int64(len(data))-i, len(want))
	}
	s := fmt.Sprintf("0x%02X instead of 0x%02X", data[i], want[off])
	if len(data) >= 8 {
		if at := bytes.Index(want, data); at >= 0 && int64(at) != pos {
			s += fmt.Sprintf("; the block matches the image at offset %d instead of %d", at, pos)
		}
	}
	return s
}
