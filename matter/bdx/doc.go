// Package bdx is Bulk Data Exchange (protocol 0x0002) as OTA uses it: the codec, the provider side
// (Responder) and a rule-checking requestor side (Receive). It is not a transport: it opens no sockets,
// starts no goroutines and leaves MRP, sessions and encryption to the Exchange the caller supplies.
//
// # Messages
//
// One typed value per message, one Append/Decode pair each (Core §11.22.5-6; ota-provider.md §6.3):
// SendInit, SendAccept, ReceiveInit, ReceiveAccept, BlockQuery, Block, BlockEOF, BlockAck, BlockAckEOF,
// BlockQueryWithSkip. Decoding is strict: reserved Transfer Control (bit 7) or Range Control (bits 2,
// 3, 5-7) bits, truncated fields, a FileDesignatorLength of 0 or past the end, an empty Block and
// trailing bytes after a fixed-size message are *FormatError values naming message, field and byte
// offset. A Message is (protocol id, opcode, payload), so a Secure Channel StatusReport (0x0000/0x40)
// travels on the same exchange. ReceiveAccept quirk (§6.3): CHIP writes a StartOffset with RC.STARTOFS
// in ReceiveAccept; we decode it, never send it, and Receive reports it as a finding.
//
// # Provider state machine (Responder, Transfer)
//
//	          ReceiveInit ok
//	(none) ─────────────────────▶ awaitQuery ──BlockQuery(n)/WithSkip(n,s), ≥ MBS bytes left──▶ Block(n), stay
//	   │  refused: StatusReport        │    ──BlockAck(n-1)──▶ (no reply, idle timer restarts), stay
//	   ▼                               │    ──query, < MBS bytes left──▶ BlockEOF(n) (0..MBS-1 bytes)
//	 (no Transfer)                     ▼
//	                              awaitAckEOF ──BlockAckEOF(n)──▶ finished (success)
//
// Any other message, a wrong counter or a malformed message sends one StatusReport and moves to
// finished; a StatusReport from the peer, the idle timeout (≥ 5 min, TC-SU-3.3 step 4) or
// Transfer.Abort end it too. A finished transfer holds no slot and answers nothing more. Each
// Transfer is independent, so transfers back to back and side by side work (bug #9).
//
// Negotiation: TC = RECEIVER_DRIVE, version min(0, proposed), ASYNC clear. Block size = the proposal
// when it is 16..128 and fits; otherwise the largest power of two ≤ min(proposal, Config.MaxBlockSize
// (default 1024), Config.MaxPayload-4). The ReceiveAccept carries DEFLEN = the bytes that will be
// served (when > 0) and never STARTOFS. STARTOFS starts the first block at that offset; DEFLEN smaller
// than what is left serves exactly that many bytes then BlockEOF; DEFLEN 0 means indefinite. A full
// block is always a Block, so a window that is a multiple of MBS ends with an empty BlockEOF.
// BlockQueryWithSkip skips forward (clamped at the end of the window), then sends block n.
//
// # Status codes the Responder sends (GeneralCode FAILURE, ProtocolId 0x00000002)
//
// Accept checks run in this order; the first that fails answers:
//
//	first message not BDX, or not ReceiveInit (SendInit included)  UNEXPECTED_MESSAGE            0x18
//	ReceiveInit malformed, or proposed MaxBlockSize 0              BAD_MESSAGE_CONTENTS          0x16
//	PTC without RECEIVER_DRIVE (also neither drive bit; CHIP      TRANSFER_METHOD_NOT_SUPPORTED 0x50
//	  answers this too, matter.js answers 0x16)
//	MaxTransfers transfers already active                           RESPONDER_BUSY                0x19
//	Lookup fails: unknown designator, or not armed for this        FILE_DESIGNATOR_UNKNOWN       0x51
//	  (fabric, node) (§6.5.1, bug #2)
//	file size negative                                             TRANSFER_FAILED_UNKNOWN_ERROR 0x1F
//	STARTOFS > 0 and ≥ file size (bug #3)                          START_OFFSET_NOT_SUPPORTED    0x52
//	DEFLEN > bytes after the offset                                LENGTH_TOO_LARGE              0x12
//
// During the transfer:
//
//	malformed message                                              BAD_MESSAGE_CONTENTS          0x16
//	query counter ≠ next block, BlockAck/AckEOF ≠ last block       BAD_BLOCK_COUNTER             0x17
//	message not valid in the state, unknown opcode, other protocol UNEXPECTED_MESSAGE            0x18
//	file read fails or comes up short                              TRANSFER_FAILED_UNKNOWN_ERROR 0x1F
//	Transfer.Abort(code)                                           code
//
// A definite length is never required (LENGTH_REQUIRED 0x15 is not sent) and every version is
// accepted by answering version 0 (VERSION_NOT_SUPPORTED 0x53 is not sent; matter.js rejects versions
// ≠ 0, §6.5.8). LENGTH_TOO_SHORT, LENGTH_MISMATCH and UNKNOWN are decoded and named but not sent.
//
// # Receiver (Receive)
//
// Receive sends ReceiveInit, then BlockQuery(0), (1), … until BlockEOF, then BlockAckEOF. Options
// cover the proposed block size, STARTOFS, DEFLEN, one BlockQueryWithSkip, optional BlockAcks and a
// stop or abort after N blocks. Findings carry a rule id (the Rule constants), a spec reference and
// expected versus actual. A violation that makes going on impossible (wrong counter, oversize or
// malformed block, an Accept without RECEIVER_DRIVE or with MBS 0, an unexpected message) is answered
// with the StatusReport a real requestor would send, and Receive returns a *StatusError.
package bdx
