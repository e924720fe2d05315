package callflow

import (
	"context"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// Loop is the fetch-and-run cycle of one call leg: deliver a callback, run
// the BXML it returns, deliver the callback that BXML ends with, and so on,
// until the document ends the call, hands it off, or no BXML comes back.
// The engine owns the Loop's ctx: cancelling it (the caller hung up, or
// updateCall replaced the program) stops it.
type Loop struct {
	Source Source
	Call   bxml.Call
	// Info returns the leg's current state; each event is completed with
	// it (Fill) just before it is sent.
	Info func() *bxml.CallInfo
	// OnDocument, if set, sees each document before it runs, with the URL
	// it came from (the base for relative URLs such as PlayAudio's).
	OnDocument func(doc *bxml.Document, url string)
}

// Run delivers first and follows the program. It returns the final
// outcome: OutcomeEnd (document ended or no BXML came back), OutcomeHangup
// or OutcomeForwarded. Errors are Fetch's (ErrCallback, ErrInvalidBXML),
// bxml.Run's (*bxml.Error for unsupported verbs, the Call's errors) or
// ctx's; Cause maps them to a disconnect cause.
func (l *Loop) Run(ctx context.Context, first Request) (bxml.Outcome, error) {
	req := first
	for {
		if l.Info != nil {
			req.Event.Fill(l.Info())
		}
		reply, err := l.Source.Fetch(ctx, req)
		if err != nil {
			return bxml.Outcome{}, err
		}
		if reply.Doc == nil {
			return bxml.Outcome{Kind: bxml.OutcomeEnd}, nil
		}
		if l.OnDocument != nil {
			l.OnDocument(reply.Doc, reply.URL)
		}
		out, err := bxml.Run(ctx, reply.Doc, l.Call)
		if err != nil || out.Kind != bxml.OutcomeCallback {
			return out, err
		}
		req = Request{Event: out.Event, Target: out.Target, Base: reply.URL}
	}
}
