package ota

import (
	"fmt"
	"strings"

	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/tlv"
)

// Level is the strength of a rule: MUST failures fail a run; SHOULD failures fail it only in strict
// mode; INFO findings never fail anything.
type Level uint8

// Levels.
const (
	LevelMust Level = iota
	LevelShould
	LevelInfo
)

func (l Level) String() string {
	switch l {
	case LevelMust:
		return "MUST"
	case LevelShould:
		return "SHOULD"
	}
	return "INFO"
}

// Finding is one broken (or noteworthy) rule in something a provider sent.
type Finding struct {
	Rule    string // stable id, e.g. "qir.update-available.fields"
	Level   Level
	Section string // spec section and test-plan step
	Field   string // "QueryImageResponse.UpdateToken"
	Message string // what was expected and what was found
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s: %s: %s [%s]", f.Level, f.Rule, f.Field, f.Message, f.Section)
}

// Failing returns the findings that fail a run (MUST, and SHOULD when strict).
func Failing(fs []Finding, strict bool) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Level == LevelMust || (strict && f.Level == LevelShould) {
			out = append(out, f)
		}
	}
	return out
}

// problemsToFindings turns decode problems of something a provider sent into MUST findings.
func problemsToFindings(probs []Problem) []Finding {
	out := make([]Finding, 0, len(probs))
	for _, p := range probs {
		rule := "response.encoding"
		if p.Status == im.ConstraintError {
			rule = "response.constraint"
		}
		msg := p.Reason
		if p.Offset >= 0 {
			msg = fmt.Sprintf("%s (byte %d)", msg, p.Offset)
		}
		out = append(out, Finding{Rule: rule, Level: LevelMust, Section: p.Section, Field: p.Field, Message: msg})
	}
	return out
}

// tlvFindings reports the strict checker's SHOULD-level findings on a provider's encoding.
func tlvFindings(cmd string, b []byte) []Finding {
	fs, err := tlv.Check(b)
	if err != nil {
		return nil // decoding problems are reported by the decoder
	}
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		out = append(out, Finding{Rule: "tlv." + f.Rule, Level: LevelShould, Section: "Core Appendix A (TLV encoding)", Field: cmd + " " + f.Path, Message: fmt.Sprintf("byte %d: %s", f.Offset, f.Detail)})
	}
	return out
}

// QueryContext is what is known when judging a QueryImageResponse.
type QueryContext struct {
	Request QueryImage // the query that was answered
	// ProviderNodeID is the provider's operational node id on the fabric the query came over; the
	// bdx:// host must equal it. 0 means unknown (not checked).
	ProviderNodeID uint64
}

// DecodeQueryImageResponse decodes a provider's QueryImageResponse; problems are MUST findings.
func DecodeQueryImageResponse(b []byte) (QueryImageResponse, []Finding) {
	v, probs := decodeFields(&queryImageResponseSchema, b)
	r := QueryImageResponse{
		Status:                Status(v[0].u),
		DelayedActionTime:     optU32(v[1]),
		ImageURI:              optStr(v[2]),
		SoftwareVersion:       optU32(v[3]),
		SoftwareVersionString: optStr(v[4]),
		UpdateToken:           optBytes(v[5]),
		UserConsentNeeded:     optBool(v[6]),
		MetadataForRequestor:  optBytes(v[7]),
	}
	return r, problemsToFindings(probs)
}

// CheckQueryImageResponse decodes a QueryImageResponse and checks every response rule of §11.20.6.5.2
// and ota-provider.md §4 against the query it answered.
func CheckQueryImageResponse(b []byte, ctx QueryContext) (QueryImageResponse, []Finding) {
	r, out := DecodeQueryImageResponse(b)
	out = append(out, tlvFindings("QueryImageResponse", b)...)
	if len(out) > 0 && hasMustDecode(out) {
		return r, out // do not judge semantics of a response that does not decode
	}
	return r, append(out, QueryImageResponseRules(r, ctx)...)
}

func hasMustDecode(fs []Finding) bool {
	for _, f := range fs {
		if f.Rule == "response.encoding" {
			return true
		}
	}
	return false
}

