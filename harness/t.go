package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"

	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
)

// T is what a case's Run receives: the target, the run's options and the verifiers. A case runs in
// one goroutine; Fatalf, Skipf and target errors end it at once, like testing.T.FailNow.
type T struct {
	ctx        context.Context
	target     Target
	id         Identity
	opts       *Options
	c          *Case
	res        *Result
	rng        *rand.Rand
	step       string
	requestors []ota.Requestor
	// cleanups run when the case ends, last first.
	cleanups []func()
}

// Context is the case's context; it ends at the case timeout.
func (t *T) Context() context.Context { return t.ctx }

// Rand is the case's random source, seeded from the run seed and the case id.
func (t *T) Rand() *rand.Rand { return t.rng }

// Identity is the target's identity.
func (t *T) Identity() Identity { return t.id }

// Profile is the requestor profile the provider's images are set up for.
func (t *T) Profile() Profile { return t.opts.Profile }

// Requestor returns the i-th requestor identity (0: the main requestor; 1: another node on the same
// fabric; 2: the main requestor's node id on another fabric).
func (t *T) Requestor(i int) ota.Requestor { return t.requestors[i] }

// Step names the test-plan step now running; it prefixes log lines and exchange records.
func (t *T) Step(format string, args ...any) {
	t.step = fmt.Sprintf(format, args...)
	t.Logf("step %s", t.step)
}

// Logf adds a line to the case log.
func (t *T) Logf(format string, args ...any) {
	t.res.Log = append(t.res.Log, fmt.Sprintf(format, args...))
}

// Query builds the default QueryImage of the profile: the requestor's vendor, product and version,
// BDX synchronous only.
func (t *T) Query() ota.QueryImage {
	p := t.opts.Profile
	q := ota.QueryImage{
		VendorID: p.VendorID, ProductID: p.ProductID, SoftwareVersion: p.SoftwareVersion,
		ProtocolsSupported:  []ota.DownloadProtocol{ota.ProtocolBDXSynchronous},
		RequestorCanConsent: ota.Ptr(false),
	}
	if p.HardwareVersion != nil {
		q.HardwareVersion = p.HardwareVersion
	}
	if p.Location != "" {
		q.Location = ota.Ptr(p.Location)
	}
	return q
}

// Failf records a failure of a check at the given level (weakened to the case's level: a check
// inside a SHOULD case is at most SHOULD), and goes on.
func (t *T) Failf(level ota.Level, rule, section, expected, actual, format string, args ...any) {
	if t.c.Level > level {
		level = t.c.Level
	}
	f := Failure{Level: level, Rule: rule, Section: section, Expected: expected, Actual: actual, Message: fmt.Sprintf(format, args...)}
	if t.step != "" {
		f.Message = "step " + t.step + ": " + f.Message
	}
	if level == ota.LevelMust || (level == ota.LevelShould && t.opts.Strict) {
		t.res.Failures = append(t.res.Failures, f)
	} else {
		t.res.Warnings = append(t.res.Warnings, f)
	}
}

// Errorf records a failure at the case's level and goes on.
func (t *T) Errorf(format string, args ...any) {
	t.Failf(t.c.Level, "", t.c.Section, "", "", format, args...)
}

// Fatalf records a failure at the case's level and ends the case.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	t.stop()
}

// Expect compares expected and actual (as text) and records a failure naming both when they differ.
// It reports whether they matched.
func (t *T) Expect(level ota.Level, section, what, expected, actual string) bool {
	if expected == actual {
		return true
	}
	t.Failf(level, "", section, expected, actual, "%s: expected %s, got %s", what, expected, actual)
	return false
}

// Skipf ends the case as skipped with a reason.
func (t *T) Skipf(format string, args ...any) {
	t.res.Outcome = Skip
	t.res.Message = fmt.Sprintf(format, args...)
	t.stop()
}

// errorOut ends the case as an error (the target could not be driven).
func (t *T) errorOut(format string, args ...any) {
	t.res.Outcome = Error
	t.res.Message = fmt.Sprintf(format, args...)
	if t.step != "" {
		t.res.Message = "step " + t.step + ": " + t.res.Message
	}
	t.stop()
}

