package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/internal/testenv"
	"github.com/wasmvoice/wasmvoice/sdk"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/wasmhost"
)

// kvApp creates an application and returns the base path of its KV routes.
func (e *env) kvApp() (appID, kvPath string) {
	e.t.Helper()
	var created Envelope[VoiceApplication]
	if c := e.call("POST", e.apps(), map[string]any{"applicationName": "kv"}, &created); c != 201 {
		e.t.Fatalf("create application: %d", c)
	}
	id := created.Data.ApplicationID
	return id, e.apps() + "/" + id + "/kv"
}

func TestKVSetGetDelete(t *testing.T) {
	e := newEnv(t)
	appID, kv := e.kvApp()
	var p problem
	if c := e.call("GET", kv+"/sales_uri", nil, &p); c != 404 || !p.mentions(`key "sales_uri" not found`) {
		t.Fatalf("absent key: %d %+v", c, p)
	}
	var list Envelope[[]KVEntry]
	if c := e.call("GET", kv, nil, &list); c != 200 || list.Data == nil || len(list.Data) != 0 || len(list.Links) != 0 {
		t.Fatalf("empty list: %d %+v", c, list)
	}

	var put Envelope[KVEntry]
	if c := e.call("PUT", kv+"/sales_uri", map[string]any{"value": "sip:sales@pbx.example.com"}, &put); c != 200 {
		t.Fatalf("put: %d", c)
	}
	if d := put.Data; d.Key != "sales_uri" || d.Value == nil || *d.Value != "sip:sales@pbx.example.com" ||
		d.ValueBase64 != nil || d.Size != 25 || d.UpdatedTime.IsZero() || put.Errors == nil {
		t.Fatalf("put answered %+v", put)
	}
	// What a module's kv_get reads is what the operator wrote.
	if v, ok, err := (store.AppKV{Store: e.st}).Get(context.Background(), appID, "sales_uri"); !ok || err != nil || string(v) != "sip:sales@pbx.example.com" {
		t.Fatalf("store has %q %v %v", v, ok, err)
	}
	var got Envelope[KVEntry]
	if c := e.call("GET", kv+"/sales_uri", nil, &got); c != 200 || *got.Data.Value != *put.Data.Value || !got.Data.UpdatedTime.Equal(put.Data.UpdatedTime) {
		t.Fatalf("get: %d %+v", c, got.Data)
	}
	// Replacing, and an empty value, which a module reads as present.
	put = Envelope[KVEntry]{}
	if c := e.call("PUT", kv+"/sales_uri", `{"value":""}`, &put); c != 200 || put.Data.Value == nil || *put.Data.Value != "" || put.Data.Size != 0 {
		t.Fatalf("empty value: %d %+v", c, put.Data)
	}
	if !strings.Contains(e.rawGet(kv+"/sales_uri"), `"value":""`) {
		t.Fatal("an empty value is not shown")
	}

	if c := e.call("DELETE", kv+"/sales_uri", nil, nil); c != 204 {
		t.Fatalf("delete: %d", c)
	}
	p = problem{}
	if c := e.call("DELETE", kv+"/sales_uri", nil, &p); c != 404 || !p.mentions("not found") {
		t.Fatalf("second delete: %d %+v", c, p)
	}
	if c := e.call("GET", kv+"/sales_uri", nil, nil); c != 404 {
		t.Fatalf("get deleted: %d", c)
	}
}

