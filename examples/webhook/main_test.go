package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/bxml"
)

// Every answer is valid BXML for the server's parser; the digits are read
// back escaped; status callbacks get no body. The README's test
// (e2e/readme_test.go) runs this backend with a real call.
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(handler(slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string // in the BXML answer
	}{
		{"GET", "/", "", 200, ""},
		{"POST", "/voice", `{"eventType":"initiate","callId":"c-1"}`, 200, `<Gather gatherUrl="/gather"`},
		{"POST", "/gather", `{"eventType":"gather","digits":"1<2","terminatingDigit":"#"}`, 200, "You entered 1 &lt; 2. Goodbye."},
		{"POST", "/gather", `{"eventType":"gather","digits":""}`, 200, "No digits"},
		{"POST", "/status", `{"eventType":"disconnect","cause":"hangup"}`, 204, ""},
		{"POST", "/voice", `not json`, 400, ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: HTTP %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.status, b)
			continue
		}
		if tc.want == "" {
			continue
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s: %s, want it to contain %s", tc.method, tc.path, b, tc.want)
		}
		if _, err := bxml.Parse(b); err != nil {
			t.Errorf("%s %s: %s is not valid BXML: %v", tc.method, tc.path, b, err)
		}
	}
}
