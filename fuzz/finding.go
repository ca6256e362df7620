package fuzz

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/tlv"
)

// Oracle names the check that a finding broke.
type Oracle string

// Oracles, in the order they judge a step.
const (
	// OracleUnresponsive: no answer within the per-request timeout.
	OracleUnresponsive Oracle = "unresponsive"
	// OracleTargetError: the request failed in transport (a child that exited, a provider that
	// panicked, a reply that is not one).
	OracleTargetError Oracle = "target-error"
	// OracleMalformed: the answer is not a well-formed answer to the request (another response
	// command, fields that do not decode, an undefined IM status, a command for NotifyUpdateApplied).
	OracleMalformed Oracle = "malformed-answer"
	// OracleStatus: the IM status differs from what ota.ExpectedStatus requires.
	OracleStatus Oracle = "status"
	// OracleResponseRule: a response command breaks a rule of ota.CheckQueryImageResponse or
	// ota.CheckApplyUpdateResponse.
	OracleResponseRule Oracle = "response-rule"
	// OracleLiveness: after a finding, the profile's known-good QueryImage no longer gets a
	// QueryImageResponse.
	OracleLiveness Oracle = "liveness"
)

// Step is one invoke of an input. Most inputs are one step; sequences chain several.
type Step struct {
	// Requestor is the requestor role: 0 the main requestor, 1 another node on its fabric, 2 the
	// main requestor's node id on a second fabric (harness.FreshRequestors).
	Requestor int
	Command   ota.CommandID
	// Fields are the command fields as sent (an anonymous TLV structure, or anything at all).
	Fields []byte
	// TokenFrom is -1, or the index of an earlier step whose UpdateAvailable token replaces the
	// UpdateToken (context tag 0) of Fields at run time; Fields is then a typed template.
	TokenFrom int
	// Note says which generator made the step and how.
	Note string
	// BDX, when not empty, makes the step a BDX probe instead of an invoke: the messages are sent in
	// order on a new exchange (Command, Fields and TokenFrom are unused).
	BDX []BDXMessage
}

type stepJSON struct {
	Requestor   int       `json:"requestor"`
	Command     uint32    `json:"command"`
	CommandName string    `json:"command_name,omitempty"`
	Fields      string    `json:"fields"`
	TokenFrom   int       `json:"token_from"`
	Note        string    `json:"note,omitempty"`
	Decoded     string    `json:"decoded,omitempty"` // for people; ignored when read
	BDX         []bdxJSON `json:"bdx,omitempty"`
}

type bdxJSON struct {
	Opcode     uint8  `json:"opcode"`
	OpcodeName string `json:"opcode_name,omitempty"` // for people; ignored when read
	Payload    string `json:"payload"`
}

