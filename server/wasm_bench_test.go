package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/callflow"
	"github.com/wasmvoice/wasmvoice/store"
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

// BenchmarkCallFlowSource compares the engine's two call-flow sources on
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
	mod, err := st.CreateModule(ctx, store.ModuleInfo{AccountID: acct.ID, Name: "ivr", ABIVersion: 1}, buildGuest(b, "examples/ivr"))
	if err != nil {
		b.Fatal(err)
	}
	app, err := st.CreateApplication(ctx, store.Application{AccountID: acct.ID, Name: "bench",
		ModuleBinding: store.ModuleBinding{ModuleID: mod.ID, ModuleTimeoutMS: 10000}})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	w, err := newWasmEngine(ctx, Config{DataDir: dir, WasmCacheDir: filepath.Join(wasmTestDir(b), "compilation-cache"), WasmMaxTimeout: 10 * time.Second}, st, log)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(ctx)
	info := bxml.CallInfo{AccountID: acct.ID, ApplicationID: app.ID, From: "+15551230001", To: "+15551230002",
		Direction: "inbound", CallID: "c-2d8e6b6c-1b1f-4b4f-9d1a-4f5c2c8b0f3e", CallURL: "http://127.0.0.1/api/v2/accounts/1/calls/c-2d8e6b6c",
		StartTime: time.Now()}
	vars := map[string]string{"customer": "cust-9"}
	event := func() bxml.Event {
		ev := &bxml.InitiateEvent{}
		ev.Fill(&info)
		return ev
	}
	run := func(b *testing.B, src callflow.Source, t bxml.Target) {
		if _, err := src.Fetch(ctx, callflow.Request{Event: event(), Target: t}); err != nil {
			b.Fatal(err)
		}
		durs := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		cpu0 := processCPU()
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			reply, err := src.Fetch(ctx, callflow.Request{Event: event(), Target: t})
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
		src := &ModuleSource{w: w, app: app, Logger: log, Vars: func() map[string]string { return vars }}
		run(b, src, bxml.Target{})
	})
	b.Run("webhook", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			rw.Header().Set("Content-Type", "application/xml")
			io.WriteString(rw, ivrMenu)
		}))
		defer srv.Close()
		wh := callflow.NewWebhook(callflow.WithLogger(log))
		defer wh.Close()
		run(b, wh, bxml.Target{URL: srv.URL + "/initiate", Method: "POST"})
	})
}
