package harness

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/otaconf/otaconf/harness/scenario"
	"github.com/otaconf/otaconf/ota"
)

// Case is one conformance check.
type Case struct {
	// ID is unique and stable: "TC-SU-3.2/3" for a test-plan step, "11.20.6.5.1/location-length" for a
	// normative rule, "bug/declined-offer" for a known bug class.
	ID       string
	Title    string
	Section  string    // spec section, "§11.20.6.5.1"
	TestPlan string    // "TC-SU-3.2 step 3", "" when no test-plan step exists
	Level    ota.Level // MUST cases fail a run; SHOULD cases only with --strict
	PICS     []string  // all must be true for the case to apply
	// Scenario the provider must be set up for, "" for none.
	Scenario scenario.Name
	// Requestors is how many distinct requestor identities the case needs (0 means 1).
	Requestors int
	Run        func(t *T)
}

func (c *Case) String() string { return c.ID + " " + c.Title }

// Group is the first part of the id: the test-plan case or spec section the case belongs to.
func (c *Case) Group() string {
	g, _, _ := strings.Cut(c.ID, "/")
	return g
}

// Validate checks a set of cases for duplicate ids and missing metadata.
func Validate(cases []*Case) error {
	seen := map[string]bool{}
	for _, c := range cases {
		switch {
		case c.ID == "" || c.Title == "" || c.Section == "" || c.Run == nil:
			return fmt.Errorf("case %q: id, title, section and Run are required", c.ID)
		case seen[c.ID]:
			return fmt.Errorf("case id %q is used twice", c.ID)
		}
		seen[c.ID] = true
	}
	return nil
}

// Select returns the cases whose id matches an include pattern (all when there is none) and no
// exclude pattern. A pattern is an id, an id prefix ending in "/" or "*", or a path.Match glob.
func Select(cases []*Case, include, exclude []string) ([]*Case, error) {
	for _, p := range append(append([]string{}, include...), exclude...) {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", p, err)
		}
	}
	var out []*Case
	for _, c := range cases {
		if (len(include) == 0 || matchAny(c.ID, include)) && !matchAny(c.ID, exclude) {
			out = append(out, c)
		}
	}
	return out, nil
}

func matchAny(id string, patterns []string) bool {
	for _, p := range patterns {
		if matchID(id, p) {
			return true
		}
	}
	return false
}

func matchID(id, p string) bool {
	switch {
	case p == id:
		return true
	case strings.HasSuffix(p, "/") && strings.HasPrefix(id, p):
		return true
	case strings.HasSuffix(p, "*") && !strings.ContainsAny(p[:len(p)-1], "*?[") && strings.HasPrefix(id, p[:len(p)-1]):
		return true
	case strings.HasPrefix(id, p+"/"):
		return true // a group id selects the whole group
	}
	ok, _ := path.Match(p, id)
	return ok
}

// Sorted returns cases ordered by id, with test-plan ids first.
func Sorted(cases []*Case) []*Case {
	out := append([]*Case(nil), cases...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
