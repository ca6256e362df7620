package client

import (
	"testing"
)

// BenchmarkInvokeInMemory is one ArmFailSafe round trip on an established PASE session to the
// in-process device over an in-memory network (encode, encrypt, MRP, decode on both sides).
func BenchmarkInvokeInMemory(b *testing.B) {
	c, _, err := memDial(b, testPasscode, Options{})
	if err != nil {
		b.Fatal(err)
	}
	fields := armFailSafeFields(60, 1)
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Invoke(b.Context(), 0, clusterGeneralCommissioning, cmdArmFailSafe, fields, false)
		if err != nil || !res.HasCommand {
			b.Fatal(res, err)
		}
	}
}
