package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// browser is one headless Chromium tab on a console, with what the tab did
// wrong: requests that left this machine, console errors, exceptions.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // the console's URL
	out  string // where screenshots go

	mu       sync.Mutex
	problems []string
}

// startBrowser starts Debian's chromium headless (one for the whole test).
func startBrowser(t *testing.T, base string) *browser {
	t.Helper()
	bin := testenv.LookTool(t, "chromium")
	out := os.Getenv("WASMVOICE_TEST_OUT")
	if out == "" {
		out = t.TempDir()
	}
	out = filepath.Join(out, "console-screenshots")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs as root in a container
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-pings", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, out: out}
	if err := chromedp.Listen(ctx, b.watch); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Logf("console screenshots: %s", out)
	return b
}

// watch runs in the tab's event loop: it only notes what went wrong.
func (b *browser) watch(ev any) {
	var p string
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if !isLocalURL(ev.Request.URL) {
			p = "request to a non-local URL: " + ev.Request.URL
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
		}
	case *runtime.EventExceptionThrown:
		p = "exception: " + (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error()
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			p = "console error (" + string(ev.Entry.Source) + "): " + ev.Entry.Text + " " + ev.Entry.URL
		}
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

func isLocalURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data", "blob", "about", "chrome", "devtools":
		return true
	}
	h := u.Hostname()
	return h == "127.0.0.1" || h == "localhost" || h == "::1"
}

// clean fails the test for anything the page did wrong since the last call.
func (b *browser) clean(t *testing.T) {
	t.Helper()
	b.cleanExcept(t)
}

// cleanExcept is clean, but lets through the problems that contain one of
// expected (what a step provoked on purpose, like a refused request).
func (b *browser) cleanExcept(t *testing.T, expected ...string) {
	t.Helper()
	b.mu.Lock()
	ps := b.problems
	b.problems = nil
	b.mu.Unlock()
	for _, p := range ps {
		if !slices.ContainsFunc(expected, func(e string) bool { return strings.Contains(p, e) }) {
			t.Errorf("page: %s", p)
		}
	}
}

// do runs browser steps, each bounded.
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// eval evaluates JavaScript (awaiting a promise) and returns its value.
func evalIn[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is truthy.
func (b *browser) waitFor(t *testing.T, what, js string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		shot, _ := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		os.WriteFile(filepath.Join(b.out, "failed-"+sanitize(t.Name())+".png"), shot, 0o644)
		main, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, main)
	}
}

// go navigates within the console (the hash router) and waits for the page.
func (b *browser) open(t *testing.T, hash, ready string) {
	t.Helper()
	b.do(t, chromedp.Navigate(b.base+"/"+hash))
	b.waitFor(t, hash, `!!document.querySelector(`+strconv.Quote(ready)+`)`, 30*time.Second)
}

