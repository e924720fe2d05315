package sip

import (
	"testing"
	"time"
)

// BenchmarkTraceCall prices a call's trace: the ten messages of a digest
// call setup and teardown added as the wire hooks add them.
func BenchmarkTraceCall(b *testing.B) {
	msgs := []struct {
		dir  Direction
		text string
	}{
		{DirectionOut, "INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n"},
		{DirectionIn, "SIP/2.0 401 Unauthorized\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n"},
		{DirectionOut, "ACK sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 ACK\r\n\r\n"},
		{DirectionOut, "INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 2 INVITE\r\n\r\n"},
		{DirectionIn, "SIP/2.0 100 Trying\r\nCall-ID: x\r\nCSeq: 2 INVITE\r\n\r\n"},
		{DirectionIn, "SIP/2.0 180 Ringing\r\nCall-ID: x\r\nCSeq: 2 INVITE\r\n\r\n"},
		{DirectionIn, "SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 2 INVITE\r\n\r\n"},
		{DirectionOut, "ACK sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 2 ACK\r\n\r\n"},
		{DirectionOut, "BYE sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 3 BYE\r\n\r\n"},
		{DirectionIn, "SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 3 BYE\r\n\r\n"},
	}
	t0 := time.Now()
	for b.Loop() {
		tr := &Trace{callID: "x"}
		for i, m := range msgs {
			tr.add(TraceEntry{Time: t0.Add(time.Duration(i) * time.Millisecond), Direction: m.dir, Message: m.text})
		}
	}
}
