package matterjs

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// scriptTimeout bounds one mkimage.mjs / readimage.mjs run (about 2.3 s, almost all of it the
// matter.js import) on top of the caller's context.
const scriptTimeout = 60 * time.Second

// ErrInvalidImage is wrapped by ReadImage's error when matter.js rejects the file itself (as opposed
// to the tool failing to run).
var ErrInvalidImage = errors.New("matter.js rejected the OTA image")

// ImageSpec describes an image for MakeImage. Zero optional fields are left out of the header.
type ImageSpec struct {
	// Out is the file to write.
	Out                 string
	VendorID, ProductID uint16
	SoftwareVersion     uint32
	// SoftwareVersionString defaults to "<SoftwareVersion>.0.0".
	SoftwareVersionString string
	// PayloadFile, if set, is the payload; otherwise PayloadSize bytes of the pattern byte[i] = i % 251
	// (PatternPayload). PayloadSize 0 with no PayloadFile means mkimage.mjs's default of 1024 bytes.
	PayloadFile string
	PayloadSize int
	// MinApplicable and MaxApplicable are header tags 5 and 6 when non-nil.
	MinApplicable, MaxApplicable *uint32
	// ReleaseNotesURL is header tag 7 when non-empty.
	ReleaseNotesURL string
	// Digest is the ImageDigestType: SHA-256 (default), SHA-384, SHA-512 or SHA3-256.
	Digest string
}

// MadeImage is what mkimage.mjs reports about the file it wrote.
type MadeImage struct {
	File                  string `json:"file"`
	Size                  int64  `json:"size"`
	PayloadSize           int64  `json:"payloadSize"`
	VendorID              uint16 `json:"vendorId"`
	ProductID             uint16 `json:"productId"`
	SoftwareVersion       uint32 `json:"softwareVersion"`
	SoftwareVersionString string `json:"softwareVersionString"`
	ImageDigestType       string `json:"imageDigestType"`
	// FullFileChecksum is base64 of the SHA-256 of the whole file, as the DCL would list it.
	FullFileChecksum string `json:"fullFileChecksum"`
	SHA256           string `json:"sha256"`
}

// ImageHeader is an OTA image header as matter.js's OtaImageReader decoded it, plus the prefix fields
// and file digests readimage.mjs adds.
type ImageHeader struct {
	FileSize              int64   `json:"fileSize"`
	TotalSize             uint64  `json:"totalSize"`
	HeaderSize            uint32  `json:"headerSize"`
	VendorID              uint16  `json:"vendorId"`
	ProductID             uint16  `json:"productId"`
	SoftwareVersion       uint32  `json:"softwareVersion"`
	SoftwareVersionString string  `json:"softwareVersionString"`
	PayloadSize           uint64  `json:"payloadSize"`
	MinApplicable         *uint32 `json:"minApplicableSoftwareVersion,omitempty"`
	MaxApplicable         *uint32 `json:"maxApplicableSoftwareVersion,omitempty"`
	ReleaseNotesURL       string  `json:"releaseNotesUrl,omitempty"`
	ImageDigestType       uint8   `json:"imageDigestType"`
	ImageDigest           []byte  `json:"-"`
	FullFileChecksum      string  `json:"fullFileChecksum"`
	SHA256                string  `json:"sha256"`
}

