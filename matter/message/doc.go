// Package message is the Matter message layer on the wire (Core §4.4): message and protocol headers,
// protocol ids and opcodes, message counters with duplicate detection (§4.6) and privacy
// de-obfuscation (§4.9). It does no encryption, keeps no sessions and does no I/O.
package message
