package server

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/store"
)

// A number attached with inbound auth_mode register makes the node register
// to the PBX at its sip_endpoint with register_auth.username and the derived
// password (the one attach returned as register_password_for_pbx), refresh
// before the granted expiry, and unregister on shutdown.
func TestTrunkRegistration(t *testing.T) {
	n := startNode(t)
	port := testenv.FreeUDPPort(t)
	data := n.attachSIP(t, map[string]any{
		"phone_number": "+14155550123",
		"directions": []any{map[string]any{
			"type": "inbound", "auth_mode": "register", "sip_endpoint": fmt.Sprintf("sip:127.0.0.1:%d", port),
			"register_auth": map[string]any{"username": "pbx-acme", "password": "hunter2hunter2"},
		}},
	})
	pw, _ := data["register_password_for_pbx"].(string)
	if pw != store.DeriveRegisterPassword("pbx-acme", "hunter2hunter2") {
		t.Fatalf("register_password_for_pbx = %q", pw)
	}
	pbx := startSipp(t, "provider_registrar_uas.xml", "-p", strconv.Itoa(port), "-set", "user", "pbx-acme", "-set", "pw", pw)
	time.Sleep(300 * time.Millisecond) // let sipp bind before the first REGISTER

	routes, err := n.srv.store.RegistrationSIPRoutes(t.Context())
	if err != nil || len(routes) != 1 {
		t.Fatalf("registration routes: %v %v", routes, err)
	}
	n.srv.regs.Load().Sync(t.Context()) // pick the attach up now, not at the next tick
	var first time.Time
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, ok := n.srv.regs.Load().Status(routes[0].Configuration.ID)
		if ok && st.Err != nil {
			t.Fatalf("registration failed: %v", st.Err)
		}
		if ok && st.Registered && first.IsZero() {
			first = st.LastAttempt
		}
		if ok && st.Registered && st.LastAttempt.After(first) {
			// refreshed before the 2 s binding lapsed; the API shows it too
			if reg := n.sipRegistration(t, "+14155550123"); reg["state"] != "registered" || reg["expires"] == nil {
				t.Fatalf("GET /v1/sip registration: %v", reg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not registered and refreshed: %+v (known: %v)", st, ok)
		}
	}
	// Shutting the node down unregisters (the scenario's last step).
	n.cancel()
	err = <-n.done
	n.done <- err
	pbx.wait(t, 20*time.Second)
}
