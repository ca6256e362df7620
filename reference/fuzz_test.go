package reference

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fuzz "github.com/google/gofuzz"
	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/ota"
	"github.com/stretchr/testify/require"
)

// The fuzz targets of the reference provider. The reference is the oracle of the harness, so here
// it is held to the harness's own checks with no tolerance: the exact IM status of ota.ExpectedStatus
// (a tolerated alternative is a failure), the right response command, and no MUST or SHOULD finding
// from CheckQueryImageResponse / CheckApplyUpdateResponse.

// Seed corpora live in testdata/fuzz/<Target>/; most files were written from the requests and BDX
// exchanges of the conformance cases and from the Core spec's TLV examples by
// cases/fuzzseeds_test.go (OTACONF_WRITE_FUZZ_SEEDS=1 go test ./cases -run TestWriteFuzzSeeds).

// fuzzRequestors are the three requestor roles of the cases: the main requestor, another node on its
// fabric, and the main node's id on a second fabric (ota-provider.md §5: another requestor).
var fuzzRequestors = [3]ota.Requestor{
	{FabricIndex: 1, NodeID: 0x000000000001A001},
	{FabricIndex: 1, NodeID: 0x000000000001A002},
	{FabricIndex: 2, NodeID: 0x000000000001A001},
}

const (
	fuzzNodeID2  = 0x00000000000B0D02
	fuzzHTTPSURL = "https://ota.example.invalid/images/"
)

type fixture struct {
	cat  *Catalog
	file []byte
	err  error
}

// defaultFixture is the default catalog, built and verified once per process (1 MiB of payload).
var defaultFixture = sync.OnceValue(func() fixture {
	cat, file, err := DefaultCatalog(context.Background())
	return fixture{cat, file, err}
})

