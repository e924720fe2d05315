package callflow

import (
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// TestWebhookNoLeaks sends 100 callbacks concurrently (some to a dead
// primary, so the fallback path runs too) and checks every goroutine ends
// once the server and the webhook are closed.
func TestWebhookNoLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv, hits := bxmlServer(t, http.StatusOK, "application/xml", speakHangup)
		dead := deadURL(t)
		wh := NewWebhook(WithLogger(slog.New(slog.DiscardHandler)))
		defer wh.Close()
		defer srv.Close()
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			target := bxml.Target{URL: srv.URL}
			if i%4 == 0 {
				target = bxml.Target{URL: dead, FallbackURL: srv.URL}
			}
			wg.Go(func() {
				if _, err := wh.Fetch(testCtx(t), Request{Event: gatherEvent(), Target: target}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if hits.Load() != 100 {
			t.Errorf("%d requests arrived, want 100", hits.Load())
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines left, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
