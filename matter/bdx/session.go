package bdx

// Session is one BDX exchange driven one message at a time by a transport that delivers messages in
// order and can tell when a message has no reply (an in-process call, the exec adapter): each
// requestor message yields at most one provider message in synchronous receiver-drive mode.
type Session interface {
	// Handle processes one message from the requestor and returns the reply to send, if any, and
	// whether the exchange is over (finished, refused or failed).
	Handle(m Message) (reply *Message, done bool)
	// Close abandons the exchange, releasing what it holds.
	Close()
}
