package tlv

import (
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func TestMalformedInputIsRejectedWithOffsetAndPath(t *testing.T) {
	deep := strings.Repeat("17", MaxDepth+1) + strings.Repeat("18", MaxDepth+1)
	okDeep := strings.Repeat("17", MaxDepth) + strings.Repeat("18", MaxDepth)
	_, err := Decode(mustHex(t, okDeep))
	require.NoError(t, err, "exactly MaxDepth levels decode")
	cases := []struct {
		name   string
		hex    string
		want   error
		offset int
		path   string
	}{
		{"an integer cut short", "15 25 03 e8", ErrTruncated, 1, "$.3"},
		{"a tag cut short", "15 24", ErrTruncated, 1, "$"},
		{"a reserved element type 0x19", "19", ErrReservedType, 0, "$"},
		{"a reserved element type 0x1F in a structure", "15 3f 01 18", ErrReservedType, 1, "$"},
		{"an end-of-container at top level", "18", ErrUnexpectedEnd, 0, "$"},
		{"a second end-of-container", "15 18 18", ErrTrailingBytes, 2, "$"},
		{"a structure without end-of-container", "15 24 00 01", ErrMissingEnd, 0, "$"},
		{"a nested array without end-of-container", "15 36 02 04 01", ErrMissingEnd, 1, "$.2"},
		{"a string length past the input", "15 2c 05 04 61 62 18", ErrLengthPastInput, 1, "$.5"},
		{"an octet string 8-octet length past the input", "13 ff ff ff ff ff ff ff ff 00", ErrLengthPastInput, 0, "$"},
		{"containers nested too deeply", deep, ErrTooDeep, MaxDepth, "$" + strings.Repeat("[0]", MaxDepth)},
		{"invalid UTF-8 in a UTF-8 string", "15 2c 05 02 c3 28 18", ErrInvalidUTF8, 1, "$.5"},
		{"an anonymous element inside a structure", "15 24 00 01 04 02 18", ErrAnonymousInStruct, 4, "$[1]"},
		{"a tagged element inside an array", "16 04 01 24 00 02 18", ErrTaggedInArray, 3, "$.0"},
		{"an end-of-container carrying a tag", "15 38 00", ErrTaggedEnd, 1, "$"},
		{"bytes after the element", "04 01 04", ErrTrailingBytes, 2, "$"},
		{"empty input", "", ErrTruncated, 0, "$"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(mustHex(t, c.hex))
			require.Error(t, err)
			require.ErrorIs(t, err, c.want)
			var de *DecodeError
			require.True(t, errors.As(err, &de), "%T", err)
			require.Equal(t, c.offset, de.Offset, err.Error())
			require.Equal(t, c.path, de.Path, err.Error())
			require.Contains(t, err.Error(), "byte ")
		})
	}
}

func TestAStrayEndOfContainerAfterTheTopLevelElementIsAnError(t *testing.T) {
	_, err := DecodeAll(mustHex(t, "15 18 18"))
	require.ErrorIs(t, err, ErrUnexpectedEnd)
	require.Contains(t, err.Error(), "byte 2")
}

func TestReaderWalksAStructureWithoutAllocating(t *testing.T) {
	// {0 = 0xFFF1U, 1 = 0x8000U, 2 = 1U, 3 = [0U], 5 = "XX", 7 = hex:0102}
	b := mustHex(t, "15 25 00 f1 ff 25 01 00 80 24 02 01 36 03 04 00 18 2c 05 02 58 58 30 07 02 01 02 18")
	var r Reader
	var sum uint64
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(b)
		sum = 0
		if r.Next() != nil || r.EnterContainer() != nil {
			t.Fatal("no structure")
		}
		for r.Next() == nil {
			switch r.Tag().Number {
			case 0, 1, 2:
				v, err := r.Uint()
				if err != nil {
					t.Fatal(err)
				}
				sum += v
			case 5:
				s, _ := r.UTF8()
				sum += uint64(len(s))
			case 7:
				s, _ := r.Bytes()
				sum += uint64(s[1])
			}
		}
		if r.ExitContainer() != nil {
			t.Fatal("exit")
		}
	})
	require.Zero(t, allocs)
	require.Equal(t, uint64(0xFFF1+0x8000+1+2+2), sum)
	require.ErrorIs(t, r.Next(), io.EOF)
}

func TestReaderSkipsContainersItDoesNotEnter(t *testing.T) {
	b := mustHex(t, "15 35 01 24 00 01 36 01 04 07 18 18 24 02 09 18")
	r := NewReader(b)
	require.NoError(t, r.Next())
	require.NoError(t, r.EnterContainer())
	require.NoError(t, r.Next())
	require.Equal(t, Context(1), r.Tag())
	require.NoError(t, r.Next(), "skips the whole nested structure")
	require.Equal(t, Context(2), r.Tag())
	v, err := r.Uint()
	require.NoError(t, err)
	require.Equal(t, uint64(9), v)
	require.ErrorIs(t, r.Next(), io.EOF)
	require.NoError(t, r.ExitContainer())
	require.Equal(t, b, r.Raw(), "after ExitContainer Raw is the whole container")
}

func TestAskingForTheWrongTypeNamesBoth(t *testing.T) {
	r := NewReader(mustHex(t, "15 24 03 05 18"))
	require.NoError(t, r.Next())
	require.NoError(t, r.EnterContainer())
	require.NoError(t, r.Next())
	_, err := r.Int()
	require.ErrorIs(t, err, ErrWrongType)
	require.EqualError(t, err, "tlv: byte 1 ($.3): want a signed integer, found uint8")
	_, err = r.Bytes()
	require.ErrorIs(t, err, ErrWrongType)
}

func TestErrorsAreSticky(t *testing.T) {
	r := NewReader(mustHex(t, "19 04 01"))
	err := r.Next()
	require.ErrorIs(t, err, ErrReservedType)
	require.Equal(t, err, r.Next())
}
