// Package pase is Passcode-Authenticated Session Establishment (Core §4.14.1): typed PBKDFParam and
// Pake1/2/3 messages, the commissioner's Initiate and a device-side Responder for tests, over mrp.
// It is not CASE, commissioning, or a device's commissioning-window and attempt-limit policy.
package pase