// fuzzProvider returns a fresh provider on the default catalog with a deterministic token source,
// a fixed clock, a node id per fabric and an HTTPS base URL (so all three download answers occur).
func fuzzProvider(tb testing.TB, c *clock, seed uint64) *Provider {
	tb.Helper()
	fx := defaultFixture()
	if fx.err != nil {
		tb.Fatalf("default catalog: %v", fx.err)
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	p, err := New(Config{Catalog: fx.cat, NodeIDs: map[uint8]uint64{2: fuzzNodeID2}, HTTPSBaseURL: fuzzHTTPSURL,
		Now: c.Now, Rand: rand.NewChaCha8(key)})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return p
}

func fuzzClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func profileQuery() ota.QueryImage {
	return ota.QueryImage{VendorID: DefaultVendorID, ProductID: DefaultProductID, SoftwareVersion: 1,
		ProtocolsSupported: []ota.DownloadProtocol{ota.ProtocolBDXSynchronous}}
}

func encodeOrPanic(c ota.Command) []byte {
	b, err := ota.Encode(c)
	if err != nil {
		panic(err)
	}
	return b
}

// checkInvoke sends one invoke to p and checks the answer against the harness's rules with no
// tolerance. It returns the decoded QueryImageResponse when there is one.
func checkInvoke(t *testing.T, p *Provider, r ota.Requestor, cmd ota.CommandID, fields []byte) (ota.QueryImageResponse, bool) {
	t.Helper()
	want := ota.ExpectedStatus(cmd, fields)
	resp := p.Invoke(context.Background(), r, p.Endpoint(), ota.ProviderClusterID, cmd, fields)
	if want != nil {
		// §8.10.1 via the constraint table: exactly this status, never a response command.
		if resp.HasCommand || resp.Status != want.Status {
			t.Fatalf("%s %X: the table requires %s (%s), the reference answered %s", cmd, fields, want.Status, want.Reason(), resp)
		}
		return ota.QueryImageResponse{}, false
	}
	respCmd, hasResp := ota.ResponseTo(cmd)
	if !hasResp {
		// §11.20.6.5.5: NotifyUpdateApplied is answered with a plain SUCCESS, unknown tokens included.
		if resp.HasCommand || resp.Status != im.Success {
			t.Fatalf("%s %X: want SUCCESS, got %s", cmd, fields, resp)
		}
		return ota.QueryImageResponse{}, false
	}
	if !resp.HasCommand || resp.Command != respCmd || resp.Status != im.Success {
		t.Fatalf("%s %X: want a %s, got %s", cmd, fields, respCmd, resp)
	}
	switch cmd {
	case ota.CmdQueryImage:
		q, _ := ota.DecodeQueryImage(fields)
		qr, fs := ota.CheckQueryImageResponse(resp.Fields, ota.QueryContext{Request: q, ProviderNodeID: p.NodeID(r.FabricIndex)})
		if bad := ota.Failing(fs, true); len(bad) > 0 {
			t.Fatalf("QueryImage %X answered %X: %v", fields, resp.Fields, bad)
		}
		checkQueryDecision(t, p, q, qr)
		if again := encodeOrPanic(qr); !bytes.Equal(again, resp.Fields) {
			t.Fatalf("QueryImageResponse %X decodes to %+v, which re-encodes to %X", resp.Fields, qr, again)
		}
		return qr, true
	default: // ApplyUpdateRequest
		ar, fs := ota.CheckApplyUpdateResponse(resp.Fields)
		if bad := ota.Failing(fs, true); len(bad) > 0 {
			t.Fatalf("ApplyUpdateRequest %X answered %X: %v", fields, resp.Fields, bad)
		}
		if !ar.Action.Defined() {
			t.Fatalf("ApplyUpdateResponse action %s is not defined (§11.20.6.4.2)", ar.Action)
		}
		if again := encodeOrPanic(ar); !bytes.Equal(again, resp.Fields) {
			t.Fatalf("ApplyUpdateResponse %X decodes to %+v, which re-encodes to %X", resp.Fields, ar, again)
		}
	}
	return ota.QueryImageResponse{}, false
}

// checkQueryDecision checks the status against the catalog (ota-provider.md §4.1 steps 3-4): an
// offer only of an image that applies, at its header version; NotAvailable when none applies;
// DownloadProtocolNotSupported only when neither BDX synchronous nor (configured) HTTPS is listed.
func checkQueryDecision(t *testing.T, p *Provider, q ota.QueryImage, qr ota.QueryImageResponse) {
	t.Helper()
	sel := p.Catalog().Select(q.VendorID, q.ProductID, q.SoftwareVersion)
	listed := func(d ota.DownloadProtocol) bool {
		for _, x := range q.ProtocolsSupported {
			if x == d {
				return true
			}
		}
		return false
	}
	canDownload := listed(ota.ProtocolBDXSynchronous) || listed(ota.ProtocolHTTPS)
	switch qr.Status {
	case ota.StatusUpdateAvailable:
		switch {
		case sel == nil:
			t.Fatalf("offered version %d to %+v, but no image applies (§4.1 step 3)", *qr.SoftwareVersion, q)
		case *qr.SoftwareVersion != sel.Header.SoftwareVersion || *qr.SoftwareVersionString != sel.Header.SoftwareVersionString:
			t.Fatalf("offered %d %q, the image header says %d %q (§4.5)", *qr.SoftwareVersion, *qr.SoftwareVersionString, sel.Header.SoftwareVersion, sel.Header.SoftwareVersionString)
		case len(qr.UpdateToken) != tokenLen:
			t.Fatalf("token of %d octets, the reference mints %d (§4.4)", len(qr.UpdateToken), tokenLen)
		}
	case ota.StatusDownloadProtocolNotSupported:
		if sel == nil || canDownload {
			t.Fatalf("DownloadProtocolNotSupported for %v (image applies: %v) (§11.20.3.3.1)", q.ProtocolsSupported, sel != nil)
		}
	case ota.StatusBusy, ota.StatusNotAvailable:
		if sel == nil && qr.Status != ota.StatusNotAvailable {
			t.Fatalf("%s although no image applies: must be NotAvailable (§4.1 step 3)", qr.Status)
		}
	}
}

// checkOfferDownloadable opens BDX for an offer: its requestor gets a ReceiveAccept for the URI's
// designator, the other roles FILE_DESIGNATOR_UNKNOWN (§6.5.1, bug #2). Sessions are closed again.
func checkOfferDownloadable(t *testing.T, p *Provider, r ota.Requestor, qr ota.QueryImageResponse) {
	t.Helper()
	if qr.Status != ota.StatusUpdateAvailable || qr.ImageURI == nil {
		return
	}
	u, fs := ota.ParseBDXURI(*qr.ImageURI)
	if len(fs) > 0 {
		return // an https offer
	}
	for _, other := range fuzzRequestors {
		s := p.OpenBDX(other)
		m, _ := bdx.Encode(bdx.ReceiveInit{Control: bdx.ReceiverDrive, MaxBlockSize: 1024, FileDesignator: []byte(u.Designator)})
		reply, _ := s.Handle(m)
		s.Close()
		if reply == nil {
			t.Fatalf("no answer to a ReceiveInit from %s", other)
		}
		if other == r {
			if reply.Protocol != bdx.ProtocolID || bdx.Opcode(reply.Opcode) != bdx.OpReceiveAccept {
				t.Fatalf("the offered requestor %s was answered %s", r, reply)
			}
			continue
		}
		if code, ok := replyStatus(*reply); !ok || code != bdx.StatusFileDesignatorUnknown {
			t.Fatalf("%s downloading %s's offer was answered %s, want FILE_DESIGNATOR_UNKNOWN", other, r, reply)
		}
	}
	if n := p.bdx.Active(); n != 0 {
		t.Fatalf("%d transfer slots held after every session was closed", n)
	}
}

func replyStatus(m bdx.Message) (bdx.StatusCode, bool) {
	if !m.IsStatusReport() {
		return 0, false
	}
	sr, err := securechannel.DecodeStatusReport(m.Payload)
	if err != nil {
		return 0, false
	}
	return bdx.StatusOf(sr)
}

// FuzzReferenceRaw feeds raw request TLV to the reference. cmd's low three bits are the command id
// (0..7: the three requests and five ids the provider must refuse), bits 3-5 the scenario the
// provider is steered into (scenario.All), bit 6 sends as the fabric-2 requestor and bit 7 sends the
// request twice (consent and one-shot scenarios answer differently the second time).
func FuzzReferenceRaw(f *testing.F) {
	f.Add(uint8(ota.CmdQueryImage), encodeOrPanic(profileQuery()))
	f.Add(uint8(ota.CmdApplyUpdateRequest), encodeOrPanic(ota.ApplyUpdateRequest{UpdateToken: make([]byte, 32), NewVersion: 2}))
	f.Add(uint8(ota.CmdNotifyUpdateApplied), encodeOrPanic(ota.NotifyUpdateApplied{UpdateToken: make([]byte, 8), SoftwareVersion: 2}))
	f.Add(uint8(ota.CmdQueryImageResponse), []byte{0x15, 0x18})
	f.Fuzz(func(t *testing.T, cmd uint8, fields []byte) {
		c := fuzzClock()
		p := fuzzProvider(t, c, uint64(cmd))
		sc := scenario.All[int(cmd>>3)%len(scenario.All)].Name
		if err := p.SetScenario(scenario.Request{Name: sc}); err != nil {
			t.Fatalf("SetScenario(%s): %v", sc, err)
		}
		r := fuzzRequestors[0]
		if cmd&0x40 != 0 {
			r = fuzzRequestors[2]
		}
		times := 1 + int(cmd>>7)
		for range times {
			qr, ok := checkInvoke(t, p, r, ota.CommandID(cmd&7), fields)
			if ok {
				checkOfferDownloadable(t, p, r, qr)
			}
		}
	})
}

// boundLen picks a length for a field whose valid lengths are lo..hi: three times in four right at
// a bound (lo-1, lo, lo+1, hi-1, hi, hi+1), otherwise anywhere in 0..hi+8.
func boundLen(c fuzz.Continue, lo, hi int) int {
	if c.Intn(4) > 0 {
		cand := [...]int{lo - 1, lo, lo + 1, hi - 1, hi, hi + 1}
		return max(0, cand[c.Intn(len(cand))])
	}
	return c.Intn(hi + 9)
}

func fillBytes(c fuzz.Continue, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(c.Uint32())
	}
	return b
}

