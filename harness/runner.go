package harness

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/ota"
)

// Profile is the requestor the provider's images are set up for (in certification terms, the TH
// requestor's VendorID/ProductID/SoftwareVersion and the image the lab staged on the DUT).
type Profile struct {
	VendorID        uint16
	ProductID       uint16
	SoftwareVersion uint32 // the requestor's current version; the staged image must be newer
	HardwareVersion *uint16
	Location        string // ISO 3166-1 alpha-2, "" to leave it out
	// ExpectedVersion is the version the provider should offer; 0 accepts any newer one.
	ExpectedVersion uint32
	// Image is the staged .ota file, when known, to compare downloads byte for byte.
	Image []byte
}

// DefaultProfile matches the embedded reference's generated image (and CHIP's reference requestor's
// test vendor and product).
var DefaultProfile = Profile{VendorID: 0xFFF1, ProductID: 0x8000, SoftwareVersion: 1, ExpectedVersion: 2, Location: "XX", HardwareVersion: ota.Ptr[uint16](0)}

// DefaultRequestors are the requestor identities cases act as: the main requestor, another node on
// its fabric, and the main requestor's node id on a second fabric. Targets that can act for any
// requestor (Identity.MaxRequestors == 0) get fresh node ids for every case instead (FreshRequestors),
// so that no case inherits another's offers.
var DefaultRequestors = []ota.Requestor{
	{FabricIndex: 1, NodeID: 0x000000000001A001},
	{FabricIndex: 1, NodeID: 0x000000000001A002},
	{FabricIndex: 2, NodeID: 0x000000000001A001},
}

// FreshRequestors returns the three requestor roles with node ids unique to case number n.
func FreshRequestors(n int) []ota.Requestor {
	base := uint64(0x000000000001A000) + uint64(n)<<4
	return []ota.Requestor{{FabricIndex: 1, NodeID: base + 1}, {FabricIndex: 1, NodeID: base + 2}, {FabricIndex: 2, NodeID: base + 1}}
}

// DefaultTimeout is the per-case timeout.
const DefaultTimeout = 20 * time.Second

