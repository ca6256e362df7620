package bdx_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/otaconf/otaconf/matter/bdx"
)

// A provider arms one image for the requestor it answered with UpdateAvailable, then serves its
// BDX exchange one message at a time.
func ExampleResponder() {
	requestor := bdx.Peer{FabricIndex: 1, NodeID: 0x0102030405060708}
	var arming bdx.Arming
	arming.Arm(requestor, []byte("ota/img"), bytes.NewReader(make([]byte, 2500)))
	r, err := bdx.NewResponder(arming.Lookup, bdx.Config{})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	init, _ := bdx.Encode(bdx.ReceiveInit{Control: bdx.ReceiverDrive, MaxBlockSize: 1024, FileDesignator: []byte("ota/img")})
	tr, reply, err := r.Accept(now, requestor, init)
	if err != nil {
		panic(err)
	}
	acc, _ := bdx.DecodeReceiveAccept(reply.Payload)
	fmt.Printf("accept: TC %s, block size %d, length %d\n", acc.Control, acc.MaxBlockSize, acc.Length)
	for c := uint32(0); ; c++ {
		q, _ := bdx.Encode(bdx.BlockQuery{Counter: c})
		reply, _, _ := tr.Handle(now, q)
		fmt.Printf("%s %d: %d bytes\n", bdx.Opcode(reply.Opcode), c, len(reply.Payload)-4)
		if bdx.Opcode(reply.Opcode) == bdx.OpBlockEOF {
			ack, _ := bdx.Encode(bdx.BlockAckEOF{Counter: c})
			_, done, err := tr.Handle(now, ack)
			fmt.Println("done:", done, err)
			break
		}
	}
	// Output:
	// accept: TC 0x20{v0 RECEIVER_DRIVE}, block size 1024, length 2500
	// Block 0: 1024 bytes
	// Block 1: 1024 bytes
	// BlockEOF 2: 452 bytes
	// done: true <nil>
}
