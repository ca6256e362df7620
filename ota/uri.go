package ota

import (
	"fmt"
	"net/url"
	"strings"
)

// MakeBDXURI builds the ImageURI for a BDX download from provider node id on the accessing fabric
// (§11.20.6.5.2.3): "bdx://" + 16 uppercase hex digits + "/" + the file designator, taken verbatim.
func MakeBDXURI(providerNodeID uint64, designator string) (string, error) {
	if designator == "" {
		return "", fmt.Errorf("bdx uri: empty file designator")
	}
	if len(designator) > MaxDesignatorLen {
		return "", fmt.Errorf("bdx uri: file designator of %d octets, at most %d fit in %d", len(designator), MaxDesignatorLen, MaxImageURILen)
	}
	if i := invalidURIChar(designator); i >= 0 {
		return "", fmt.Errorf("bdx uri: file designator %q has a character not allowed in a URI path at %d", designator, i)
	}
	return fmt.Sprintf("bdx://%016X/%s", providerNodeID, designator), nil
}

// BDXURI is a parsed bdx:// ImageURI.
type BDXURI struct {
	NodeID     uint64
	Designator string // verbatim, no percent-decoding (§11.20.6.5.2.3 rule 6)
}

// ParseBDXURI parses a bdx:// ImageURI strictly. Every broken rule is a MUST-level finding.
func ParseBDXURI(s string) (BDXURI, []Finding) {
	var out []Finding
	bad := func(rule, msg string) {
		out = append(out, Finding{Rule: rule, Level: LevelMust, Section: "§11.20.6.5.2.3 (TC-SU-3.2 step 3)", Field: "QueryImageResponse.ImageURI", Message: msg})
	}
	var u BDXURI
	if !strings.HasPrefix(s, "bdx://") {
		bad("uri.bdx.scheme", fmt.Sprintf("must start with lowercase \"bdx://\", got %q", clip(s, 12)))
		return u, out
	}
	if len(s) < MinBDXURILen {
		bad("uri.bdx.length", fmt.Sprintf("length %d, at least %d (bdx:// + 16 hex digits + / + designator)", len(s), MinBDXURILen))
	}
	rest := s[len("bdx://"):]
	host, path, hasSlash := strings.Cut(rest, "/")
	switch {
	case strings.Contains(host, "@"):
		bad("uri.bdx.userinfo", fmt.Sprintf("authority %q carries a user part; only the node id is allowed", host))
	case strings.Contains(host, ":"):
		bad("uri.bdx.port", fmt.Sprintf("authority %q carries a port; the port comes from operational discovery", host))
	}
	if len(host) != 16 {
		bad("uri.bdx.node-id-digits", fmt.Sprintf("node id %q has %d characters, must be exactly 16 hex digits", host, len(host)))
	} else {
		lower := false
		for i := 0; i < 16; i++ {
			c := host[i]
			if hexVal(c) > 15 {
				bad("uri.bdx.node-id-digits", fmt.Sprintf("node id %q has the non-hex character %q at %d", host, c, i))
				return u, out
			}
			lower = lower || (c >= 'a' && c <= 'f')
			u.NodeID = u.NodeID<<4 | uint64(hexVal(c))
		}
		if lower {
			bad("uri.bdx.node-id-uppercase", fmt.Sprintf("node id %q uses lowercase hex; it must be 16 uppercase hex digits", host))
		}
	}
	if !hasSlash {
		bad("uri.bdx.path", "no \"/\" and file designator after the node id")
		return u, out
	}
	if q := strings.IndexAny(path, "?#"); q >= 0 {
		bad("uri.bdx.query-fragment", fmt.Sprintf("has a %s part; none is allowed", map[byte]string{'?': "query", '#': "fragment"}[path[q]]))
	}
	if path == "" {
		bad("uri.bdx.designator", "empty file designator")
	}
	if i := invalidURIChar(path); i >= 0 {
		bad("uri.bdx.designator-chars", fmt.Sprintf("file designator has %q at offset %d, not a valid URI path character", path[i], i))
	}
	u.Designator = path
	return u, out
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0xFF
}

// invalidURIChar returns the index of the first octet not allowed in an RFC 3986 path (pchar or
// "/"), or of a malformed percent-escape; -1 if all are allowed. "?" and "#" are reported
// separately by callers, so they count as invalid here too.
func invalidURIChar(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		case c == '%':
			if i+2 >= len(s) || hexVal(s[i+1]) > 15 || hexVal(s[i+2]) > 15 {
				return i
			}
			i += 2
		default:
			return i
		}
	}
	return -1
}

// checkHTTPSURI checks an https ImageURI (§11.20.6.5.2.3: HTTP over TLS only).
func checkHTTPSURI(s string) []Finding {
	bad := func(rule, msg string) []Finding {
		return []Finding{{Rule: rule, Level: LevelMust, Section: "§11.20.6.5.2.3 (TC-SU-3.2 step 4)", Field: "QueryImageResponse.ImageURI", Message: msg}}
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("uri.https.syntax", fmt.Sprintf("not a valid URI: %v", err))
	}
	if u.Scheme != "https" {
		return bad("uri.https.scheme", fmt.Sprintf("scheme %q; only https is allowed for HTTP downloads", u.Scheme))
	}
	if u.Host == "" || u.Opaque != "" {
		return bad("uri.https.host", "https URI without a host")
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
