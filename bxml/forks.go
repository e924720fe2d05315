package bxml

import (
	"context"
	"fmt"
)

// Forks is implemented by a Call that runs media streams and real-time
// transcriptions. These verbs start work beside the call's other verbs and
// return at once (StopStream with wait="true" waits for its stream to
// end); their callbacks (mediaStream*, realTimeTranscription*) are the
// engine's and take no BXML.
type Forks interface {
	StartStream(ctx context.Context, s *StartStream) error
	StopStream(ctx context.Context, s *StopStream) error
	StartTranscription(ctx context.Context, t *StartTranscription) error
	StopTranscription(ctx context.Context, t *StopTranscription) error
}

// runFork runs the stream and transcription verbs; ok is false for any
// other verb.
func runFork(ctx context.Context, v Verb, c Call) (out Outcome, stop bool, err error, ok bool) {
	switch v.(type) {
	case *StartStream, *StopStream, *StartTranscription, *StopTranscription:
	default:
		return out, false, nil, false
	}
	f, isForks := c.(Forks)
	if !isForks {
		return out, false, &Error{Verb: v.VerbName(), Reason: fmt.Sprintf("unsupported verb %s (not available yet)", v.VerbName()), Err: ErrUnsupported}, true
	}
	switch v := v.(type) {
	case *StartStream:
		err = answered(ctx, c, func() error { return f.StartStream(ctx, v) })
	case *StopStream:
		err = f.StopStream(ctx, v)
	case *StartTranscription:
		err = answered(ctx, c, func() error { return f.StartTranscription(ctx, v) })
	case *StopTranscription:
		err = f.StopTranscription(ctx, v)
	}
	return out, false, err, true
}

// StreamEventTarget is where a stream's mediaStream* events go.
func (s *StartStream) StreamEventTarget() Target {
	return Target{URL: s.StreamEventURL, Method: s.StreamEventMethod, Username: s.Username, Password: s.Password}
}

// TranscriptionEventTarget is where a real-time transcription's
// realTimeTranscription* events go.
func (t *StartTranscription) TranscriptionEventTarget() Target {
	return Target{URL: t.TranscriptionEventURL, Method: t.TranscriptionEventMethod, Username: t.Username, Password: t.Password}
}

// StreamTracks is the tracks attribute as track names.
func StreamTracks(tracks string) []string {
	switch tracks {
	case "outbound":
		return []string{"outbound"}
	case "both":
		return []string{"inbound", "outbound"}
	}
	return []string{"inbound"}
}
