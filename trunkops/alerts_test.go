package trunkops

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/store"
)

// The failure rate alert fires once the share of failed attempts in the
// window reaches the threshold (after the minimum number of attempts),
// once only, and clears when it falls back under; the webhook gets both,
// after a 503 that it retries.
func TestFailureRateAlert(t *testing.T) {
	var hits atomic.Int32
	got := make(chan AlertEvent, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // retried
			return
		}
		var ev AlertEvent
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &ev) == nil {
			got <- ev
		}
	}))
	defer srv.Close()
	n := NewNotifier(nil)
	n.backoff = func(int) time.Duration { return time.Millisecond }
	testenv.Go(t, func(ctx context.Context) error { n.Run(ctx); return nil })
	a := NewAlerts(nil, nil, n, nil)
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return clock }
	al := &store.AlertSettings{WebhookURL: srv.URL, FailureRatePercent: 50, FailureRateMinCalls: 4}
	record := func(failed bool) {
		a.RecordAttempt("acct", "+14155550100", "trk_1", al, failed)
		clock = clock.Add(time.Minute)
	}
	// 3 failures of 3: under the minimum; the 4th attempt makes 75 %.
	for range 3 {
		record(true)
	}
	record(false)
	ev := next(t, got)
	if ev.AlertType != AlertFailureRate || ev.State != "fired" || ev.Value != 75 || ev.Threshold != 50 ||
		ev.PhoneNumber == nil || *ev.PhoneNumber != "+14155550100" || ev.TrunkID == nil || *ev.TrunkID != "trk_1" || ev.Unit != "percent" {
		t.Errorf("fired: %+v", ev)
	}
	record(true) // still over: no second event
	for range 4 {
		record(false) // 4 of 6, 7, 8 (50 %: still on), then 4 of 9 < 50 %
	}
	if ev := next(t, got); ev.State != "cleared" || ev.Value >= 50 {
		t.Errorf("cleared: %+v", ev)
	}
	select {
	case ev := <-got:
		t.Errorf("unexpected event %+v", ev)
	default:
	}
}

func next(t *testing.T, got <-chan AlertEvent) AlertEvent {
	t.Helper()
	select {
	case ev := <-got:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook")
		return AlertEvent{}
	}
}
