// Package harness runs otaconf's conformance cases against an OTA provider target and collects
// results. A Target is anything that answers invokes of cluster 0x0029 as a given requestor and serves
// BDX: the embedded reference (InProcess), a child process speaking the adapter protocol (Exec), or,
// later, a device over the network.
//
// Cases (package cases) are data plus a Run function over *T, which offers verifiers that check every
// response against the ota package's rules, so a case reads as stimulus plus expectation. Run selects
// cases (ids, patterns, PICS, level), runs each with a timeout and records expected versus actual, the
// exchanges in hex and decoded, and the spec section. TestTarget runs the same cases as subtests of a
// user's own go test, in the spirit of testing/fstest.TestFS.
package harness
