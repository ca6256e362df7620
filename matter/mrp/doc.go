// Package mrp runs Matter exchanges with the Message Reliability Protocol (Core §4.12) for both the
// initiator and the responder: a Node owning a transport, sessions, exchanges and a receive goroutine.
// It does not establish sessions (PASE/CASE register them with AddSession) nor interpret payloads.
package mrp
