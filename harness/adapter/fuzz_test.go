package adapter

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/ota/image"
	"github.com/otaconf/otaconf/reference"
)

// Fuzz targets of the adapter protocol: the server side (Serve, fed arbitrary lines) and the request
// codec. Seed corpora in testdata/fuzz/<Target>/ are, besides the f.Add seeds, the adapter
// transcripts of the conformance cases (cases/fuzzseeds_test.go, OTACONF_WRITE_FUZZ_SEEDS=1).

type serveFixture struct {
	cat *reference.Catalog
	err error
}

// fixtureCatalog is a small catalog built once: a few blocks, so that whole downloads fit a seed.
var fixtureCatalog = sync.OnceValue(func() serveFixture {
	ctx := context.Background()
	var buf bytes.Buffer
	_, err := image.Write(ctx, &buf, image.HeaderOptions{VendorID: reference.DefaultVendorID, ProductID: reference.DefaultProductID,
		SoftwareVersion: reference.DefaultVersion, SoftwareVersionString: reference.DefaultVersionString}, bytes.NewReader(reference.DefaultPayload(3000)))
	if err != nil {
		return serveFixture{err: err}
	}
	img, err := reference.MemoryImage(ctx, reference.DefaultDesignator, buf.Bytes())
	if err != nil {
		return serveFixture{err: err}
	}
	cat, err := reference.NewCatalog(img)
	return serveFixture{cat: cat, err: err}
})

// fixedTokens is a token source for tests: tokens are secrets only outside them.
type fixedTokens struct{ n byte }

func (f *fixedTokens) Read(p []byte) (int, error) {
	for i := range p {
		f.n++
		p[i] = f.n
	}
	return len(p), nil
}

func newTestProvider(tb testing.TB) *reference.Provider {
	tb.Helper()
	fx := fixtureCatalog()
	if fx.err != nil {
		tb.Fatalf("catalog: %v", fx.err)
	}
	now := time.Unix(1_800_000_000, 0)
	p, err := reference.New(reference.Config{Catalog: fx.cat, NodeIDs: map[uint8]uint64{2: 0x00000000000B0D02},
		HTTPSBaseURL: "https://ota.example.invalid/images/", Rand: &fixedTokens{}, Now: func() time.Time { return now }})
	if err != nil {
		tb.Fatalf("reference.New: %v", err)
	}
	return p
}

// expectedLines splits input as Serve's scanner does (bufio.ScanLines: "\n" ends a line, one "\r"
// before it is dropped, a last line needs no newline) and returns the non-empty lines, or false
// when a line comes near MaxLine (Serve stops with an error for lines that do not fit its buffer;
// the exact boundary is bufio's business, so lines that close are not judged).
func expectedLines(in []byte) ([][]byte, bool) {
	var out [][]byte
	for len(in) > 0 {
		line, rest, _ := bytes.Cut(in, []byte("\n"))
		in = rest
		if len(line) >= MaxLine-1 {
			return nil, false
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 {
			out = append(out, line)
		}
	}
	return out, true
}

// serveLines runs Serve on in over a pipe and returns what it wrote and its error. It fails the test
// when Serve does not end within the timeout after its input ended.
func serveLines(t *testing.T, p Provider, in []byte) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		err := Serve(ctx, pr, &out, p, ServeOptions{Fabrics: []uint8{1, 2}, PICS: map[string]bool{"MCORE.OTA.Provider": true}})
		pr.CloseWithError(errors.New("serve returned")) // unblock the writer if Serve stopped early
		done <- err
	}()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = pw.Write(in)
		pw.Close()
	}()
	select {
	case err := <-done:
		<-wrote
		return out.Bytes(), err
	case <-ctx.Done():
		t.Fatalf("Serve did not return within the timeout for %d bytes of input", len(in))
		return nil, nil
	}
}

