// Package reports renders a harness.Report for people and tools: a grouped console listing with a
// summary last, a one-line progress printer, JUnit XML, versioned JSON and one self-contained HTML
// page. It formats results; it does not run cases or decide verdicts (package harness does).
package reports