// MarshalJSON writes the fields in hex, with their decoded form for people.
func (s Step) MarshalJSON() ([]byte, error) {
	j := stepJSON{Requestor: s.Requestor, Command: uint32(s.Command), CommandName: s.Command.String(),
		Fields: hex.EncodeToString(s.Fields), TokenFrom: s.TokenFrom, Note: s.Note}
	if e, err := tlv.Decode(s.Fields); err == nil && len(s.Fields) <= 4096 {
		j.Decoded = e.String()
	}
	for _, m := range s.BDX {
		j.BDX = append(j.BDX, bdxJSON{Opcode: m.Opcode, OpcodeName: bdx.Opcode(m.Opcode).String(), Payload: hex.EncodeToString(m.Payload)})
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *Step) UnmarshalJSON(b []byte) error {
	j := stepJSON{TokenFrom: -1}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	f, err := hex.DecodeString(j.Fields)
	if err != nil {
		return fmt.Errorf("step fields: %w", err)
	}
	*s = Step{Requestor: j.Requestor, Command: ota.CommandID(j.Command), Fields: f, TokenFrom: j.TokenFrom, Note: j.Note}
	for i, m := range j.BDX {
		p, err := hex.DecodeString(m.Payload)
		if err != nil {
			return fmt.Errorf("step bdx message %d payload: %w", i, err)
		}
		s.BDX = append(s.BDX, BDXMessage{Opcode: m.Opcode, Payload: p})
	}
	return nil
}

// validate checks what a replay relies on: roles in range, token sources earlier than the step.
func validateSteps(steps []Step) error {
	if len(steps) == 0 {
		return errors.New("no steps")
	}
	for i, s := range steps {
		switch {
		case s.Requestor < 0 || s.Requestor > 2:
			return fmt.Errorf("step %d: requestor role %d, want 0, 1 or 2", i, s.Requestor)
		case s.TokenFrom < -1 || s.TokenFrom >= i:
			return fmt.Errorf("step %d: token_from %d must be -1 or an earlier step", i, s.TokenFrom)
		case len(s.Fields) > maxFields:
			return fmt.Errorf("step %d: %d octets of fields, at most %d", i, len(s.Fields), maxFields)
		case len(s.BDX) > maxBDXMessages:
			return fmt.Errorf("step %d: %d BDX messages, at most %d", i, len(s.BDX), maxBDXMessages)
		case len(s.BDX) > 0 && s.TokenFrom != -1:
			return fmt.Errorf("step %d: a BDX probe takes no token (token_from %d)", i, s.TokenFrom)
		}
		for k, m := range s.BDX {
			if len(m.Payload) > maxFields {
				return fmt.Errorf("step %d: BDX message %d: %d octets, at most %d", i, k, len(m.Payload), maxFields)
			}
		}
	}
	return nil
}

// maxFields bounds an input's fields: the adapter protocol carries them in hex on a 1 MiB line.
const maxFields = 64 << 10

// FileVersion is the version of the finding file format.
const FileVersion = 1

// Finding is one distinct defect, as written to a finding file.
type Finding struct {
	Version   int    `json:"version"`
	N         int    `json:"n"` // 1-based, in the order found
	Seed      int64  `json:"seed"`
	Iteration int    `json:"iteration"`
	Target    string `json:"target"`
	Oracle    Oracle `json:"oracle"`
	Level     string `json:"level"` // MUST or SHOULD
	Rule      string `json:"rule,omitempty"`
	Section   string `json:"section,omitempty"`
	// Signature identifies the defect: oracle, rule or expected status, command and deciding field.
	Signature string `json:"signature"`
	Message   string `json:"message"`
	Expected  string `json:"expected,omitempty"`
	Actual    string `json:"actual,omitempty"`
	Strict    bool   `json:"strict"`
	// Timeout is the per-request timeout the finding was seen with (replays wait as long).
	Timeout time.Duration `json:"timeout_ns"`
	// Requestors are the identities of roles 0, 1 and 2 in the run.
	Requestors []Requestor `json:"requestors"`
	// Steps is the minimised input; Original the input as generated.
	Steps    []Step `json:"steps"`
	Original []Step `json:"original"`
	// Probe is the known-good query of the liveness check.
	Probe *Step `json:"probe,omitempty"`
	// Reproducible is false when the input did not give the finding again on its first re-run.
	Reproducible bool `json:"reproducible"`
	// Duplicates counts later inputs with the same signature.
	Duplicates int                      `json:"duplicates"`
	Exchanges  []harness.ExchangeRecord `json:"exchanges,omitempty"`
	// Observed is what the target did when the finding was replayed (set by Replay).
	Observed string `json:"observed,omitempty"`
	// File is where the finding was written ("" when it was not).
	File string `json:"-"`
}

// Requestor is a requestor identity in a finding file.
type Requestor struct {
	FabricIndex uint8  `json:"fabric_index"`
	NodeID      string `json:"node_id"` // 16 hex digits
}

func wireRequestors(rs []ota.Requestor) []Requestor {
	out := make([]Requestor, len(rs))
	for i, r := range rs {
		out[i] = Requestor{FabricIndex: r.FabricIndex, NodeID: fmt.Sprintf("%016X", r.NodeID)}
	}
	return out
}

func parseRequestors(ws []Requestor) ([]ota.Requestor, error) {
	out := make([]ota.Requestor, len(ws))
	for i, w := range ws {
		var n uint64
		if len(w.NodeID) != 16 {
			return nil, fmt.Errorf("requestors[%d]: node_id %q: want 16 hex digits", i, w.NodeID)
		}
		if _, err := fmt.Sscanf(w.NodeID, "%x", &n); err != nil {
			return nil, fmt.Errorf("requestors[%d]: node_id %q: %w", i, w.NodeID, err)
		}
		out[i] = ota.Requestor{FabricIndex: w.FabricIndex, NodeID: n}
	}
	return out, nil
}

// Title is a one-line description of the finding.
func (f *Finding) Title() string {
	cmd := "input"
	if n := len(f.Steps); n > 0 {
		cmd = stepName(f.Steps[n-1])
	}
	return fmt.Sprintf("%s %s: %s", f.Oracle, cmd, firstLine(f.Message))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// DecodeFinding reads a finding file's contents and checks it can be replayed.
func DecodeFinding(b []byte) (Finding, error) {
	var f Finding
	if err := json.Unmarshal(b, &f); err != nil {
		return Finding{}, fmt.Errorf("finding file: %w", err)
	}
	if f.Version != FileVersion {
		return Finding{}, fmt.Errorf("finding file: version %d, want %d", f.Version, FileVersion)
	}
	switch f.Oracle {
	case OracleUnresponsive, OracleTargetError, OracleMalformed, OracleStatus, OracleResponseRule, OracleLiveness:
	default:
		return Finding{}, fmt.Errorf("finding file: unknown oracle %q", f.Oracle)
	}
	if f.Signature == "" {
		return Finding{}, errors.New("finding file: no signature")
	}
	if err := validateSteps(f.Steps); err != nil {
		return Finding{}, fmt.Errorf("finding file: steps: %w", err)
	}
	if len(f.Requestors) != 3 {
		return Finding{}, fmt.Errorf("finding file: %d requestors, want 3 (roles 0, 1, 2)", len(f.Requestors))
	}
	if _, err := parseRequestors(f.Requestors); err != nil {
		return Finding{}, fmt.Errorf("finding file: %w", err)
	}
	if f.Probe != nil {
		if err := validateSteps([]Step{*f.Probe}); err != nil {
			return Finding{}, fmt.Errorf("finding file: probe: %w", err)
		}
	}
	if f.Timeout < 0 {
		return Finding{}, fmt.Errorf("finding file: negative timeout %d", f.Timeout)
	}
	return f, nil
}

// ReadFinding reads and checks a finding file.
func ReadFinding(path string) (Finding, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Finding{}, err
	}
	f, err := DecodeFinding(b)
	if err != nil {
		return Finding{}, fmt.Errorf("%s: %w", path, err)
	}
	f.File = path
	return f, nil
}

// write writes f into dir as finding-<n>-<oracle>.json, creating dir if needed.
func (f *Finding) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, fmt.Sprintf("finding-%d-%s.json", f.N, f.Oracle))
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return err
	}
	f.File = path
	return nil
}
