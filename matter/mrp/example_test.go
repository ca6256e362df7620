package mrp_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/otaconf/otaconf/matter/message"
	"github.com/otaconf/otaconf/matter/mrp"
	"github.com/otaconf/otaconf/matter/session"
	"github.com/otaconf/otaconf/matter/transport"
)

// A client invokes a command on a server over a secure session, the way the IM and BDX clients use
// this package: open an exchange, Send (reliable, returns once acked), Receive, Close.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ta, tb := transport.Pipe() // transport.ListenUDP("udp6", ...) on a real network

	client, _ := mrp.NewNode(ctx, mrp.Config{Transport: ta})
	defer client.Close()
	server, _ := mrp.NewNode(ctx, mrp.Config{Transport: tb})
	defer server.Close()

	// PASE or CASE would produce these; both ends share the keys, each sends with its own.
	i2r, r2i := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	cs, _ := session.NewSecure(session.SecureConfig{LocalSessionID: 10, PeerSessionID: 20, Role: session.Initiator, I2RKey: i2r, R2IKey: r2i})
	ss, _ := session.NewSecure(session.SecureConfig{LocalSessionID: 20, PeerSessionID: 10, Role: session.Responder, I2RKey: i2r, R2IKey: r2i})
	_ = client.AddSession(cs, tb.LocalAddr())
	_ = server.AddSession(ss, ta.LocalAddr())

	go func() { // the responder
		x, err := server.Accept(ctx)
		if err != nil {
			return
		}
		defer x.Close()
		req, _ := x.Receive(ctx)
		_ = x.Send(ctx, message.ProtocolIM, message.OpIMInvokeResponse, append([]byte("re: "), req.Payload...))
	}()

	x, _ := client.NewExchange(cs)
	defer x.Close() // acknowledges the response at once
	if err := x.Send(ctx, message.ProtocolIM, message.OpIMInvokeRequest, []byte("ArmFailSafe")); err != nil {
		fmt.Println(err)
		return
	}
	resp, err := x.Receive(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(message.OpName(resp.Protocol.ProtocolID, resp.Protocol.Opcode), string(resp.Payload))
	// Output: IM InvokeResponse re: ArmFailSafe
}
