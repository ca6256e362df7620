package mrp

import (
	"context"
	"testing"

	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/transport"
)

// BenchmarkReliableRoundTrip measures one request/response exchange between two nodes over the
// in-memory pair: open, reliable request, piggybacked ack, reliable response, close (standalone ack).
func BenchmarkReliableRoundTrip(b *testing.B) {
	ta, tb := transport.Pipe()
	client, server, cs, _ := pairNodes(b, ta, tb, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			x, err := server.Accept(ctx)
			if err != nil {
				return
			}
			req, err := x.Receive(ctx)
			if err == nil {
				_ = x.Send(ctx, message.ProtocolIM, message.OpIMInvokeResponse, req.Payload)
			}
			_ = x.Close()
		}
	}()
	payload := make([]byte, 100)
	b.ReportAllocs()
	for b.Loop() {
		x, err := client.NewExchange(cs)
		if err != nil {
			b.Fatal(err)
		}
		if err := x.Send(ctx, message.ProtocolIM, message.OpIMInvokeRequest, payload); err != nil {
			b.Fatal(err)
		}
		if _, err := x.Receive(ctx); err != nil {
			b.Fatal(err)
		}
		_ = x.Close()
	}
	b.StopTimer()
	cancel()
	_ = server.Close()
	<-served
}
