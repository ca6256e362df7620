package fuzz

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/matter/im"
	"github.com/otaconf/otaconf/ota"
	"github.com/stretchr/testify/require"
)

func enc(t testing.TB, c ota.Command) []byte {
	t.Helper()
	b, err := ota.Encode(c)
	require.NoError(t, err)
	return b
}

func cmdResp(t testing.TB, c ota.Command) ota.Response {
	t.Helper()
	r, err := ota.CommandResponse(c)
	require.NoError(t, err)
	return r
}

const testProvider = 0x00000000000B0D01

func TestTheOraclesJudgeEachKindOfAnswer(t *testing.T) {
	valid := enc(t, profileQuery(harness.DefaultProfile))
	badLocation := profileQuery(harness.DefaultProfile)
	badLocation.Location = ota.Ptr("ABC")
	offer := ota.QueryImageResponse{Status: ota.StatusUpdateAvailable, ImageURI: ota.Ptr("bdx://00000000000B0D01/img.ota"),
		SoftwareVersion: ota.Ptr[uint32](2), SoftwareVersionString: ota.Ptr("2.0"), UpdateToken: make([]byte, 32)}
	noString := offer
	noString.SoftwareVersionString = nil
	busyNoDelay := ota.QueryImageResponse{Status: ota.StatusBusy}
	busyZero := ota.QueryImageResponse{Status: ota.StatusBusy, DelayedActionTime: ota.Ptr[uint32](0)}
	apply := enc(t, ota.ApplyUpdateRequest{UpdateToken: make([]byte, 8), NewVersion: 2})
	notify := enc(t, ota.NotifyUpdateApplied{UpdateToken: make([]byte, 8), SoftwareVersion: 2})
	shortToken := enc(t, ota.ApplyUpdateRequest{UpdateToken: make([]byte, 7), NewVersion: 2})

	cases := []struct {
		name   string
		a      answer
		strict bool
		want   string // signature of the first problem, "" for none
		level  ota.Level
	}{
		{"a valid query answered with an offer passes", answer{cmd: ota.CmdQueryImage, fields: valid, resp: cmdResp(t, offer)}, false, "", 0},
		{"a request with no answer in time is unresponsive", answer{cmd: ota.CmdQueryImage, fields: valid, err: context.DeadlineExceeded, timedOut: true}, false,
			"unresponsive|QueryImage", ota.LevelMust},
		{"a panic is a target error of class panic", answer{cmd: ota.CmdQueryImage, fields: valid, err: &panicError{value: "boom"}}, false,
			"target-error|QueryImage|panic", ota.LevelMust},
		{"a dead child is a target error of class transport", answer{cmd: ota.CmdApplyUpdateRequest, fields: apply, err: errors.New("adapter process: exited")}, false,
			"target-error|ApplyUpdateRequest|transport", ota.LevelMust},
		{"NotifyUpdateApplied answered with a command is malformed", answer{cmd: ota.CmdNotifyUpdateApplied, fields: notify, resp: cmdResp(t, ota.ApplyUpdateResponse{})}, false,
			"malformed-answer|NotifyUpdateApplied|unexpected-command|", ota.LevelMust},
		{"an unsupported command answered with a command is malformed", answer{cmd: 0x05, fields: valid, resp: cmdResp(t, offer)}, false,
			"malformed-answer|Command(0x05)|unexpected-command|", ota.LevelMust},
		{"a query answered with ApplyUpdateResponse is malformed", answer{cmd: ota.CmdQueryImage, fields: valid, resp: cmdResp(t, ota.ApplyUpdateResponse{})}, false,
			"malformed-answer|QueryImage|wrong-command|ApplyUpdateResponse", ota.LevelMust},
		{"response fields that do not decode are malformed", answer{cmd: ota.CmdQueryImage, fields: valid, resp: ota.Response{HasCommand: true, Command: ota.CmdQueryImageResponse, Fields: []byte{0x15, 0x24}}}, false,
			"malformed-answer|QueryImage|undecodable|QueryImageResponse", ota.LevelMust},
		{"an undefined IM status is malformed", answer{cmd: ota.CmdQueryImage, fields: valid, resp: ota.StatusOnly(0x42)}, false,
			"malformed-answer|QueryImage|undefined-status|", ota.LevelMust},
		{"a valid query answered with a status breaks the status oracle", answer{cmd: ota.CmdQueryImage, fields: valid, resp: ota.StatusOnly(im.Failure)}, false,
			"status|QueryImage|QueryImageResponse||FAILURE", ota.LevelMust},
		{"a valid notify answered with an error breaks the status oracle", answer{cmd: ota.CmdNotifyUpdateApplied, fields: notify, resp: ota.StatusOnly(im.InvalidCommand)}, false,
			"status|NotifyUpdateApplied|SUCCESS||INVALID_COMMAND", ota.LevelMust},
		{"a valid notify answered with SUCCESS passes", answer{cmd: ota.CmdNotifyUpdateApplied, fields: notify, resp: ota.StatusOnly(im.Success)}, false, "", 0},
		{"an accepted 3-character Location breaks the status oracle", answer{cmd: ota.CmdQueryImage, fields: enc(t, badLocation), resp: cmdResp(t, offer)}, false,
			"status|QueryImage|CONSTRAINT_ERROR|QueryImage.Location|QueryImageResponse", ota.LevelMust},
		{"the exact status for a bad Location passes", answer{cmd: ota.CmdQueryImage, fields: enc(t, badLocation), resp: ota.StatusOnly(im.ConstraintError)}, false, "", 0},
		{"CHIP's INVALID_COMMAND for a short token is tolerated", answer{cmd: ota.CmdApplyUpdateRequest, fields: shortToken, resp: ota.StatusOnly(im.InvalidCommand)}, false, "", 0},
		{"CHIP's INVALID_COMMAND for a short token is a SHOULD finding in strict mode", answer{cmd: ota.CmdApplyUpdateRequest, fields: shortToken, resp: ota.StatusOnly(im.InvalidCommand)}, true,
			"status|ApplyUpdateRequest|CONSTRAINT_ERROR|ApplyUpdateRequest.UpdateToken|INVALID_COMMAND", ota.LevelShould},
		{"FAILURE for a short token is a MUST finding", answer{cmd: ota.CmdApplyUpdateRequest, fields: shortToken, resp: ota.StatusOnly(im.Failure)}, false,
			"status|ApplyUpdateRequest|CONSTRAINT_ERROR|ApplyUpdateRequest.UpdateToken|FAILURE", ota.LevelMust},
		{"an unsupported command must get UNSUPPORTED_COMMAND", answer{cmd: 0x03, fields: valid, resp: ota.StatusOnly(im.InvalidCommand)}, false,
			"status|ApplyUpdateResponse|UNSUPPORTED_COMMAND|ApplyUpdateResponse|INVALID_COMMAND", ota.LevelMust},
		{"an offer without SoftwareVersionString breaks a response rule", answer{cmd: ota.CmdQueryImage, fields: valid, resp: cmdResp(t, noString)}, false,
			"response-rule|QueryImage|qir.update-available.fields|QueryImageResponse.SoftwareVersionString", ota.LevelMust},
		{"Busy without DelayedActionTime breaks a response rule", answer{cmd: ota.CmdQueryImage, fields: valid, resp: cmdResp(t, busyNoDelay)}, false,
			"response-rule|QueryImage|qir.busy.delay|QueryImageResponse.DelayedActionTime", ota.LevelMust},
		{"Busy with a zero delay passes outside strict mode", answer{cmd: ota.CmdQueryImage, fields: valid, resp: cmdResp(t, busyZero)}, false, "", 0},
		{"Busy with a zero delay is a SHOULD finding in strict mode", answer{cmd: ota.CmdQueryImage, fields: valid, resp: cmdResp(t, busyZero)}, true,
			"response-rule|QueryImage|qir.busy.delay-sane|QueryImageResponse.DelayedActionTime", ota.LevelShould},
		{"the bdx host must be the provider's node id on the fabric", answer{cmd: ota.CmdQueryImage, fields: valid, provider: testProvider + 1, resp: cmdResp(t, offer)}, false,
			"response-rule|QueryImage|uri.bdx.node-id-provider|QueryImageResponse.ImageURI", ota.LevelMust},
		{"an ApplyUpdateResponse to a valid apply passes", answer{cmd: ota.CmdApplyUpdateRequest, fields: apply, resp: cmdResp(t, ota.ApplyUpdateResponse{Action: ota.ActionProceed})}, false, "", 0},
		{"an undefined action breaks a response rule", answer{cmd: ota.CmdApplyUpdateRequest, fields: apply, resp: cmdResp(t, ota.ApplyUpdateResponse{Action: 7})}, false,
			"response-rule|ApplyUpdateRequest|response.constraint|ApplyUpdateResponse.Action", ota.LevelMust},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.a.provider == 0 {
				c.a.provider = testProvider
			}
			probs, _ := judge(c.a, c.strict, time.Second)
			if c.want == "" {
				require.Empty(t, probs)
				return
			}
			require.NotEmpty(t, probs)
			p := probs[0]
			require.Equal(t, c.want, p.sig, p.message)
			require.Equal(t, c.level, p.level)
			require.NotEmpty(t, p.message)
			require.NotEmpty(t, p.section)
		})
	}
}

func TestAnOfferAndItsRuleFindingsAreAllReported(t *testing.T) {
	offer := ota.QueryImageResponse{Status: ota.StatusUpdateAvailable, ImageURI: ota.Ptr("bdx://00000000000B0D01/img.ota"),
		SoftwareVersion: ota.Ptr[uint32](2), UpdateToken: make([]byte, 7)}
	probs, token := judge(answer{cmd: ota.CmdQueryImage, fields: enc(t, profileQuery(harness.DefaultProfile)), provider: testProvider, resp: cmdResp(t, offer)}, false, time.Second)
	var sigs []string
	for _, p := range probs {
		sigs = append(sigs, p.sig)
	}
	require.ElementsMatch(t, []string{
		"response-rule|QueryImage|response.constraint|QueryImageResponse.UpdateToken",
		"response-rule|QueryImage|qir.update-available.fields|QueryImageResponse.SoftwareVersionString",
	}, sigs, "two defects in one answer are two findings")
	require.Len(t, token, 7, "the token is kept for later steps")
}
