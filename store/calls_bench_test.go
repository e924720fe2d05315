package store

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// benchCall is a call as a short digest-authenticated inbound call leaves
// it: 9 SIP messages (INVITE, 100, 407, ACK, INVITE, 100, 200, ACK, BYE, ...)
// and a handful of log lines.
func benchCall(i int, accountID string) (CallRecord, []SIPMessage, []LogEntry) {
	now := time.Now().UTC()
	c := CallRecord{ID: fmt.Sprintf("c-%d", i), AccountID: accountID, ApplicationID: "app", Direction: "inbound",
		From: "+15550001111", To: "sip:app@127.0.0.1", State: "disconnected", StartTime: now, AnswerTime: now,
		EndTime: now, DisconnectCause: "hangup"}
	msg := "INVITE sip:app@127.0.0.1 SIP/2.0\r\n" + strings.Repeat("Header: value\r\n", 12) + "\r\n"
	trace := make([]SIPMessage, 9)
	for j := range trace {
		trace[j] = SIPMessage{At: now, Direction: "in", Transport: "udp", LocalAddr: "127.0.0.1:5060", RemoteAddr: "127.0.0.1:5070", Message: msg}
	}
	log := make([]LogEntry, 5)
	for j := range log {
		log[j] = LogEntry{At: now, Level: "info", Source: "engine", Message: "call step"}
	}
	return c, trace, log
}

func BenchmarkSaveCall(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	acct, err := s.CreateAccount(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c, trace, log := benchCall(i, acct.ID)
		i++
		if err := s.SaveCall(ctx, c, trace, log); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSaveCallParallel is SaveCall as the engine calls it under load:
// many calls ending at once, each waiting for its own record to be saved.
func BenchmarkSaveCallParallel(b *testing.B) { benchSaveCalls(b, false) }

// BenchmarkJournaledCallParallel is the same with the crash-recovery
// journal: each call's row written as it begins and removed as it is saved.
// The difference to BenchmarkSaveCallParallel is the journal's cost per call.
func BenchmarkJournaledCallParallel(b *testing.B) { benchSaveCalls(b, true) }

func benchSaveCalls(b *testing.B, journal bool) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	acct, err := s.CreateAccount(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, trace, log := benchCall(int(n.Add(1)), acct.ID)
			if journal {
				if err := s.JournalCall(LiveCall{Record: c}); err != nil {
					b.Error(err)
					return
				}
			}
			if err := s.SaveCall(ctx, c, trace, log); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if c := s.calls.commits.Load(); c > 0 {
		b.ReportMetric(float64(n.Load())/float64(c), "calls/commit")
	}
}

// Every INVITE looks its application up (the front door's checks, then the
// engine), so this runs about three times per call setup.
func BenchmarkApplicationByID(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	acct, err := s.CreateAccount(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	app, err := s.CreateApplication(ctx, Application{AccountID: acct.ID, Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ApplicationByID(ctx, app.ID); err != nil {
			b.Fatal(err)
		}
	}
}
