package wasmhost

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/sdk"
)

func callEvent(t sdk.EventType, fields map[string]any) sdk.Event {
	return sdk.Event{Type: t, Fields: fields}
}

func TestInitiateAnswersBXML(t *testing.T) {
	h := newTestHost(t, Config{})
	p := newTestPool(t, h, "basic", PoolConfig{App: "app1"})
	ctx := context.Background()
	d, err := p.Handle(ctx, callEvent(sdk.EventInitiate, map[string]any{
		"eventType": "initiate", "callId": "c-1", "from": "+15551230001", "to": "+15551230002",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := "<Response><SpeakSentence>Hello +15551230001, calling +15551230002</SpeakSentence></Response>"
	if d.BXML != want || d.Action != sdk.ActionNone {
		t.Fatalf("decision %+v", d)
	}
	// The wire-form entry point, with call variables.
	d, err = p.HandleJSON(ctx, sdk.EventGather, []byte(`{"v":1,"event":"gather","eventType":"gather","digits":"42","variables":{"caller":"vip"}}`))
	if err != nil || !strings.Contains(d.BXML, "You pressed 42 as vip") {
		t.Fatalf("decision %+v, err %v", d, err)
	}
}

func TestSIPInbound(t *testing.T) {
	h := newTestHost(t, Config{})
	p := newTestPool(t, h, "basic", PoolConfig{App: "app1"})
	req := func(from string, x map[string][]string) sdk.Event {
		return sdk.Event{Type: sdk.EventSIPInbound, SIP: &sdk.SIPRequest{
			Method: "INVITE", RequestURI: "sip:app1@example.com", From: from, To: "<sip:app1@example.com>",
			Source: "192.0.2.7:5060", Headers: map[string][]string{"User-Agent": {"softphone"}}, XHeaders: x,
		}}
	}
	ctx := context.Background()

	d, err := p.Handle(ctx, req("<sip:alice@example.com>;tag=1", map[string][]string{"X-Customer-Id": {"cust-9"}}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Action != sdk.ActionContinue || d.SetHeaders["X-Customer"] != "cust-9" ||
		len(d.RemoveHeaders) != 1 || d.RemoveHeaders[0] != "User-Agent" ||
		d.Variables["source"] != "192.0.2.7:5060" || d.Variables["method"] != "INVITE" {
		t.Fatalf("continue decision %+v", d)
	}

	d, err = p.Handle(ctx, req("<sip:blocked@example.com>;tag=2", nil))
	if err != nil || d.Action != sdk.ActionReject || d.Status != 403 || d.Reason != "Blocked by module" {
		t.Fatalf("reject decision %+v, err %v", d, err)
	}

	d, err = p.Handle(ctx, req("<sip:bob@example.com>;tag=3", map[string][]string{"X-Route-To": {"app-2"}}))
	if err != nil || d.Action != sdk.ActionRoute || d.ApplicationID != "app-2" {
		t.Fatalf("route decision %+v, err %v", d, err)
	}
}

// takeIdle waits for the refiller to have n idle instances and returns the
// one Handle will take next.
func nextIdle(t *testing.T, p *Pool, n int) *instance {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		if len(p.idle) >= n {
			inst := p.idle[len(p.idle)-1]
			p.mu.Unlock()
			return inst
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("pool never reached %d idle instances: %+v", n, p.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func poolHolds(p *Pool, inst *instance) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range p.idle {
		if i == inst {
			return true
		}
	}
	return false
}

func TestFailuresCloseTheInstance(t *testing.T) {
	h := newTestHost(t, Config{Max: Limits{Timeout: 10 * time.Second}})
	// A long deadline for everything but the spin case, so that the memory
	// case fails by its cap, not by its clock, on a loaded machine.
	p := newTestPool(t, h, "basic", PoolConfig{App: "app1", Limits: Limits{Timeout: 5 * time.Second}})
	tests := []struct {
		event  string
		kind   error
		detail string
		stderr string
	}{
		{"spin", ErrTimeout, "deadline", ""},
		{"grow", ErrMemoryLimit, "256 pages", "out of memory"},
		{"panic", ErrTrap, "panic: boom", ""},
		{"exit", ErrTrap, "exited with code 3", ""},
		{"badaction", ErrBadDecision, "answers bxml", ""},
		{"bigreply", ErrBadDecision, "above the 65536 byte cap", ""},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			ctx := context.Background()
			if tt.event == "spin" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
				defer cancel()
			}
			inst := nextIdle(t, p, 1)
			_, err := p.Handle(ctx, sdk.Event{Type: sdk.EventType(tt.event)})
			var ee *EventError
			if !errors.As(err, &ee) || !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want an EventError of kind %v", err, tt.kind)
			}
			if !strings.Contains(ee.Detail, tt.detail) || !strings.Contains(ee.Stderr, tt.stderr) || ee.Module != "basic" {
				t.Errorf("error %+v lacks %q / stderr %q", ee, tt.detail, tt.stderr)
			}
			if !inst.mod.IsClosed() || poolHolds(p, inst) {
				t.Fatal("the failed instance was kept")
			}
			// The pool refills and the next event works.
			d, err := p.Handle(context.Background(), callEvent(sdk.EventInitiate, map[string]any{"callId": "after-" + tt.event}))
			if err != nil || d.BXML == "" {
				t.Fatalf("after %s: %+v, %v", tt.event, d, err)
			}
		})
	}
}

func TestTimeoutDefaultDeadline(t *testing.T) {
	h := newTestHost(t, Config{})
	p := newTestPool(t, h, "basic", PoolConfig{})
	start := time.Now()
	_, err := p.Handle(context.Background(), sdk.Event{Type: "spin"})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	t.Logf("infinite loop stopped after %v (deadline %v)", time.Since(start), p.Limits().Timeout)
}

func TestGuestErrorKeepsInstance(t *testing.T) {
	h := newTestHost(t, Config{})
	p := newTestPool(t, h, "basic", PoolConfig{})
	inst := nextIdle(t, p, 1)
	d, err := p.Handle(context.Background(), sdk.Event{Type: "fail"})
	if !errors.Is(err, ErrGuest) || d.Error != "no route for you" {
		t.Fatalf("decision %+v, err %v", d, err)
	}
	if inst.mod.IsClosed() || !poolHolds(p, inst) {
		t.Fatal("an instance that answered an error decision was discarded")
	}
}

func TestCallerContextCanceled(t *testing.T) {
	h := newTestHost(t, Config{})
	p := newTestPool(t, h, "basic", PoolConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	stop := time.AfterFunc(5*time.Millisecond, cancel)
	defer stop.Stop()
	_, err := p.Handle(ctx, sdk.Event{Type: "spin"})
	if !errors.Is(err, ErrCanceled) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrCanceled", err)
	}
}

func TestEventTooLargeAndPoolClosed(t *testing.T) {
	h := newTestHost(t, Config{})
	p := newTestPool(t, h, "basic", PoolConfig{Limits: Limits{MaxEventBytes: 100}})
	_, err := p.Handle(context.Background(), callEvent("echo", map[string]any{"text": strings.Repeat("a", 200)}))
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Handle(context.Background(), sdk.Event{Type: sdk.EventInitiate}); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("err = %v, want ErrPoolClosed", err)
	}
	if s := p.Stats(); s.Live != 0 || s.Idle != 0 {
		t.Fatalf("closed pool still holds instances: %+v", s)
	}
}

func TestPoolMemoryCapBelowModule(t *testing.T) {
	h := newTestHost(t, Config{})
	m, err := h.Compile(context.Background(), guest(t, "basic"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.NewPool(context.Background(), m, PoolConfig{Limits: Limits{MemoryPages: 2}})
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("err = %v, want ErrMemoryLimit", err)
	}
}

func TestLimitsClampedToNodeMax(t *testing.T) {
	h := newTestHost(t, Config{
		Defaults: Limits{Timeout: 20 * time.Millisecond},
		Max:      Limits{MemoryPages: 512, Timeout: 100 * time.Millisecond},
	})
	got := h.Limits(Limits{MemoryPages: 100000, Timeout: time.Hour, MaxKVOps: 3})
	if got.MemoryPages != 512 || got.Timeout != 100*time.Millisecond || got.MaxKVOps != 3 {
		t.Fatalf("clamped = %+v", got)
	}
	if d := h.Limits(Limits{}); d.Timeout != 20*time.Millisecond || d.MemoryPages != DefaultMemoryPages {
		t.Fatalf("defaults = %+v", d)
	}
}

func TestMaxInstancesBoundsConcurrency(t *testing.T) {
	h := newTestHost(t, Config{Max: Limits{Timeout: 10 * time.Second}})
	p := newTestPool(t, h, "basic", PoolConfig{MaxInstances: 1, Limits: Limits{Timeout: 10 * time.Second}})
	busy, cancelBusy := context.WithCancel(context.Background())
	defer cancelBusy()
	done := testenv.Go(t, func(context.Context) error {
		_, err := p.Handle(busy, sdk.Event{Type: "spin"})
		return err
	})
	// Wait until the spinning event holds the only slot.
	waitFor(t, func() bool { return len(p.slots) == 1 }, func() string { return "the spin event never started" })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Handle(ctx, callEvent(sdk.EventInitiate, nil))
	if !errors.Is(err, ErrCanceled) || !strings.Contains(err.Error(), "waiting for a free instance") {
		t.Fatalf("err = %v, want ErrCanceled while waiting", err)
	}
	cancelBusy()
	if err := <-done; !errors.Is(err, ErrCanceled) {
		t.Fatalf("spin: %v", err)
	}
	if _, err := p.Handle(context.Background(), callEvent(sdk.EventInitiate, nil)); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Live > 1 {
		t.Fatalf("pool went past MaxInstances: %+v", s)
	}
}

// A call event the module has no handler for is answered Unhandled by the
// SDK; from then on the pool answers that type itself, without a run, while
// the types the module handles still run.
func TestUnhandledEventTypeIsNotRunAgain(t *testing.T) {
	h := newTestHost(t, Config{})
	p := newTestPool(t, h, "basic", PoolConfig{App: "app1"})
	ctx := context.Background()
	runs := func() uint64 {
		var m dto.Metric
		if err := eventSeconds.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram().GetSampleCount()
	}
	ev := []byte(`{"v":1,"event":"disconnect","unhandledOk":true,"eventType":"disconnect","callId":"c-1"}`)
	before := runs()
	d, err := p.HandleJSON(ctx, sdk.EventDisconnect, ev)
	if err != nil || !d.Unhandled || d.BXML != "" || runs() != before+1 {
		t.Fatalf("first disconnect: %+v, %v, %d runs", d, err, runs()-before)
	}
	if !p.SkipUnhandled(sdk.EventDisconnect) || p.SkipUnhandled(sdk.EventInitiate) {
		t.Fatal("the pool did not learn which type the module leaves unhandled")
	}
	for range 3 {
		if d, err := p.HandleJSON(ctx, sdk.EventDisconnect, ev); err != nil || !d.Unhandled {
			t.Fatalf("later disconnect: %+v, %v", d, err)
		}
	}
	if got := runs() - before; got != 1 {
		t.Fatalf("%d runs for 4 disconnects, want 1", got)
	}
	// A host that does not say it accepts the member does not get it.
	p2 := newTestPool(t, h, "basic", PoolConfig{App: "app2"})
	if d, err := p2.HandleJSON(ctx, sdk.EventDisconnect, []byte(`{"v":1,"event":"disconnect"}`)); err != nil || d.Unhandled || p2.SkipUnhandled(sdk.EventDisconnect) {
		t.Fatalf("without unhandledOk: %+v, %v", d, err)
	}
	if d, err := p.HandleJSON(ctx, sdk.EventInitiate, []byte(`{"v":1,"event":"initiate","from":"+1555","to":"+1666"}`)); err != nil || d.Unhandled || d.BXML == "" {
		t.Fatalf("initiate after: %+v, %v", d, err)
	}
}
