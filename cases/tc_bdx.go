package cases

import (
	"fmt"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/matter/bdx"
	"github.com/otaconf/otaconf/matter/securechannel"
	"github.com/otaconf/otaconf/ota"
)

// TC-BDX-1.4, 1.6 and 2.1: the BDX cases where the provider is the responder and sender
// (ota-provider.md §8.2, §6.2-§6.5).

const bdxSection = "§11.22.5 (ReceiveInit/ReceiveAccept)"

// receiveInit is the typical OTA ReceiveInit for the offer (TC 0x20, RC 0, MBS 1024).
func receiveInit(o harness.Offer) bdx.ReceiveInit {
	return bdx.ReceiveInit{Control: bdx.ReceiverDrive, MaxBlockSize: 1024, FileDesignator: o.Designator}
}

// refusal opens an exchange after an offer and sends a ReceiveInit edited by edit, expecting code.
func refusal(t *harness.T, edit func(o harness.Offer, ri *bdx.ReceiveInit), want bdx.StatusCode, section string) {
	o := offer(t)
	if o.Designator == nil {
		t.Fatalf("the offer's ImageURI %q is not bdx://", o.URI)
	}
	ri := receiveInit(o)
	edit(o, &ri)
	c := t.OpenBDX(r0(t))
	c.Send(ri)
	c.ExpectStatus(want, section)
}

