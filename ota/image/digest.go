package image

import (
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// DigestType is an ImageDigestType: an id from the IANA "Named Information Hash Algorithm Registry"
// (RFC 6920), §11.21.2.4.
type DigestType uint8

// The registry's algorithms. sha-256 is the one the spec recommends; ids 2..6 are sha-256 truncated
// to 128, 120, 96, 64 and 32 bits.
const (
	SHA256    DigestType = 1
	SHA256128 DigestType = 2
	SHA256120 DigestType = 3
	SHA25696  DigestType = 4
	SHA25664  DigestType = 5
	SHA25632  DigestType = 6
	SHA384    DigestType = 7
	SHA512    DigestType = 8
	SHA3224   DigestType = 9
	SHA3256   DigestType = 10
	SHA3384   DigestType = 11
	SHA3512   DigestType = 12
)

type digestInfo struct {
	name string
	size int // digest length in bytes
	new  func() hash.Hash
}

var digests = [...]digestInfo{
	SHA256:    {"sha-256", 32, sha256.New},
	SHA256128: {"sha-256-128", 16, truncated(16)},
	SHA256120: {"sha-256-120", 15, truncated(15)},
	SHA25696:  {"sha-256-96", 12, truncated(12)},
	SHA25664:  {"sha-256-64", 8, truncated(8)},
	SHA25632:  {"sha-256-32", 4, truncated(4)},
	SHA384:    {"sha-384", 48, sha512.New384},
	SHA512:    {"sha-512", 64, sha512.New},
	SHA3224:   {"sha3-224", 28, func() hash.Hash { return sha3.New224() }},
	SHA3256:   {"sha3-256", 32, func() hash.Hash { return sha3.New256() }},
	SHA3384:   {"sha3-384", 48, func() hash.Hash { return sha3.New384() }},
	SHA3512:   {"sha3-512", 64, func() hash.Hash { return sha3.New512() }},
}

func (d DigestType) info() (digestInfo, bool) {
	if int(d) < len(digests) && digests[d].new != nil {
		return digests[d], true
	}
	return digestInfo{}, false
}

// Known reports whether d is an algorithm this package can compute.
func (d DigestType) Known() bool {
	_, ok := d.info()
	return ok
}

// Size is the digest length in bytes, or 0 for an unknown type.
func (d DigestType) Size() int {
	i, _ := d.info()
	return i.size
}

// New returns a hash computing d, or nil for an unknown type.
func (d DigestType) New() hash.Hash {
	if i, ok := d.info(); ok {
		return i.new()
	}
	return nil
}

// String is the registry's name ("sha-256"), or "digest-type(N)" for an unknown id.
func (d DigestType) String() string {
	if i, ok := d.info(); ok {
		return i.name
	}
	return "digest-type(" + strconv.Itoa(int(d)) + ")"
}

// ParseDigestType accepts a registry name in any case, with or without its dashes ("sha-256",
// "SHA256", "sha3_256"), or a decimal id of a known algorithm.
func ParseDigestType(s string) (DigestType, error) {
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		if d := DigestType(n); d.Known() {
			return d, nil
		}
		return 0, fmt.Errorf("digest type %s is not a known IANA named-information hash id (1..12)", s)
	}
	squash := func(s string) string {
		return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s))
	}
	want := squash(s)
	for d := range digests {
		if digests[d].new != nil && squash(digests[d].name) == want {
			return DigestType(d), nil
		}
	}
	return 0, fmt.Errorf("digest type %q is not one of sha-256, sha-256-128, sha-256-120, sha-256-96, sha-256-64, sha-256-32, sha-384, sha-512, sha3-224, sha3-256, sha3-384, sha3-512", s)
}

// truncatedHash is sha-256 cut to its first n bytes (RFC 6920 §2: the truncated ids keep the
// leftmost bits).
type truncatedHash struct {
	hash.Hash
	n int
}

func truncated(n int) func() hash.Hash {
	return func() hash.Hash { return truncatedHash{sha256.New(), n} }
}

func (t truncatedHash) Size() int { return t.n }

func (t truncatedHash) Sum(b []byte) []byte {
	full := t.Hash.Sum(b)
	return full[:len(b)+t.n]
}
