package bdx

import (
	"bytes"
	"context"
	"errors"
	"math/bits"
	"reflect"
	"testing"
	"time"

	"github.com/otaconf/otaconf/matter/securechannel"
)

// The golden payloads of codec_test.go, reused as seeds.
var (
	seedInit       = []byte{0x20, 0x00, 0x00, 0x04, 0x09, 0x00, 'o', 't', 'a', '/', 'i', 'm', 'a', 'g', 'e'}
	seedInitRange  = []byte{0x20, 0x03, 0x00, 0x04, 0x00, 0x10, 0, 0, 0x00, 0x02, 0, 0, 0x01, 0x00, 'f'}
	seedInitWide   = []byte{0x70, 0x13, 0x80, 0x00, 0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 'f', 0x15, 0x18}
	seedAccept     = []byte{0x20, 0x01, 0x00, 0x04, 0x55, 0xc8, 0, 0}
	seedAcceptChip = []byte{0x20, 0x03, 0x00, 0x04, 0x00, 0x01, 0, 0, 0x00, 0x03, 0, 0}
)

// fuzzRoundTrip checks a decoder: it never panics, fails only with a *FormatError whose offset lies
// inside the input, and whatever it accepts re-encodes to the same bytes and decodes to the same value.
func fuzzRoundTrip[T Body](f *testing.F, decode func([]byte) (T, error), seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := decode(p)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FormatError: %v", err)
			}
			if fe.Offset < 0 || fe.Offset > len(p) || fe.Field == "" || fe.Err == nil {
				t.Fatalf("error does not locate the fault in %d bytes: %#v", len(p), fe)
			}
			return
		}
		b, err := m.Append(nil)
		if err != nil {
			t.Fatalf("decoded %#v does not re-encode: %v", m, err)
		}
		if !bytes.Equal(b, p) {
			t.Fatalf("re-encoding differs:\n in  %X\n out %X", p, b)
		}
		m2, err := decode(b)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("second decode differs: %#v vs %#v (%v)", m, m2, err)
		}
	})
}

func FuzzDecodeReceiveInit(f *testing.F) {
	fuzzRoundTrip(f, DecodeReceiveInit, seedInit, seedInitRange, seedInitWide)
}

func FuzzDecodeSendInit(f *testing.F) {
	fuzzRoundTrip(f, DecodeSendInit, seedInit, seedInitRange, seedInitWide)
}

func FuzzDecodeSendAccept(f *testing.F) {
	fuzzRoundTrip(f, DecodeSendAccept, []byte{0x10, 0x00, 0x01}, []byte{0x10, 0x00, 0x01, 0x15, 0x18})
}

func FuzzDecodeReceiveAccept(f *testing.F) {
	fuzzRoundTrip(f, DecodeReceiveAccept, seedAccept, seedAcceptChip, []byte{0x20, 0x11, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8})
}

func FuzzDecodeBlockQuery(f *testing.F) { fuzzRoundTrip(f, DecodeBlockQuery, []byte{1, 2, 3, 4}) }

func FuzzDecodeBlockQueryWithSkip(f *testing.F) {
	fuzzRoundTrip(f, DecodeBlockQueryWithSkip, []byte{2, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0})
}

func FuzzDecodeBlock(f *testing.F) { fuzzRoundTrip(f, DecodeBlock, []byte{5, 0, 0, 0, 'a', 'b', 'c'}) }

func FuzzDecodeBlockEOF(f *testing.F) {
	fuzzRoundTrip(f, DecodeBlockEOF, []byte{6, 0, 0, 0}, []byte{6, 0, 0, 0, 'z'})
}

func FuzzDecodeBlockAck(f *testing.F) { fuzzRoundTrip(f, DecodeBlockAck, []byte{5, 0, 0, 0}) }

func FuzzDecodeBlockAckEOF(f *testing.F) { fuzzRoundTrip(f, DecodeBlockAckEOF, []byte{6, 0, 0, 0}) }

