package harness

import (
	"time"

	"github.com/otaconf/otaconf/ota"
)

// Outcome is how a case ended.
type Outcome string

// Outcomes.
const (
	Pass  Outcome = "pass"
	Fail  Outcome = "fail"
	Skip  Outcome = "skip"
	Error Outcome = "error" // the target could not be driven (transport failure, timeout)
)

// Failure is one broken expectation.
type Failure struct {
	Level    ota.Level `json:"level"`
	Rule     string    `json:"rule,omitempty"`
	Section  string    `json:"section,omitempty"`
	Expected string    `json:"expected,omitempty"`
	Actual   string    `json:"actual,omitempty"`
	Message  string    `json:"message"`
}

// Exchange records one interaction with the target.
type ExchangeRecord struct {
	Step        string `json:"step,omitempty"`
	Requestor   string `json:"requestor"`
	Request     string `json:"request"` // "QueryImage" or "BDX ReceiveInit"
	RequestHex  string `json:"request_hex,omitempty"`
	Status      string `json:"status,omitempty"`   // IM status, when no response command
	Response    string `json:"response,omitempty"` // response command or BDX message name
	ResponseHex string `json:"response_hex,omitempty"`
	Decoded     string `json:"decoded,omitempty"` // response TLV in the spec's notation
}

// Result is the outcome of one case.
type Result struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Section  string    `json:"section"`
	TestPlan string    `json:"test_plan,omitempty"`
	Level    ota.Level `json:"level"`
	PICS     []string  `json:"pics,omitempty"`

	Outcome   Outcome          `json:"outcome"`
	Message   string           `json:"message,omitempty"` // the first failure, or the skip/error reason
	Failures  []Failure        `json:"failures,omitempty"`
	Warnings  []Failure        `json:"warnings,omitempty"` // SHOULD failures outside strict mode, INFO notes
	Exchanges []ExchangeRecord `json:"exchanges,omitempty"`
	Log       []string         `json:"log,omitempty"`
	Duration  time.Duration    `json:"duration_ns"`
}

// Summary counts outcomes.
type Summary struct {
	Total    int `json:"total"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Skipped  int `json:"skipped"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Report is a whole run.
type Report struct {
	Target   string          `json:"target"`
	Started  time.Time       `json:"started"`
	Duration time.Duration   `json:"duration_ns"`
	Seed     int64           `json:"seed"`
	Strict   bool            `json:"strict"`
	PICS     map[string]bool `json:"pics"`
	Results  []Result        `json:"results"`
	Summary  Summary         `json:"summary"`
}

func (r *Report) summarize() {
	s := Summary{Total: len(r.Results)}
	for _, x := range r.Results {
		switch x.Outcome {
		case Pass:
			s.Passed++
		case Fail:
			s.Failed++
		case Skip:
			s.Skipped++
		case Error:
			s.Errors++
		}
		s.Warnings += len(x.Warnings)
	}
	r.Summary = s
}

// OK reports whether every case that ran passed (skips do not count against it).
func (r *Report) OK() bool { return r.Summary.Failed == 0 && r.Summary.Errors == 0 }
