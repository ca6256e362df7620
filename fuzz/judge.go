package fuzz

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
)

// problem is one broken oracle in one answer.
type problem struct {
	oracle   Oracle
	level    ota.Level
	rule     string
	section  string
	expected string
	actual   string
	message  string
	// sig identifies the defect for deduplication and minimisation: oracle, rule or expected
	// status, command and the deciding field.
	sig string
}

func signature(o Oracle, parts ...string) string {
	return string(o) + "|" + strings.Join(parts, "|")
}

const secAnswered = "Core §8.10.1; ota-provider.md §4.1, §4.11 (every invoke is answered, with a response command or a status)"

var requestSection = map[ota.CommandID]string{
	ota.CmdQueryImage:          "§11.20.6.5.1",
	ota.CmdApplyUpdateRequest:  "§11.20.6.5.3",
	ota.CmdNotifyUpdateApplied: "§11.20.6.5.5",
}

// answer is one invoke's outcome as the oracles see it.
type answer struct {
	name     string // in messages and signatures; "" for cmd's name
	cmd      ota.CommandID
	fields   []byte // as sent
	provider uint64 // the provider's node id on the requestor's fabric (0: unknown)
	resp     ota.Response
	err      error
	timedOut bool
}

// judge applies the oracles to one answer in order: transport, well-formedness, status, response
// rules. It returns the problems of the first oracle that fails (response rules may give several)
// and the UpdateToken of an UpdateAvailable answer.
func judge(a answer, strict bool, timeout time.Duration) ([]problem, []byte) {
	name := a.cmd.String()
	if a.name != "" {
		name = a.name
	}
	if a.err != nil {
		if a.timedOut {
			return []problem{{oracle: OracleUnresponsive, level: ota.LevelMust, section: secAnswered,
				expected: fmt.Sprintf("an answer within %v", timeout), actual: "no answer",
				message: fmt.Sprintf("%s: no answer within %v: %v", name, timeout, a.err),
				sig:     signature(OracleUnresponsive, name)}}, nil
		}
		class := "transport"
		var pe *panicError
		if errors.As(a.err, &pe) {
			class = "panic"
		}
		return []problem{{oracle: OracleTargetError, level: ota.LevelMust, section: secAnswered,
			expected: "an answer", actual: firstLine(a.err.Error()),
			message: fmt.Sprintf("%s: %v", name, a.err), sig: signature(OracleTargetError, name, class)}}, nil
	}
	resp := a.resp
	want, hasResponse := ota.ResponseTo(a.cmd)

	// The request's verdict: nil means it must be processed.
	var v *ota.Verdict
	var q ota.QueryImage
	if a.cmd == ota.CmdQueryImage {
		q, v = ota.DecodeQueryImage(a.fields)
	} else {
		v = ota.ExpectedStatus(a.cmd, a.fields)
	}

	// Well-formed answer.
	malformed := func(kind, field, section, expected, actual, format string, args ...any) []problem {
		return []problem{{oracle: OracleMalformed, level: ota.LevelMust, section: section, expected: expected, actual: actual,
			message: fmt.Sprintf(format, args...), sig: signature(OracleMalformed, name, kind, field)}}
	}
	var token []byte
	var ruleFindings []ota.Finding
	if resp.HasCommand {
		switch {
		case !hasResponse && a.cmd == ota.CmdNotifyUpdateApplied:
			return malformed("unexpected-command", "", "§11.20.6.5.5 (answered with a status, no response command)", "a status", resp.Command.String(),
				"%s is answered with a status only, got command %s", name, resp.Command), nil
		case !hasResponse:
			return malformed("unexpected-command", "", "§8.10.1 UNSUPPORTED_COMMAND", "a status", resp.Command.String(),
				"%s is not a command the provider accepts, so it has no response command; got %s", name, resp.Command), nil
		case resp.Command != want:
			return malformed("wrong-command", resp.Command.String(), "§11.20.6.5 (QueryImage → QueryImageResponse, ApplyUpdateRequest → ApplyUpdateResponse)",
				want.String(), resp.Command.String(), "%s must be answered with %s, got %s", name, want, resp.Command), nil
		}
		var fs []ota.Finding
		if want == ota.CmdQueryImageResponse {
			var qr ota.QueryImageResponse
			qr, fs = ota.CheckQueryImageResponse(resp.Fields, ota.QueryContext{Request: q, ProviderNodeID: a.provider})
			if qr.Status == ota.StatusUpdateAvailable && qr.UpdateToken != nil {
				token = qr.UpdateToken
			}
		} else {
			_, fs = ota.CheckApplyUpdateResponse(resp.Fields)
		}
		for _, f := range fs {
			if f.Rule == "response.encoding" {
				return malformed("undecodable", f.Field, f.Section, "fields that decode", f.Message,
					"%s fields do not decode: %s: %s", resp.Command, f.Field, f.Message), token
			}
		}
		ruleFindings = fs
	} else if !resp.Status.Defined() {
		return malformed("undefined-status", "", "Core §8.10.1 (status codes)", "a defined IM status", resp.Status.String(),
			"%s answered with status 0x%02X, which the Interaction Model does not define", name, uint8(resp.Status)), nil
	}

	// Status.
	actual := resp.Status.Name()
	if resp.HasCommand {
		actual = resp.Command.String()
	}
	if v == nil {
		switch {
		case hasResponse && !resp.HasCommand:
			return []problem{{oracle: OracleStatus, level: ota.LevelMust, section: requestSection[a.cmd], expected: want.String(), actual: resp.String(),
				message: fmt.Sprintf("a valid %s must be answered with %s, got %s", name, want, resp),
				sig:     signature(OracleStatus, name, want.String(), "", actual)}}, token
		case !hasResponse && resp.Status != im.Success:
			return []problem{{oracle: OracleStatus, level: ota.LevelMust, section: requestSection[a.cmd] + " (answered with SUCCESS, unknown tokens included)",
				expected: im.Success.String(), actual: resp.String(),
				message: fmt.Sprintf("a valid %s must be answered with SUCCESS, got %s", name, resp),
				sig:     signature(OracleStatus, name, im.Success.Name(), "", actual)}}, token
		}
	} else {
		deciding := v.Problems[0]
		sig := signature(OracleStatus, name, v.Status.Name(), deciding.Field, actual)
		got := resp.Status
		if resp.HasCommand {
			got = im.Success // processed: tolerated only where the verdict says so (a repeated field)
		}
		exact, tolerated := v.Allows(got)
		switch {
		case exact:
		case tolerated && strict:
			return []problem{{oracle: OracleStatus, level: ota.LevelShould, section: deciding.Section, expected: v.Status.String(), actual: resp.String(),
				message: fmt.Sprintf("answered %s where %s is required (%s); tolerated as a known implementation difference", resp, v.Status, v.Reason()),
				sig:     sig}}, token
		case !tolerated:
			return []problem{{oracle: OracleStatus, level: ota.LevelMust, section: deciding.Section, expected: v.Status.String(), actual: resp.String(),
				message: fmt.Sprintf("expected %s for %s, got %s", v.Status, v.Reason(), resp), sig: sig}}, token
		}
		return nil, token
	}

	// Response rules: every rule of the response (MUST always, SHOULD in strict mode).
	var out []problem
	for _, f := range ota.Failing(ruleFindings, strict) {
		out = append(out, problem{oracle: OracleResponseRule, level: f.Level, rule: f.Rule, section: f.Section,
			actual: f.Message, message: fmt.Sprintf("%s: %s", f.Field, f.Message),
			sig: signature(OracleResponseRule, name, f.Rule, f.Field)})
	}
	return out, token
}