// shot saves a full-page screenshot (PNG).
func (b *browser) shot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(b.out, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sanitize(s string) string { return strings.NewReplacer("/", "_", " ", "_").Replace(s) }

// TestConsoleInBrowser drives the web console in headless Chromium against
// the real binary: sign in, create an application and enable its SIP URI,
// place a real sipp call and watch it appear live, open its SIP ladder,
// hang it up from the console, play its recording, see a refused call in
// the debugger, upload and bind a module, see a trunk turn healthy; and
// the API refuses a CSRF attempt and an unauthenticated request. Every
// page is screenshotted; a request to a non-local URL or a console error
// fails the test.
func TestConsoleInBrowser(t *testing.T) {
	s := startServer(t, "--sip-health-interval", "300ms")
	hook := newHook(t, func(path string, body map[string]any) string {
		if path == "/initiate" {
			// Up until the console hangs it up (or 60 s), recorded.
			return `<Response><StartRecording/><SpeakSentence>Hello from the console test.</SpeakSentence><Pause duration="60"/></Response>`
		}
		return ""
	})
	b := startBrowser(t, s.api)

	t.Run("refused without a session or CSRF token", func(t *testing.T) {
		consoleRefusals(t, s)
	})

	t.Run("sign in", func(t *testing.T) {
		b.open(t, "", "#clientId")
		b.shot(t, "01-sign-in")
		b.do(t, chromedp.SendKeys(chromedp.CSS("#clientId"), s.id), chromedp.SendKeys(chromedp.CSS("#clientSecret"), s.secret+"\r"))
		b.waitFor(t, "the home page", `!document.getElementById('nav').hidden && !!document.getElementById('node-ready')`, 30*time.Second)
		b.waitFor(t, "the event stream", `!document.getElementById('live').hidden`, 30*time.Second)
		if got := evalIn[string](t, b, `document.getElementById('node-ready').textContent`); got != "Ready" {
			t.Errorf("node: %q", got)
		}
		b.shot(t, "02-home")
		b.clean(t)
	})

	var appID, password string
	t.Run("create an application and enable its SIP URI", func(t *testing.T) {
		b.open(t, "#/apps", "#new-app")
		b.shot(t, "03-applications")
		b.do(t, chromedp.SendKeys(chromedp.CSS("#new-app-name"), "Console test"),
			chromedp.SendKeys(chromedp.CSS("#new-app-url"), hook.url("/initiate")),
			chromedp.Click(chromedp.CSS("#new-app button[type=submit]")))
		b.waitFor(t, "the application page", `!!document.getElementById('sip-form')`, 30*time.Second)
		appID = evalIn[string](t, b, `location.hash.split('/')[2]`)
		b.do(t, chromedp.Click(chromedp.CSS("#sip-enabled")), chromedp.Click(chromedp.CSS("#sip-save")))
		b.waitFor(t, "the one-time SIP password", `!!document.getElementById('sip-password-value')`, 30*time.Second)
		password = evalIn[string](t, b, `document.getElementById('sip-password-value').textContent`)
		if uri := evalIn[string](t, b, `document.getElementById('sip-uri').textContent`); uri != s.sipURI(appID) {
			t.Errorf("sipUri %q, want %q", uri, s.sipURI(appID))
		}
		b.shot(t, "03-application")
		b.clean(t)
	})
	if appID == "" || password == "" {
		t.Fatal("no application to call")
	}

	var callID string
	s.traceOnFailure(&callID)
	t.Run("a sipp call appears live, its ladder, hang-up and recording", func(t *testing.T) {
		b.open(t, "#/calls", "#live-calls-table")
		uac := startSipp(t, "hold.xml", nil, s.sip, "-s", appID, "-au", appID, "-ap", password)
		b.waitFor(t, "the call in the live table", `!!document.querySelector('#live-calls-table tr[data-call]')`, 30*time.Second)
		callID = evalIn[string](t, b, `document.querySelector('#live-calls-table tr[data-call]').dataset.call`)
		b.shot(t, "04-calls-live")

		b.do(t, chromedp.Click(chromedp.CSS(`#live-calls-table tr[data-call] a`)))
		// While the call is up its trace is there already.
		b.waitFor(t, "the live ladder with the 200", `[...document.querySelectorAll('#ladder g.msg')].some(g => g.dataset.label.startsWith('200'))`, 30*time.Second)
		b.waitFor(t, "the hang-up button", `!!document.getElementById('hangup')`, 30*time.Second)
		b.shot(t, "05-call-live")
		b.do(t, chromedp.Click(chromedp.CSS("#hangup")))
		uac.wait(t, 60*time.Second)
		b.waitFor(t, "the ended call", `document.getElementById('timeline').textContent.includes('disconnected') && [...document.querySelectorAll('#ladder g.msg')].some(g => g.dataset.label === 'BYE')`, 30*time.Second)

		labels := evalIn[[]string](t, b, `[...document.querySelectorAll('#ladder g.msg')].map(g => g.dataset.label)`)
		if !subsequence(labels, "INVITE", "407", "INVITE", "100", "200", "ACK", "BYE") {
			t.Errorf("ladder arrows %q lack INVITE/407/INVITE/100/200/ACK/BYE", labels)
		}
		// An arrow opens its whole message.
		b.do(t, chromedp.Click(chromedp.CSS(`#ladder g.msg`)))
		if msg := evalIn[string](t, b, `document.getElementById('ladder-message').textContent`); !strings.HasPrefix(msg, "INVITE sip:"+appID) {
			t.Errorf("first message: %.80q", msg)
		}
		// The search narrows the ladder.
		b.do(t, chromedp.SendKeys(chromedp.CSS("#ladder-q"), "BYE"))
		if n := evalIn[int](t, b, `document.querySelectorAll('#ladder g.msg').length`); n == 0 || n >= len(labels) {
			t.Errorf("search BYE: %d of %d arrows", n, len(labels))
		}
		b.shot(t, "06-call-ladder")
		checkPCAP(t, b, s, callID, len(labels))

		b.waitFor(t, "the recording", `!!document.querySelector('#recordings audio')`, 30*time.Second)
		dur := evalIn[float64](t, b, `(async () => { const a = document.querySelector('#recordings audio'); await a.play(); return a.duration; })()`)
		if dur <= 0 {
			t.Errorf("recording duration %v", dur)
		}
		b.waitFor(t, "the recording to play", `document.querySelector('#recordings audio').currentTime > 0`, 30*time.Second)
		b.shot(t, "07-call-recording")
		b.clean(t)
	})

	t.Run("a refused call in the debugger", func(t *testing.T) {
		b.open(t, "#/debugger", "#debug-list")
		startSipp(t, "auth_reject.xml", scenario{Expect: 401, ToUser: appID}, s.sip, "-s", appID, "-au", appID, "-ap", password+"x").wait(t, 30*time.Second)
		b.waitFor(t, "the refusal", `[...document.querySelectorAll('#debug-list tr.debug-refused')].some(r => r.textContent.includes('bad_credentials') && r.textContent.includes('401'))`, 30*time.Second)
		b.shot(t, "08-debugger")
		b.clean(t)
	})

	t.Run("upload and bind a module", func(t *testing.T) {
		wasm := testenv.BuildGuest(t, "../examples/ivr")
		f := filepath.Join(t.TempDir(), "ivr.wasm")
		if err := os.WriteFile(f, wasm, 0o644); err != nil {
			t.Fatal(err)
		}
		b.open(t, "#/modules", "#module-upload")
		b.do(t, chromedp.SetUploadFiles(chromedp.CSS("#module-file"), []string{f}), chromedp.Click(chromedp.CSS("#module-upload button[type=submit]")))
		b.waitFor(t, "the uploaded module", `!!document.querySelector('#modules-list tr[data-module] .bind-app')`, 60*time.Second)
		modID := evalIn[string](t, b, `document.querySelector('#modules-list tr[data-module]').dataset.module`)
		b.do(t, chromedp.Click(chromedp.CSS(`#modules-list tr[data-module] form button`)))
		b.waitFor(t, "the binding", `document.getElementById('module-message').textContent.includes('Bound')`, 30*time.Second)
		var app struct {
			Data struct {
				ModuleID string `json:"moduleId"`
			} `json:"data"`
		}
		if code := s.call("GET", "/v2/accounts/"+s.account+"/voice-applications/"+appID, nil, &app); code != 200 || app.Data.ModuleID != modID {
			t.Errorf("application after binding: HTTP %d, moduleId %q, want %q", code, app.Data.ModuleID, modID)
		}
		b.shot(t, "09-modules")
		b.clean(t)
	})

	t.Run("a trunk turns healthy", func(t *testing.T) {
		port := testenv.FreeUDPPort(t)
		const number = "+14155550177"
		var res map[string]any
		if code := s.call("POST", "/v1/sip/attach", map[string]any{"phone_number": number, "service": "sip", "directions": []any{map[string]any{
			"type": "outbound", "sip_endpoint": fmt.Sprintf("sip:127.0.0.1:%d", port), "options": map[string]any{"transport": "udp"},
		}}}, &res); code != 200 {
			t.Fatalf("attach: HTTP %d %v", code, res)
		}
		b.open(t, "#/trunks", "#trunk-list")
		b.waitFor(t, "the firewall addresses", `document.getElementById('firewall-ips')?.textContent.includes('127.0.0.1')`, 30*time.Second)
		// The dashboard refreshes every 30 s; the button does it now.
		responder := func() string { return "no responder yet" }
		health := func(want string) {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for !evalIn[bool](t, b, `document.querySelector('#trunk-list tr[data-number="`+number+`"] .health')?.textContent === '`+want+`'`) {
				if time.Now().After(deadline) {
					t.Fatalf("the trunk is not %s (%s)", want, responder())
				}
				b.do(t, chromedp.Click(chromedp.CSS("#trunks-refresh")))
				time.Sleep(300 * time.Millisecond)
			}
		}
		health("unreachable") // nothing answers yet (a probe waits 5 s for an answer)
		b.shot(t, "10-trunks-unreachable")
		responder = optionsResponder(t, port)
		health("healthy")
		b.shot(t, "10-trunks-healthy")
		b.open(t, "#/trunks/"+url.PathEscape(number), "#trunk-health .badge")
		b.waitFor(t, "the trunk's page", `document.querySelector('#trunk-health .badge').textContent === 'healthy' && !!document.getElementById('test-call')`, 30*time.Second)
		b.shot(t, "11-trunk")
		b.clean(t)

		// Its failover, codec and alert settings: a refusal names the
		// field, and what is saved is what the API then reports.
		config := func() map[string]any {
			t.Helper()
			var out map[string]any
			if code := s.call("GET", "/v1/sip?phone_number="+url.QueryEscape(number), nil, &out); code != 200 {
				t.Fatalf("GET /v1/sip: HTTP %d %v", code, out)
			}
			cfg, _ := out["data"].(map[string]any)["config"].(map[string]any)
			return cfg
		}
		saved := func(section string) {
			t.Helper()
			b.waitFor(t, section+" saved", `document.querySelector('#config-message .msg.ok')?.textContent === 'Saved the `+section+` settings.'`, 10*time.Second)
		}
		b.waitFor(t, "the trunk's settings", `!!document.getElementById('failover-form')`, 10*time.Second)
		b.do(t, chromedp.Click(chromedp.CSS("#fo-enabled")), chromedp.Click(chromedp.CSS("#failover-save")))
		b.waitFor(t, "the refusal", `document.querySelector('#config-message .msg.error')?.textContent.includes('failover.secondary')`, 10*time.Second)
		b.cleanExcept(t, "status of 400") // the browser logs the refused PATCH
		b.do(t, chromedp.SetValue(chromedp.CSS("#fo-secondary"), "sip:127.0.0.1:5999"),
			chromedp.Click(chromedp.CSS("#fo-trigger-timeout")), chromedp.Click(chromedp.CSS("#failover-save")))
		saved("failover")
		b.do(t, chromedp.Click(chromedp.CSS("#codec-up-PCMA")), chromedp.Click(chromedp.CSS("#codec-G722")), chromedp.Click(chromedp.CSS("#codecs-save")))
		saved("codecs")
		b.do(t, chromedp.SetValue(chromedp.CSS("#al-webhook"), "http://127.0.0.1:9/trunk-alerts"),
			chromedp.SetValue(chromedp.CSS("#al-response"), "500"), chromedp.Click(chromedp.CSS("#alerts-save")))
		saved("alerts")
		b.shot(t, "12-trunk-settings")
		cfg := config()
		fo, _ := cfg["failover"].(map[string]any)
		if fo["enabled"] != true || fo["secondary"] != "sip:127.0.0.1:5999" || fmt.Sprint(fo["triggers"]) != "[unreachable auth_failure]" || fo["failback"] != "auto" {
			t.Errorf("failover saved from the console: %v", cfg["failover"])
		}
		var codecs []string
		cs, _ := cfg["codecs"].(map[string]any)
		list, _ := cs["codecs"].([]any)
		for _, c := range list {
			c := c.(map[string]any)
			codecs = append(codecs, fmt.Sprint(c["name"], "=", c["enabled"]))
		}
		if fmt.Sprint(codecs) != "[PCMA=true PCMU=true G722=true OPUS=false G729=false]" {
			t.Errorf("codecs saved from the console: %v", cfg["codecs"])
		}
		al, _ := cfg["alerts"].(map[string]any)
		if al["webhook_url"] != "http://127.0.0.1:9/trunk-alerts" || al["response_time_ms"] != 500.0 {
			t.Errorf("alerts saved from the console: %v", cfg["alerts"])
		}
		b.do(t, chromedp.Click(chromedp.CSS("#alerts-clear")))
		b.waitFor(t, "alerts removed", `document.querySelector('#config-message .msg.ok')?.textContent === 'Removed the alerts settings.'`, 10*time.Second)
		if cfg := config(); cfg["alerts"] != nil || cfg["failover"] == nil {
			t.Errorf("after removing the alerts: %v", cfg)
		}
		b.clean(t)
	})

	t.Run("a cross-site form post is refused", func(t *testing.T) {
		// Another origin's page posts JSON disguised as a text/plain form
		// to the API while the browser holds a console session: the
		// browser sends the cookie (127.0.0.1 on another port is the same
		// site), the node refuses the request (Origin, no CSRF token).
		apps := s.api + "/v2/accounts/" + s.account + "/voice-applications"
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!DOCTYPE html><title>x</title><form method="POST" action="%s" enctype="text/plain">`+
				`<input name='{"applicationName":"csrf","x":"' value='"}'></form><script>document.forms[0].submit()</script>`, apps)
		}))
		defer evil.Close()
		b.do(t, chromedp.Navigate(evil.URL))
		b.waitFor(t, "the refusal", `location.href.startsWith(`+strconv.Quote(s.api)+`) && document.body.innerText.includes('403')`, 30*time.Second)
		if body := evalIn[string](t, b, `document.body.innerText`); !strings.Contains(body, "cross-site request refused") {
			t.Errorf("refusal: %s", body)
		}
		var list struct {
			Data []struct {
				Name string `json:"applicationName"`
			} `json:"data"`
		}
		if code := s.call("GET", "/v2/accounts/"+s.account+"/voice-applications", nil, &list); code != 200 || len(list.Data) != 1 {
			t.Errorf("applications after the attempt: HTTP %d %+v", code, list.Data)
		}
		b.shot(t, "12-csrf-refused")
		// The refused post is the point; the browser then asks the
		// refusal's origin for a favicon, which the API does not serve.
		b.cleanExcept(t, "status of 403", "/favicon.ico")
	})

	t.Run("sign out", func(t *testing.T) {
		b.open(t, "#/", "#signout")
		b.do(t, chromedp.Click(chromedp.CSS("#signout")))
		b.waitFor(t, "the sign-in form", `!!document.getElementById('clientId')`, 30*time.Second)
		// The session is gone on the server too.
		if got := evalIn[int](t, b, `fetch('/v2/accounts/`+s.account+`/voice-applications').then(r => r.status)`); got != 401 {
			t.Errorf("after sign-out: HTTP %d", got)
		}
		b.cleanExcept(t, "status of 401") // that 401 was the point
	})
}

// consoleRefusals: the API refuses a request without credentials, and a
// signed-in session's change without its CSRF token or from another site.
func consoleRefusals(t *testing.T, s *server) {
	apps := s.api + "/v2/accounts/" + s.account + "/voice-applications"
	send := func(method, url, body string, h map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send("GET", apps, "", nil); code != 401 {
		t.Errorf("unauthenticated: HTTP %d", code)
	}
	if code := send("GET", s.api+"/console/events", "", nil); code != 401 {
		t.Errorf("unauthenticated event stream: HTTP %d", code)
	}
	req, _ := http.NewRequest("POST", s.api+"/console/session", strings.NewReader(`{"clientId":"`+s.id+`","clientSecret":"`+s.secret+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "wv_session" && c.HttpOnly && c.SameSite == http.SameSiteStrictMode {
			cookie = c.Name + "=" + c.Value
		}
	}
	if resp.StatusCode != 200 || cookie == "" {
		t.Fatalf("sign-in: HTTP %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	if code := send("GET", apps, "", map[string]string{"Cookie": cookie}); code != 200 {
		t.Errorf("session read: HTTP %d", code)
	}
	if code := send("POST", apps, `{"applicationName":"csrf"}`, map[string]string{"Cookie": cookie, "Origin": s.api}); code != 403 {
		t.Errorf("change without the CSRF token: HTTP %d", code)
	}
	if code := send("POST", apps, `{"applicationName":"csrf"}`, map[string]string{"Cookie": cookie, "Origin": "http://evil.example", "X-CSRF-Token": "guess"}); code != 403 {
		t.Errorf("change from another site: HTTP %d", code)
	}
}

// subsequence reports whether labels contain want in order (each want is a
// prefix of its label: "200" matches "200 OK").
func subsequence(labels []string, want ...string) bool {
	i := 0
	for _, l := range labels {
		if i < len(want) && strings.HasPrefix(l, want[i]) {
			i++
		}
	}
	return i == len(want)
}

// checkPCAP builds the call's PCAP in the page, as the download button
// does, and reads it back: one Ethernet/IPv4/UDP packet a message, with a
// valid IP header checksum and the SIP message as the payload.
func checkPCAP(t *testing.T, b *browser, s *server, callID string, n int) {
	t.Helper()
	b64 := evalIn[string](t, b, `(async () => {
		const m = await import('/console/assets/ladder.js');
		const log = await (await fetch('/api/v2/accounts/`+s.account+`/calls/`+callID+`/log')).json();
		const buf = new Uint8Array(await m.pcap(log.sipTrace).arrayBuffer());
		let s = ''; for (const x of buf) s += String.fromCharCode(x);
		return btoa(s);
	})()`)
	p, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(p) < 24 || binary.LittleEndian.Uint32(p) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(p[20:]) != 1 {
		t.Fatalf("pcap header: %v %x", err, p[:min(len(p), 24)])
	}
	p = p[24:]
	packets := 0
	for len(p) >= 16 {
		incl := int(binary.LittleEndian.Uint32(p[8:]))
		pkt := p[16 : 16+incl]
		p = p[16+incl:]
		packets++
		ip := pkt[14:34]
		var sum uint32
		for i := 0; i < 20; i += 2 {
			sum += uint32(binary.BigEndian.Uint16(ip[i:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		payload := string(pkt[42:])
		if binary.BigEndian.Uint16(pkt[12:]) != 0x0800 || ip[9] != 17 || sum != 0xffff || int(binary.BigEndian.Uint16(pkt[38:])) != 8+len(payload) ||
			!(strings.HasPrefix(payload, "SIP/2.0 ") || strings.Contains(strings.SplitN(payload, "\r\n", 2)[0], " SIP/2.0")) {
			t.Errorf("packet %d: ethertype %x proto %d checksum %x: %.60q", packets, binary.BigEndian.Uint16(pkt[12:]), ip[9], sum, payload)
		}
	}
	if packets != n || len(p) != 0 {
		t.Errorf("pcap: %d packets (%d bytes left), want %d", packets, len(p), n)
	}
}

// optionsResponder answers a trunk's OPTIONS probes on port (sipp as the
// endpoint) until the test ends. It returns what sipp said, for a failure
// message (the port was free when picked; another process may bind it
// first, and then sipp exits saying so).
func optionsResponder(t *testing.T, port int) func() string {
	t.Helper()
	sf, err := filepath.Abs("../server/testdata/sipp/options_uas.xml")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.LookTool(t, "sipp"), "-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "100000", "-nostdin", "-bg")
	cmd.Dir = t.TempDir()
	cmd.Args = cmd.Args[:len(cmd.Args)-1] // stay in the foreground: the test owns the process
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return func() string {
		select {
		case <-done:
			return "sipp exited: " + lastLines(out.String(), 10)
		default:
			return "sipp is running"
		}
	}
}