// fillString makes a valid UTF-8 string of n octets, mixing one-, two- and three-octet characters.
func fillString(c fuzz.Continue, n int) string {
	var b []byte
	for len(b) < n {
		switch left := n - len(b); {
		case left >= 3 && c.Intn(4) == 0:
			b = append(b, "€"...)
		case left >= 2 && c.Intn(4) == 0:
			b = append(b, "Ü"...)
		default:
			b = append(b, byte('A'+c.Intn(26)))
		}
	}
	return string(b)
}

// fillVersion favours the versions around the default image's (1 older, 2 current, 3 newer).
func fillVersion(c fuzz.Continue) uint32 {
	vs := [...]uint32{0, 1, DefaultVersion, DefaultVersion + 1, 0xFFFFFFFF}
	if c.Intn(4) > 0 {
		return vs[c.Intn(len(vs))]
	}
	return c.Uint32()
}

// Custom gofuzz fill functions: typed values whose lengths land near the bounds of the constraint
// table (ota-provider.md §2) most of the time, and whose ids mostly match the default image.
var structuredFuncs = []any{
	func(q *ota.QueryImage, c fuzz.Continue) {
		*q = ota.QueryImage{VendorID: DefaultVendorID, ProductID: DefaultProductID, SoftwareVersion: fillVersion(c)}
		if c.Intn(5) == 0 {
			q.VendorID, q.ProductID = uint16(c.Uint32()), uint16(c.Uint32())
		}
		n := boundLen(c, 1, ota.MaxProtocolsSupported)
		if c.Intn(3) > 0 {
			n = min(n, 3)
		}
		q.ProtocolsSupported = make([]ota.DownloadProtocol, n)
		for i := range q.ProtocolsSupported {
			q.ProtocolsSupported[i] = ota.DownloadProtocol(c.Intn(4))
			if c.Intn(10) == 0 {
				q.ProtocolsSupported[i] = ota.DownloadProtocol(c.Uint32())
			}
		}
		if c.RandBool() {
			q.HardwareVersion = ota.Ptr(uint16(c.Uint32()))
		}
		if c.RandBool() {
			q.Location = ota.Ptr(fillString(c, boundLen(c, ota.LocationLen, ota.LocationLen)))
		}
		if c.RandBool() {
			q.RequestorCanConsent = ota.Ptr(c.RandBool())
		}
		if c.RandBool() {
			q.MetadataForProvider = fillBytes(c, boundLen(c, 0, ota.MaxMetadataLen))
		}
	},
	func(a *ota.ApplyUpdateRequest, c fuzz.Continue) {
		*a = ota.ApplyUpdateRequest{UpdateToken: fillBytes(c, boundLen(c, ota.MinTokenLen, ota.MaxTokenLen)), NewVersion: fillVersion(c)}
	},
	func(n *ota.NotifyUpdateApplied, c fuzz.Continue) {
		*n = ota.NotifyUpdateApplied{UpdateToken: fillBytes(c, boundLen(c, ota.MinTokenLen, ota.MaxTokenLen)), SoftwareVersion: fillVersion(c)}
	},
}

