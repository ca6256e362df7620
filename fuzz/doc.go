// Package fuzz is otaconf's structure-aware fuzzer for OTA providers: it sends mutated and out-of-order
// invokes and BDX probes to any harness.Target, judges every answer with the ota package's oracles, and
// minimises and records what it finds for Replay. It is not coverage-guided and downloads no images.
package fuzz