// checkReply checks a reply against its request: the same id, and the shape its op promises.
func checkReply(t *testing.T, line []byte, rep Reply) {
	t.Helper()
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		if rep.Error == "" || rep.ID != 0 {
			t.Fatalf("request %q is not JSON, yet the reply is %+v", line, rep)
		}
		return
	}
	if rep.ID != req.ID {
		t.Fatalf("reply id %d to request id %d (%q)", rep.ID, req.ID, line)
	}
	if rep.Error != "" {
		return
	}
	switch req.Op {
	case "hello":
		if rep.Op != "hello" || rep.Version != Version || rep.Endpoint == nil {
			t.Fatalf("hello answered %+v", rep)
		}
		if _, err := ParseNodeID(rep.ProviderNodeID); err != nil {
			t.Fatalf("hello: %v", err)
		}
	case "invoke":
		if rep.Status == nil {
			t.Fatalf("invoke %q answered without a status: %+v", line, rep)
		}
		if !im.Status(*rep.Status).Defined() {
			t.Fatalf("invoke answered undefined IM status 0x%02X", *rep.Status)
		}
		if (rep.Command == nil) != (rep.Fields == nil) {
			t.Fatalf("a response command needs both command and fields: %+v", rep)
		}
		if rep.Fields != nil {
			if _, err := hex.DecodeString(*rep.Fields); err != nil || *rep.Status != 0 {
				t.Fatalf("response fields %q (status %d): %v", *rep.Fields, *rep.Status, err)
			}
			if resp, ok := ota.ResponseTo(ota.CommandID(*req.Command)); !ok || uint32(resp) != *rep.Command {
				t.Fatalf("%s answered with command %d", ota.CommandID(*req.Command), *rep.Command)
			}
		}
	case "bdx_open":
		if rep.Exchange == 0 {
			t.Fatalf("bdx_open answered without an exchange: %+v", rep)
		}
	case "bdx_send":
		if len(rep.Messages) > 1 {
			t.Fatalf("bdx_send answered %d messages; a receiver-drive step has at most one", len(rep.Messages))
		}
		for _, m := range rep.Messages {
			bm, err := m.Parse()
			if err != nil {
				t.Fatalf("reply message: %v", err)
			}
			if !bm.IsStatusReport() {
				if _, err := bdx.Decode(bm); err != nil {
					t.Fatalf("the provider's %s does not decode: %v", bm, err)
				}
			}
		}
	case "bdx_close", "scenario":
	default:
		t.Fatalf("unknown op %q answered without an error: %+v", req.Op, rep)
	}
}

// FuzzServe feeds arbitrary input to Serve over a pipe, with the reference provider behind it. Serve
// must never panic or hang, write exactly one JSON reply per non-empty line, in order, each with the
// request's id and the shape its op promises.
func FuzzServe(f *testing.F) {
	for _, s := range serveSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want, fits := expectedLines(in)
		out, err := serveLines(t, newTestProvider(t), in)
		if !fits {
			return // never panics and never hangs is all that is checked near MaxLine
		}
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
		got := bytes.Split(out, []byte("\n"))
		if len(got) == 0 || len(got[len(got)-1]) != 0 {
			t.Fatalf("output does not end with a newline: %q", out)
		}
		got = got[:len(got)-1]
		if len(got) != len(want) {
			t.Fatalf("%d replies to %d non-empty lines:\nin  %q\nout %q", len(got), len(want), in, out)
		}
		for i, l := range got {
			var rep Reply
			dec := json.NewDecoder(bytes.NewReader(l))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rep); err != nil || dec.More() {
				t.Fatalf("reply %d %q does not parse as one Reply: %v", i, l, err)
			}
			checkReply(t, want[i], rep)
		}
	})
}

