// Package im is the Interaction Model invoke codec: IM status codes, the Invoke request/response,
// StatusResponse and TimedRequest messages, and single-command helpers for client and server. It
// does no I/O and is not a data-model server; exchanges, MRP and sessions belong to the caller.
//
// # Command fields
//
// Everywhere else in otaconf a command's fields travel as an anonymous TLV structure (15 … 18).
// Inside a CommandDataIB they are the structure with context tag 1 (35 01 … 18). This package takes
// and returns the anonymous form: encoding writes the control octet and tag 35 01 and then the
// caller's bytes after their leading 0x15 verbatim; decoding returns 0x15 followed by the element's
// bytes after its tag, again verbatim. Odd encodings inside the structure (non-minimal widths,
// unsorted or duplicate tags, invalid UTF-8, anonymous members) survive both ways byte for byte.
//
// # Strictness
//
// The IM structure itself is decoded strictly (Core §10.6, §10.7): a missing mandatory field, a
// field of the wrong type or out of range, a field given twice, a CommandPathIB that is not a TLV
// list, malformed TLV or bytes after the message are *DecodeError values naming the message field,
// the TLV element path and the byte offset. Unknown tags are skipped (forward compatibility,
// matter-transport.md §1). Command fields and skipped elements are checked for framing only (known
// element types, lengths inside the input, balanced and untagged ends, depth ≤ tlv.MaxDepth), as
// CHIP's TLV reader skips nested containers, so that a fault inside the fields reaches the
// command's own decoder (which answers INVALID_COMMAND) instead of failing the whole interaction.
// Encoders accept exactly the fields this check accepts.
package im
