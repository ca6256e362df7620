// Package session builds and opens the wire messages of one Matter session: the unsecured session of
// PASE/CASE establishment and secure unicast sessions (AES-CCM via cipher.AEAD, counters, §4.6/§4.7).
// It does no I/O, no retransmission and no key agreement (PASE/CASE hand it their keys).
package session
