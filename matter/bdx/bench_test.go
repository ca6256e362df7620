package bdx

import (
	"context"
	"io"
	"testing"
)

// BenchmarkTransfer1MiB moves a 1 MiB image at MBS 1024 from Serve to Receive over the in-memory
// exchange (which copies every payload, as a wire would). MB/s is end-to-end throughput.
func BenchmarkTransfer1MiB(b *testing.B) {
	file := image(1<<20, 42)
	r, _ := armed(b, file, Config{})
	ctx := context.Background()
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		client, server := pipe()
		served := make(chan error, 1)
		go func() { served <- r.Serve(ctx, peerA, server) }()
		res, err := Receive(ctx, client, io.Discard, ReceiveOptions{Designator: designator, MaxBlockSize: 1024})
		if err != nil || !res.Complete || res.Bytes != int64(len(file)) {
			b.Fatalf("transfer failed: %v (%d bytes)", err, res.Bytes)
		}
		if err := <-served; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponderServe1MiB is the provider alone: Accept, then 1025 queries answered from the
// file (each reply a fresh payload).
func BenchmarkResponderServe1MiB(b *testing.B) {
	file := image(1<<20, 42)
	r, _ := armed(b, file, Config{})
	init := mustEncode(b, ReceiveInit{Control: ReceiverDrive, MaxBlockSize: 1024, FileDesignator: designator})
	q := Message{Protocol: ProtocolID, Opcode: uint8(OpBlockQuery), Payload: make([]byte, 4)}
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		tr, _, err := r.Accept(t0, peerA, init)
		if err != nil {
			b.Fatal(err)
		}
		for c := uint32(0); ; c++ {
			q.Payload[0], q.Payload[1], q.Payload[2], q.Payload[3] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)
			reply, _, err := tr.Handle(t0, q)
			if err != nil {
				b.Fatal(err)
			}
			if reply.Opcode == uint8(OpBlockEOF) {
				tr.Abort(StatusUnknown)
				break
			}
		}
	}
}

func BenchmarkDecodeReceiveInit(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeReceiveInit(seedInitWide); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBlock(b *testing.B) {
	p := make([]byte, 4+1024)
	p[4] = 1
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBlock(p); err != nil {
			b.Fatal(err)
		}
	}
}
