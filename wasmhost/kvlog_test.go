package wasmhost

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/wasmvoice/wasmvoice/sdk"
)

func TestKVRoundTripPerApplication(t *testing.T) {
	kv := &MemKV{}
	h := newTestHost(t, Config{KV: kv})
	p1 := newTestPool(t, h, "basic", PoolConfig{App: "app1"})
	p2 := newTestPool(t, h, "basic", PoolConfig{App: "app2"})
	ctx := context.Background()
	count := func(p *Pool) string {
		t.Helper()
		d, err := p.Handle(ctx, callEvent("count", map[string]any{"from": "+1555"}))
		if err != nil {
			t.Fatal(err)
		}
		return d.BXML
	}
	for _, want := range []string{"1", "2", "3"} {
		if got := count(p1); !strings.Contains(got, ">"+want+"<") {
			t.Fatalf("app1 count = %s, want %s", got, want)
		}
	}
	if got := count(p2); !strings.Contains(got, ">1<") {
		t.Fatalf("app2 shares app1's store: %s", got)
	}
	v, ok, err := kv.Get(ctx, "app1", "count:+1555")
	if err != nil || !ok || string(v) != "3" {
		t.Fatalf("store holds %q %v %v", v, ok, err)
	}
}

func TestKVLimits(t *testing.T) {
	h := newTestHost(t, Config{})
	p := newTestPool(t, h, "basic", PoolConfig{App: "app1", Limits: Limits{MaxKVKeyBytes: 8, MaxKVValueBytes: 1000}})
	tests := []struct {
		name, key       string
		size            int
		set, get, found string
		wantLen         string
	}{
		{"fits, larger than the SDK's first buffer", "k", 1000, "ok", "ok", "true", "1000"},
		{"value too large", "k2", 1001, sdk.ErrKVTooLarge.Error(), "ok", "false", "0"},
		{"key too large", "123456789", 1, sdk.ErrKVTooLarge.Error(), sdk.ErrKVTooLarge.Error(), "false", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Handle(context.Background(), callEvent("kvlimits", map[string]any{"key": tt.key, "size": tt.size}))
			if err != nil {
				t.Fatal(err)
			}
			v := d.Variables
			if v["set"] != tt.set || v["get"] != tt.get || v["found"] != tt.found || v["len"] != tt.wantLen {
				t.Fatalf("variables %v", v)
			}
		})
	}
	// A budget of one operation per event: the get after the set is refused.
	pb := newTestPool(t, h, "basic", PoolConfig{App: "app1", Limits: Limits{MaxKVOps: 1}})
	d, err := pb.Handle(context.Background(), callEvent("kvlimits", map[string]any{"key": "b", "size": 1}))
	if err != nil || d.Variables["set"] != "ok" || d.Variables["get"] != sdk.ErrKVBudget.Error() {
		t.Fatalf("budget: %+v %v", d, err)
	}
}

type failingKV struct{}

func (failingKV) Get(context.Context, string, string) ([]byte, bool, error) {
	return nil, false, errors.New("disk on fire")
}
func (failingKV) Set(context.Context, string, string, []byte) error {
	return errors.New("disk on fire")
}

func TestKVStoreFailureReachesGuest(t *testing.T) {
	h := newTestHost(t, Config{KV: failingKV{}})
	p := newTestPool(t, h, "basic", PoolConfig{})
	d, err := p.Handle(context.Background(), callEvent("kvlimits", map[string]any{"key": "k", "size": 1}))
	if err != nil || d.Variables["set"] != sdk.ErrKVStore.Error() || d.Variables["get"] != sdk.ErrKVStore.Error() {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestMemKVMaxKeys(t *testing.T) {
	kv := &MemKV{MaxKeys: 1}
	ctx := context.Background()
	if err := kv.Set(ctx, "a", "k1", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Set(ctx, "a", "k1", []byte("v2")); err != nil {
		t.Fatal("overwriting an existing key must not count against MaxKeys")
	}
	if err := kv.Set(ctx, "a", "k2", []byte("v")); !errors.Is(err, ErrKVFull) {
		t.Fatalf("err = %v", err)
	}
	if err := kv.Set(ctx, "b", "k2", []byte("v")); err != nil {
		t.Fatal("the limit is per application")
	}
}

// recorder is a slog.Handler that keeps records.
type recorder struct {
	mu      sync.Mutex
	attrs   []slog.Attr
	records *[]logRecord
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func newRecorder() *recorder { return &recorder{records: new([]logRecord)} }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	for _, a := range r.attrs {
		lr.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	*r.records = append(*r.records, lr)
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{attrs: append(append([]slog.Attr(nil), r.attrs...), as...), records: r.records}
}
func (r *recorder) WithGroup(string) slog.Handler { return r }

func (r *recorder) all() []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logRecord(nil), *r.records...)
}

func TestLogCapture(t *testing.T) {
	h := newTestHost(t, Config{})
	p := newTestPool(t, h, "basic", PoolConfig{})
	rec := newRecorder()
	callLog := slog.New(rec).With("callId", "c-42")
	if _, err := p.Handle(context.Background(), sdk.Event{Type: "logs"}, WithLogger(callLog)); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	find := func(source, prefix string) *logRecord {
		for i := range got {
			if got[i].attrs["source"] == source && strings.HasPrefix(got[i].msg, prefix) {
				return &got[i]
			}
		}
		t.Fatalf("no %s record %q in %+v", source, prefix, got)
		return nil
	}
	w := find("log", "warned")
	if w.level != slog.LevelWarn || w.attrs["module"] != "basic" || w.attrs["callId"] != "c-42" {
		t.Errorf("warn record %+v", w)
	}
	long := find("log", "xxx")
	if len(long.msg) != maxLogMessage || long.attrs["truncated"] != "true" || long.level != slog.LevelError {
		t.Errorf("long record: %d bytes, attrs %v", len(long.msg), long.attrs)
	}
	if r := find("stdout", "to stdout"); r.msg != "to stdout" {
		t.Errorf("stdout record %+v", r)
	}
	if r := find("stderr", "to stderr"); r.level != slog.LevelWarn {
		t.Errorf("stderr record %+v", r)
	}

	// A budget smaller than the output: the rest is dropped with one note.
	pb := newTestPool(t, h, "basic", PoolConfig{Limits: Limits{MaxLogBytes: 10}})
	rec = newRecorder()
	if _, err := pb.Handle(context.Background(), sdk.Event{Type: "logs"}, WithLogger(slog.New(rec))); err != nil {
		t.Fatal(err)
	}
	got = rec.all()
	if len(got) != 2 || got[0].msg != "warned" || !strings.Contains(got[1].msg, "budget") {
		t.Fatalf("budgeted records %+v", got)
	}
}
