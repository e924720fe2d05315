// Command webhook is a BXML webhook backend for a wasmvoice application, the
// one the README's quickstart runs. Point the application's
// callInitiatedCallbackUrl at /voice and its callStatusCallbackUrl at
// /status:
//
//	go run ./examples/webhook -addr localhost:8000
//
// A call hears a greeting and is asked for digits ending with #; the
// application reads them back and hangs up. The call is recorded in two
// channels (what the caller sent, what the caller heard); the
// recordingAvailable callback carries the mediaUrl to download it with the
// API's credentials. Every callback is logged, one line each.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// Greeting is what a call hears first, while its digits are gathered: a
// digit interrupts it.
const Greeting = "Hello from wasmvoice. Enter some digits, then press the pound key."

// answer is the BXML for one callback, by path; "" for the status callbacks,
// whose answer the server ignores.
func answer(path string, ev event) string {
	switch path {
	case "/voice":
		// The Gather's relative gatherUrl resolves against this webhook's
		// URL; its result, digits or none, comes to /gather.
		return `<Response><StartRecording multiChannel="true"/>` +
			`<Gather gatherUrl="/gather" terminatingDigits="#" maxDigits="10" firstDigitTimeout="10">` +
			`<SpeakSentence>` + html.EscapeString(Greeting) + `</SpeakSentence></Gather></Response>`
	case "/gather":
		if ev.Digits == "" {
			return `<Response><SpeakSentence>No digits. Goodbye.</SpeakSentence><Hangup/></Response>`
		}
		// Spaced out, so the digits are read one by one.
		spoken := strings.Join(strings.Split(ev.Digits, ""), " ")
		return `<Response><SpeakSentence>You entered ` + html.EscapeString(spoken) +
			`. Goodbye.</SpeakSentence><Hangup/></Response>`
	}
	return ""
}

// event holds the callback fields this backend looks at; the JSON has more
// (the Bandwidth Voice API's callback fields).
type event struct {
	EventType        string `json:"eventType"`
	CallID           string `json:"callId"`
	From             string `json:"from"`
	To               string `json:"to"`
	Digits           string `json:"digits"`
	TerminatingDigit string `json:"terminatingDigit"`
	Cause            string `json:"cause"`
	MediaURL         string `json:"mediaUrl"`
}

func handler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	// A GET on / says the backend is up (the quickstart waits for it).
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		var ev event
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev); err != nil {
			log.Warn("callback is not JSON", "path", r.URL.Path, "error", err)
			http.Error(w, "want a JSON callback", http.StatusBadRequest)
			return
		}
		attrs := []any{"path", r.URL.Path, "eventType", ev.EventType, "callId", ev.CallID}
		for _, kv := range [][2]string{{"from", ev.From}, {"to", ev.To}, {"digits", ev.Digits},
			{"terminatingDigit", ev.TerminatingDigit}, {"cause", ev.Cause}, {"mediaUrl", ev.MediaURL}} {
			if kv[1] != "" {
				attrs = append(attrs, kv[0], kv[1])
			}
		}
		log.Info("callback", attrs...)
		bxml := answer(r.URL.Path, ev)
		if bxml == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, bxml)
	})
	return mux
}

func main() {
	addr := flag.String("addr", "localhost:8000", "address to listen on")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	srv := &http.Server{Addr: *addr, Handler: handler(log), ReadHeaderTimeout: 10 * time.Second}
	log.Info("webhook listening", "addr", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(1)
	}
}