// stop ends the case's goroutine; the runner reads the outcome from the result.
func (t *T) stop() { runtime.Goexit() }

// Findings records rule findings from the ota package.
func (t *T) Findings(fs []ota.Finding) {
	for _, f := range fs {
		t.Failf(f.Level, f.Rule, f.Section, "", "", "%s: %s", f.Field, f.Message)
	}
}

// Invoke sends a command with raw fields as requestor r to the provider's endpoint and cluster and
// returns the answer. Transport failures end the case as an error.
func (t *T) Invoke(r ota.Requestor, cmd ota.CommandID, fields []byte) ota.Response {
	return t.InvokeAt(r, t.id.Endpoint, ota.ProviderClusterID, cmd, fields)
}

// InvokeAt is Invoke on any endpoint and cluster.
func (t *T) InvokeAt(r ota.Requestor, endpoint uint16, cluster uint32, cmd ota.CommandID, fields []byte) ota.Response {
	rec := ExchangeRecord{Step: t.step, Requestor: r.String(), Request: cmd.String(), RequestHex: hexOf(fields)}
	resp, err := t.target.Invoke(t.ctx, r, endpoint, cluster, cmd, fields)
	if err != nil {
		rec.Status = "transport error: " + err.Error()
		t.res.Exchanges = append(t.res.Exchanges, rec)
		if errors.Is(err, context.DeadlineExceeded) || t.ctx.Err() != nil {
			t.errorOut("%s: no answer within the case timeout: %v", cmd, err)
		}
		t.errorOut("%s: %v", cmd, err)
	}
	if resp.HasCommand {
		rec.Response = resp.Command.String()
		rec.ResponseHex = hexOf(resp.Fields)
		if e, err := tlv.Decode(resp.Fields); err == nil {
			rec.Decoded = e.Pretty()
		} else {
			rec.Decoded = "(does not decode: " + err.Error() + ")"
		}
	} else {
		rec.Status = resp.Status.String()
	}
	t.res.Exchanges = append(t.res.Exchanges, rec)
	return resp
}

// Encode encodes a typed command; a failure is a bug in the case.
func (t *T) Encode(c ota.Command) []byte {
	b, err := ota.Encode(c)
	if err != nil {
		t.Fatalf("encoding %s: %v", c.ID(), err)
	}
	return b
}

// QueryImage sends q as requestor r, requires a QueryImageResponse and checks it against every
// response rule (ota.CheckQueryImageResponse) with the provider's node id on r's fabric.
func (t *T) QueryImage(r ota.Requestor, q ota.QueryImage) ota.QueryImageResponse {
	resp := t.Invoke(r, ota.CmdQueryImage, t.Encode(q))
	if !resp.HasCommand || resp.Command != ota.CmdQueryImageResponse {
		t.Failf(ota.LevelMust, "qi.response", "§11.20.6.5.1 (QueryImage is answered with QueryImageResponse)",
			"QueryImageResponse", resp.String(), "a valid QueryImage must be answered with a QueryImageResponse")
		t.stop()
	}
	qr, fs := ota.CheckQueryImageResponse(resp.Fields, ota.QueryContext{Request: q, ProviderNodeID: t.id.NodeID(r.FabricIndex)})
	t.Findings(fs)
	return qr
}

// Offer is an UpdateAvailable answer.
type Offer struct {
	Response   ota.QueryImageResponse
	URI        string
	Designator []byte // the bdx:// path, nil for other schemes
	Token      []byte
	Version    uint32
}

