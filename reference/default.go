package reference

import (
	"bytes"
	"context"
	"fmt"

	"github.com/otaconf/otaconf/ota/image"
)

// Default image: what `otaconf run` offers when no image directory is given. Its requestor profile is
// CHIP's test vendor and product at version 1 (harness.DefaultProfile).
const (
	DefaultVendorID      = 0xFFF1
	DefaultProductID     = 0x8000
	DefaultVersion       = 2
	DefaultVersionString = "2.0.0"
	DefaultPayloadSize   = 1 << 20
	DefaultDesignator    = "otaconf-fff1-8000-v2.ota"
)

// DefaultPayload returns the default image's payload: a deterministic pattern, so that every run
// serves the same bytes.
func DefaultPayload(size int) []byte {
	p := make([]byte, size)
	x := uint32(0x9E3779B9)
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x)
	}
	return p
}

// DefaultImage builds the default .ota file in memory.
func DefaultImage(ctx context.Context) ([]byte, error) {
	var buf bytes.Buffer
	_, err := image.Write(ctx, &buf, image.HeaderOptions{
		VendorID: DefaultVendorID, ProductID: DefaultProductID,
		SoftwareVersion: DefaultVersion, SoftwareVersionString: DefaultVersionString,
	}, bytes.NewReader(DefaultPayload(DefaultPayloadSize)))
	if err != nil {
		return nil, fmt.Errorf("building the default image: %w", err)
	}
	return buf.Bytes(), nil
}

// MemoryImage validates an .ota file held in memory and returns it as a catalog entry.
func MemoryImage(ctx context.Context, designator string, file []byte) (*Image, error) {
	res, err := image.Verify(ctx, bytes.NewReader(file))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", designator, err)
	}
	return &Image{Header: res.Header, Designator: designator, File: bytes.NewReader(file)}, nil
}

// DefaultCatalog returns a catalog holding the default image, and the image's bytes.
func DefaultCatalog(ctx context.Context) (*Catalog, []byte, error) {
	file, err := DefaultImage(ctx)
	if err != nil {
		return nil, nil, err
	}
	im, err := MemoryImage(ctx, DefaultDesignator, file)
	if err != nil {
		return nil, nil, err
	}
	c, err := NewCatalog(im)
	return c, file, err
}

// DefaultHTTPSBaseURL is the base of the HTTPS ImageURIs the embedded reference offers: it
// declares MCORE.OTA.HTTPS, so HTTPS offers must exist; the host is reserved and never fetched.
const DefaultHTTPSBaseURL = "https://ota.example.invalid/images/"

// NewDefault returns the reference provider as otaconf embeds it: the catalog given (the default
// image when nil), node ids on fabrics 1 and 2, and HTTPS offers.
func NewDefault(ctx context.Context, cat *Catalog) (*Provider, error) {
	if cat == nil {
		c, _, err := DefaultCatalog(ctx)
		if err != nil {
			return nil, err
		}
		cat = c
	}
	return New(Config{Catalog: cat, NodeIDs: map[uint8]uint64{2: DefaultNodeID + 1}, HTTPSBaseURL: DefaultHTTPSBaseURL})
}
