package message

// Message is a whole message in clear: message header, protocol header and application payload.
// On the unsecured session it is exactly the wire form; on a secure session the protocol header and
// payload travel encrypted (see package session), and a received Message is what decryption yields.
type Message struct {
	Header   Header
	Protocol ProtocolHeader
	Payload  []byte
}

// Is reports whether m carries opcode op of protocol p.
func (m *Message) Is(p ProtocolID, op uint8) bool {
	return m.Protocol.ProtocolID == p && m.Protocol.Opcode == op
}

// Len is the encoded size of m in bytes.
func (m *Message) Len() int { return m.Header.Len() + m.Protocol.Len() + len(m.Payload) }

// Append appends the cleartext wire form of m to b.
func (m *Message) Append(b []byte) ([]byte, error) {
	b, err := m.Header.Append(b)
	if err != nil {
		return b, err
	}
	b, err = m.Protocol.Append(b)
	if err != nil {
		return b, err
	}
	return append(b, m.Payload...), nil
}

// Encode returns the cleartext wire form of m.
func (m *Message) Encode() ([]byte, error) { return m.Append(make([]byte, 0, m.Len())) }

// DecodeMessage parses a cleartext message (the unsecured session's wire form). Payload and the
// extension fields alias p. Error offsets count from the start of p.
func DecodeMessage(p []byte) (Message, error) {
	h, n, err := DecodeHeader(p)
	if err != nil {
		return Message{}, err
	}
	ph, m, err := DecodeProtocolHeader(p[n:])
	if err != nil {
		if de, ok := err.(*FieldError); ok {
			c := *de
			c.Offset += n
			return Message{}, &c
		}
		return Message{}, err
	}
	return Message{Header: h, Protocol: ph, Payload: p[n+m:]}, nil
}
