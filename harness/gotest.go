package harness

import (
	"strings"
	"testing"
)

// TestTarget runs cases against target as subtests of t, one per case, named by case id: the way a
// provider written in Go runs the conformance suite from its own go test (compare testing/fstest).
// A failing case fails its subtest with the expected and actual values and the spec section; a case
// that cannot apply is skipped with its reason.
//
//	func TestConformance(t *testing.T) {
//		harness.TestTarget(t, harness.InProcess("mine", myProvider, []uint8{1, 2}, pics), cases.All(), harness.Options{})
//	}
func TestTarget(t *testing.T, target Target, cases []*Case, opts Options) {
	t.Helper()
	opts.defaults()
	if err := Validate(cases); err != nil {
		t.Fatal(err)
	}
	sel, err := Select(cases, opts.Include, opts.Exclude)
	if err != nil {
		t.Fatal(err)
	}
	id, err := target.Identity(t.Context())
	if err != nil {
		t.Fatalf("%v: %v", ErrUnreachable, err)
	}
	pics := effectivePICS(id.PICS, opts.PICS)
	for i, c := range sel {
		t.Run(c.ID, func(t *testing.T) {
			ctx := t.Context()
			res := runCase(ctx, target, id, pics, c, &opts, i)
			for _, w := range res.Warnings {
				t.Logf("%s: %s", w.Level, describeFailure(w))
			}
			switch res.Outcome {
			case Skip:
				t.Skip(res.Message)
			case Error:
				t.Fatalf("error: %s", res.Message)
			case Fail:
				var msgs []string
				for _, f := range res.Failures {
					msgs = append(msgs, describeFailure(f))
				}
				t.Fatalf("%s %s [%s]:\n%s", c.ID, c.Title, c.Section, strings.Join(msgs, "\n"))
			}
		})
	}
}

func describeFailure(f Failure) string {
	s := f.Level.String() + " " + f.Message
	if f.Expected != "" || f.Actual != "" {
		s += "\n    expected: " + f.Expected + "\n    actual:   " + f.Actual
	}
	if f.Section != "" {
		s += "\n    see " + f.Section
	}
	return s
}
