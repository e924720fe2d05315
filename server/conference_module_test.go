package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
)

// A module answers initiate with <Conference> and gets the conference's
// events (created, each join and exit, completed) with the webhook's
// fields, in order: two phones join and hang up, and the module's log of
// events in its key-value store says so.
func TestConferenceEventsReachTheModule(t *testing.T) {
	n := startWasmNode(t)
	mod := n.module(t, "server/testdata/wasm/conference")
	// A generous deadline: the race detector slows the guest down.
	appID := n.ipApp(t, map[string]any{"moduleId": mod, "moduleTimeoutMs": 5000})
	var outs []interface{ Hangup(context.Context) error }
	for i, m := range []byte("AB") {
		out := dialApp(t, n, newPhone(t, m, false), appID)
		outs = append(outs, out)
		t.Cleanup(func() { out.Hangup(context.Background()) })
		waitKV(t, n, appID, "conferenceMemberJoin", i+1)
	}
	for _, out := range outs {
		if err := out.Hangup(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	lines := waitKV(t, n, appID, "conferenceCompleted", 1)
	var types []string
	members := map[string]int{}
	confID := strings.Fields(lines[0])[1]
	for _, l := range lines {
		f := strings.Fields(l)
		types = append(types, f[0])
		if len(f) < 3 || f[1] != confID || f[2] != "from-wasm" {
			t.Errorf("event %q: want conference %s and tag from-wasm", l, confID)
		}
		if len(f) == 4 {
			members[f[3]]++
		}
	}
	want := "conferenceCreated conferenceMemberJoin conferenceMemberJoin conferenceMemberExit conferenceMemberExit conferenceCompleted"
	if strings.Join(types, " ") != want || len(members) != 2 {
		t.Errorf("module events:\n%s", strings.Join(lines, "\n"))
	}
	for id, c := range members {
		if c != 2 {
			t.Errorf("member %s: %d events, want a join and an exit", id, c)
		}
	}
}

// waitKV waits until the module's "events" entry has want lines starting
// with eventType, and returns all its lines.
func waitKV(t *testing.T, n *node, appID, eventType string, want int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, _, err := (store.AppKV{Store: n.srv.Store()}).Get(context.Background(), appID, "events")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(v)), "\n")
		got := 0
		for _, l := range lines {
			if strings.HasPrefix(l, eventType+" ") {
				got++
			}
		}
		if got >= want {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s events reached the module, want %d:\n%s", got, eventType, want, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
