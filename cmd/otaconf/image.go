package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/otaconf/otaconf/ota/image"
	"github.com/spf13/cobra"
)

func newImageCmd() *cobra.Command {
	return group("image", "Create and inspect Matter OTA image files", newImageCreateCmd(), newImageInspectCmd())
}

// uintFlag is a flag holding an unsigned integer of a given width, written in decimal or 0x hex
// (vendor and product ids are usually given in hex).
type uintFlag struct {
	bits int
	v    uint64
}

func (f *uintFlag) String() string { return strconv.FormatUint(f.v, 10) }
func (f *uintFlag) Type() string   { return fmt.Sprintf("uint%d", f.bits) }

func (f *uintFlag) Set(s string) error {
	digits, base := s, 10
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		digits, base = rest, 16
	}
	v, err := strconv.ParseUint(digits, base, f.bits)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return fmt.Errorf("%s does not fit in %d bits", s, f.bits)
		}
		return fmt.Errorf("%q is not a decimal or 0x hex number", s)
	}
	f.v = v
	return nil
}

func newImageCreateCmd() *cobra.Command {
	vendor, product := &uintFlag{bits: 16}, &uintFlag{bits: 16}
	version, minVersion, maxVersion := &uintFlag{bits: 32}, &uintFlag{bits: 32}, &uintFlag{bits: 32}
	var versionString, releaseNotes, digest, payload, out string
	cmd := &cobra.Command{
		Use:   "create --vendor-id ID --product-id ID --version N --version-string S --payload FILE -o OUT",
		Short: "Write an OTA image file around a payload",
		Long: `Write a Matter OTA image file (Core §11.21.2): the prefix, a header with the given fields and the
payload's size and digest, then the payload. The payload is streamed, never held in memory. Ids and
versions are decimal or 0x hex. The header is validated as 'image inspect' would (version string
1..64 bytes, release notes URL https and at most 256 bytes); an invalid one is a usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := image.ParseDigestType(digest)
			if err != nil {
				return usageErrorf("--digest: %w", err)
			}
			opts := image.HeaderOptions{
				VendorID: uint16(vendor.v), ProductID: uint16(product.v), SoftwareVersion: uint32(version.v),
				SoftwareVersionString: versionString, ReleaseNotesURL: releaseNotes, DigestType: d,
			}
			if cmd.Flags().Changed("min-version") {
				v := uint32(minVersion.v)
				opts.MinApplicableSoftwareVersion = &v
			}
			if cmd.Flags().Changed("max-version") {
				v := uint32(maxVersion.v)
				opts.MaxApplicableSoftwareVersion = &v
			}
			logger(cmd).Debug("creating OTA image", "payload", payload, "out", out, "digest", d)
			h, err := image.Create(cmd.Context(), out, opts, payload)
			if err != nil {
				// Everything that can go wrong here is in what we were told: the options or the files.
				return usageErrorf("image create: %w", err)
			}
			fi, err := os.Stat(out)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "wrote %s (%d bytes)\n", out, fi.Size())
			return printHeader(w, &h)
		},
	}
	fl := cmd.Flags()
	fl.Var(vendor, "vendor-id", "VendorID (0 = any vendor)")
	fl.Var(product, "product-id", "ProductID (0 = any product)")
	fl.Var(version, "version", "SoftwareVersion")
	fl.StringVar(&versionString, "version-string", "", "SoftwareVersionString, 1..64 bytes")
	fl.Var(minVersion, "min-version", "MinApplicableSoftwareVersion (optional)")
	fl.Var(maxVersion, "max-version", "MaxApplicableSoftwareVersion (optional)")
	fl.StringVar(&releaseNotes, "release-notes-url", "", "ReleaseNotesURL, https (optional)")
	fl.StringVar(&digest, "digest", "sha256", "ImageDigestType: sha256, sha384, sha512, or another IANA named-information hash")
	fl.StringVar(&payload, "payload", "", "the payload file")
	fl.StringVarP(&out, "output", "o", "", "the image file to write")
	for _, name := range []string{"vendor-id", "product-id", "version", "version-string", "payload", "output"} {
		_ = cmd.MarkFlagRequired(name) // cannot fail: the flags exist
	}
	return cmd
}

func newImageInspectCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Print an OTA image's header and verify its sizes and digest",
		Long: `Print an OTA image file's prefix and header, and verify it to the end (streaming): the file
identifier, HeaderSize, the header fields and constraints, TotalSize against the file length,
PayloadSize against the payload, and the payload digest. Every problem found is listed; any
problem makes the exit status 1. --json prints the same as one JSON object.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			f, err := os.Open(path)
			if err != nil {
				return usageError(err)
			}
			defer f.Close()
			logger(cmd).Debug("verifying OTA image", "file", path)
			res, verr := image.Verify(cmd.Context(), f)
			if verr != nil && res.OK() {
				return fmt.Errorf("image inspect: %s: %w", path, verr) // reading failed: not a verdict
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if err := json.NewEncoder(w).Encode(inspectJSON(path, &res)); err != nil {
					return err
				}
			} else if err := printResult(w, path, &res); err != nil {
				return err
			}
			if verr != nil {
				return failuref("image inspect: %s: %w", path, verr)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func printResult(w io.Writer, path string, res *image.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "File\t%s (%d bytes)\n", path, res.FileSize)
	if res.FileSize >= image.PrefixSize {
		p := res.Prefix
		fmt.Fprintf(tw, "FileIdentifier\t0x%08X\n", p.FileIdentifier)
		fmt.Fprintf(tw, "TotalSize\t%d\n", p.TotalSize)
		fmt.Fprintf(tw, "HeaderSize\t%d\n", p.HeaderSize)
	}
	if res.HeaderOK {
		headerLines(tw, &res.Header)
		fmt.Fprintf(tw, "Payload\tfrom byte %d\n", res.PayloadStart)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if res.OK() {
		_, err := fmt.Fprintln(w, "Verified: sizes and digest are correct")
		return err
	}
	fmt.Fprintf(w, "%d problem(s):\n", len(res.Problems))
	for _, p := range res.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	return nil
}

func printHeader(w io.Writer, h *image.Header) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	headerLines(tw, h)
	return tw.Flush()
}

// headerLines writes h as "Field<TAB>value" lines for a tabwriter.
func headerLines(tw io.Writer, h *image.Header) {
	opt := func(p *uint32) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%d (0x%X)", *p, *p)
	}
	fmt.Fprintf(tw, "VendorID\t0x%04X (%d)\n", h.VendorID, h.VendorID)
	fmt.Fprintf(tw, "ProductID\t0x%04X (%d)\n", h.ProductID, h.ProductID)
	fmt.Fprintf(tw, "SoftwareVersion\t%d (0x%X)\n", h.SoftwareVersion, h.SoftwareVersion)
	fmt.Fprintf(tw, "SoftwareVersionString\t%q\n", h.SoftwareVersionString)
	fmt.Fprintf(tw, "PayloadSize\t%d\n", h.PayloadSize)
	fmt.Fprintf(tw, "MinApplicableSoftwareVersion\t%s\n", opt(h.MinApplicableSoftwareVersion))
	fmt.Fprintf(tw, "MaxApplicableSoftwareVersion\t%s\n", opt(h.MaxApplicableSoftwareVersion))
	notes := "-"
	if h.ReleaseNotesURL != "" {
		notes = strconv.Quote(h.ReleaseNotesURL)
	}
	fmt.Fprintf(tw, "ReleaseNotesURL\t%s\n", notes)
	fmt.Fprintf(tw, "ImageDigestType\t%d (%s)\n", h.ImageDigestType, h.ImageDigestType)
	fmt.Fprintf(tw, "ImageDigest\t%s\n", hex.EncodeToString(h.ImageDigest))
}

// The JSON form of image inspect.
type (
	inspectOut struct {
		File         string        `json:"file"`
		FileSize     int64         `json:"file_size"`
		Prefix       *prefixOut    `json:"prefix,omitempty"`
		Header       *headerOut    `json:"header,omitempty"`
		PayloadStart int64         `json:"payload_start,omitempty"`
		Digest       string        `json:"computed_digest,omitempty"`
		OK           bool          `json:"ok"`
		Problems     []problemJSON `json:"problems"`
	}
	prefixOut struct {
		FileIdentifier uint32 `json:"file_identifier"`
		TotalSize      uint64 `json:"total_size"`
		HeaderSize     uint32 `json:"header_size"`
	}
	headerOut struct {
		VendorID              uint16  `json:"vendor_id"`
		ProductID             uint16  `json:"product_id"`
		SoftwareVersion       uint32  `json:"software_version"`
		SoftwareVersionString string  `json:"software_version_string"`
		PayloadSize           uint64  `json:"payload_size"`
		MinApplicable         *uint32 `json:"min_applicable_software_version,omitempty"`
		MaxApplicable         *uint32 `json:"max_applicable_software_version,omitempty"`
		ReleaseNotesURL       string  `json:"release_notes_url,omitempty"`
		ImageDigestType       uint8   `json:"image_digest_type"`
		ImageDigestTypeName   string  `json:"image_digest_type_name"`
		ImageDigest           string  `json:"image_digest"`
	}
	problemJSON struct {
		Offset  int64  `json:"offset"`
		Field   string `json:"field"`
		Problem string `json:"problem"`
		Detail  string `json:"detail"`
		Message string `json:"message"`
	}
)

func inspectJSON(path string, res *image.Result) inspectOut {
	o := inspectOut{File: path, FileSize: res.FileSize, OK: res.OK(), Problems: []problemJSON{}}
	if res.FileSize >= image.PrefixSize {
		o.Prefix = &prefixOut{res.Prefix.FileIdentifier, res.Prefix.TotalSize, res.Prefix.HeaderSize}
	}
	if res.HeaderOK {
		h := &res.Header
		o.Header = &headerOut{h.VendorID, h.ProductID, h.SoftwareVersion, h.SoftwareVersionString, h.PayloadSize,
			h.MinApplicableSoftwareVersion, h.MaxApplicableSoftwareVersion, h.ReleaseNotesURL,
			uint8(h.ImageDigestType), h.ImageDigestType.String(), hex.EncodeToString(h.ImageDigest)}
		o.PayloadStart = res.PayloadStart
	}
	if res.Digest != nil {
		o.Digest = hex.EncodeToString(res.Digest)
	}
	for _, p := range res.Problems {
		o.Problems = append(o.Problems, problemJSON{p.Offset, p.Field, p.Err.Error(), p.Detail, p.Error()})
	}
	return o
}
