package setup

// Verhoeff's decimal check digit (the manual pairing code's last digit, §5.1.4.1), built on the
// dihedral group D5: it catches every single-digit error and every swap of adjacent digits.

// verhoeffD is the multiplication table of D5 (elements 0-4 rotations, 5-9 reflections).
var verhoeffD = [10][10]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
	{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
	{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
	{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
	{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
	{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
	{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
	{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
}

// verhoeffP[i] is the permutation (1 5 7 6 2 8 3 0 9 4) applied i times; it repeats every 8.
var verhoeffP = [8][10]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
	{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
	{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
	{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
	{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
	{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
}

// verhoeffInv[j] is the D5 inverse of j.
var verhoeffInv = [10]uint8{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}

// verhoeffCheckDigit returns the check digit to append to the decimal string digits, or 0 if
// digits holds anything but '0'..'9'.
func verhoeffCheckDigit(digits string) byte {
	var c uint8
	for i := range len(digits) {
		d := digits[len(digits)-1-i] - '0'
		if d > 9 {
			return 0
		}
		c = verhoeffD[c][verhoeffP[(i+1)%8][d]]
	}
	return '0' + verhoeffInv[c]
}

// verhoeffValid reports whether digits ends in its correct check digit.
func verhoeffValid(digits string) bool {
	var c uint8
	for i := range len(digits) {
		d := digits[len(digits)-1-i] - '0'
		if d > 9 {
			return false
		}
		c = verhoeffD[c][verhoeffP[i%8][d]]
	}
	return c == 0
}
