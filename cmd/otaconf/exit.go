package main

import (
	"errors"
	"fmt"
	"strings"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1 // a problem the command was asked to detect: malformed input, failed cases, findings
	exitUsage       = 2 // a usage or configuration error
	exitUnreachable = 3 // run and fuzz: the target could not be reached
)

// statusError carries the exit status of an error. A nil err means the command has already reported
// the problem (a run report on stdout): the status is set and no error line is printed.
type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *statusError) Unwrap() error { return e.err }

// exitError makes err end the program with status code; err may be nil (see statusError).
func exitError(code int, err error) error { return &statusError{code, err} }

// failure marks err as a detected problem (exitFailed).
func failure(err error) error { return exitError(exitFailed, err) }

// failuref is failure(fmt.Errorf(...)).
func failuref(format string, args ...any) error { return failure(fmt.Errorf(format, args...)) }

// usageError marks err as a usage or configuration error (exitUsage).
func usageError(err error) error { return exitError(exitUsage, err) }

// usageErrorf is usageError(fmt.Errorf(...)).
func usageErrorf(format string, args ...any) error { return usageError(fmt.Errorf(format, args...)) }

// exitCode is the status for err: its statusError's, or exitUsage for an unclassified error
// (cobra's argument and flag errors, a file that cannot be opened).
func exitCode(err error) int {
	var e *statusError
	if errors.As(err, &e) {
		return e.code
	}
	return exitUsage
}

// errorLine is the message run prints for err, or "" for a status-only error.
func errorLine(err error) string {
	var e *statusError
	if errors.As(err, &e) && e.err == nil {
		return ""
	}
	return oneLine(err.Error())
}

// oneLine folds a message onto one line: joined errors and cobra's suggestions span several.
func oneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
