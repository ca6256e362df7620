// Package image reads, writes and verifies Matter OTA software update image files (Core 1.6 §11.21.2:
// a 16-byte prefix, a TLV header, the payload), streaming the payload through a fixed buffer.
// It is not a BDX server, an image catalog or a signing tool: payload contents are opaque here.
package image
