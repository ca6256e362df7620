package pics

import (
	"bytes"
	"fmt"
	"strings"
)

// parseText reads the CI text format (pics.md §1a) into b. Rules, as CHIP's Python loader has them:
// text after the first '#' is a comment, blank lines are skipped, a line splits at the first '=', key
// and value are trimmed, and values are 1 or 0. Extensions (pics.md §1c rule 3): true/false in any
// case is taken with a warning; a PIXIT.* key may carry any value, which is kept as a PIXIT.
func parseText(b *builder, file string, data []byte) error {
	data = bytes.TrimPrefix(data, utf8BOM)
	line := 0
	for len(data) > 0 {
		line++
		var raw []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		if i := bytes.IndexByte(raw, '#'); i >= 0 {
			raw = raw[:i]
		}
		text := strings.TrimSpace(string(raw))
		if text == "" {
			continue
		}
		key, val, ok := strings.Cut(text, "=")
		if !ok {
			return &ParseError{File: file, Line: line, Msg: fmt.Sprintf("%q is not CODE=VALUE (pics.md §1a)", clip(text))}
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if key == "" {
			return &ParseError{File: file, Line: line, Msg: "empty code before '=' (pics.md §1a)"}
		}
		if i := validCode(key); i >= 0 {
			return &ParseError{File: file, Line: line, Msg: badChar(key, i)}
		}
		if isKnob(key) {
			continue // CI knobs: their values are the runner's business, not ours.
		}
		isPIXIT := len(key) > 6 && strings.EqualFold(key[:6], "PIXIT.")
		switch {
		case val == "1" || val == "0":
			b.setCode(key, val == "1", file, line)
		case strings.EqualFold(val, "true") || strings.EqualFold(val, "false"):
			// true/false is the XML spelling; CHIP's text parsers reject it, we accept it but say so.
			b.warn(file, line, key, "value %q is the XML spelling; the text format uses 1 or 0 (pics.md §1a)", val)
			b.setCode(key, strings.EqualFold(val, "true"), file, line)
		case isPIXIT:
			b.setPIXIT(key, val, file, line)
			continue
		default:
			return &ParseError{File: file, Line: line, Item: key, Msg: fmt.Sprintf("value %q is not 1 or 0 (pics.md §1a)", clip(val))}
		}
		if isPIXIT {
			b.setPIXIT(key, val, file, line)
		}
	}
	return nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}
