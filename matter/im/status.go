package im

import "fmt"

// Status is an Interaction Model status code (Core §8.10.1).
type Status uint8

// Status codes.
const (
	Success                   Status = 0x00
	Failure                   Status = 0x01
	InvalidSubscription       Status = 0x7D
	UnsupportedAccess         Status = 0x7E
	UnsupportedEndpoint       Status = 0x7F
	InvalidAction             Status = 0x80
	UnsupportedCommand        Status = 0x81
	InvalidCommand            Status = 0x85
	UnsupportedAttribute      Status = 0x86
	ConstraintError           Status = 0x87
	UnsupportedWrite          Status = 0x88
	ResourceExhausted         Status = 0x89
	NotFound                  Status = 0x8B
	UnreportableAttribute     Status = 0x8C
	InvalidDataType           Status = 0x8D
	UnsupportedRead           Status = 0x8F
	DataVersionMismatch       Status = 0x92
	Timeout                   Status = 0x94
	UnsupportedNode           Status = 0x9B
	Busy                      Status = 0x9C
	AccessRestricted          Status = 0x9D
	UnsupportedCluster        Status = 0xC3
	NoUpstreamSubscription    Status = 0xC5
	NeedsTimedInteraction     Status = 0xC6
	UnsupportedEvent          Status = 0xC7
	PathsExhausted            Status = 0xC8
	TimedRequestMismatch      Status = 0xC9
	FailsafeRequired          Status = 0xCA
	InvalidInState            Status = 0xCB
	NoCommandResponse         Status = 0xCC
	TermsAndConditionsChanged Status = 0xCD
	MaintenanceRequired       Status = 0xCE
	DynamicConstraintError    Status = 0xCF
	AlreadyExists             Status = 0xD0
	InvalidTransportType      Status = 0xD1
)

var statusNames = map[Status]string{
	Success: "SUCCESS", Failure: "FAILURE", InvalidSubscription: "INVALID_SUBSCRIPTION",
	UnsupportedAccess: "UNSUPPORTED_ACCESS", UnsupportedEndpoint: "UNSUPPORTED_ENDPOINT",
	InvalidAction: "INVALID_ACTION", UnsupportedCommand: "UNSUPPORTED_COMMAND",
	InvalidCommand: "INVALID_COMMAND", UnsupportedAttribute: "UNSUPPORTED_ATTRIBUTE",
	ConstraintError: "CONSTRAINT_ERROR", UnsupportedWrite: "UNSUPPORTED_WRITE",
	ResourceExhausted: "RESOURCE_EXHAUSTED", NotFound: "NOT_FOUND",
	UnreportableAttribute: "UNREPORTABLE_ATTRIBUTE", InvalidDataType: "INVALID_DATA_TYPE",
	UnsupportedRead: "UNSUPPORTED_READ", DataVersionMismatch: "DATA_VERSION_MISMATCH",
	Timeout: "TIMEOUT", UnsupportedNode: "UNSUPPORTED_NODE", Busy: "BUSY",
	AccessRestricted: "ACCESS_RESTRICTED", UnsupportedCluster: "UNSUPPORTED_CLUSTER",
	NoUpstreamSubscription: "NO_UPSTREAM_SUBSCRIPTION", NeedsTimedInteraction: "NEEDS_TIMED_INTERACTION",
	UnsupportedEvent: "UNSUPPORTED_EVENT", PathsExhausted: "PATHS_EXHAUSTED",
	TimedRequestMismatch: "TIMED_REQUEST_MISMATCH", FailsafeRequired: "FAILSAFE_REQUIRED",
	InvalidInState: "INVALID_IN_STATE", NoCommandResponse: "NO_COMMAND_RESPONSE",
	TermsAndConditionsChanged: "TERMS_AND_CONDITIONS_CHANGED", MaintenanceRequired: "MAINTENANCE_REQUIRED",
	DynamicConstraintError: "DYNAMIC_CONSTRAINT_ERROR", AlreadyExists: "ALREADY_EXISTS",
	InvalidTransportType: "INVALID_TRANSPORT_TYPE",
}

// String returns the spec name and code, e.g. "CONSTRAINT_ERROR (0x87)".
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("%s (0x%02X)", n, uint8(s))
	}
	return fmt.Sprintf("unknown status 0x%02X", uint8(s))
}

// Name returns the spec name alone, or "0xNN" for an undefined code.
func (s Status) Name() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%02X", uint8(s))
}

// Defined reports whether s is a status code the spec defines.
func (s Status) Defined() bool { _, ok := statusNames[s]; return ok }

// StatusError is an IM status other than SUCCESS returned for an interaction.
type StatusError struct {
	Status        Status
	ClusterStatus *uint8
}

func (e *StatusError) Error() string {
	if e.ClusterStatus != nil {
		return fmt.Sprintf("IM status %s, cluster status 0x%02X", e.Status, *e.ClusterStatus)
	}
	return "IM status " + e.Status.String()
}