// FuzzDecode checks the dispatcher: a decoded message re-encodes to the same Message.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(OpReceiveInit), seedInit)
	f.Add(uint8(OpReceiveAccept), seedAcceptChip)
	f.Add(uint8(OpBlock), []byte{5, 0, 0, 0, 'a'})
	f.Add(uint8(0x03), []byte{})
	f.Fuzz(func(t *testing.T, op uint8, p []byte) {
		in := Message{Protocol: ProtocolID, Opcode: op, Payload: p}
		body, err := Decode(in)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) && !errors.Is(err, ErrUnknownOpcode) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		out, err := Encode(body)
		if err != nil || out.Opcode != op || !bytes.Equal(out.Payload, p) {
			t.Fatalf("%s does not re-encode to itself: %X → %X (%v)", Opcode(op), p, out.Payload, err)
		}
	})
}

// seqMessage turns a fuzz byte into a message kind: the BDX messages, an unknown BDX opcode, a
// StatusReport and a message of another protocol.
func seqMessage(kind byte, payload []byte) Message {
	ops := [...]Opcode{OpBlockQuery, OpBlockQueryWithSkip, OpBlockAck, OpBlockAckEOF, OpBlock, OpBlockEOF,
		OpReceiveInit, OpSendInit, OpReceiveAccept, OpSendAccept, 0x03}
	switch k := int(kind&0x7F) % (len(ops) + 2); {
	case k < len(ops):
		return Message{Protocol: ProtocolID, Opcode: uint8(ops[k]), Payload: payload}
	case k == len(ops):
		return Message{Protocol: securechannel.ProtocolID, Opcode: securechannel.OpStatusReport, Payload: payload}
	default:
		return Message{Protocol: 0x0001, Opcode: 0x08, Payload: payload}
	}
}

// seq builds a fuzz sequence: each message is kind, length, payload.
func seq(msgs ...Message) []byte {
	var b []byte
	for _, m := range msgs {
		kind := byte(0)
		for k := range 13 {
			if c := seqMessage(byte(k), nil); c.Protocol == m.Protocol && c.Opcode == m.Opcode {
				kind = byte(k)
			}
		}
		b = append(b, kind, byte(len(m.Payload)))
		b = append(b, m.Payload...)
	}
	return b
}

// nextSeq pops one message off a fuzz sequence; the top bit of the kind byte advances the clock.
func nextSeq(s []byte) (m Message, advance bool, rest []byte, ok bool) {
	if len(s) < 2 {
		return Message{}, false, nil, false
	}
	kind, n := s[0], int(s[1])
	s = s[2:]
	n = min(n, len(s))
	return seqMessage(kind, s[:n]), kind&0x80 != 0, s[n:], true
}

var (
	acceptCodes   = []StatusCode{StatusUnexpectedMessage, StatusBadMessageContents, StatusTransferMethodNotSupported, StatusResponderBusy, StatusFileDesignatorUnknown, StatusTransferFailedUnknownError, StatusStartOffsetNotSupported, StatusLengthTooLarge}
	transferCodes = []StatusCode{StatusBadMessageContents, StatusBadBlockCounter, StatusUnexpectedMessage, StatusTransferFailedUnknownError}
)

func checkStatus(t *testing.T, m *Message, allowed []StatusCode) {
	t.Helper()
	sr, err := securechannel.DecodeStatusReport(m.Payload)
	if err != nil {
		t.Fatalf("malformed StatusReport: %v", err)
	}
	code, ok := StatusOf(sr)
	if !ok || sr.General != securechannel.GeneralFailure {
		t.Fatalf("not a BDX failure report: %s", sr)
	}
	for _, c := range allowed {
		if c == code {
			return
		}
	}
	t.Fatalf("status %s is not one this step may send (%v)", code, allowed)
}

