package pics

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// maxFile bounds what one PICS file (or one zip entry, decompressed) may hold. Real files are a few
// kilobytes; the bound keeps a hostile zip from filling memory.
const maxFile = 8 << 20

// Loader loads PICS inputs. The zero Loader reads endpoint 0.
type Loader struct {
	// Endpoint selects the endpoint sub-folder (endpointN, EPN or N) of an XML folder or zip; the top
	// level (Base.xml and the cluster files beside it) is always read first.
	Endpoint int
}

// Load reads PICS inputs with the zero Loader (endpoint 0). See Loader.Load.
func Load(paths ...string) (Set, []Warning, error) { return Loader{}.Load(paths...) }

// Load reads each path in order and merges them, later definitions winning (pics.md §1c). A path is a
// directory or a .zip of CSA PICS XML files, an XML file (its first non-blank byte is '<'), or a text
// file of CODE=1/0 lines. Overrides, case-only spelling differences and tolerated spellings come back
// as warnings; anything that cannot be read is a *ParseError naming the file, line and item.
func (l Loader) Load(paths ...string) (Set, []Warning, error) {
	b := &builder{}
	for _, p := range paths {
		if err := l.loadPath(b, p); err != nil {
			return Set{}, b.warnings, err
		}
	}
	return b.set, b.warnings, nil
}

func (l Loader) loadPath(b *builder, p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("pics: %w", err)
	}
	if st.IsDir() {
		return l.loadTree(b, os.DirFS(p), p)
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("pics: %w", err)
	}
	defer f.Close()
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	if strings.EqualFold(filepath.Ext(p), ".zip") || bytes.Equal(magic[:n], []byte("PK\x03\x04")) {
		if !st.Mode().IsRegular() {
			return &ParseError{File: p, Msg: "a zip must be a regular file (it is read at random offsets)"}
		}
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			return &ParseError{File: p, Msg: "not a readable zip", Err: err}
		}
		for _, zf := range zr.File {
			// A "../" or absolute entry is not a PICS set, whatever GODEBUG=zipinsecurepath says.
			if !fs.ValidPath(strings.TrimSuffix(zf.Name, "/")) {
				return &ParseError{File: p, Item: clip(zf.Name), Msg: "not a readable zip: entry path leaves the archive", Err: zip.ErrInsecurePath}
			}
		}
		return l.loadTree(b, zr, p)
	}
	// Not seeking back lets a pipe (/dev/stdin) carry text or XML.
	data, err := readAll(io.MultiReader(bytes.NewReader(magic[:n]), f), p)
	if err != nil {
		return err
	}
	return parseFile(b, p, data)
}

// parseFile sniffs the format: pics.md §1c rule 1, XML when the first non-blank byte is '<'.
func parseFile(b *builder, name string, data []byte) error {
	if t := bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n"); len(t) > 0 && t[0] == '<' {
		return parseXML(b, name, data)
	}
	return parseText(b, name, data)
}

func readAll(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, &ParseError{File: name, Msg: "read failed", Err: err}
	}
	if len(data) > maxFile {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("larger than %d bytes; not a PICS file", maxFile)}
	}
	return data, nil
}

// loadTree reads an XML set laid out as the PICS generator and the CSA tool write it (pics.md §1b):
// *.xml at the top level, and optionally one sub-folder per endpoint. It reads the top level, then the
// folder of l.Endpoint, so endpoint-specific answers override node-level ones. A tree whose top level
// is a single wrapper folder (a zipped folder) is entered first.
func (l Loader) loadTree(b *builder, fsys fs.FS, name string) error {
	dir := "."
	for range 4 {
		files, subdirs, err := listDir(fsys, dir, name)
		if err != nil {
			return err
		}
		var endpoints, chosen []string
		var others []string
		for _, d := range subdirs {
			if n, ok := endpointOf(path.Base(d)); ok {
				endpoints = append(endpoints, path.Base(d))
				if n == l.Endpoint {
					chosen = append(chosen, d)
				}
			} else {
				others = append(others, d)
			}
		}
		if len(files) == 0 && len(endpoints) == 0 && len(subdirs) == 1 {
			dir = subdirs[0]
			continue
		}
		for _, d := range others {
			b.warn(name+"/"+d, 0, "", "folder ignored: not an endpoint folder (endpointN, EPN or N)")
		}
		if len(endpoints) > 0 && len(chosen) == 0 {
			b.warn(name, 0, "", "no folder for endpoint %d among %s; only the top level is read", l.Endpoint, strings.Join(endpoints, ", "))
		}
		for _, d := range chosen {
			more, _, err := listDir(fsys, d, name)
			if err != nil {
				return err
			}
			files = append(files, more...)
		}
		if len(files) == 0 {
			return &ParseError{File: name, Msg: fmt.Sprintf("no PICS XML files at the top level or in the folder of endpoint %d", l.Endpoint)}
		}
		for _, f := range files {
			display := name + "/" + f
			r, err := fsys.Open(f)
			if err != nil {
				return &ParseError{File: display, Msg: "open failed", Err: err}
			}
			data, err := readAll(r, display)
			r.Close()
			if err != nil {
				return err
			}
			if err := parseXML(b, display, data); err != nil {
				return err
			}
		}
		return nil
	}
	return &ParseError{File: name, Msg: "nested too deeply in wrapper folders"}
}

// listDir returns the .xml files and the sub-folders of dir, sorted by name. Hidden entries and the
// __MACOSX folder of zips made on macOS are skipped.
func listDir(fsys fs.FS, dir, name string) (files, subdirs []string, err error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, nil, &ParseError{File: name, Msg: "cannot list " + dir, Err: err}
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || n == "__MACOSX" {
			continue
		}
		p := path.Join(dir, n)
		switch {
		case e.IsDir():
			subdirs = append(subdirs, p)
		case e.Type().IsRegular() && strings.EqualFold(path.Ext(n), ".xml"):
			files = append(files, p)
		}
	}
	return files, subdirs, nil
}

// endpointOf recognises the endpoint folder names in use (pics.md §1b, §1c rule 1): endpoint0 (the
// CHIP PICS generator), EP0 (the CSA tool's zip), or a bare 0.
func endpointOf(dir string) (int, bool) {
	d := strings.ToLower(dir)
	for _, prefix := range []string{"endpoint", "ep", ""} {
		if rest, ok := strings.CutPrefix(d, prefix); ok && rest != "" && strings.Trim(rest, "0123456789") == "" && len(rest) <= 5 {
			n, err := strconv.Atoi(rest)
			return n, err == nil
		}
	}
	return 0, false
}
