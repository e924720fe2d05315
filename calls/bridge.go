package calls

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media"
)

// Bridge joins this call with another live call of the account. The other
// call's program is interrupted; when this call hangs up, the other gets
// bridgeTargetComplete and goes on; when the other hangs up, Bridge returns
// and this call gets bridgeComplete.
func (c *Call) Bridge(ctx context.Context, b *bxml.Bridge) (bxml.BridgeResult, error) {
	other, ok := c.e.Call(c.app.AccountID, b.CallID)
	if !ok || other == c {
		return bxml.BridgeResult{Cause: bxml.CauseError, ErrorMessage: fmt.Sprintf("call %s is not a live call of this account", b.CallID)}, nil
	}
	released := make(chan struct{})
	bridged := make(chan error, 1)
	err := other.Redirect(func(octx context.Context) (*bxml.Document, error) {
		if err := other.Answer(octx); err != nil {
			bridged <- err
			return nil, err
		}
		if err := media.Bridge(c.leg, other.leg); err != nil {
			bridged <- err
			return nil, nil // nothing to bridge: the other call's program ends
		}
		bridged <- nil
		select {
		case <-released:
		case <-octx.Done():
			return nil, octx.Err()
		}
		media.Unbridge(other.leg)
		other.logf(slog.LevelInfo, "bridge", "bridge with %s ended", c.id)
		return other.fetch(b.BridgeTargetCompleteTarget(), &bxml.BridgeTargetCompleteEvent{})
	})
	if err != nil {
		return bxml.BridgeResult{Cause: bxml.CauseError, ErrorMessage: fmt.Sprintf("call %s: %v", b.CallID, err)}, nil
	}
	select {
	case err := <-bridged:
		if err != nil {
			return bxml.BridgeResult{Cause: bxml.CauseError, ErrorMessage: err.Error()}, nil
		}
	case <-ctx.Done():
		close(released)
		return bxml.BridgeResult{}, ctx.Err()
	}
	c.logf(slog.LevelInfo, "bridge", "bridged with %s", other.id)
	select {
	case <-ctx.Done():
		close(released) // we hung up: the other call goes on
		return bxml.BridgeResult{}, ctx.Err()
	case <-other.ctx.Done():
		media.Unbridge(c.leg)
		rec := other.Snapshot()
		return bxml.BridgeResult{Cause: orHangup(rec.DisconnectCause), ErrorMessage: rec.ErrorMessage}, nil
	}
}

func orHangup(cause string) string {
	if cause == "" {
		return bxml.CauseHangup
	}
	return cause
}