// ExpectOffer sends q and requires UpdateAvailable with all its fields; it ends the case otherwise.
func (t *T) ExpectOffer(r ota.Requestor, q ota.QueryImage) Offer {
	qr := t.QueryImage(r, q)
	if qr.Status != ota.StatusUpdateAvailable {
		t.Failf(ota.LevelMust, "qi.expected-offer", "§11.20.6.5.2", ota.StatusUpdateAvailable.String(), qr.Status.String(),
			"the provider is set up to offer version %s to %s but answered %s", t.expectedVersion(), r, qr.Status)
		t.stop()
	}
	if qr.ImageURI == nil || qr.SoftwareVersion == nil || qr.UpdateToken == nil || qr.SoftwareVersionString == nil {
		t.stop() // already reported by the response rules
	}
	o := Offer{Response: qr, URI: *qr.ImageURI, Token: qr.UpdateToken, Version: *qr.SoftwareVersion}
	if strings.HasPrefix(o.URI, "bdx://") {
		u, _ := ota.ParseBDXURI(o.URI)
		o.Designator = []byte(u.Designator)
	}
	if want := t.opts.Profile.ExpectedVersion; want != 0 && o.Version != want {
		t.Failf(ota.LevelMust, "qi.expected-version", "TC-SU-3.2 step 1 (SoftwareVersion of the image served)", fmt.Sprint(want), fmt.Sprint(o.Version),
			"offered SoftwareVersion differs from the image the provider was set up with")
	}
	return o
}

func (t *T) expectedVersion() string {
	if v := t.opts.Profile.ExpectedVersion; v != 0 {
		return fmt.Sprint(v)
	}
	return "(newer)"
}

// ExpectStatus checks the answer to command cmd against the status a verdict requires: the exact
// status passes; a tolerated alternative is a SHOULD failure; anything else is a MUST failure. A
// request to be processed (nil verdict) must get its response command (QueryImageResponse,
// ApplyUpdateResponse), or SUCCESS alone for NotifyUpdateApplied.
func (t *T) ExpectStatus(cmd ota.CommandID, resp ota.Response, v *ota.Verdict) {
	if v == nil {
		want, hasResponse := ota.ResponseTo(cmd)
		switch {
		case hasResponse && (!resp.HasCommand || resp.Command != want):
			t.Failf(ota.LevelMust, "im.response", "§11.20.6.5", want.String(), resp.String(), "a valid %s must be answered with %s", cmd, want)
		case !hasResponse && (resp.HasCommand || resp.Status != im.Success):
			t.Failf(ota.LevelMust, "im.status", "§11.20.6.5.5", im.Success.String(), resp.String(), "a valid %s must be answered with status SUCCESS alone", cmd)
		}
		return
	}
	got := resp.Status
	if resp.HasCommand {
		got = im.Success // the request was processed
	}
	exact, ok := v.Allows(got)
	section := v.Problems[0].Section
	switch {
	case exact:
	case ok:
		t.Failf(ota.LevelShould, "im.status", section, v.Status.String(), resp.String(),
			"answered %s where %s is required (%s); tolerated as a known implementation difference", resp, v.Status, v.Reason())
	default:
		t.Failf(ota.LevelMust, "im.status", section, v.Status.String(), resp.String(), "expected %s for %s, got %s", v.Status, v.Reason(), resp)
	}
}

// ApplyUpdate sends ApplyUpdateRequest, requires an ApplyUpdateResponse and checks its rules.
func (t *T) ApplyUpdate(r ota.Requestor, a ota.ApplyUpdateRequest) ota.ApplyUpdateResponse {
	resp := t.Invoke(r, ota.CmdApplyUpdateRequest, t.Encode(a))
	if !resp.HasCommand || resp.Command != ota.CmdApplyUpdateResponse {
		t.Failf(ota.LevelMust, "aur.response", "§11.20.6.5.3 (answered with ApplyUpdateResponse; unknown tokens included, §4.9)",
			"ApplyUpdateResponse", resp.String(), "a valid ApplyUpdateRequest must be answered with an ApplyUpdateResponse")
		t.stop()
	}
	ar, fs := ota.CheckApplyUpdateResponse(resp.Fields)
	t.Findings(fs)
	return ar
}

