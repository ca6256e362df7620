// Package reference is otaconf's reference OTA Software Update Provider: pure provider logic, faithful
// to the spec (ota-provider.md §4–§6, §10), used as the default target and as the oracle. It takes
// decoded invokes and BDX messages from any transport (in-process, the exec adapter, the network
// stack) and answers them; it opens no sockets.
//
// What it does: offers the newest applicable image from a catalog of validated .ota files, chooses a
// download protocol from the requestor's list (BDX synchronous always, HTTPS when a base URL is
// configured), mints 32-byte tokens bound to the requestor with an expiry, arms BDX for that requestor
// and file designator only, answers ApplyUpdateRequest by policy and NotifyUpdateApplied with
// SUCCESS (unknown tokens included), and can be steered into the scenarios of harness/scenario.
package reference
