package cli

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
)

// A price is whole units and at most two decimals, never negative. It is read
// as a string so that 0.29 is exactly 29 cents (a float64 would give 28.999…).
var priceRE = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]{1,2}))?$`)

// parseCents turns "49.99" into 4999.
func parseCents(s string) (int64, error) {
	m := priceRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("price %q is not an amount like 49.99 (0 or more, at most two decimals)", s)
	}
	frac := m[2]
	if len(frac) == 1 {
		frac += "0" // "0.5" is 50 cents
	}
	var cents int64
	if frac != "" {
		cents, _ = strconv.ParseInt(frac, 10, 64)
	}
	units, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || units > (math.MaxInt64-cents)/100 {
		return 0, fmt.Errorf("price %q is too large", s)
	}
	return units*100 + cents, nil
}

// formatCents turns 4999 into "49.99".
func formatCents(c int64) string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign, u = "-", uint64(-(c+1))+1 // safe for math.MinInt64
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}