// FuzzResponder feeds a ReceiveInit and then an arbitrary message sequence to a Transfer. The
// responder must never panic, answer only with well-formed messages and codes of the table, serve
// only bytes of the file at the right offset, and release its slot when it ends.
func FuzzResponder(f *testing.F) {
	q := func(c uint32) Message { m, _ := Encode(BlockQuery{c}); return m }
	okSeq := seq(q(0), q(1), q(2), mustEncodeF(BlockAckEOF{2}))
	f.Add(uint16(40), []byte{0x20, 0, 16, 0, byte(len(designator)), 0}, okSeq)
	f.Add(uint16(100), []byte{0x20, 2, 16, 0, 8, 0, 0, 0, byte(len(designator)), 0}, seq(q(0), mustEncodeF(BlockAck{0}),
		mustEncodeF(BlockQueryWithSkip{1, 20}), q(2), q(3), mustEncodeF(BlockAckEOF{3})))
	f.Add(uint16(0), []byte{0x20, 0, 0, 4, byte(len(designator)), 0}, seq(q(0), mustEncodeF(BlockAckEOF{0})))
	f.Add(uint16(5000), []byte{0x20, 1, 0, 4, 0, 0, 0, 0, byte(len(designator)), 0}, []byte{0x80, 4, 0, 0, 0, 0, 10, 8, 1, 0, 2, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, size uint16, init []byte, s []byte) {
		file := image(int(size)%5000, 1)
		// The designator is appended so that most inputs reach the transfer state.
		initMsg := Message{Protocol: ProtocolID, Opcode: uint8(OpReceiveInit), Payload: append(bytes.Clone(init), designator...)}
		r, _ := armed(t, file, Config{MaxTransfers: 1})
		now := t0
		tr, reply, err := r.Accept(now, peerA, initMsg)
		if reply == nil {
			t.Fatalf("Accept gave no reply (err %v)", err)
		}
		if tr == nil {
			if !reply.IsStatusReport() {
				t.Fatalf("refusal is %s, not a StatusReport", reply)
			}
			checkStatus(t, reply, acceptCodes)
			if r.Active() != 0 {
				t.Fatal("a refused transfer holds a slot")
			}
			return
		}
		ri, err := DecodeReceiveInit(initMsg.Payload)
		if err != nil {
			t.Fatalf("accepted an init that does not decode: %v", err)
		}
		acc, err := DecodeReceiveAccept(reply.Payload)
		if err != nil || reply.Protocol != ProtocolID || Opcode(reply.Opcode) != OpReceiveAccept {
			t.Fatalf("accept reply %s does not decode: %v", reply, err)
		}
		mbs, p := int(acc.MaxBlockSize), int(ri.MaxBlockSize)
		switch {
		case acc.Control != ReceiverDrive || acc.Range.Has(StartOfs):
			t.Fatalf("accept TC %s RC %s", acc.Control, acc.Range)
		case mbs < 1 || mbs > p || mbs > DefaultMaxBlockSize:
			t.Fatalf("block size %d for proposal %d", mbs, p)
		case p >= 16 && p <= 128 && mbs != p:
			t.Fatalf("proposal %d not granted exactly: %d", p, mbs)
		case p > 128 && bits.OnesCount(uint(mbs)) != 1:
			t.Fatalf("proposal %d granted %d, not a power of two", p, mbs)
		}
		for {
			m, advance, rest, ok := nextSeq(s)
			if !ok {
				break
			}
			s = rest
			if advance {
				now = now.Add(3 * time.Minute)
			}
			reply, done, err := tr.Handle(now, m)
			if reply != nil {
				switch {
				case reply.IsStatusReport():
					checkStatus(t, reply, transferCodes)
					if !done || err == nil {
						t.Fatalf("a StatusReport reply without ending the transfer (done %v, err %v)", done, err)
					}
				case reply.Protocol == ProtocolID && (Opcode(reply.Opcode) == OpBlock || Opcode(reply.Opcode) == OpBlockEOF):
					body, derr := Decode(*reply)
					if derr != nil {
						t.Fatalf("served %s does not decode: %v", reply, derr)
					}
					var data []byte
					if b, ok := body.(Block); ok {
						data = b.Data
						if len(data) != mbs {
							t.Fatalf("a Block of %d bytes at MBS %d", len(data), mbs)
						}
					} else {
						data = body.(BlockEOF).Data
						if len(data) >= mbs {
							t.Fatalf("a BlockEOF of %d bytes at MBS %d", len(data), mbs)
						}
					}
					pos := tr.Info().Position
					if !bytes.Equal(data, file[pos-int64(len(data)):pos]) {
						t.Fatalf("served bytes differ from the file before offset %d", pos)
					}
				default:
					t.Fatalf("unexpected reply %s", reply)
				}
			}
			if done {
				if r.Active() != 0 {
					t.Fatal("a finished transfer holds its slot")
				}
				if again, _, _ := tr.Handle(now, m); again != nil {
					t.Fatal("a finished transfer answered again")
				}
				return
			}
		}
		if !tr.Expired(now.Add(MinIdleTimeout)) || r.Active() != 0 {
			t.Fatal("an idle transfer did not expire and release its slot")
		}
	})
}