// tableValid restates the constraint table (ota-provider.md §2, §4.11) for a typed request, apart
// from ota's implementation: a typed value always has every mandatory field with the right type, so
// it can only break length, count and enum constraints.
func tableValid(c ota.Command) bool {
	tokenOK := func(b []byte) bool { return len(b) >= ota.MinTokenLen && len(b) <= ota.MaxTokenLen }
	switch v := c.(type) {
	case ota.QueryImage:
		if len(v.ProtocolsSupported) > ota.MaxProtocolsSupported {
			return false
		}
		for _, p := range v.ProtocolsSupported {
			if !p.Defined() {
				return false
			}
		}
		return (v.Location == nil || len(*v.Location) == ota.LocationLen) && len(v.MetadataForProvider) <= ota.MaxMetadataLen
	case ota.ApplyUpdateRequest:
		return tokenOK(v.UpdateToken)
	case ota.NotifyUpdateApplied:
		return tokenOK(v.UpdateToken)
	}
	return false
}

func decodeRequest(id ota.CommandID, b []byte) (ota.Command, *ota.Verdict) {
	switch id {
	case ota.CmdQueryImage:
		return ota.DecodeQueryImage(b)
	case ota.CmdApplyUpdateRequest:
		return ota.DecodeApplyUpdateRequest(b)
	default:
		return ota.DecodeNotifyUpdateApplied(b)
	}
}

