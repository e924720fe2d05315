package sip

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
)

// The REGISTER client answers the registrar's 401 with the digest of the
// configured credentials, refreshes before the granted 2 s lapse, and
// unregisters on Close; sipp verifies each digest.
func TestRegistrationRefreshAndUnregister(t *testing.T) {
	bin := testenv.LookTool(t, "sipp")
	srv, _ := startServer(t, testConfig(), newTestEngine(false), "udp")
	port := testenv.FreeUDPPort(t)
	dir := t.TempDir()
	scenario, err := filepath.Abs("testdata/registrar_uas.xml")
	if err != nil {
		t.Fatal(err)
	}
	errFile := filepath.Join(dir, "errors.log")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sf", scenario, "-m", "1", "-nostdin", "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-timeout", "30s", "-timeout_error", "-trace_err", "-error_file", errFile)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The deferred cancel kills sipp if it is still running.
	sippDone := testenv.Go(t, func(context.Context) error { return cmd.Wait() })
	time.Sleep(300 * time.Millisecond) // let sipp bind before the first REGISTER

	reg := srv.StartRegistration(RegisterRequest{Registrar: "sip:127.0.0.1:" + strconv.Itoa(port), Username: "pbx-acme", Password: "derived-pass-123", Expires: time.Minute})
	var first time.Time
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := reg.Status()
		if st.Err != nil {
			t.Fatalf("register: %v", st.Err)
		}
		if st.Registered && first.IsZero() {
			first = st.LastAttempt
			if d := time.Until(st.Expires); d > 3*time.Second {
				t.Errorf("granted 2 s, status says the binding lasts %s", d)
			}
		}
		if st.Registered && !first.IsZero() && st.LastAttempt.After(first) {
			break // refreshed
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refresh; status %+v", st)
		}
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	if err := reg.Close(cctx); err != nil {
		t.Fatalf("unregister: %v", err)
	}
	select {
	case err := <-sippDone:
		if err != nil {
			log, _ := os.ReadFile(errFile)
			t.Fatalf("sipp registrar: %v\n%s", err, log)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("sipp registrar did not finish")
	}
}

// A registrar that refuses is reported in the status, not retried hot.
func TestRegistrationRefusedStatus(t *testing.T) {
	srv, _ := startServer(t, testConfig(), newTestEngine(false), "udp")
	// Our own front door answers REGISTER 405: a refusal.
	_, addrs := startServer(t, testConfig(), newTestEngine(false), "udp")
	reg := srv.StartRegistration(RegisterRequest{Registrar: "sip:" + addrs["udp"], Username: "u", Password: "p"})
	defer reg.Close(context.Background())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := reg.Status()
		if st.Err != nil {
			if !errors.Is(st.Err, ErrRegisterRefused) || st.Registered {
				t.Fatalf("status %+v", st)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no failure reported")
		}
	}
}
