package sip

import (
	"context"
	"log/slog"
)

// peerCaused are sipgo log messages that any sender can trigger at will
// (garbage, stray responses, broken connections). At Error level they would
// let a flood of junk packets flood the log too, with the junk copied in.
var peerCaused = map[string]bool{
	"failed to parse":                                    true,
	"Read error":                                         true,
	"Server tx failed to handle request":                 true,
	"Client tx failed to handle response":                true,
	"Failed to send stateless 400 for malformed request": true,
	"SIP request handler not found":                      true,
}

// quietPeerErrors wraps sipgo's log handler and downgrades peer-caused
// records to Debug.
type quietPeerErrors struct{ slog.Handler }

func (h quietPeerErrors) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug && peerCaused[r.Message] {
		r.Level = slog.LevelDebug
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietPeerErrors) WithAttrs(as []slog.Attr) slog.Handler {
	return quietPeerErrors{h.Handler.WithAttrs(as)}
}

func (h quietPeerErrors) WithGroup(name string) slog.Handler {
	return quietPeerErrors{h.Handler.WithGroup(name)}
}
