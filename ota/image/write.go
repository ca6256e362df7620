package image

import (
	"bytes"
	"context"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
)

// HeaderOptions are the header fields a writer chooses; Write computes PayloadSize and ImageDigest.
type HeaderOptions struct {
	VendorID, ProductID          uint16
	SoftwareVersion              uint32
	SoftwareVersionString        string
	MinApplicableSoftwareVersion *uint32
	MaxApplicableSoftwareVersion *uint32
	ReleaseNotesURL              string     // "" leaves it out
	DigestType                   DigestType // 0 means SHA256, the spec's recommendation
}

// Write writes an image of payload to w and returns its header. The header holds the payload's size
// and digest, so payload is read twice, streaming through a fixed buffer both times: once for the
// digest, then (after seeking back to where it stood) to copy it. The second pass hashes again and
// fails with ErrPayloadChanged if the payload changed in between. ctx is checked between chunks.
// An invalid option gives the Header.Encode errors (ErrConstraint, ErrUnknownDigestType) before
// anything is written.
func Write(ctx context.Context, w io.Writer, opts HeaderOptions, payload io.ReadSeeker) (Header, error) {
	dt := opts.DigestType
	if dt == 0 {
		dt = SHA256
	}
	hs := dt.New()
	if hs == nil {
		return Header{}, &Error{Offset: -1, Field: headerFields[tagDigestType], Err: ErrUnknownDigestType, Detail: unknownDigestDetail(dt)}
	}
	start, err := payload.Seek(0, io.SeekCurrent)
	if err != nil {
		return Header{}, fmt.Errorf("ota image: payload: %w", err)
	}
	pooled := getBuf()
	defer bufPool.Put(pooled)
	buf := pooled[:]
	size, err := copyHashing(ctx, io.Discard, payload, hs, buf, -1)
	if err != nil {
		return Header{}, err
	}
	h := Header{
		VendorID:                     opts.VendorID,
		ProductID:                    opts.ProductID,
		SoftwareVersion:              opts.SoftwareVersion,
		SoftwareVersionString:        opts.SoftwareVersionString,
		PayloadSize:                  uint64(size),
		MinApplicableSoftwareVersion: opts.MinApplicableSoftwareVersion,
		MaxApplicableSoftwareVersion: opts.MaxApplicableSoftwareVersion,
		ReleaseNotesURL:              opts.ReleaseNotesURL,
		ImageDigestType:              dt,
		ImageDigest:                  hs.Sum(nil),
	}
	hdr, err := h.Encode()
	if err != nil {
		return Header{}, err
	}
	if _, err := payload.Seek(start, io.SeekStart); err != nil {
		return Header{}, fmt.Errorf("ota image: payload: seeking back for the second pass: %w", err)
	}
	prefix := Prefix{FileIdentifier: FileIdentifier, TotalSize: declaredSize(len(hdr), h.PayloadSize), HeaderSize: uint32(len(hdr))}
	if _, err := w.Write(append(prefix.append(make([]byte, 0, PrefixSize+len(hdr))), hdr...)); err != nil {
		return Header{}, fmt.Errorf("ota image: writing the header: %w", err)
	}
	hs.Reset()
	copied, err := copyHashing(ctx, w, payload, hs, buf, size)
	if err != nil {
		return Header{}, err
	}
	var extra [1]byte
	more, _ := io.ReadFull(payload, extra[:])
	switch {
	case copied < size:
		return Header{}, fmt.Errorf("ota image: %w: it shrank from %d to %d bytes", ErrPayloadChanged, size, copied)
	case more > 0:
		return Header{}, fmt.Errorf("ota image: %w: it grew past %d bytes", ErrPayloadChanged, size)
	case !bytes.Equal(hs.Sum(nil), h.ImageDigest):
		return Header{}, fmt.Errorf("ota image: %w: its %s differs between the two passes", ErrPayloadChanged, dt)
	}
	return h, nil
}

// copyHashing copies r to w (up to limit bytes, or to EOF for limit < 0) through buf, hashing what it
// copies, and checks ctx between chunks.
func copyHashing(ctx context.Context, w io.Writer, r io.Reader, hs hash.Hash, buf []byte, limit int64) (int64, error) {
	var n int64
	for limit < 0 || n < limit {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("ota image: stopped after %d payload bytes: %w", n, err)
		}
		chunk := buf
		if limit >= 0 && int64(len(chunk)) > limit-n {
			chunk = chunk[:limit-n]
		}
		m, err := r.Read(chunk)
		if m > 0 {
			hs.Write(chunk[:m])
			if _, werr := w.Write(chunk[:m]); werr != nil {
				return n, fmt.Errorf("ota image: writing payload byte %d: %w", n, werr)
			}
			n += int64(m)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("ota image: reading payload byte %d: %w", n, err)
		}
	}
	return n, nil
}

// Create writes the image of the file payloadPath to path (through a temporary file in the same
// directory, renamed into place, so a failure never leaves a partial image at path).
func Create(ctx context.Context, path string, opts HeaderOptions, payloadPath string) (Header, error) {
	in, err := os.Open(payloadPath)
	if err != nil {
		return Header{}, fmt.Errorf("ota image: payload: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return Header{}, fmt.Errorf("ota image: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h, err := Write(ctx, tmp, opts, in)
	if err != nil {
		return Header{}, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return Header{}, fmt.Errorf("ota image: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Header{}, fmt.Errorf("ota image: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Header{}, fmt.Errorf("ota image: %w", err)
	}
	ok = true
	return h, nil
}
