package callflow

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

// ivrMenu is what examples/ivr answers initiate with; the webhook side of
// the benchmark answers the same document.
const ivrMenu = `<Response><Gather gatherUrl="gather" maxDigits="1" firstDigitTimeout="10">` +
	`<SpeakSentence>Press 1 for sales. Press 2 to leave a message.</SpeakSentence></Gather>` +
	`<SpeakSentence>Goodbye.</SpeakSentence><Hangup/></Response>`

// processCPU is the user plus system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCallFlowSource compares the two call-flow sources on
// the same initiate event and the same answer: the IVR example as a warm
// Wasm module, and a webhook on loopback.
func BenchmarkCallFlowSource(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	acct, err := st.CreateAccount(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	mod, err := st.CreateModule(ctx, store.ModuleInfo{AccountID: acct.ID, Name: "ivr", ABIVersion: 1}, testenv.BuildGuest(b, "../examples/ivr"))
	if err != nil {
		b.Fatal(err)
	}
	app, err := st.CreateApplication(ctx, store.Application{AccountID: acct.ID, Name: "bench",
		ModuleBinding: store.ModuleBinding{ModuleID: mod.ID, ModuleTimeoutMS: 10000}})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	host, err := wasmhost.New(ctx, wasmhost.Config{CacheDir: testenv.WasmCompilationCache(b), Max: wasmhost.Limits{Timeout: 10 * time.Second}, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	mods := NewModules(ModulesConfig{Host: host, Store: st, Logger: log})
	defer mods.Close(ctx)
	info := bxml.CallInfo{AccountID: acct.ID, ApplicationID: app.ID, From: "+15551230001", To: "+15551230002",
		Direction: "inbound", CallID: "c-2d8e6b6c-1b1f-4b4f-9d1a-4f5c2c8b0f3e", CallURL: "http://127.0.0.1/api/v2/accounts/1/calls/c-2d8e6b6c",
		StartTime: time.Now()}
	event := func() bxml.Event {
		ev := &bxml.InitiateEvent{}
		ev.Fill(&info)
		return ev
	}
	call := &testCall{app: app, vars: map[string]string{"customer": "cust-9"}}
	run := func(b *testing.B, src Source, t bxml.Target) {
		if _, err := src.Fetch(ctx, Request{Event: event(), Target: t, Call: call}); err != nil {
			b.Fatal(err)
		}
		durs := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		cpu0 := processCPU()
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			reply, err := src.Fetch(ctx, Request{Event: event(), Target: t, Call: call})
			if err != nil || reply.Doc == nil {
				b.Fatal(err)
			}
			durs = append(durs, time.Since(start))
		}
		b.StopTimer()
		// CPU time of the whole process (webhook server, pools, GC
		// included) per event: on a shared machine it is steadier than
		// latency, which includes waiting for a core.
		b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		slices.Sort(durs)
		b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
	}
	b.Run("wasm", func(b *testing.B) {
		run(b, mods, bxml.Target{})
	})
	b.Run("webhook", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			rw.Header().Set("Content-Type", "application/xml")
			io.WriteString(rw, ivrMenu)
		}))
		defer srv.Close()
		wh := NewWebhook(WithLogger(log))
		defer wh.Close()
		run(b, wh, bxml.Target{URL: srv.URL + "/initiate", Method: "POST"})
	})
}