// sameRequest compares a typed request with what its encoding decodes to. An encoder cannot tell a
// nil mandatory list or token from an empty one, so those compare by content.
func sameRequest(a, b ota.Command) bool {
	norm := func(c ota.Command) ota.Command {
		switch v := c.(type) {
		case ota.QueryImage:
			if v.ProtocolsSupported == nil {
				v.ProtocolsSupported = []ota.DownloadProtocol{}
			}
			return v
		case ota.ApplyUpdateRequest:
			if v.UpdateToken == nil {
				v.UpdateToken = []byte{}
			}
			return v
		case ota.NotifyUpdateApplied:
			if v.UpdateToken == nil {
				v.UpdateToken = []byte{}
			}
			return v
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// FuzzReferenceStructured builds typed requests with gofuzz from the input (structuredFuncs keep
// lengths near the bounds), checks decode → encode → decode and the verdict against the constraint
// table, then invokes the reference with the same checks as FuzzReferenceRaw.
func FuzzReferenceStructured(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x00query the default image"))
	f.Add(bytes.Repeat([]byte{0x01, 0x80, 0x20, 0x00, 0xFF, 0x07, 0x40, 0x03}, 8))
	f.Add(bytes.Repeat([]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21}, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		fz := fuzz.NewFromGoFuzz(data).Funcs(structuredFuncs...)
		var which, flags uint8
		fz.Fuzz(&which)
		fz.Fuzz(&flags)
		var req ota.Command
		switch which % 3 {
		case 0:
			var q ota.QueryImage
			fz.Fuzz(&q)
			req = q
		case 1:
			var a ota.ApplyUpdateRequest
			fz.Fuzz(&a)
			req = a
		default:
			var n ota.NotifyUpdateApplied
			fz.Fuzz(&n)
			req = n
		}
		b, err := ota.Encode(req)
		if err != nil {
			t.Fatalf("a typed %s does not encode: %v (%+v)", req.ID(), err, req)
		}
		got, v := decodeRequest(req.ID(), b)
		if !sameRequest(req, got) {
			t.Fatalf("encode → decode changed %+v into %+v", req, got)
		}
		again := encodeOrPanic(got)
		if !bytes.Equal(again, b) {
			t.Fatalf("decode → encode changed %X into %X", b, again)
		}
		if got2, v2 := decodeRequest(req.ID(), again); !reflect.DeepEqual(got, got2) || (v == nil) != (v2 == nil) {
			t.Fatalf("decode → encode → decode is not stable: %+v vs %+v", got, got2)
		}
		switch valid := tableValid(req); {
		case valid && v != nil:
			t.Fatalf("%+v is valid by the table, ota says %v", req, v)
		case !valid && v == nil:
			t.Fatalf("%+v breaks the table, ota accepts it", req)
		case v != nil && v.Status != im.ConstraintError:
			t.Fatalf("a typed value can only break constraints (CONSTRAINT_ERROR), got %v", v)
		}
		p := fuzzProvider(t, fuzzClock(), uint64(flags))
		sc := scenario.All[int(flags)%len(scenario.All)].Name
		if err := p.SetScenario(scenario.Request{Name: sc, Delay: uint32(flags>>3) * 30}); err != nil {
			t.Fatalf("SetScenario(%s): %v", sc, err)
		}
		r := fuzzRequestors[int(flags>>6)%len(fuzzRequestors)]
		for range 2 {
			if qr, ok := checkInvoke(t, p, r, req.ID(), b); ok {
				checkOfferDownloadable(t, p, r, qr)
			}
		}
	})
}

// ---- BDX scripts ----

// A BDX fuzz script is a sequence of steps, each an op byte followed by its argument bytes (a missing
// byte reads as 0). The low three bits of op select the step:
//
//	0 query  role       the profile's QueryImage as role%3 (role&0x80: as version 2, NotAvailable,
//	                     which disarms the role's offer)
//	1 open   role       open a BDX session as role%3 and make it current (at most maxScriptSessions)
//	2 close             close the current session
//	3 switch i          make session i%n current
//	4 init   f m0 m1 o l a well-formed ReceiveInit on the current session: MaxBlockSize m0|m1<<8;
//	                     f bit0 STARTOFS o×4096, bit1 DEFLEN l×512, bit2 WIDERANGE, bit3 another
//	                     designator, bit4 SENDER_DRIVE instead of RECEIVER_DRIVE, bits 5-7 the version
//	5 block  d          op>>3&3 picks BlockQuery(next+int8(d)), BlockQueryWithSkip(next, d×97),
//	                     BlockAck(next-1+int8(d)) or BlockAckEOF(next-1+int8(d)); next counts the
//	                     blocks received on the session
//	6 raw    k n p[n]   a raw message: k picks a BDX opcode, a StatusReport or another protocol
//	7 clock  d          advance the clock by d×10 s
//
// Steps that need a current session open one as role 0 first.
const maxScriptSessions = 16

// rawKinds are the messages a raw step can send, by k % len.
var rawKinds = [...]struct {
	protocol uint16
	opcode   uint8
}{
	{bdx.ProtocolID, uint8(bdx.OpBlockQuery)}, {bdx.ProtocolID, uint8(bdx.OpBlockQueryWithSkip)},
	{bdx.ProtocolID, uint8(bdx.OpBlockAck)}, {bdx.ProtocolID, uint8(bdx.OpBlockAckEOF)},
	{bdx.ProtocolID, uint8(bdx.OpBlock)}, {bdx.ProtocolID, uint8(bdx.OpBlockEOF)},
	{bdx.ProtocolID, uint8(bdx.OpReceiveInit)}, {bdx.ProtocolID, uint8(bdx.OpSendInit)},
	{bdx.ProtocolID, uint8(bdx.OpReceiveAccept)}, {bdx.ProtocolID, uint8(bdx.OpSendAccept)},
	{bdx.ProtocolID, 0x03},
	{securechannel.ProtocolID, securechannel.OpStatusReport},
	{0x0001, 0x08},
}

type scriptReader struct{ b []byte }

func (r *scriptReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *scriptReader) take(n int) []byte {
	n = min(n, len(r.b))
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

// scriptSession is what the script knows about one session, to check every reply against.
type scriptSession struct {
	role     int
	s        bdx.Session
	sent     int  // messages sent
	done     bool // the session reported done
	accepted bool
	mbs      int
	pos, end int64
	next     uint32 // blocks received
}

// bdxScript runs a script against a fresh provider holding a real offer for role 0.
type bdxScript struct {
	t        *testing.T
	p        *Provider
	c        *clock
	file     []byte
	sessions []*scriptSession
	cur      int
	armed    [3]bool
	armedAt  [3]time.Time
}

// knownReplyCodes are the codes the Responder may send (matter/bdx doc.go status tables).
var knownReplyCodes = map[bdx.StatusCode]bool{
	bdx.StatusUnexpectedMessage: true, bdx.StatusBadMessageContents: true, bdx.StatusTransferMethodNotSupported: true,
	bdx.StatusResponderBusy: true, bdx.StatusFileDesignatorUnknown: true, bdx.StatusTransferFailedUnknownError: true,
	bdx.StatusStartOffsetNotSupported: true, bdx.StatusLengthTooLarge: true, bdx.StatusBadBlockCounter: true,
}

func (x *bdxScript) query(role int, current bool) {
	q := profileQuery()
	if !current {
		q.SoftwareVersion = DefaultVersion
	}
	now := x.c.Now()
	// §4.1 and reference.expire: every query drops offers older than the offer TTL, and replaces
	// the querying role's own offer.
	for i := range x.armed {
		if x.armed[i] && now.After(x.armedAt[i].Add(DefaultOfferTTL)) {
			x.armed[i] = false
		}
	}
	qr, ok := checkInvoke(x.t, x.p, fuzzRequestors[role], ota.CmdQueryImage, encodeOrPanic(q))
	x.armed[role] = false
	if ok && qr.Status == ota.StatusUpdateAvailable && qr.ImageURI != nil {
		if u, fs := ota.ParseBDXURI(*qr.ImageURI); len(fs) == 0 && u.Designator == DefaultDesignator {
			x.armed[role], x.armedAt[role] = true, now
		}
	}
}

func (x *bdxScript) current() *scriptSession {
	if len(x.sessions) == 0 {
		x.open(0)
	}
	return x.sessions[x.cur]
}

func (x *bdxScript) open(role int) {
	if len(x.sessions) >= maxScriptSessions {
		return
	}
	x.sessions = append(x.sessions, &scriptSession{role: role, s: x.p.OpenBDX(fuzzRequestors[role])})
	x.cur = len(x.sessions) - 1
}

// send hands m to the current session and checks the reply.
func (x *bdxScript) send(m bdx.Message) {
	t := x.t
	s := x.current()
	first := s.sent == 0
	s.sent++
	reply, done := s.s.Handle(m)
	if s.done {
		if reply != nil || !done {
			t.Fatalf("a finished exchange answered %v (done %v) to %s", reply, done, m)
		}
		return
	}
	defer func() { s.done = done }()
	if reply == nil {
		switch {
		case first && !m.IsStatusReport():
			t.Fatalf("no answer to the opening %s", m)
		case !done && !s.accepted:
			t.Fatalf("no answer and not done before the transfer started (%s)", m)
		case !done && bdx.Opcode(m.Opcode) != bdx.OpBlockAck:
			t.Fatalf("no answer to %s on a running transfer; only a BlockAck goes unanswered", m)
		}
		return
	}
	if reply.IsStatusReport() {
		sr, err := securechannel.DecodeStatusReport(reply.Payload)
		if err != nil {
			t.Fatalf("a malformed StatusReport %X: %v", reply.Payload, err)
		}
		code, ok := bdx.StatusOf(sr)
		switch {
		case !ok || sr.General != securechannel.GeneralFailure:
			t.Fatalf("%s is not a BDX failure report (ota-provider.md §6.2)", sr)
		case !knownReplyCodes[code]:
			t.Fatalf("the provider sent %s, not a code of its status table", code)
		case !done:
			t.Fatalf("sent %s but the exchange goes on (§6.5.9: errors end the transfer)", code)
		case m.IsStatusReport():
			t.Fatalf("answered a StatusReport with a StatusReport")
		}
		return
	}
	if reply.Protocol != bdx.ProtocolID {
		t.Fatalf("a reply of protocol 0x%04X", reply.Protocol)
	}
	body, err := bdx.Decode(*reply)
	if err != nil {
		t.Fatalf("the provider's %s does not decode: %v", reply, err)
	}
	switch b := body.(type) {
	case bdx.ReceiveAccept:
		x.accepted(s, m, b, first)
	case bdx.Block:
		x.block(s, m, b.Counter, b.Data, false)
	case bdx.BlockEOF:
		x.block(s, m, b.Counter, b.Data, true)
	default:
		t.Fatalf("the provider sent %s, which a receiver-drive sender never sends", reply)
	}
}

func (x *bdxScript) accepted(s *scriptSession, m bdx.Message, acc bdx.ReceiveAccept, first bool) {
	t := x.t
	init, err := bdx.DecodeReceiveInit(m.Payload)
	switch {
	case !first || bdx.Opcode(m.Opcode) != bdx.OpReceiveInit || err != nil:
		t.Fatalf("a ReceiveAccept in answer to %s (first message: %v, decodes: %v)", m, first, err)
	case !x.armed[s.role]:
		t.Fatalf("%s got a ReceiveAccept without a live offer (§6.5.1, bug #2)", fuzzRequestors[s.role])
	case string(init.FileDesignator) != DefaultDesignator:
		t.Fatalf("a ReceiveAccept for designator %q, which was never offered", init.FileDesignator)
	case acc.Control != bdx.ReceiverDrive || acc.Range.Has(bdx.StartOfs):
		t.Fatalf("accept TC %s RC %s (§6.3, §6.4)", acc.Control, acc.Range)
	case int(acc.MaxBlockSize) < 1 || acc.MaxBlockSize > init.MaxBlockSize:
		t.Fatalf("block size %d for a proposal of %d (§6.5.2)", acc.MaxBlockSize, init.MaxBlockSize)
	}
	s.accepted, s.mbs = true, int(acc.MaxBlockSize)
	if init.Range.Has(bdx.StartOfs) {
		s.pos = int64(init.StartOffset)
	}
	s.end = s.pos
	if acc.Range.Has(bdx.DefLen) {
		s.end += int64(acc.Length)
	}
	if s.end > int64(len(x.file)) {
		t.Fatalf("accepted a window [%d, %d) of a %d-octet file", s.pos, s.end, len(x.file))
	}
}

func (x *bdxScript) block(s *scriptSession, m bdx.Message, counter uint32, data []byte, eof bool) {
	t := x.t
	if !s.accepted {
		t.Fatalf("a block before ReceiveAccept")
	}
	var want uint32
	switch bdx.Opcode(m.Opcode) {
	case bdx.OpBlockQuery:
		q, err := bdx.DecodeBlockQuery(m.Payload)
		if err != nil {
			t.Fatalf("a block for a malformed BlockQuery: %v", err)
		}
		want = q.Counter
	case bdx.OpBlockQueryWithSkip:
		q, err := bdx.DecodeBlockQueryWithSkip(m.Payload)
		if err != nil {
			t.Fatalf("a block for a malformed BlockQueryWithSkip: %v", err)
		}
		want = q.Counter
		s.pos += int64(min(q.BytesToSkip, uint64(s.end-s.pos))) // §6.5.7, clamped at the end
	default:
		t.Fatalf("a block in answer to %s", m)
	}
	switch {
	case counter != want || counter != s.next:
		t.Fatalf("block %d for query %d, %d blocks sent before (§6.4 counters)", counter, want, s.next)
	case !eof && len(data) != s.mbs, eof && len(data) >= s.mbs:
		t.Fatalf("a %d-octet block (EOF %v) at block size %d (§6.5.3)", len(data), eof, s.mbs)
	case s.pos+int64(len(data)) > s.end:
		t.Fatalf("a block past the window end %d", s.end)
	case !bytes.Equal(data, x.file[s.pos:s.pos+int64(len(data))]):
		t.Fatalf("block %d differs from the file at offset %d (§6.5.4)", counter, s.pos)
	case eof && s.pos+int64(len(data)) != s.end:
		t.Fatalf("BlockEOF at %d, before the window end %d", s.pos+int64(len(data)), s.end)
	}
	s.pos += int64(len(data))
	s.next++
}

func (x *bdxScript) run(script []byte) {
	r := &scriptReader{b: script}
	for steps := 0; len(r.b) > 0 && steps < 1024; steps++ {
		op := r.byte()
		switch op & 7 {
		case 0:
			a := r.byte()
			x.query(int(a&0x7F)%3, a&0x80 == 0)
		case 1:
			x.open(int(r.byte()) % 3)
		case 2:
			x.current().s.Close()
			x.current().done = true
		case 3:
			i := int(r.byte())
			if len(x.sessions) > 0 {
				x.cur = i % len(x.sessions)
			}
		case 4:
			f, m0, m1, o, l := r.byte(), r.byte(), r.byte(), r.byte(), r.byte()
			init := bdx.ReceiveInit{Control: bdx.ReceiverDrive.WithVersion(f >> 5), MaxBlockSize: uint16(m0) | uint16(m1)<<8,
				FileDesignator: []byte(DefaultDesignator)}
			if f&1 != 0 {
				init.Range |= bdx.StartOfs
				init.StartOffset = uint64(o) * 4096
			}
			if f&2 != 0 {
				init.Range |= bdx.DefLen
				init.Length = uint64(l) * 512
			}
			if f&4 != 0 {
				init.Range |= bdx.WideRange
			}
			if f&8 != 0 {
				init.FileDesignator = []byte("otaconf-fff1-8000-v3.ota")
			}
			if f&16 != 0 {
				init.Control = bdx.SenderDrive.WithVersion(f >> 5)
			}
			msg, err := bdx.Encode(init)
			if err != nil {
				x.t.Fatalf("encoding %+v: %v", init, err)
			}
			x.send(msg)
		case 5:
			d := r.byte()
			s := x.current()
			var body bdx.Body
			switch op >> 3 & 3 {
			case 0:
				body = bdx.BlockQuery{Counter: s.next + uint32(int8(d))}
			case 1:
				body = bdx.BlockQueryWithSkip{Counter: s.next, BytesToSkip: uint64(d) * 97}
			case 2:
				body = bdx.BlockAck{Counter: s.next - 1 + uint32(int8(d))}
			default:
				body = bdx.BlockAckEOF{Counter: s.next - 1 + uint32(int8(d))}
			}
			msg, _ := bdx.Encode(body) // counters and skips always encode
			x.send(msg)
		case 6:
			k := rawKinds[int(r.byte())%len(rawKinds)]
			payload := bytes.Clone(r.take(int(r.byte())))
			x.send(bdx.Message{Protocol: k.protocol, Opcode: k.opcode, Payload: payload})
		case 7:
			x.c.Advance(time.Duration(r.byte()) * 10 * time.Second)
		}
	}
	for _, s := range x.sessions {
		s.s.Close()
	}
	if n := x.p.bdx.Active(); n != 0 {
		x.t.Fatalf("%d transfer slots still held after every session was closed", n)
	}
}

// FuzzReferenceBDX plays arbitrary BDX message sequences, on several sessions of the three
// requestor roles, against a provider that has made a real offer to role 0. The provider must never
// panic, answer with a well-formed BDX message or a StatusReport with a code of its table, accept
// only an armed requestor and designator, serve exactly the file's bytes, and release every slot.
func FuzzReferenceBDX(f *testing.F) {
	f.Add([]byte{})
	// A whole download of the 1 MiB default image takes 1025 queries; this seed reads four blocks,
	// skips ahead, then lets another role try.
	f.Add([]byte{4, 0x00, 0x00, 0x04, 0, 0, 5, 0, 5, 0, 0x15, 0, 0x0D, 10, 5, 0, 1, 1, 4, 0x00, 0x00, 0x04, 0, 0})
	f.Add([]byte{4, 0x01, 0x00, 0x04, 0xFF, 0, 5, 0, 5, 0, 5, 0, 0x1D, 0, 7, 31, 5, 0})
	f.Add([]byte{0, 0x80, 4, 0x00, 0x10, 0x00, 0, 0, 0, 1, 4, 0x00, 0x10, 0x00, 0, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		c := fuzzClock()
		x := &bdxScript{t: t, c: c, p: fuzzProvider(t, c, 7), file: defaultFixture().file}
		x.query(0, true)
		if !x.armed[0] {
			t.Fatalf("the profile's query got no bdx offer")
		}
		x.run(script)
	})
}

// readCorpusBytes reads the single []byte value of a `go test fuzz v1` file.
func readCorpusBytes(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Len(t, lines, 2, "%s: one value", path)
	require.Equal(t, "go test fuzz v1", lines[0])
	lit, ok := strings.CutPrefix(lines[1], "[]byte(")
	require.True(t, ok, "%s: a []byte value", path)
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	require.NoError(t, err, path)
	return []byte(s)
}

// The BDX seeds written from the cases (cases/fuzzseeds_test.go) must mean what the cases did: most
// start transfers, and together they reach every kind of answer. This also pins the script format the
// generator shares with bdxScript.
func TestBDXSeedsFromTheCasesReachTransfers(t *testing.T) {
	paths, err := filepath.Glob("testdata/fuzz/FuzzReferenceBDX/case-*")
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no seeds: OTACONF_WRITE_FUZZ_SEEDS=1 go test ./cases -run TestWriteFuzzSeeds")
	accepted, blocks, refusals := 0, 0, 0
	for _, path := range paths {
		c := fuzzClock()
		x := &bdxScript{t: t, c: c, p: fuzzProvider(t, c, 7), file: defaultFixture().file}
		x.query(0, true)
		x.run(readCorpusBytes(t, path))
		for _, s := range x.sessions {
			switch {
			case s.next > 0:
				blocks++
				accepted++
			case s.accepted:
				accepted++
			case s.done:
				refusals++
			}
		}
	}
	require.Greater(t, accepted, len(paths)/2, "sessions accepted")
	require.Greater(t, blocks, len(paths)/3, "sessions that got blocks")
	require.Greater(t, refusals, 5, "sessions refused")
}
