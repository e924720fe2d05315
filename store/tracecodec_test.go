package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func traceFixture() []SIPMessage {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 123456789, time.UTC)
	invite := "INVITE sip:app@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070\r\n" + strings.Repeat("X-Pad: 0123456789\r\n", 30) + "\r\n"
	return []SIPMessage{
		{At: t0, Direction: "in", Transport: "UDP", LocalAddr: "127.0.0.1:5060", RemoteAddr: "127.0.0.1:5070", Message: invite},
		{At: t0.Add(time.Millisecond), Direction: "out", Transport: "UDP", LocalAddr: "127.0.0.1:5060", RemoteAddr: "127.0.0.1:5070", Message: "SIP/2.0 100 Trying\r\n\r\n"},
		{At: t0.Add(-time.Hour), Direction: "in", Transport: "", LocalAddr: "", RemoteAddr: "", Message: ""},
	}
}

func TestTraceCodecRoundTrip(t *testing.T) {
	for _, trace := range [][]SIPMessage{nil, traceFixture()} {
		blob, err := encodeTrace(trace)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeTrace(blob)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(trace) {
			t.Fatalf("%d messages back, want %d", len(got), len(trace))
		}
		for i := range trace {
			if got[i] != trace[i] {
				t.Errorf("message %d: %+v, want %+v", i, got[i], trace[i])
			}
		}
	}
	raw := 0
	for _, m := range traceFixture() {
		raw += len(m.Message)
	}
	if blob, _ := encodeTrace(traceFixture()); len(blob) >= raw/2 {
		t.Errorf("a %d-byte trace deflated to %d bytes", raw, len(blob))
	}
}

func TestTraceCodecRefusesDamage(t *testing.T) {
	blob, err := encodeTrace(traceFixture())
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"version":   append([]byte{9}, blob[1:]...),
		"truncated": blob[:len(blob)/2],
	} {
		if _, err := decodeTrace(b); !errors.Is(err, errTraceBlob) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzDecodeTrace(f *testing.F) {
	blob, _ := encodeTrace(traceFixture())
	f.Add(blob)
	f.Add([]byte{traceCodecV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeTrace(b)
	})
}

// A call saved before migration 0021 has its trace in call_sip_messages,
// one row per message: CallTrace still reads it. A call saved now has its
// trace in call_traces, and a second save replaces it.
func TestCallTraceRowsAndBlob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testEngine) {
		ctx := context.Background()
		s, err := eng.open(ctx, t)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		acct, err := s.CreateAccount(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		rec := func(id string) CallRecord {
			return CallRecord{ID: id, AccountID: acct.ID, ApplicationID: "app", Direction: "inbound", From: "+15550001111",
				To: "sip:app@127.0.0.1", State: "disconnected", StartTime: now, EndTime: now, LastUpdate: now}
		}
		trace := traceFixture()

		if err := s.SaveCall(ctx, rec("c-old"), nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM call_traces WHERE call_id = ?`), "c-old"); err != nil {
			t.Fatal(err)
		}
		for i, m := range trace[:2] {
			if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO call_sip_messages (call_id, seq, at, direction, transport, local_addr, remote_addr, message)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), "c-old", i, m.At, m.Direction, m.Transport, m.LocalAddr, m.RemoteAddr, m.Message); err != nil {
				t.Fatal(err)
			}
		}
		old, err := s.CallTrace(ctx, "c-old")
		if err != nil || len(old) != 2 || old[0].Message != trace[0].Message || old[1].Message != trace[1].Message {
			t.Fatalf("trace saved as rows: %d messages, %v", len(old), err)
		}

		if err := s.SaveCall(ctx, rec("c-new"), trace, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.CallTrace(ctx, "c-new")
		if err != nil || len(got) != len(trace) || got[0] != trace[0] || got[2] != trace[2] {
			t.Fatalf("trace saved as a blob: %+v, %v", got, err)
		}
		if err := s.SaveCall(ctx, rec("c-new"), trace[:1], nil); err != nil {
			t.Fatal(err)
		}
		if got, err := s.CallTrace(ctx, "c-new"); err != nil || len(got) != 1 {
			t.Fatalf("after a second save: %d messages, %v", len(got), err)
		}
		if got, err := s.CallTrace(ctx, "c-none"); err != nil || len(got) != 0 {
			t.Fatalf("unknown call: %d messages, %v", len(got), err)
		}
	})
}

// BenchmarkEncodeTrace is the deflate of a short call's trace, paid by the
// call's goroutine as it saves.
func BenchmarkEncodeTrace(b *testing.B) {
	_, trace, _ := benchCall(0, "acct")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeTrace(trace); err != nil {
			b.Fatal(err)
		}
	}
}