func mustEncodeF(b Body) Message {
	m, err := Encode(b)
	if err != nil {
		panic(err)
	}
	return m
}

// FuzzReceive plays arbitrary provider answers to Receive. It must end (the script is finite), never
// panic, send only well-formed messages, and keep its result consistent with what it wrote.
func FuzzReceive(f *testing.F) {
	good := seq(mustEncodeF(ReceiveAccept{Control: ReceiverDrive, Range: DefLen, MaxBlockSize: 4, Length: 6}),
		mustEncodeF(Block{0, []byte("abcd")}), mustEncodeF(BlockEOF{1, []byte("ef")}))
	f.Add(uint8(4), uint8(0), uint8(0), good)
	f.Add(uint8(4), uint8(1), uint8(0x3F), good)
	f.Add(uint8(16), uint8(2), uint8(0), seq(StatusFileDesignatorUnknown.Message()))
	f.Add(uint8(4), uint8(0), uint8(0), seq(mustEncodeF(ReceiveAccept{Control: ReceiverDrive | SenderDrive, Range: StartOfs, MaxBlockSize: 8, StartOffset: 1}),
		mustEncodeF(Block{1, []byte("abc")})))
	f.Fuzz(func(t *testing.T, proposal, offset, flags uint8, replies []byte) {
		var msgs []Message
		for {
			m, _, rest, ok := nextSeq(replies)
			if !ok {
				break
			}
			msgs = append(msgs, m)
			replies = rest
		}
		n := len(msgs)
		opts := ReceiveOptions{
			Designator: designator, MaxBlockSize: uint16(proposal), StartOffset: uint64(offset % 4),
			SendBlockAck: flags&1 != 0, SkipAtBlock: uint32(flags>>1) & 3, SkipBytes: uint64(flags>>3) & 7,
		}
		if flags&0x40 != 0 {
			opts.Length = 6
		}
		if flags&0x80 != 0 {
			opts.Expected = []byte("abcdefgh")
		}
		s := &script{replies: msgs}
		var buf bytes.Buffer
		res, err := Receive(context.Background(), s, &buf, opts)
		if res.Bytes != int64(buf.Len()) {
			t.Fatalf("Result.Bytes %d but %d written", res.Bytes, buf.Len())
		}
		if res.Blocks > n {
			t.Fatalf("%d blocks counted from %d replies", res.Blocks, n)
		}
		if err == nil && !res.Complete && !res.Stopped {
			t.Fatal("no error, yet neither complete nor stopped")
		}
		for _, fd := range res.Findings {
			if _, ok := ruleRefs[fd.Rule]; !ok || fd.Count < 1 {
				t.Fatalf("unknown finding %+v", fd)
			}
		}
		for _, m := range s.sent {
			if m.IsStatusReport() {
				checkStatus(t, &m, []StatusCode{StatusBadMessageContents, StatusBadBlockCounter, StatusUnexpectedMessage, StatusTransferFailedUnknownError})
				continue
			}
			if _, derr := Decode(m); derr != nil {
				t.Fatalf("Receive sent a malformed %s: %v", m, derr)
			}
		}
	})
}
