package ota

import (
	"fmt"

	"github.com/otaconf/otaconf/matter/im"
)

// Response is a provider's answer to an invoke: either a response command with its fields (Status
// SUCCESS, HasCommand), or an IM status alone (SUCCESS for NotifyUpdateApplied, an error otherwise).
type Response struct {
	Status     im.Status
	HasCommand bool
	Command    CommandID
	Fields     []byte // the response command's fields as an anonymous TLV structure
}

// StatusOnly returns a Response carrying only an IM status.
func StatusOnly(s im.Status) Response { return Response{Status: s} }

// CommandResponse returns a Response carrying a response command.
func CommandResponse(c Command) (Response, error) {
	b, err := Encode(c)
	if err != nil {
		return Response{}, fmt.Errorf("encode %s: %w", c.ID(), err)
	}
	return Response{Status: im.Success, HasCommand: true, Command: c.ID(), Fields: b}, nil
}

func (r Response) String() string {
	if r.HasCommand {
		return fmt.Sprintf("%s (%d octets)", r.Command, len(r.Fields))
	}
	return "status " + r.Status.String()
}