// Keys and values are bytes to a module: keys travel percent-encoded, values
// that are not UTF-8 as base64, and both come back exactly.
func TestKVBytesRoundTrip(t *testing.T) {
	e := newEnv(t)
	appID, kv := e.kvApp()
	kvs := store.AppKV{Store: e.st}
	ctx := context.Background()

	for path, key := range map[string]string{
		"/route:+15550003333": "route:+15550003333", // the router example's keys
		"/a%2Fb%20c":          "a/b c",
		"/caf%C3%A9":          "café",
	} {
		var put Envelope[KVEntry]
		if c := e.call("PUT", kv+path, map[string]any{"value": "v-" + key}, &put); c != 200 || put.Data.Key != key {
			t.Fatalf("put %s: %d %+v", path, c, put.Data)
		}
		if v, _, _ := kvs.Get(ctx, appID, key); string(v) != "v-"+key {
			t.Errorf("key %q stored as %q", key, v)
		}
	}

	bin := []byte{0xff, 0xfe, 0x00, 'x'}
	b64 := base64.StdEncoding.EncodeToString(bin)
	var put Envelope[KVEntry]
	if c := e.call("PUT", kv+"/blob", map[string]any{"valueBase64": b64}, &put); c != 200 ||
		put.Data.Value != nil || put.Data.ValueBase64 == nil || *put.Data.ValueBase64 != b64 || put.Data.Size != 4 {
		t.Fatalf("binary put: %d %+v", c, put.Data)
	}
	if v, _, _ := kvs.Get(ctx, appID, "blob"); string(v) != string(bin) {
		t.Fatalf("binary value stored as %q", v)
	}
	// Text sent as base64 is text.
	put = Envelope[KVEntry]{}
	if c := e.call("PUT", kv+"/text", map[string]any{"valueBase64": base64.StdEncoding.EncodeToString([]byte("hi"))}, &put); c != 200 || put.Data.Value == nil || *put.Data.Value != "hi" {
		t.Fatalf("text as base64: %d %+v", c, put.Data)
	}

	// A module may write a key that is not UTF-8: the list names it in
	// base64, and its percent-encoded bytes address it.
	if err := kvs.Set(ctx, appID, "k\xff", []byte("m")); err != nil {
		t.Fatal(err)
	}
	var list Envelope[[]KVEntry]
	e.call("GET", kv, nil, &list)
	var odd *KVEntry
	for i, en := range list.Data {
		if en.KeyBase64 != "" {
			odd = &list.Data[i]
		}
	}
	if odd == nil || odd.KeyBase64 != base64.StdEncoding.EncodeToString([]byte("k\xff")) {
		t.Fatalf("non-UTF-8 key listed as %+v", list.Data)
	}
	var got Envelope[KVEntry]
	if c := e.call("GET", kv+"/k%FF", nil, &got); c != 200 || got.Data.Value == nil || *got.Data.Value != "m" {
		t.Fatalf("get by raw bytes: %d %+v", c, got.Data)
	}
}

func TestKVBadInput(t *testing.T) {
	e := newEnv(t)
	appID, kv := e.kvApp()
	long := strings.Repeat("é", sdk.DefaultMaxKVValueBytes/2) // at the limit in bytes, half of it in characters
	cases := []struct {
		name, method, path string
		body               any
		status             int
		mention            string
	}{
		{"no value", "PUT", "/k", `{}`, 400, "body.value"},
		{"both values", "PUT", "/k", map[string]any{"value": "a", "valueBase64": "YQ=="}, 400, "not both"},
		{"bad base64", "PUT", "/k", map[string]any{"valueBase64": "not base64!"}, 400, "body.valueBase64"},
		{"unknown member", "PUT", "/k", `{"val":"a"}`, 422, "val"},
		{"value not a string", "PUT", "/k", `{"value":5}`, 422, "body.value"},
		{"value one byte too large", "PUT", "/k", map[string]any{"value": long + "x"}, 400, "16384"},
		{"binary value too large", "PUT", "/k", map[string]any{"valueBase64": base64.StdEncoding.EncodeToString(make([]byte, sdk.DefaultMaxKVValueBytes+1))}, 400, "body.valueBase64"},
		{"key too long", "PUT", "/" + strings.Repeat("k", sdk.DefaultMaxKVKeyBytes+1), map[string]any{"value": "a"}, 400, "path.key"},
		{"key too long to read", "GET", "/" + strings.Repeat("k", sdk.DefaultMaxKVKeyBytes+1), nil, 400, "256"},
		{"page size", "GET", "?pageSize=0", nil, 422, "pageSize"},
		{"page token", "GET", "?pageToken=!!", nil, 400, "pageToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p problem
			if c := e.call(tc.method, kv+tc.path, tc.body, &p); c != tc.status || !p.mentions(tc.mention) {
				t.Errorf("%d %+v, want %d mentioning %q", c, p, tc.status, tc.mention)
			}
		})
	}
	// Nothing was stored; the limits themselves are allowed.
	if page, err := (store.AppKV{Store: e.st}).Entries(context.Background(), appID, 0, ""); err != nil || len(page.Entries) != 0 {
		t.Fatalf("bad input stored %+v (%v)", page.Entries, err)
	}
	if c := e.call("PUT", kv+"/"+strings.Repeat("k", sdk.DefaultMaxKVKeyBytes), map[string]any{"value": long}, nil); c != 200 {
		t.Fatalf("key and value at the limits: %d", c)
	}
}

