package matterjs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// readyPrefix starts the one machine-readable line provider.mjs prints on stdout once it serves.
const readyPrefix = "OTACONF_PEER_READY "

// errBadReady is wrapped by every error about a malformed READY line.
var errBadReady = errors.New("malformed OTACONF_PEER_READY line")

// readyRecord is the JSON object of the READY line, as provider.mjs writes it.
type readyRecord struct {
	Port              uint16        `json:"port"`
	Endpoint          uint16        `json:"endpoint"`
	IPv4              string        `json:"ipv4"`
	IPv6              string        `json:"ipv6"`
	Passcode          uint32        `json:"passcode"`
	Discriminator     uint16        `json:"discriminator"`
	VendorID          uint16        `json:"vendorId"`
	ProductID         uint16        `json:"productId"`
	ManualPairingCode string        `json:"manualPairingCode"`
	QRPairingCode     string        `json:"qrPairingCode"`
	Mode              Mode          `json:"mode"`
	Images            []StoredImage `json:"images"`
	Storage           string        `json:"storage"`
	PID               int           `json:"pid"`
	MatterJS          string        `json:"matterjs"`
	Node              string        `json:"node"`
}

// StoredImage is one .ota file as the peer's OTA store holds it.
type StoredImage struct {
	// File is the path that was imported.
	File string `json:"file"`
	// Designator is the BDX file designator the provider serves it under, "ota/<vid>.<pid>.local.<ver>"
	// in lower-case hex (spec/matterjs-peer.md §3: the ImageURI is bdx://<NodeID>/<designator>).
	Designator            string  `json:"designator"`
	VendorID              uint16  `json:"vendorId"`
	ProductID             uint16  `json:"productId"`
	SoftwareVersion       uint32  `json:"softwareVersion"`
	SoftwareVersionString string  `json:"softwareVersionString"`
	MinApplicable         *uint32 `json:"minApplicableSoftwareVersion,omitempty"`
	MaxApplicable         *uint32 `json:"maxApplicableSoftwareVersion,omitempty"`
	// Size is the stored file size in bytes (header and payload).
	Size int64 `json:"size"`
}

// designatorPattern is the shape matter.js's DclOtaUpdateService gives stored images:
// ota/<vid hex>.<pid hex>.<prod|test|local>.<version decimal>.
var designatorPattern = regexp.MustCompile(`^ota/[0-9a-f]{1,4}\.[0-9a-f]{1,4}\.(prod|test|local)\.[0-9]{1,10}$`)

// parseReady decodes a READY line (with or without its trailing newline) and checks that every field a
// caller relies on is present and plausible, naming the field that is not.
func parseReady(line []byte) (readyRecord, error) {
	var r readyRecord
	line = bytes.TrimRight(line, "\r\n")
	if !bytes.HasPrefix(line, []byte(readyPrefix)) {
		return r, fmt.Errorf("%w: does not start with %q", errBadReady, readyPrefix)
	}
	body := line[len(readyPrefix):]
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&r); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return r, fmt.Errorf("%w: JSON syntax at byte %d: %w", errBadReady, int64(len(readyPrefix))+syn.Offset, err)
		case errors.As(err, &typ):
			return r, fmt.Errorf("%w: field %q: %w", errBadReady, typ.Field, err)
		default:
			return r, fmt.Errorf("%w: %w", errBadReady, err)
		}
	}
	if dec.More() {
		return r, fmt.Errorf("%w: trailing data after the JSON object at byte %d", errBadReady, int64(len(readyPrefix))+dec.InputOffset())
	}
	if err := r.validate(); err != nil {
		return r, fmt.Errorf("%w: %w", errBadReady, err)
	}
	return r, nil
}

func (r *readyRecord) validate() error {
	switch {
	case r.Port == 0:
		return errors.New(`field "port": missing or 0; the peer must report the port it bound`)
	case r.Endpoint == 0:
		// Endpoint 0 is the root node endpoint; the OTA provider is always a child endpoint.
		return errors.New(`field "endpoint": missing or 0`)
	case r.IPv4 != loopbackV4.String():
		return fmt.Errorf(`field "ipv4": %q, want %q (the peer binds loopback only)`, r.IPv4, loopbackV4)
	case r.IPv6 != loopbackV6.String():
		return fmt.Errorf(`field "ipv6": %q, want %q (the peer binds loopback only)`, r.IPv6, loopbackV6)
	case r.Mode != ModeLocal && r.Mode != ModeStock:
		return fmt.Errorf(`field "mode": %q is neither %q nor %q`, r.Mode, ModeLocal, ModeStock)
	case r.PID <= 0:
		return fmt.Errorf(`field "pid": %d`, r.PID)
	case r.MatterJS != MatterJSVersion:
		return fmt.Errorf(`field "matterjs": %q, want the pinned %q`, r.MatterJS, MatterJSVersion)
	}
	for i, img := range r.Images {
		if !designatorPattern.MatchString(img.Designator) {
			return fmt.Errorf(`field "images[%d].designator": %q is not ota/<vid>.<pid>.<mode>.<version>`, i, img.Designator)
		}
	}
	return nil
}

// encodeReady is the inverse of parseReady; provider.mjs is the real producer, this exists for the
// round-trip property in tests and fuzzing.
func encodeReady(r readyRecord) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding READY record: %w", err)
	}
	return append([]byte(readyPrefix), body...), nil
}
