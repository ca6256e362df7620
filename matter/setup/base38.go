package setup

import "strconv"

// base38Alphabet is the QR alphanumeric subset the payload uses (§5.1.3.2): no space, $, %, *, +, /
// or colon, so that "MT:" and the '*' separator stay unambiguous.
const base38Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-."

// base38 groups: 3 bytes take 5 characters; a trailing 2 bytes take 4 and a trailing byte 2
// (§5.1.3.2). Values are little-endian, least significant character first.
var charsForBytes = [4]int{0, 2, 4, 5}

var base38Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(base38Alphabet) {
		t[base38Alphabet[i]] = int8(i)
	}
	return t
}()

type base38Error struct {
	offset int
	msg    string
}

func (e *base38Error) Error() string {
	return "base38: offset " + strconv.Itoa(e.offset) + ": " + e.msg
}

func base38Encode(b []byte) string {
	out := make([]byte, 0, (len(b)+2)/3*5)
	for len(b) > 0 {
		n := min(3, len(b))
		var v uint32
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint32(b[i])
		}
		for range charsForBytes[n] {
			out = append(out, base38Alphabet[v%38])
			v /= 38
		}
		b = b[n:]
	}
	return string(out)
}

// base38Decode is the inverse of base38Encode. It rejects characters outside the alphabet, a
// trailing group of 1 or 3 characters, and groups whose value does not fit their byte count, so
// every accepted string is the encoding of what it decodes to.
func base38Decode(s string) ([]byte, error) {
	for i := range len(s) {
		if base38Value[s[i]] < 0 {
			return nil, &base38Error{i, "character " + strconv.Quote(s[i:i+1]) + " is not in the base38 alphabet"}
		}
	}
	out := make([]byte, 0, len(s)/5*3+2)
	for off := 0; off < len(s); {
		k := min(5, len(s)-off)
		var n int
		switch k {
		case 5:
			n = 3
		case 4:
			n = 2
		case 2:
			n = 1
		default:
			return nil, &base38Error{off, "a trailing group of " + strconv.Itoa(k) +
				" characters is not valid base38 (groups are 5, or 4 or 2 at the end)"}
		}
		var v uint64
		for i := k - 1; i >= 0; i-- {
			v = v*38 + uint64(base38Value[s[off+i]])
		}
		if v >= 1<<(8*n) {
			return nil, &base38Error{off, "group " + strconv.Quote(s[off:off+k]) + " encodes " +
				strconv.FormatUint(v, 10) + ", more than " + strconv.Itoa(n) + " bytes hold"}
		}
		for range n {
			out = append(out, byte(v))
			v >>= 8
		}
		off += k
	}
	return out, nil
}