func TestKVApplicationScope(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, kv := e.kvApp()
	if c := e.call("PUT", kv+"/k", map[string]any{"value": "a"}, nil); c != 200 {
		t.Fatalf("put: %d", c)
	}
	// Another account's application is not found under this account.
	other, _ := e.st.CreateAccount(ctx, "")
	theirs, err := e.st.CreateApplication(ctx, store.Application{AccountID: other.ID, Name: "theirs"})
	if err != nil {
		t.Fatal(err)
	}
	if err := (store.AppKV{Store: e.st}).Set(ctx, theirs.ID, "k", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{e.apps() + "/no-such-app/kv", e.apps() + "/" + theirs.ID + "/kv"} {
		for _, r := range []struct {
			method, path string
			body         any
		}{{"GET", "", nil}, {"GET", "/k", nil}, {"PUT", "/k", map[string]any{"value": "b"}}, {"DELETE", "/k", nil}} {
			var p problem
			if c := e.call(r.method, base+r.path, r.body, &p); c != 404 || !p.mentions("application") {
				t.Errorf("%s %s%s: %d %+v", r.method, base, r.path, c, p)
			}
		}
	}
	if v, _, _ := (store.AppKV{Store: e.st}).Get(ctx, theirs.ID, "k"); string(v) != "secret" {
		t.Errorf("the other account's entry became %q", v)
	}
	// And the other account's path is refused outright, as for applications.
	req, _ := http.NewRequest("GET", e.srv.URL+"/v2/accounts/"+other.ID+"/voice-applications/"+theirs.ID+"/kv/k", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if c := e.do(req, nil); c != 403 {
		t.Errorf("other account's path: %d", c)
	}
	req, _ = http.NewRequest("GET", e.srv.URL+kv+"/k", nil)
	if c := e.do(req, nil); c != 401 {
		t.Errorf("no token: %d", c)
	}
}

func TestKVListPagesAndFull(t *testing.T) {
	e := newEnv(t)
	appID, kv := e.kvApp()
	for i := range 5 {
		if c := e.call("PUT", fmt.Sprintf("%s/k%d", kv, 4-i), map[string]any{"value": fmt.Sprint(4 - i)}, nil); c != 200 {
			t.Fatalf("put: %d", c)
		}
	}
	var keys []string
	next := kv + "?pageSize=2"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatalf("paging does not end: %v", keys)
		}
		var page Envelope[[]KVEntry]
		if c := e.call("GET", next, nil, &page); c != 200 || len(page.Data) > 2 {
			t.Fatalf("page %d: %d %+v", pages, c, page)
		}
		next = ""
		for _, en := range page.Data {
			keys = append(keys, en.Key+"="+*en.Value)
		}
		for _, l := range page.Links {
			if l.Rel == "next" && l.Method == "GET" {
				next = l.Href
			}
		}
	}
	if got := strings.Join(keys, " "); got != "k0=0 k1=1 k2=2 k3=3 k4=4" {
		t.Fatalf("listed %s", got)
	}

	// A full store refuses a new key and still takes updates.
	kvs := store.AppKV{Store: e.st}
	for i := 5; i < store.DefaultKVMaxKeys; i++ {
		if err := kvs.Set(context.Background(), appID, fmt.Sprintf("fill%04d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	var p problem
	if c := e.call("PUT", kv+"/one-more", map[string]any{"value": "x"}, &p); c != 409 || !p.mentions("full") {
		t.Fatalf("full store: %d %+v", c, p)
	}
	if c := e.call("PUT", kv+"/k0", map[string]any{"value": "again"}, nil); c != 200 {
		t.Fatalf("update in a full store: %d", c)
	}
}

// An operator's PUT is what the IVR example reads through kv_get on its
// next event, and its DELETE puts the default back: the same store, no cache.
func TestKVReachesModule(t *testing.T) {
	e := newEnv(t)
	appID, kv := e.kvApp()
	ctx := context.Background()
	h, err := wasmhost.New(ctx, wasmhost.Config{
		CacheDir: testenv.WasmCompilationCache(t), KV: store.AppKV{Store: e.st}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(ctx) })
	m, err := h.Compile(ctx, testenv.BuildGuest(t, "../examples/ivr"))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := h.NewPool(ctx, m, wasmhost.PoolConfig{App: appID, Name: "ivr"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close(ctx) })
	pressOne := func() string {
		t.Helper()
		d, err := pool.HandleJSON(ctx, sdk.EventGather, []byte(`{"v":1,"event":"gather","eventType":"gather","digits":"1"}`))
		if err != nil {
			t.Fatal(err)
		}
		return d.BXML
	}
	const defaultURI = "sip:sales@127.0.0.1:5070" // examples/ivr DefaultSalesURI
	if got := pressOne(); !strings.Contains(got, "<SipUri>"+defaultURI+"</SipUri>") {
		t.Fatalf("without sales_uri: %s", got)
	}
	if c := e.call("PUT", kv+"/sales_uri", map[string]any{"value": "sip:sales@pbx.example.com"}, nil); c != 200 {
		t.Fatalf("put: %d", c)
	}
	if got := pressOne(); !strings.Contains(got, "<SipUri>sip:sales@pbx.example.com</SipUri>") {
		t.Fatalf("after the operator set sales_uri: %s", got)
	}
	if c := e.call("DELETE", kv+"/sales_uri", nil, nil); c != 204 {
		t.Fatalf("delete: %d", c)
	}
	if got := pressOne(); !strings.Contains(got, "<SipUri>"+defaultURI+"</SipUri>") {
		t.Fatalf("after the operator deleted sales_uri: %s", got)
	}
}
