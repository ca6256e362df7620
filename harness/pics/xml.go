package pics

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlItem is the part of a picsItem or pixitItem we read; the descriptive children (feature,
// itemName, reference, status) are only for humans.
type xmlItem struct {
	ItemNumber []string `xml:"itemNumber"`
	Support    []string `xml:"support"`
}

// parseXML reads one CSA PICS XML file (pics.md §1b) into b: the root must be clusterPICS or
// generalPICS, as the Test Harness requires; every picsItem anywhere below it counts, with support in
// {true, false, 1, 0} in any case (Python's loader lower-cases and JSON-decodes it); pixitItems are
// kept as PIXIT values.
func parseXML(b *builder, file string, data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))
	rootSeen := false
	nPICS, nPIXIT := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return xmlError(dec, file, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		line, _ := dec.InputPos()
		if !rootSeen {
			if se.Name.Local != "clusterPICS" && se.Name.Local != "generalPICS" {
				return &ParseError{File: file, Line: line, Item: "<" + clip(se.Name.Local) + ">",
					Msg: "root element must be clusterPICS or generalPICS (pics.md §1b)"}
			}
			rootSeen = true
			continue
		}
		var kind string
		switch se.Name.Local {
		case "picsItem":
			nPICS++
			kind = fmt.Sprintf("picsItem #%d", nPICS)
		case "pixitItem":
			nPIXIT++
			kind = fmt.Sprintf("pixitItem #%d", nPIXIT)
		default:
			continue
		}
		var it xmlItem
		if err := dec.DecodeElement(&it, &se); err != nil {
			return xmlError(dec, file, err)
		}
		if err := addItem(b, file, line, kind, se.Name.Local == "pixitItem", it); err != nil {
			return err
		}
	}
	if !rootSeen {
		return &ParseError{File: file, Msg: "no root element (want clusterPICS or generalPICS, pics.md §1b)"}
	}
	return nil
}

func addItem(b *builder, file string, line int, kind string, isPIXIT bool, it xmlItem) error {
	if len(it.ItemNumber) != 1 || len(it.Support) > 1 || (!isPIXIT && len(it.Support) != 1) {
		what := "support"
		if len(it.ItemNumber) != 1 {
			what = "itemNumber"
		}
		msg := fmt.Sprintf("%s has %d %s elements, want exactly one (pics.md §1b)", kind, countOf(what, it), what)
		if isPIXIT {
			// Neither the SDK nor the Test Harness reads pixitItems; a malformed one is not fatal.
			b.warn(file, line, kind, "ignored: %s", msg)
			return nil
		}
		return &ParseError{File: file, Line: line, Item: kind, Msg: msg}
	}
	code := strings.TrimSpace(it.ItemNumber[0])
	name := kind + " " + clip(code)
	if code == "" {
		return &ParseError{File: file, Line: line, Item: kind, Msg: "empty itemNumber (pics.md §1b)"}
	}
	if i := validCode(code); i >= 0 {
		return &ParseError{File: file, Line: line, Item: kind, Msg: "itemNumber " + badChar(code, i)}
	}
	support := ""
	if len(it.Support) == 1 {
		support = strings.TrimSpace(it.Support[0])
	}
	if isPIXIT {
		b.setPIXIT(code, support, file, line)
		return nil
	}
	switch strings.ToLower(support) {
	case "true", "1":
		b.setCode(code, true, file, line)
	case "false", "0":
		b.setCode(code, false, file, line)
	default:
		return &ParseError{File: file, Line: line, Item: name, Msg: fmt.Sprintf("support %q is not true, false, 1 or 0 (pics.md §1c rule 2)", clip(support))}
	}
	return nil
}

func countOf(what string, it xmlItem) int {
	if what == "itemNumber" {
		return len(it.ItemNumber)
	}
	return len(it.Support)
}

func xmlError(dec *xml.Decoder, file string, err error) error {
	line, _ := dec.InputPos()
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		line = se.Line
	}
	return &ParseError{File: file, Line: line, Msg: "malformed XML", Err: err}
}
