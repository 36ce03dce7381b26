package cli

import (
	"math"
	"testing"
)

func TestParseCents(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "49.99", want: 4999},
		{in: "0.5", want: 50},
		{in: "0.29", want: 29},
		{in: "19", want: 1900},
		{in: "0", want: 0},
		{in: "1000000.00", want: 100000000},
		{in: "92233720368547758.07", want: math.MaxInt64},
		{in: "1.999", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "1.", wantErr: true},
		{in: ".5", wantErr: true},
		{in: "1,50", wantErr: true},
		{in: "1e3", wantErr: true},
		{in: "", wantErr: true},
		{in: "92233720368547758.08", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseCents(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseCents(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatCents(t *testing.T) {
	for in, want := range map[int64]string{4999: "49.99", 50: "0.50", 0: "0.00", 100000000: "1000000.00", -5: "-0.05", math.MinInt64: "-92233720368547758.08"} {
		if got := formatCents(in); got != want {
			t.Errorf("formatCents(%d) = %q, want %q", in, got, want)
		}
	}
}