// NotifyUpdateApplied sends NotifyUpdateApplied and requires SUCCESS.
func (t *T) NotifyUpdateApplied(r ota.Requestor, n ota.NotifyUpdateApplied) {
	resp := t.Invoke(r, ota.CmdNotifyUpdateApplied, t.Encode(n))
	if resp.HasCommand || resp.Status != im.Success {
		t.Failf(ota.LevelMust, "nua.status", "§11.20.6.5.5 (answered with SUCCESS, unknown tokens included)", "SUCCESS (0x00)", resp.String(),
			"NotifyUpdateApplied must be answered with status SUCCESS")
	}
}

// Download runs a BDX download as requestor r with the checking receiver and records every
// provider-side rule it saw broken. It ends the case if the exchange cannot be opened.
func (t *T) Download(r ota.Requestor, opts bdx.ReceiveOptions) (bdx.Result, []byte, error) {
	ex, err := t.target.OpenBDX(t.ctx, r)
	if err != nil {
		t.errorOut("opening a BDX exchange as %s: %v", r, err)
	}
	defer ex.Close()
	if opts.Expected == nil && len(t.opts.Profile.Image) > 0 {
		opts.Expected = t.opts.Profile.Image
	}
	var buf bytes.Buffer
	res, err := bdx.Receive(t.ctx, ex, &buf, opts)
	rec := ExchangeRecord{Step: t.step, Requestor: r.String(), Request: fmt.Sprintf("BDX ReceiveInit %q (MBS %d, offset %d)", opts.Designator, opts.MaxBlockSize, opts.StartOffset)}
	switch {
	case res.Accept != nil:
		rec.Response = fmt.Sprintf("ReceiveAccept MBS %d; %d blocks, %d bytes, complete %v", res.MaxBlockSize, res.Blocks, res.Bytes, res.Complete)
	case res.StatusIsBDX:
		rec.Response = fmt.Sprintf("StatusReport %s", res.StatusCode)
	}
	if err != nil {
		rec.Status = err.Error()
	}
	t.res.Exchanges = append(t.res.Exchanges, rec)
	for _, f := range res.Findings {
		level := ota.LevelMust
		if f.Rule == bdx.RuleAcceptStartOfs {
			level = ota.LevelShould
		}
		msg := fmt.Sprintf("%s at %s", f.Rule, f.At)
		if f.Count > 1 {
			msg += fmt.Sprintf(" (%d times)", f.Count)
		}
		t.Failf(level, f.Rule, f.Ref, f.Expected, f.Actual, "%s", msg)
	}
	if t.ctx.Err() != nil {
		t.errorOut("BDX download did not finish within the case timeout: %v", err)
	}
	return res, buf.Bytes(), err
}

// ExpectDownload downloads the offer's whole image and requires it to complete.
func (t *T) ExpectDownload(r ota.Requestor, o Offer, opts bdx.ReceiveOptions) []byte {
	if o.Designator == nil {
		t.Fatalf("the offer's ImageURI %q is not a bdx:// URI", o.URI)
	}
	opts.Designator = o.Designator
	res, data, err := t.Download(r, opts)
	if err != nil || !res.Complete {
		t.Failf(ota.LevelMust, "bdx.complete", "TC-SU-3.3 step 1; TC-BDX-2.1", "a complete transfer ending in BlockEOF",
			describeTransfer(res, err), "the download of %q did not complete", o.Designator)
		t.stop()
	}
	return data
}

func describeTransfer(res bdx.Result, err error) string {
	s := fmt.Sprintf("%d blocks, %d bytes", res.Blocks, res.Bytes)
	if res.StatusIsBDX {
		s += ", provider sent StatusReport " + res.StatusCode.String()
	}
	if err != nil {
		s += ", " + err.Error()
	}
	return s
}

func hexOf(b []byte) string {
	const max = 512
	if len(b) > max {
		return fmt.Sprintf("%X… (%d octets)", b[:max], len(b))
	}
	return fmt.Sprintf("%X", b)
}

func decodeStatus(m bdx.Message) (securechannel.StatusReport, error) {
	return securechannel.DecodeStatusReport(m.Payload)
}
