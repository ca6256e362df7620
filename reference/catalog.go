package reference

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/ota"
	"github.com/otaconf/otaconf/ota/image"
)

// Image is one image the provider can offer.
type Image struct {
	Header image.Header
	// Designator is the BDX file designator (the ImageURI path), unique in a catalog.
	Designator string
	// File serves the whole .ota file (prefix, header and payload) over BDX.
	File bdx.File
	// Path is the file the image came from ("" for an image built in memory).
	Path string
}

func (im *Image) String() string {
	return fmt.Sprintf("%s (VID 0x%04X PID 0x%04X v%d %q, %d octets)", im.Designator, im.Header.VendorID, im.Header.ProductID,
		im.Header.SoftwareVersion, im.Header.SoftwareVersionString, im.File.Size())
}

// Catalog is the set of images a provider offers. It is immutable once built.
type Catalog struct {
	images  []*Image
	closers []io.Closer
}

// NewCatalog builds a catalog from images already validated by the caller.
func NewCatalog(images ...*Image) (*Catalog, error) {
	c := &Catalog{}
	seen := map[string]bool{}
	for _, im := range images {
		if _, err := ota.MakeBDXURI(1, im.Designator); err != nil {
			return nil, fmt.Errorf("image %s: %w", im.Designator, err)
		}
		if seen[im.Designator] {
			return nil, fmt.Errorf("two images with the file designator %q", im.Designator)
		}
		seen[im.Designator] = true
		c.images = append(c.images, im)
	}
	return c, nil
}

// LoadDir validates every *.ota file in dir (magic, sizes, header, payload digest: §7.4) and builds a
// catalog of them, each served under its file name. A file that fails validation is an error naming
// the file and the problem: the provider never offers an image it has not checked.
func LoadDir(dir string) (*Catalog, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image directory: %w", err)
	}
	c := &Catalog{}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".ota") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		im, closer, err := openImage(filepath.Join(dir, name))
		if err != nil {
			c.Close()
			return nil, err
		}
		c.closers = append(c.closers, closer)
		c.images = append(c.images, im)
	}
	if _, err := NewCatalog(c.images...); err != nil {
		c.Close()
		return nil, fmt.Errorf("image directory %s: %w", dir, err)
	}
	return c, nil
}

// openImage validates one file and keeps it open for serving. The designator is the file's base
// name, and designators are only ever looked up in the catalog, so a requestor can never name a path
// outside the directory.
func openImage(path string) (*Image, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("image %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("image %s: %w", path, err)
	}
	res, err := image.Verify(context.Background(), io.NewSectionReader(f, 0, st.Size()))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("image %s: %w", path, err)
	}
	return &Image{Header: res.Header, Designator: filepath.Base(path), File: io.NewSectionReader(f, 0, st.Size()), Path: path}, f, nil
}

// Close releases the files of a catalog loaded from a directory.
func (c *Catalog) Close() error {
	var errs []error
	for _, cl := range c.closers {
		errs = append(errs, cl.Close())
	}
	c.closers = nil
	return errors.Join(errs...)
}

// Images returns the catalog's images.
func (c *Catalog) Images() []*Image { return c.images }

// Select returns the newest image that applies to the requestor's vendor, product and version
// (§4.1 step 3), or nil.
func (c *Catalog) Select(vendor, product uint16, version uint32) *Image {
	var best *Image
	for _, im := range c.images {
		if !image.Applies(im.Header, vendor, product, version) {
			continue
		}
		if best == nil || im.Header.SoftwareVersion > best.Header.SoftwareVersion {
			best = im
		}
	}
	return best
}