// Options configure a run.
type Options struct {
	Include []string // id patterns; empty means all
	Exclude []string
	// PICS overrides what the target declares; codes are compared case-insensitively.
	PICS   map[string]bool
	Strict bool // SHOULD-level failures fail the run
	// Levels keeps only cases of these levels; empty keeps all.
	Levels  []ota.Level
	Timeout time.Duration
	Seed    int64
	// Declared lists the scenarios an external device is set up for (targets that cannot be steered).
	Declared   []scenario.Name
	Profile    Profile
	Requestors []ota.Requestor
	Logger     *slog.Logger
	// OnResult, if set, is called after each case (progress output).
	OnResult func(Result)
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Profile.VendorID == 0 && o.Profile.ProductID == 0 && o.Profile.SoftwareVersion == 0 {
		img := o.Profile.Image
		o.Profile = DefaultProfile
		o.Profile.Image = img
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// ErrUnreachable wraps the error of a target whose identity could not be obtained.
var ErrUnreachable = errors.New("target unreachable")

// Run runs cases against target and returns the report. Cases are run one after another, in the order
// given; each gets a fresh scenario (steerable targets are reset to the default first).
func Run(ctx context.Context, target Target, cases []*Case, opts Options) (*Report, error) {
	opts.defaults()
	if err := Validate(cases); err != nil {
		return nil, err
	}
	sel, err := Select(cases, opts.Include, opts.Exclude)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	idCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	id, err := target.Identity(idCtx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	pics := effectivePICS(id.PICS, opts.PICS)
	rep := &Report{Target: id.Name, Started: start, Seed: opts.Seed, Strict: opts.Strict, PICS: pics}
	for i, c := range sel {
		if len(opts.Levels) > 0 && !slices.Contains(opts.Levels, c.Level) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		res := runCase(ctx, target, id, pics, c, &opts, i)
		rep.Results = append(rep.Results, res)
		if opts.OnResult != nil {
			opts.OnResult(res)
		}
	}
	rep.Duration = time.Since(start)
	rep.summarize()
	return rep, ctx.Err()
}

func effectivePICS(declared, user map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k, v := range declared {
		out[strings.ToUpper(k)] = v
	}
	for k, v := range user {
		out[strings.ToUpper(k)] = v
	}
	return out
}

func caseSeed(seed int64, id string) (uint64, uint64) {
	h := fnv.New64a()
	h.Write([]byte(id))
	return uint64(seed), h.Sum64()
}

func runCase(ctx context.Context, target Target, id Identity, pics map[string]bool, c *Case, opts *Options, n int) (res Result) {
	res = Result{ID: c.ID, Title: c.Title, Section: c.Section, TestPlan: c.TestPlan, Level: c.Level, PICS: c.PICS}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	for _, code := range c.PICS {
		if !pics[strings.ToUpper(code)] {
			res.Outcome, res.Message = Skip, fmt.Sprintf("not applicable: PICS %s is not declared", code)
			return res
		}
	}
	requestors := opts.Requestors
	switch {
	case len(requestors) > 0:
	case id.MaxRequestors == 0:
		requestors = FreshRequestors(n)
	default:
		requestors = DefaultRequestors[:min(id.MaxRequestors, len(DefaultRequestors))]
	}
	need := max(c.Requestors, 1)
	if need > len(requestors) {
		res.Outcome, res.Message = Skip, fmt.Sprintf("needs %d requestor identities; the target can act for %d", need, len(requestors))
		return res
	}
	cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if id.Steerable {
		s := scenario.Request{Name: scenario.Default}
		if c.Scenario != "" {
			s.Name = c.Scenario
		}
		if err := target.SetScenario(cctx, s); err != nil {
			if errors.Is(err, scenario.ErrUnsupported) {
				res.Outcome, res.Message = Skip, fmt.Sprintf("scenario %q: %v", s.Name, err)
			} else {
				res.Outcome, res.Message = Error, fmt.Sprintf("setting up scenario %q: %v", s.Name, err)
			}
			return res
		}
	} else if c.Scenario != "" && !declared(opts.Declared, c.Scenario) {
		res.Outcome, res.Message = Skip, fmt.Sprintf("needs the provider set up for scenario %q; set the device up and declare it with --scenario %s", c.Scenario, c.Scenario)
		return res
	}
	s1, s2 := caseSeed(opts.Seed, c.ID)
	t := &T{ctx: cctx, target: target, id: id, opts: opts, c: c, res: &res, rng: rand.New(rand.NewPCG(s1, s2)), requestors: requestors}
	done := make(chan any, 1)
	go func() {
		defer func() {
			p := recover()
			for i := len(t.cleanups) - 1; i >= 0; i-- {
				t.cleanups[i]()
			}
			done <- p
		}()
		c.Run(t)
	}()
	var panicked any
	select {
	case panicked = <-done:
	case <-cctx.Done():
		// Verifiers honour the context, so the case ends soon; give it a moment to record why.
		select {
		case panicked = <-done:
		case <-time.After(2 * time.Second):
			res.Outcome, res.Message = Error, fmt.Sprintf("timed out after %v and did not stop", opts.Timeout)
			return res
		}
	}
	switch {
	case panicked != nil:
		res.Outcome, res.Message = Error, fmt.Sprintf("case panicked: %v", panicked)
	case res.Outcome == Skip || res.Outcome == Error:
	case len(res.Failures) > 0:
		res.Outcome = Fail
		res.Message = res.Failures[0].Message
	case cctx.Err() != nil:
		res.Outcome, res.Message = Error, fmt.Sprintf("timed out after %v", opts.Timeout)
	default:
		res.Outcome = Pass
	}
	return res
}

func declared(list []scenario.Name, n scenario.Name) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}
