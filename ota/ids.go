package ota

import "fmt"

// Cluster ids.
const (
	ProviderClusterID  uint32 = 0x0029
	RequestorClusterID uint32 = 0x002A
	// ClusterRevision is 1 in every spec revision (ota-provider.md §1).
	ClusterRevision = 1
)

// CommandID is a command of the provider cluster.
type CommandID uint32

// Commands (§11.20.6.5).
const (
	CmdQueryImage          CommandID = 0x00
	CmdQueryImageResponse  CommandID = 0x01
	CmdApplyUpdateRequest  CommandID = 0x02
	CmdApplyUpdateResponse CommandID = 0x03
	CmdNotifyUpdateApplied CommandID = 0x04
)

var commandNames = map[CommandID]string{
	CmdQueryImage: "QueryImage", CmdQueryImageResponse: "QueryImageResponse",
	CmdApplyUpdateRequest: "ApplyUpdateRequest", CmdApplyUpdateResponse: "ApplyUpdateResponse",
	CmdNotifyUpdateApplied: "NotifyUpdateApplied",
}

func (c CommandID) String() string {
	if n, ok := commandNames[c]; ok {
		return n
	}
	return fmt.Sprintf("Command(0x%02X)", uint32(c))
}

// Accepted reports whether a provider accepts c as a request (AcceptedCommandList {0, 2, 4}).
func (c CommandID) Accepted() bool {
	return c == CmdQueryImage || c == CmdApplyUpdateRequest || c == CmdNotifyUpdateApplied
}

// ResponseTo returns the response command a provider sends for request c, and false for
// NotifyUpdateApplied (answered with a plain status) and for non-requests.
func ResponseTo(c CommandID) (CommandID, bool) {
	switch c {
	case CmdQueryImage:
		return CmdQueryImageResponse, true
	case CmdApplyUpdateRequest:
		return CmdApplyUpdateResponse, true
	}
	return 0, false
}

// Status is the StatusEnum of QueryImageResponse (§11.20.6.4.1).
type Status uint8

// Status values.
const (
	StatusUpdateAvailable              Status = 0
	StatusBusy                         Status = 1
	StatusNotAvailable                 Status = 2
	StatusDownloadProtocolNotSupported Status = 3
)

func (s Status) String() string {
	switch s {
	case StatusUpdateAvailable:
		return "UpdateAvailable"
	case StatusBusy:
		return "Busy"
	case StatusNotAvailable:
		return "NotAvailable"
	case StatusDownloadProtocolNotSupported:
		return "DownloadProtocolNotSupported"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Defined reports whether s is a defined StatusEnum value.
func (s Status) Defined() bool { return s <= StatusDownloadProtocolNotSupported }

// ApplyAction is the ApplyUpdateActionEnum (§11.20.6.4.2).
type ApplyAction uint8

// Actions.
const (
	ActionProceed         ApplyAction = 0
	ActionAwaitNextAction ApplyAction = 1
	ActionDiscontinue     ApplyAction = 2
)

func (a ApplyAction) String() string {
	switch a {
	case ActionProceed:
		return "Proceed"
	case ActionAwaitNextAction:
		return "AwaitNextAction"
	case ActionDiscontinue:
		return "Discontinue"
	}
	return fmt.Sprintf("ApplyAction(%d)", uint8(a))
}

// Defined reports whether a is a defined action.
func (a ApplyAction) Defined() bool { return a <= ActionDiscontinue }

// DownloadProtocol is the DownloadProtocolEnum (§11.20.6.4.3).
type DownloadProtocol uint8

// Download protocols.
const (
	ProtocolBDXSynchronous  DownloadProtocol = 0
	ProtocolBDXAsynchronous DownloadProtocol = 1
	ProtocolHTTPS           DownloadProtocol = 2
	ProtocolVendorSpecific  DownloadProtocol = 3
)

func (p DownloadProtocol) String() string {
	switch p {
	case ProtocolBDXSynchronous:
		return "BDXSynchronous"
	case ProtocolBDXAsynchronous:
		return "BDXAsynchronous"
	case ProtocolHTTPS:
		return "HTTPS"
	case ProtocolVendorSpecific:
		return "VendorSpecific"
	}
	return fmt.Sprintf("DownloadProtocol(%d)", uint8(p))
}

// Defined reports whether p is a defined protocol.
func (p DownloadProtocol) Defined() bool { return p <= ProtocolVendorSpecific }

// Field constraints (ota-provider.md §2).
const (
	MaxProtocolsSupported = 8
	LocationLen           = 2
	MaxMetadataLen        = 512
	MinTokenLen           = 8
	MaxTokenLen           = 32
	MaxImageURILen        = 256
	MinVersionStringLen   = 1
	MaxVersionStringLen   = 64
	MinBDXURILen          = 24 // "bdx://" + 16 hex + "/" + one designator octet
	MaxDesignatorLen      = MaxImageURILen - 23
	MaxApplyDelay         = 86400 // a requestor may clamp longer delays to a day (§2.4)
	MinRequeryDelay       = 120   // requestors wait at least this long after Busy (§4.6)
)

// Requestor identifies who invokes a provider: a node id on a fabric (the fabric index is the
// provider's local index of the accessing fabric). The same node has another node id, and is another
// requestor, on each fabric (ota-provider.md §5).
type Requestor struct {
	FabricIndex uint8
	NodeID      uint64
}

func (r Requestor) String() string {
	return fmt.Sprintf("fabric %d node 0x%016X", r.FabricIndex, r.NodeID)
}
