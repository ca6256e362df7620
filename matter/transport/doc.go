// Package transport moves Matter datagrams: a Transport interface, UDP over IPv6/IPv4, an in-memory
// network for tests and seeded lossy links (in memory and as a loopback UDP relay). It knows nothing
// of message formats, sessions or reliability.
package transport
