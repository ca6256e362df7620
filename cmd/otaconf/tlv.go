package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode"

	"github.com/otaconf/otaconf/tlv"
	"github.com/spf13/cobra"
)

// maxInput bounds what tlv decode and encode read: TLV messages are kilobytes, so anything larger is
// a mistake (an image file piped in), not something to hold in memory.
const maxInput = 16 << 20

func newTLVCmd() *cobra.Command {
	return group("tlv", "Decode and encode Matter TLV", newTLVDecodeCmd(), newTLVEncodeCmd())
}

func newTLVDecodeCmd() *cobra.Command {
	var asJSON, check bool
	cmd := &cobra.Command{
		Use:   "decode [HEX | -]",
		Short: "Decode TLV given in hex and print every top-level element",
		Long: `Decode TLV given in hex, as the argument or on stdin ("-" or no argument). Spaces, colons,
commas, newlines and 0x prefixes are allowed between the digits. Every top-level element is printed
in the spec's notation.

--json prints one JSON value per top-level element, one per line (JSON Lines), in the form that
'otaconf tlv encode' reads back: tlv decode --json HEX | tlv encode reproduces HEX exactly.

--check also runs the strict checker and prints its SHOULD-level findings (non-minimal widths, tags
out of order, duplicate tags): after the elements, or on stderr with --json so that stdout stays
JSON. Findings make the exit status 1.

Malformed TLV exits with status 1 and names the byte offset and the problem.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			stdout, log := cmd.OutOrStdout(), logger(cmd)
			text, err := hexArgOrStdin(cmd, args)
			if err != nil {
				return err
			}
			b, err := parseHex(text)
			if errors.Is(err, errNoHex) {
				return usageErrorf("tlv decode: %w: give HEX as the argument or on stdin", err)
			}
			if err != nil {
				return failuref("tlv decode: %w", err)
			}
			log.Debug("decoding TLV", "bytes", len(b))
			elems, err := tlv.DecodeAll(b)
			if err != nil {
				return failuref("tlv decode: %w", err)
			}
			for _, e := range elems {
				if asJSON {
					js, err := json.Marshal(e)
					if err != nil {
						return fmt.Errorf("tlv decode: %w", err)
					}
					fmt.Fprintf(stdout, "%s\n", js)
				} else {
					fmt.Fprintln(stdout, e.Pretty())
				}
			}
			if !check {
				return nil
			}
			findings, err := tlv.Check(b)
			if err != nil {
				return failuref("tlv decode --check: %w", err)
			}
			out := stdout
			if asJSON {
				out = cmd.ErrOrStderr()
			}
			for _, f := range findings {
				fmt.Fprintf(out, "check: %s\n", f)
			}
			if len(findings) > 0 {
				return failuref("tlv decode --check: %d finding(s), the first at %s", len(findings), findings[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON Lines, one element per line, instead of the notation")
	cmd.Flags().BoolVar(&check, "check", false, "also print the strict checker's findings; any finding makes the exit status 1")
	return cmd
}

func newTLVEncodeCmd() *cobra.Command {
	var raw bool
	cmd := &cobra.Command{
		Use:   "encode [FILE | -]",
		Short: "Encode the JSON form of TLV elements back into TLV",
		Long: `Encode the JSON form that 'otaconf tlv decode --json' prints, read from FILE or stdin ("-" or
no argument): a sequence of JSON values, each one element or an array of elements, encoded in order.
The result is printed in hex on one line, or written as binary with --raw. Widths and tag forms
recorded in the JSON ("width", "tag_form") are reproduced, so non-canonical input round-trips too.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, name, err := openInput(cmd, args)
			if err != nil {
				return err
			}
			defer in.Close()
			data, err := readBounded(in, name)
			if err != nil {
				return err
			}
			if len(bytes.TrimSpace(data)) == 0 {
				return usageErrorf("tlv encode: %s holds no JSON", name)
			}
			out, err := encodeJSON(data)
			if err != nil {
				return failuref("tlv encode: %s: %w", name, err)
			}
			logger(cmd).Debug("encoded TLV", "bytes", len(out))
			if raw {
				_, err = cmd.OutOrStdout().Write(out)
			} else {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(out))
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "write binary TLV instead of hex")
	return cmd
}

// encodeJSON encodes a sequence of JSON values, each an element or an array of elements.
func encodeJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []byte
	for n := 1; ; n++ {
		start := dec.InputOffset()
		var v json.RawMessage
		if err := dec.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("JSON value %d: byte %d: %w", n, se.Offset, err)
			}
			return nil, fmt.Errorf("JSON value %d (from byte %d): %w", n, start, err)
		}
		var elems []tlv.Element
		if t := bytes.TrimLeft(v, " \t\r\n"); len(t) > 0 && t[0] == '[' {
			if err := json.Unmarshal(v, &elems); err != nil {
				return nil, fmt.Errorf("JSON value %d (from byte %d): %w", n, start, err)
			}
		} else {
			var e tlv.Element
			if err := json.Unmarshal(v, &e); err != nil {
				return nil, fmt.Errorf("JSON value %d (from byte %d): %w", n, start, err)
			}
			elems = []tlv.Element{e}
		}
		for i, e := range elems {
			var err error
			if out, err = tlv.AppendEncode(out, e); err != nil {
				return nil, fmt.Errorf("JSON value %d, element %d: %w", n, i+1, err)
			}
		}
	}
}

// hexArgOrStdin returns the HEX argument, or stdin for "-" or no argument.
func hexArgOrStdin(cmd *cobra.Command, args []string) (string, error) {
	if len(args) == 1 && args[0] != "-" {
		return args[0], nil
	}
	b, err := readBounded(cmd.InOrStdin(), "stdin")
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// openInput opens FILE, or stdin for "-" or no argument.
func openInput(cmd *cobra.Command, args []string) (io.ReadCloser, string, error) {
	if len(args) == 0 || args[0] == "-" {
		return io.NopCloser(cmd.InOrStdin()), "stdin", nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, "", usageError(err)
	}
	return f, args[0], nil
}

func readBounded(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > maxInput {
		return nil, usageErrorf("%s is larger than %d MiB", name, maxInput>>20)
	}
	return b, nil
}

var errNoHex = errors.New("no hex digits in the input")

// parseHex decodes hex digits separated by any of spaces, newlines, colons and commas, each group
// optionally prefixed with 0x.
func parseHex(s string) ([]byte, error) {
	var digits []byte
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ':' || c == ',' || unicode.IsSpace(rune(c)):
			i++
			continue
		case c == '0' && i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && (i == 0 || isSep(s[i-1])):
			i += 2
			continue
		case isHexDigit(c):
			digits = append(digits, c)
			i++
			continue
		}
		r := []rune(s[i:])[0]
		return nil, fmt.Errorf("%q at input character %d is not a hex digit", r, len([]rune(s[:i]))+1)
	}
	if len(digits) == 0 {
		return nil, errNoHex
	}
	if len(digits)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits (%d): the last byte is incomplete", len(digits))
	}
	b := make([]byte, len(digits)/2)
	if _, err := hex.Decode(b, digits); err != nil {
		return nil, err
	}
	return b, nil
}

func isSep(c byte) bool { return c == ':' || c == ',' || unicode.IsSpace(rune(c)) }

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