// PatternPayload is mkimage.mjs's default payload: byte i is i mod 251. 251 is prime, so the pattern
// never lines up with BDX block sizes and a misplaced block changes the digest.
func PatternPayload(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

// MakeImage writes an OTA image with matter.js's OtaImageWriter (mkimage.mjs).
func MakeImage(ctx context.Context, spec ImageSpec) (MadeImage, error) {
	var made MadeImage
	if spec.Out == "" {
		return made, errors.New("matterjs: ImageSpec.Out is empty")
	}
	if spec.PayloadFile != "" && spec.PayloadSize != 0 {
		return made, errors.New("matterjs: ImageSpec.PayloadFile and PayloadSize are mutually exclusive")
	}
	if spec.PayloadSize < 0 {
		return made, fmt.Errorf("matterjs: ImageSpec.PayloadSize %d is negative", spec.PayloadSize)
	}
	args := []string{
		"--x-out=" + absPath(spec.Out),
		"--x-vendor-id=" + strconv.Itoa(int(spec.VendorID)),
		"--x-product-id=" + strconv.Itoa(int(spec.ProductID)),
		"--x-version=" + strconv.FormatUint(uint64(spec.SoftwareVersion), 10),
	}
	if spec.SoftwareVersionString != "" {
		args = append(args, "--x-version-string="+spec.SoftwareVersionString)
	}
	if spec.PayloadFile != "" {
		args = append(args, "--x-payload-file="+absPath(spec.PayloadFile))
	} else if spec.PayloadSize > 0 {
		args = append(args, "--x-payload-size="+strconv.Itoa(spec.PayloadSize))
	}
	if spec.MinApplicable != nil {
		args = append(args, "--x-min-applicable="+strconv.FormatUint(uint64(*spec.MinApplicable), 10))
	}
	if spec.MaxApplicable != nil {
		args = append(args, "--x-max-applicable="+strconv.FormatUint(uint64(*spec.MaxApplicable), 10))
	}
	if spec.ReleaseNotesURL != "" {
		args = append(args, "--x-release-notes-url="+spec.ReleaseNotesURL)
	}
	if spec.Digest != "" {
		args = append(args, "--x-digest="+spec.Digest)
	}
	out, code, stderr, err := runScript(ctx, "mkimage.mjs", args)
	if err != nil {
		return made, err
	}
	if code != exitOK {
		return made, fmt.Errorf("matterjs: mkimage.mjs %s exited with status %d: %s", spec.Out, code, stderr)
	}
	if err := json.Unmarshal(out, &made); err != nil {
		return made, fmt.Errorf("matterjs: mkimage.mjs output: %w (stdout %q)", err, out)
	}
	return made, nil
}

// ReadImage parses and validates path with matter.js's OtaImageReader (readimage.mjs): file
// identifier, header TLV, payload size, payload digest and the prefix's total size against the file
// size. An image matter.js rejects gives an error wrapping ErrInvalidImage with matter.js's reason.
func ReadImage(ctx context.Context, path string) (ImageHeader, error) {
	var h ImageHeader
	out, code, stderr, err := runScript(ctx, "readimage.mjs", []string{absPath(path)})
	if err != nil {
		return h, err
	}
	switch code {
	case exitOK:
	case exitError:
		return h, fmt.Errorf("matterjs: %s: %w: %s", path, ErrInvalidImage, stderr)
	default:
		return h, fmt.Errorf("matterjs: readimage.mjs %s exited with status %d: %s", path, code, stderr)
	}
	var raw struct {
		ImageHeader
		ImageDigest string `json:"imageDigest"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return h, fmt.Errorf("matterjs: readimage.mjs output: %w (stdout %q)", err, out)
	}
	h = raw.ImageHeader
	if h.ImageDigest, err = hex.DecodeString(raw.ImageDigest); err != nil {
		return h, fmt.Errorf("matterjs: readimage.mjs output: field \"imageDigest\": %w", err)
	}
	return h, nil
}

// runScript runs `node <script> args...` in the fixture directory and returns its stdout, exit code
// and trimmed stderr. err is only for failures to run it at all.
func runScript(ctx context.Context, script string, args []string) (stdout []byte, code int, stderr string, err error) {
	if err := Available(); err != nil {
		return nil, 0, "", err
	}
	dir, err := packageDir()
	if err != nil {
		return nil, 0, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBinary(), append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.Env = peerEnv()
	cmd.WaitDelay = ioGrace
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	runErr := cmd.Run()
	stderr = strings.TrimSpace(errOut.String())
	if ctx.Err() != nil {
		return nil, 0, stderr, fmt.Errorf("matterjs: %s: %w (stderr: %s)", script, ctx.Err(), stderr)
	}
	var xe *exec.ExitError
	switch {
	case runErr == nil:
		return out.Bytes(), 0, stderr, nil
	case errors.As(runErr, &xe) && xe.ExitCode() >= 0:
		return out.Bytes(), xe.ExitCode(), stderr, nil
	default:
		return nil, 0, stderr, fmt.Errorf("matterjs: running %s: %w (stderr: %s)", script, runErr, stderr)
	}
}
