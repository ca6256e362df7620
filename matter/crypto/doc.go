// Package mcrypto holds the Matter-specific cryptography the stdlib lacks: AES-CCM as a cipher.AEAD,
// SPAKE2+ (P-256, draft-01 schedule) for PASE, and the PBKDF2/HKDF/HMAC derivations of PASE and CASE.
// It is not a protocol engine: it parses no messages, keeps no sessions and does no I/O.
package mcrypto