// QueryImageResponseRules checks a decoded QueryImageResponse (§11.20.6.5.2, ota-provider.md §4.2–§4.7).
func QueryImageResponseRules(r QueryImageResponse, ctx QueryContext) []Finding {
	var out []Finding
	add := func(rule string, lvl Level, sec, field, format string, args ...any) {
		out = append(out, Finding{Rule: rule, Level: lvl, Section: sec, Field: "QueryImageResponse." + field, Message: fmt.Sprintf(format, args...)})
	}
	present := map[string]bool{
		"ImageURI": r.ImageURI != nil, "SoftwareVersion": r.SoftwareVersion != nil,
		"SoftwareVersionString": r.SoftwareVersionString != nil, "UpdateToken": r.UpdateToken != nil,
	}
	order := []string{"ImageURI", "SoftwareVersion", "SoftwareVersionString", "UpdateToken"}
	switch r.Status {
	case StatusUpdateAvailable:
		var missing []string
		for _, f := range order {
			if !present[f] {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			add("qir.update-available.fields", LevelMust, "§11.20.6.5.2 (conformance: Status == UpdateAvailable), TC-SU-3.2 step 1", strings.Join(missing, ","),
				"UpdateAvailable must carry ImageURI, SoftwareVersion, SoftwareVersionString and UpdateToken; missing: %s", strings.Join(missing, ", "))
		}
		if r.SoftwareVersion != nil && *r.SoftwareVersion <= ctx.Request.SoftwareVersion {
			add("qir.version.newer", LevelMust, "§11.20.3.2, ota-provider.md §4.5 (TC-SU-2.2 step 6)", "SoftwareVersion",
				"offered version %d is not newer than the requestor's %d; a requestor must ignore it", *r.SoftwareVersion, ctx.Request.SoftwareVersion)
		}
		if r.ImageURI != nil {
			out = append(out, imageURIRules(*r.ImageURI, ctx)...)
		}
		if r.UserConsentNeeded != nil && *r.UserConsentNeeded && (ctx.Request.RequestorCanConsent == nil || !*ctx.Request.RequestorCanConsent) {
			add("qir.consent.requestor-cannot", LevelShould, "§11.20.3.4 (ota-provider.md §4.7), TC-SU-3.3 steps 2-3", "UserConsentNeeded",
				"UserConsentNeeded=true sent to a requestor that did not say RequestorCanConsent=true; it will be ignored, so the provider must obtain consent itself")
		}
		if r.DelayedActionTime != nil {
			add("qir.delay.non-busy", LevelInfo, "§11.20.6.5.2.2 (1.4.2+ conformance O; ≤1.4.1 prose: only with Busy)", "DelayedActionTime",
				"DelayedActionTime %d with UpdateAvailable: allowed since Core 1.4.2, not before", *r.DelayedActionTime)
		}
	case StatusBusy:
		if r.DelayedActionTime == nil {
			add("qir.busy.delay", LevelMust, "§11.20.6.5.2.2 (conformance: M if Status == Busy), TC-SU-3.2 step 5", "DelayedActionTime",
				"Busy must carry DelayedActionTime; absent")
		} else {
			switch d := *r.DelayedActionTime; {
			case d == 0:
				add("qir.busy.delay-sane", LevelShould, "§11.20.6.5.2.2, ota-provider.md §4.6", "DelayedActionTime",
					"Busy with DelayedActionTime 0 asks the requestor to retry at once; requestors wait at least %d s anyway", MinRequeryDelay)
			case d > MaxApplyDelay:
				add("qir.busy.delay-sane", LevelShould, "§11.20.6.5.2.2, ota-provider.md §4.6", "DelayedActionTime",
					"Busy with DelayedActionTime %d s, more than a day (%d s)", d, MaxApplyDelay)
			}
		}
		fallthrough
	case StatusNotAvailable, StatusDownloadProtocolNotSupported:
		var extra []string
		for _, f := range order {
			if present[f] {
				extra = append(extra, f)
			}
		}
		if len(extra) > 0 {
			add("qir.fields.only-with-update", LevelShould, "§11.20.6.5.2 (1.4.2+ conformance: Status == UpdateAvailable); bug connectedhomeip#13387", strings.Join(extra, ","),
				"%s carries %s, which belong only to UpdateAvailable", r.Status, strings.Join(extra, ", "))
		}
		if r.Status != StatusBusy && r.DelayedActionTime != nil {
			add("qir.delay.non-busy", LevelInfo, "§11.20.6.5.2.2 (1.4.2+ conformance O; ≤1.4.1 prose: only with Busy)", "DelayedActionTime",
				"DelayedActionTime %d with %s: allowed since Core 1.4.2, not before", *r.DelayedActionTime, r.Status)
		}
	default:
		add("qir.status.defined", LevelMust, "§11.20.6.4.1", "Status", "Status %d is not a defined StatusEnum value (0..3)", uint8(r.Status))
	}
	return out
}

func imageURIRules(uri string, ctx QueryContext) []Finding {
	var out []Finding
	listed := func(ps ...DownloadProtocol) bool {
		for _, have := range ctx.Request.ProtocolsSupported {
			for _, p := range ps {
				if have == p {
					return true
				}
			}
		}
		return false
	}
	mismatch := func(scheme string, want string) {
		out = append(out, Finding{Rule: "qir.uri.protocol-offered", Level: LevelMust, Section: "§11.20.3.3.1 (download protocol selection)", Field: "QueryImageResponse.ImageURI",
			Message: fmt.Sprintf("%s URI for a requestor whose ProtocolsSupported %v lists no %s", scheme, ctx.Request.ProtocolsSupported, want)})
	}
	switch {
	case strings.HasPrefix(strings.ToLower(uri), "bdx:"):
		u, fs := ParseBDXURI(uri)
		out = append(out, fs...)
		if !listed(ProtocolBDXSynchronous, ProtocolBDXAsynchronous) {
			mismatch("bdx", "BDX protocol")
		}
		if len(fs) == 0 && ctx.ProviderNodeID != 0 && u.NodeID != ctx.ProviderNodeID {
			out = append(out, Finding{Rule: "uri.bdx.node-id-provider", Level: LevelMust, Section: "§11.20.6.5.2.3 rule 4", Field: "QueryImageResponse.ImageURI",
				Message: fmt.Sprintf("URI names node %016X, but the provider is node %016X on this fabric", u.NodeID, ctx.ProviderNodeID)})
		}
	case strings.HasPrefix(strings.ToLower(uri), "https:"):
		out = append(out, checkHTTPSURI(uri)...)
		if !listed(ProtocolHTTPS) {
			mismatch("https", "HTTPS")
		}
	default:
		scheme, _, _ := strings.Cut(uri, ":")
		out = append(out, Finding{Rule: "uri.scheme", Level: LevelMust, Section: "§11.20.6.5.2.3", Field: "QueryImageResponse.ImageURI",
			Message: fmt.Sprintf("scheme %q: only bdx and https are allowed (plain http is forbidden)", clip(scheme, 16))})
	}
	return out
}

// DecodeApplyUpdateResponse decodes a provider's ApplyUpdateResponse; problems are MUST findings.
func DecodeApplyUpdateResponse(b []byte) (ApplyUpdateResponse, []Finding) {
	v, probs := decodeFields(&applyUpdateResponseSchema, b)
	return ApplyUpdateResponse{Action: ApplyAction(v[0].u), DelayedActionTime: uint32(v[1].u)}, problemsToFindings(probs)
}

// CheckApplyUpdateResponse decodes an ApplyUpdateResponse and checks its rules (§11.20.6.5.4).
func CheckApplyUpdateResponse(b []byte) (ApplyUpdateResponse, []Finding) {
	r, out := DecodeApplyUpdateResponse(b)
	out = append(out, tlvFindings("ApplyUpdateResponse", b)...)
	if hasMustDecode(out) {
		return r, out
	}
	if r.DelayedActionTime > MaxApplyDelay {
		out = append(out, Finding{Rule: "aur.delay-sane", Level: LevelShould, Section: "§11.20.6.5.4.2", Field: "ApplyUpdateResponse.DelayedActionTime",
			Message: fmt.Sprintf("%d s is more than a day; requestors may clamp it to %d", r.DelayedActionTime, MaxApplyDelay)})
	}
	return r, out
}
