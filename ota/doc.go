// Package ota models the OTA Software Update Provider cluster (0x0029): ids, enums, the five commands
// as typed values with TLV encode and decode, the Interaction Model status a provider must return for
// a malformed request (Verdict), and the response rules of the spec as functions returning Findings.
//
// Both sides use it: the reference provider decides with it, and the harness and the fuzzer judge any
// provider with it. It does no I/O and keeps no state. Section numbers are Matter Core 1.2+ (§11.20);
// "ota-provider.md" refers to the project's digest of the spec in ../shared/spec.
package ota