// serveSeeds is a whole session: hello, a query, a download of the offer with an abort, a scenario,
// and the malformed lines a broken harness could send.
func serveSeeds(tb testing.TB) [][]byte {
	q, err := ota.Encode(ota.QueryImage{VendorID: reference.DefaultVendorID, ProductID: reference.DefaultProductID, SoftwareVersion: 1,
		ProtocolsSupported: []ota.DownloadProtocol{ota.ProtocolBDXSynchronous}})
	if err != nil {
		tb.Fatal(err)
	}
	init, err := bdx.Encode(bdx.ReceiveInit{Control: bdx.ReceiverDrive, MaxBlockSize: 1024, FileDesignator: []byte(reference.DefaultDesignator)})
	if err != nil {
		tb.Fatal(err)
	}
	u16, u32, u8 := func(v uint16) *uint16 { return &v }, func(v uint32) *uint32 { return &v }, func(v uint8) *uint8 { return &v }
	str := func(s string) *string { return &s }
	r0 := WireRequestor(ota.Requestor{FabricIndex: 1, NodeID: 0x1A001})
	query := Request{Op: "invoke", ID: 2, Endpoint: u16(0), Cluster: u32(ota.ProviderClusterID), Command: u32(uint32(ota.CmdQueryImage)), Fields: str(hex.EncodeToString(q)), Requestor: r0}
	send := func(id uint64, m bdx.Message) Request {
		return Request{Op: "bdx_send", ID: id, Exchange: 1, Protocol: u16(m.Protocol), Opcode: u8(m.Opcode), Payload: str(hex.EncodeToString(m.Payload))}
	}
	bq := func(n uint32) bdx.Message { m, _ := bdx.Encode(bdx.BlockQuery{Counter: n}); return m }
	session := []Request{
		{Op: "hello", Version: Version}, query, {Op: "bdx_open", ID: 3, Requestor: r0}, send(4, init), send(5, bq(0)), send(6, bq(1)),
		send(7, bq(2)), send(8, bq(3)), {Op: "bdx_close", ID: 9, Exchange: 1}, {Op: "scenario", ID: 10, Name: "busy", Delay: 60}, query,
		{Op: "scenario", ID: 11, Name: "bogus"}, {Op: "bdx_send", ID: 12, Exchange: 7},
	}
	var b bytes.Buffer
	for _, r := range session {
		line, err := json.Marshal(r)
		if err != nil {
			tb.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return [][]byte{
		b.Bytes(),
		[]byte("{\"op\":\"hello\",\"version\":1}\r\n\r\n\n{\"op\":\"invoke\",\"id\":1}\nnot json\n[1,2]\n{\"op\":\"hello\",\"version\":2}"),
		[]byte(`{"op":"invoke","id":5,"endpoint":0,"cluster":41,"command":2,"fields":"zz","requestor":{"fabric_index":1,"node_id":"000000000001A001"}}`),
		[]byte(`{"op":"bdx_open","id":1,"requestor":{"fabric_index":2,"node_id":"1A001"}}` + "\n" + `{"op":"bdx_send","id":2,"exchange":1,"protocol":0,"opcode":64,"payload":"0100020000001f00"}`),
	}
}

// FuzzRequestJSON checks the request codec: a line that decodes as a Request re-encodes to JSON that
// decodes to the same Request and encodes to the same bytes (decode → encode → decode is stable), and
// its requestor and BDX message survive the wire conversions. The same holds for a Reply.
func FuzzRequestJSON(f *testing.F) {
	for _, s := range serveSeeds(f) {
		for _, l := range bytes.Split(s, []byte("\n")) {
			f.Add(l)
		}
	}
	f.Add([]byte(`{"id":1,"status":0,"command":1,"fields":"1518","messages":[{"protocol":2,"opcode":17,"payload":"00"}],"done":true}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var req Request
		if err := json.Unmarshal(line, &req); err == nil {
			roundTrip(t, &req, &Request{}, &Request{})
			checkWireRequestor(t, req.Requestor)
			if req.Protocol != nil && req.Opcode != nil && req.Payload != nil {
				checkWireMessage(t, Message{Protocol: *req.Protocol, Opcode: *req.Opcode, Payload: *req.Payload})
			}
		}
		var rep Reply
		if err := json.Unmarshal(line, &rep); err == nil {
			roundTrip(t, &rep, &Reply{}, &Reply{})
			for _, m := range rep.Messages {
				checkWireMessage(t, m)
			}
		}
	})
}

// roundTrip checks encode → decode → encode for a decoded value v; a and b receive the decodings.
func roundTrip(t *testing.T, v, a, b any) {
	t.Helper()
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("a decoded %T does not encode: %v", v, err)
	}
	if err := json.Unmarshal(enc, a); err != nil {
		t.Fatalf("%T re-encoded as %s does not decode: %v", v, enc, err)
	}
	// v itself may differ from a where encoding/json's omitempty folds an empty slice or map into
	// an absent one (`"messages":[]` decodes to an empty slice, which is not re-encoded): what must
	// hold is that the encoding is a fixed point from then on.
	enc2, _ := json.Marshal(a)
	if !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not stable: %s then %s", enc, enc2)
	}
	if err := json.Unmarshal(enc2, b); err != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("third decode differs: %+v vs %+v (%v)", a, b, err)
	}
}

func checkWireRequestor(t *testing.T, w *Requestor) {
	t.Helper()
	r, err := w.Parse()
	if err != nil {
		return
	}
	back := WireRequestor(r)
	if !strings.EqualFold(back.NodeID, w.NodeID) || back.FabricIndex != w.FabricIndex {
		t.Fatalf("requestor %+v parsed as %s, written back as %+v", *w, r, *back)
	}
	if r2, err := back.Parse(); err != nil || r2 != r {
		t.Fatalf("requestor %+v does not parse back to %s: %v", *back, r, err)
	}
}

func checkWireMessage(t *testing.T, m Message) {
	t.Helper()
	bm, err := m.Parse()
	if err != nil {
		return
	}
	back := WireMessage(bm)
	if !strings.EqualFold(back.Payload, m.Payload) || back.Protocol != m.Protocol || back.Opcode != m.Opcode {
		t.Fatalf("message %+v parsed and written back as %+v", m, back)
	}
	if bm2, err := back.Parse(); err != nil || !bytes.Equal(bm2.Payload, bm.Payload) {
		t.Fatalf("message %+v does not parse back: %v", back, err)
	}
}
