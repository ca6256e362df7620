package im_test

import (
	"fmt"

	"github.com/otaconf/otaconf/matter/im"
)

// A client invokes a command with its fields as an anonymous structure and reads the answer; a
// provider answers with a response command.
func Example() {
	queryImage := im.CommandPath{Endpoint: 0, Cluster: 0x0029, Command: 0x00}
	fields := []byte{0x15, 0x25, 0x00, 0xF1, 0xFF, 0x18} // {0: VendorID 0xFFF1}, abridged

	request, err := im.EncodeInvoke(queryImage, fields, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("InvokeRequest  % X\n", request)

	// The provider's side.
	req, err := im.DecodeInvokeRequest(request)
	if err != nil {
		fmt.Println(err)
		return
	}
	answer := req.Requests[0].Path
	answer.Command = 0x01 // QueryImageResponse

	notAvailable := []byte{0x15, 0x24, 0x00, 0x02, 0x18} // {0: Status NotAvailable}
	reply, err := im.EncodeInvokeResponseCommand(answer, notAvailable)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The client's side again.
	res, err := im.DecodeInvokeResult(reply, im.OpInvokeResponse, queryImage)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("result         command 0x%02X, fields % X, err %v\n", res.Command, res.Fields, res.Err())
	// Output:
	// InvokeRequest  15 28 00 28 01 36 02 15 37 00 24 00 00 24 01 29 24 02 00 18 35 01 25 00 F1 FF 18 18 18 24 FF 0C 18
	// result         command 0x01, fields 15 24 00 02 18, err <nil>
}