func init() {
	register(
		&harness.Case{
			ID: "TC-BDX-1.4/1", Title: "ReceiveInit (TC 0x20, RC 0, MBS 1024) is answered with a matching ReceiveAccept",
			Section: bdxSection, TestPlan: "TC-BDX-1.4", Level: ota.LevelMust, PICS: bdxPICS,
			Run: func(t *harness.T) {
				o := offer(t)
				c := t.OpenBDX(r0(t))
				c.Send(receiveInit(o))
				ra := c.Expect(bdx.OpReceiveAccept, "TC-BDX-1.4").(bdx.ReceiveAccept)
				t.Expect(ota.LevelMust, "TC-BDX-1.4; ota-provider.md §6.3", "TransferControl drive mode", "RECEIVER_DRIVE", driveMode(ra.Control))
				if ra.MaxBlockSize == 0 || ra.MaxBlockSize > 1024 {
					t.Failf(ota.LevelMust, "bdx.accept.block-size", "TC-BDX-1.4", "1..1024", fmt.Sprint(ra.MaxBlockSize), "MaxBlockSize must not exceed the proposal")
				}
				if ra.Control.Version() != 0 {
					t.Failf(ota.LevelMust, "bdx.accept.version", "TC-BDX-1.4", "0", fmt.Sprint(ra.Control.Version()), "version above the proposed 0")
				}
				c.Send(bdx.BlockQuery{Counter: 0})
				c.Recv() // Block 0 or BlockEOF
			},
		},
		&harness.Case{
			ID: "TC-BDX-1.4/version", Title: "A ReceiveInit proposing BDX version 1 is accepted at version 0",
			Section: bdxSection, TestPlan: "TC-BDX-1.4", Level: ota.LevelShould, PICS: bdxPICS,
			Run: func(t *harness.T) {
				o := offer(t)
				c := t.OpenBDX(r0(t))
				ri := receiveInit(o)
				ri.Control = bdx.ReceiverDrive | 1
				c.Send(ri)
				ra := c.Expect(bdx.OpReceiveAccept, "ota-provider.md §6.5.8 (responder chooses min(own, proposed))").(bdx.ReceiveAccept)
				t.Expect(ota.LevelShould, "ota-provider.md §6.5.8", "accepted version", "0", fmt.Sprint(ra.Control.Version()))
			},
		},
		&harness.Case{
			ID: "TC-BDX-1.6/designator", Title: "An unknown file designator is refused with FILE_DESIGNATOR_UNKNOWN",
			Section: bdxSection, TestPlan: "TC-BDX-1.6", Level: ota.LevelMust, PICS: bdxPICS,
			Run: func(t *harness.T) {
				refusal(t, func(_ harness.Offer, ri *bdx.ReceiveInit) { ri.FileDesignator = []byte("otaconf/no-such-image.ota") },
					bdx.StatusFileDesignatorUnknown, "TC-BDX-1.6; ota-provider.md §6.5.1")
			},
		},
		&harness.Case{
			ID: "TC-BDX-1.6/traversal", Title: "A designator naming a path outside the images is refused",
			Section: bdxSection, TestPlan: "TC-BDX-1.6", Level: ota.LevelMust, PICS: bdxPICS,
			Run: func(t *harness.T) {
				refusal(t, func(o harness.Offer, ri *bdx.ReceiveInit) {
					ri.FileDesignator = append([]byte("../../../../../../etc/"), o.Designator...)
				}, bdx.StatusFileDesignatorUnknown, "TC-BDX-1.6; ota-provider.md §6.5.1")
			},
		},
		&harness.Case{
			ID: "TC-BDX-1.6/start-offset", Title: "A start offset at or past the end of the image is refused with START_OFFSET_NOT_SUPPORTED",
			Section: bdxSection, TestPlan: "TC-BDX-1.6; TC-SU-3.3 step 5", Level: ota.LevelMust, PICS: bdxPICS,
			Run: func(t *harness.T) {
				size := imageSize(t)
				refusal(t, func(_ harness.Offer, ri *bdx.ReceiveInit) {
					ri.Range |= bdx.StartOfs
					ri.StartOffset = uint64(size)
				}, bdx.StatusStartOffsetNotSupported, "TC-BDX-1.6; bug #3 (connectedhomeip TestBdxOtaSenderStartOffset)")
			},
		},
		&harness.Case{
			ID: "TC-BDX-1.6/length", Title: "A definite length larger than the image is refused with LENGTH_TOO_LARGE",
			Section: bdxSection, TestPlan: "TC-BDX-1.6", Level: ota.LevelMust, PICS: bdxPICS,
			Run: func(t *harness.T) {
				size := imageSize(t)
				refusal(t, func(_ harness.Offer, ri *bdx.ReceiveInit) {
					ri.Range |= bdx.DefLen
					ri.Length = uint64(size) + 1
				}, bdx.StatusLengthTooLarge, "TC-BDX-1.6; ota-provider.md §6.5.6")
			},
		},
		&harness.Case{
			ID: "TC-BDX-1.6/transfer-method", Title: "A ReceiveInit without RECEIVER_DRIVE is refused with TRANSFER_METHOD_NOT_SUPPORTED",
			Section: bdxSection, TestPlan: "TC-BDX-1.6", Level: ota.LevelMust, PICS: bdxPICS,
			Run: func(t *harness.T) {
				refusal(t, func(_ harness.Offer, ri *bdx.ReceiveInit) { ri.Control = bdx.SenderDrive },
					bdx.StatusTransferMethodNotSupported, "TC-BDX-1.6; ota-provider.md §6.4 (OTA uses receiver drive)")
			},
		},
		&harness.Case{
			ID: "TC-BDX-1.6/not-init", Title: "A BlockQuery that does not follow a ReceiveInit is refused with UNEXPECTED_MESSAGE",
			Section: "§11.22.6", TestPlan: "TC-BDX-1.6", Level: ota.LevelMust, PICS: bdxPICS,
			Run: func(t *harness.T) {
				offer(t)
				c := t.OpenBDX(r0(t))
				c.Send(bdx.BlockQuery{Counter: 0})
				c.ExpectStatus(bdx.StatusUnexpectedMessage, "ota-provider.md §6.2 (UNEXPECTED_MESSAGE)")
			},
		},
		&harness.Case{
			ID: "TC-BDX-1.6/malformed", Title: "A truncated ReceiveInit is refused with BAD_MESSAGE_CONTENTS",
			Section: bdxSection, TestPlan: "TC-BDX-1.6", Level: ota.LevelMust, PICS: bdxPICS,
			Run: func(t *harness.T) {
				offer(t)
				c := t.OpenBDX(r0(t))
				c.SendRaw(bdx.Message{Protocol: bdx.ProtocolID, Opcode: uint8(bdx.OpReceiveInit), Payload: []byte{0x20, 0x00, 0x00}})
				c.ExpectStatus(bdx.StatusBadMessageContents, "ota-provider.md §6.2 (BAD_MESSAGE_CONTENTS)")
			},
		},
		&harness.Case{
			ID: "TC-BDX-1.6/busy", Title: "A provider out of transfer slots refuses with RESPONDER_BUSY, not another code",
			Section: bdxSection, TestPlan: "TC-BDX-1.6", Level: ota.LevelMust, PICS: bdxPICS,
			Run: func(t *harness.T) {
				o := offer(t)
				const attempts = 24
				for i := 0; i < attempts; i++ {
					c := t.OpenBDX(r0(t))
					c.Send(receiveInit(o))
					m, ok := c.Recv()
					if !ok {
						t.Fatalf("transfer %d: no answer to ReceiveInit", i+1)
					}
					if m.IsStatusReport() {
						t.Logf("transfer %d refused", i+1)
						if code, isBDX := bdx.StatusOf(mustStatus(t, m)); !isBDX || code != bdx.StatusResponderBusy {
							t.Failf(ota.LevelMust, "bdx.status", "TC-BDX-1.6; ota-provider.md §6.2", "StatusReport RESPONDER_BUSY", fmt.Sprintf("StatusReport %v", code),
								"a provider that cannot take another transfer must say RESPONDER_BUSY")
						}
						return
					}
				}
				t.Logf("the provider accepted %d concurrent transfers; RESPONDER_BUSY was not reached", attempts)
			},
		},
		&harness.Case{
			ID: "TC-BDX-2.1/1", Title: "Synchronous sending: blocks in ascending counter order from 0, BlockEOF last, acknowledged",
			Section: "§11.22.6", TestPlan: "TC-BDX-2.1", Level: ota.LevelMust, PICS: []string{PICSProvider, PICSBDXSyncSender},
			Run: func(t *harness.T) {
				o := offer(t)
				res, _, err := t.Download(r0(t), bdx.ReceiveOptions{Designator: o.Designator, MaxBlockSize: 256})
				if err != nil || !res.Complete {
					t.Failf(ota.LevelMust, "bdx.complete", "TC-BDX-2.1", "a transfer ending with BlockEOF and BlockAckEOF", describeRefusal(res), "the transfer did not complete")
				}
			},
		},
		&harness.Case{
			ID: "TC-BDX-2.1/counter", Title: "A BlockQuery with a wrong counter is refused with BAD_BLOCK_COUNTER",
			Section: "§11.22.6", TestPlan: "TC-BDX-2.1", Level: ota.LevelMust, PICS: []string{PICSProvider, PICSBDXSyncSender},
			Run: func(t *harness.T) {
				o := offer(t)
				c := t.OpenBDX(r0(t))
				c.Send(receiveInit(o))
				c.Expect(bdx.OpReceiveAccept, "TC-BDX-2.1")
				c.Send(bdx.BlockQuery{Counter: 5})
				c.ExpectStatus(bdx.StatusBadBlockCounter, "ota-provider.md §6.4 (counters), §6.2")
			},
		},
		&harness.Case{
			ID: "TC-BDX-2.1/skip", Title: "BlockQueryWithSkip skips forward and serves the right bytes",
			Section: "§11.22.6.3", TestPlan: "TC-BDX-2.1", Level: ota.LevelMust, PICS: []string{PICSProvider, PICSBDXSyncSender},
			Run: func(t *harness.T) {
				o := offer(t)
				res, _, err := t.Download(r0(t), bdx.ReceiveOptions{Designator: o.Designator, MaxBlockSize: 512, SkipAtBlock: 2, SkipBytes: 1000})
				if err != nil || !res.Complete {
					t.Failf(ota.LevelMust, "bdx.skip", "ota-provider.md §6.5.7", "a complete transfer", describeRefusal(res), "the transfer with a skip failed")
				}
			},
		},
		&harness.Case{
			ID: "TC-BDX-2.1/block-ack", Title: "Optional BlockAcks between queries are accepted",
			Section: "§11.22.6", TestPlan: "TC-BDX-2.1", Level: ota.LevelMust, PICS: []string{PICSProvider, PICSBDXSyncSender},
			Run: func(t *harness.T) {
				o := offer(t)
				res, _, err := t.Download(r0(t), bdx.ReceiveOptions{Designator: o.Designator, SendBlockAck: true})
				if err != nil || !res.Complete {
					t.Failf(ota.LevelMust, "bdx.block-ack", "ota-provider.md §6.1 (BlockAck is optional in receiver drive)", "a complete transfer", describeRefusal(res), "the transfer with BlockAcks failed")
				}
			},
		},
	)
}

func mustStatus(t *harness.T, m bdx.Message) securechannel.StatusReport {
	r, err := securechannel.DecodeStatusReport(m.Payload)
	if err != nil {
		t.Fatalf("malformed StatusReport: %v", err)
	}
	return r
}

func driveMode(c bdx.TransferControl) string {
	switch {
	case c&(bdx.SenderDrive|bdx.ReceiverDrive) == bdx.ReceiverDrive:
		return "RECEIVER_DRIVE"
	case c&(bdx.SenderDrive|bdx.ReceiverDrive) == bdx.SenderDrive:
		return "SENDER_DRIVE"
	case c&(bdx.SenderDrive|bdx.ReceiverDrive) == 0:
		return "none"
	}
	return "both"
}

// imageSize downloads the offered image once to learn its size.
func imageSize(t *harness.T) int {
	if img := t.Profile().Image; len(img) > 0 {
		return len(img)
	}
	o := offer(t)
	return len(t.ExpectDownload(r0(t), o, bdx.ReceiveOptions{}))
}
