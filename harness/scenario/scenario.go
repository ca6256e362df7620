// Package scenario names the provider behaviours a test case may need that a provider does not show
// by default (ota-provider.md §8.1: TC-SU-3.2 step 5, TC-SU-3.3 steps 2-3, TC-SU-3.4 steps 2-3).
// Targets that can be steered (the embedded reference, exec adapters) are asked to set one up before
// the case; for an external device the user declares which ones the device is set up for, as PIXIT
// values are declared for certification, and cases needing any other are skipped.
package scenario

import (
	"errors"
	"fmt"
	"strings"
)

// Name is a scenario name; the values below are the contract between cases and targets.
type Name string

// Scenarios.
const (
	// Default is the provider's normal behaviour; asking for it resets any earlier scenario.
	Default Name = "default"
	// Busy: the next QueryImage is answered Busy with DelayedActionTime = Delay, the following ones
	// normally (TC-SU-3.2 step 5, 180 s).
	Busy Name = "busy"
	// NotAvailable: no image is newer for the requestor; every QueryImage gets NotAvailable
	// (TC-SU-3.2 step 2).
	NotAvailable Name = "not-available"
	// AwaitNextAction: the next ApplyUpdateRequest is answered AwaitNextAction with
	// DelayedActionTime = Delay, the following ones Proceed (TC-SU-3.4 step 2, 180 s).
	AwaitNextAction Name = "await-next-action"
	// Discontinue: the next ApplyUpdateRequest is answered Discontinue and the offer is withdrawn; the
	// next QueryImage starts over (TC-SU-3.4 step 3).
	Discontinue Name = "discontinue"
	// ConsentByRequestor: the update needs user consent; a requestor that can consent is answered
	// UpdateAvailable with UserConsentNeeded = true (TC-SU-3.3 step 2).
	ConsentByRequestor Name = "consent-requestor"
	// ConsentByProvider: the update needs user consent and the provider obtains it itself: the first
	// QueryImage of a requestor is answered Busy (DelayedActionTime = Delay) while it asks, later ones
	// UpdateAvailable with UserConsentNeeded absent or false (TC-SU-3.3 step 3).
	ConsentByProvider Name = "consent-provider"
	// ConsentDenied: the user refused the update; QueryImage is answered NotAvailable (§4.7).
	ConsentDenied Name = "consent-denied"
)

// All lists every scenario with what it asks of a provider.
var All = []struct {
	Name Name
	Text string
}{
	{Default, "normal behaviour (resets the others)"},
	{Busy, "next QueryImage answered Busy with DelayedActionTime, then normally"},
	{NotAvailable, "no newer image: QueryImage answered NotAvailable"},
	{AwaitNextAction, "next ApplyUpdateRequest answered AwaitNextAction with DelayedActionTime, then Proceed"},
	{Discontinue, "next ApplyUpdateRequest answered Discontinue; the offer is withdrawn"},
	{ConsentByRequestor, "consent needed; a requestor that can consent gets UserConsentNeeded=true"},
	{ConsentByProvider, "consent needed and obtained by the provider: Busy while asking, then UpdateAvailable"},
	{ConsentDenied, "consent refused: QueryImage answered NotAvailable"},
}

// DefaultDelay is the DelayedActionTime the test plan uses for Busy and AwaitNextAction (180 s).
const DefaultDelay = 180

// Request is a scenario with its parameter.
type Request struct {
	Name  Name
	Delay uint32 // DelayedActionTime in seconds for Busy, AwaitNextAction and ConsentByProvider
}

// Parse checks a scenario name.
func Parse(s string) (Name, error) {
	for _, x := range All {
		if string(x.Name) == s {
			return x.Name, nil
		}
	}
	names := make([]string, len(All))
	for i, x := range All {
		names[i] = string(x.Name)
	}
	return "", fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(names, ", "))
}

// ErrUnsupported is returned (wrapped) by targets that cannot set up a scenario.
var ErrUnsupported = errors.New("unsupported scenario")
