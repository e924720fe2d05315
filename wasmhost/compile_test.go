package wasmhost

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmvoice/wasmvoice/sdk"
)

func TestCompileGoGuestMeta(t *testing.T) {
	h := newTestHost(t, Config{})
	wasm := guest(t, "basic")
	m, err := h.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	meta := m.Meta()
	if len(meta.SHA256) != 64 || meta.Size != len(wasm) || meta.ABIVersion != 1 {
		t.Errorf("meta = %+v", meta)
	}
	for _, want := range []string{sdk.ExportMarker, sdk.ExportHandle, "_initialize"} {
		if !slices.Contains(meta.Exports, want) {
			t.Errorf("exports %v lack %s", meta.Exports, want)
		}
	}
	if !slices.Contains(meta.Imports, "wasmvoice_v1.event_read") || !slices.IsSorted(meta.Imports) {
		t.Errorf("imports = %v", meta.Imports)
	}
	if meta.MemoryPages == 0 || meta.MemoryPages > DefaultMemoryPages {
		t.Errorf("memory pages = %d", meta.MemoryPages)
	}
	t.Logf("go guest: %d bytes, %d initial pages, compiled in %v", meta.Size, meta.MemoryPages, meta.CompileTime)
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCompileRejects(t *testing.T) {
	i32i32 := fnSig{[]byte{tI32}, []byte{tI32}}
	valid := abiModule(`{"v":1,"bxml":"<Response/>"}`)
	with := func(f func(*asmModule)) []byte {
		m := valid
		m.imports = slices.Clone(valid.imports)
		m.funcs = slices.Clone(valid.funcs)
		f(&m)
		return m.bytes()
	}
	tests := []struct {
		name   string
		wasm   []byte
		kind   error
		detail string
	}{
		{"garbage", []byte("this is not wasm at all"), ErrNotWasm, "magic"},
		{"empty", nil, ErrNotWasm, "magic"},
		{"wrong version", []byte("\x00asm\x02\x00\x00\x00"), ErrNotWasm, "version"},
		{"truncated section", []byte("\x00asm\x01\x00\x00\x00\x01\x7f"), ErrNotWasm, "truncated"},
		{"valid header, bad body", []byte("\x00asm\x01\x00\x00\x00\x0a\x01\x05"), ErrNotWasm, ""},
		{"go guest importing env", guest(t, "badimport"), ErrImportNotAllowed, `"sneaky" from module "env"`},
		{"unknown host function", with(func(m *asmModule) {
			m.imports = append(m.imports, asmImport{module: "wasmvoice_v1", name: "open_socket", sig: fnSig{}})
		}), ErrImportNotAllowed, "wasmvoice_v1.open_socket"},
		{"host function with wrong signature", with(func(m *asmModule) {
			m.imports[0].sig = fnSig{[]byte{tI32, tI32}, []byte{tI64}}
		}), ErrImportNotAllowed, "imported as (i32, i32) -> (i64), the host provides (i32, i32) -> (i32)"},
		{"unknown wasi function", with(func(m *asmModule) {
			m.imports = append(m.imports, asmImport{module: "wasi_snapshot_preview1", name: "sock_listen_everywhere", sig: fnSig{}})
		}), ErrImportNotAllowed, "not a WASI preview 1 function"},
		{"imported memory", with(func(m *asmModule) {
			m.imports = append(m.imports, asmImport{module: "wasmvoice_v1", name: "mem", memory: true})
		}), ErrImportNotAllowed, "only functions"},
		{"imported global from env", with(func(m *asmModule) {
			m.imports = append(m.imports, asmImport{module: "env", name: "g", global: true})
		}), ErrImportNotAllowed, `global "g" from module "env"`},
		{"no marker", with(func(m *asmModule) { m.funcs[0].name = "" }), ErrMissingExport, sdk.ExportMarker},
		{"no handle", with(func(m *asmModule) { m.funcs[1].name = "" }), ErrMissingExport, sdk.ExportHandle},
		{"marker with params", with(func(m *asmModule) {
			m.funcs[0] = asmFunc{name: sdk.ExportMarker, sig: i32i32, body: []byte{0x41, 0x00}}
		}),
			ErrExportSignature, "wasmvoice_abi_v1 is (i32) -> (i32), want ()"},
		{"handle with i64", with(func(m *asmModule) {
			m.funcs[1] = asmFunc{name: sdk.ExportHandle, sig: fnSig{[]byte{tI64}, []byte{tI32}}, body: []byte{0x41, 0x00}}
		}), ErrExportSignature, "(i64) -> (i32)"},
		{"command module", with(func(m *asmModule) { m.funcs = append(m.funcs, asmFunc{name: "_start"}) }), ErrNotReactor, "_start"},
		{"memory not exported", with(func(m *asmModule) { m.memExport = false; m.data = nil }), ErrMissingExport, "memory"},
		{"initialize traps", with(func(m *asmModule) { m.funcs = append(m.funcs, asmFunc{name: "_initialize", body: []byte{0x00}}) }),
			ErrUnsupportedModule, "does not start"},
	}
	h := newTestHost(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := h.Compile(context.Background(), tt.wasm)
			if err == nil {
				m.Close(context.Background())
				t.Fatal("accepted")
			}
			var rej *RejectError
			if !errors.As(err, &rej) || !errors.Is(err, ErrRejected) || !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v (%T), want a RejectError of kind %v", err, err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("err = %q, want it to mention %q", err, tt.detail)
			}
		})
	}
}

// Junk shaped like a module (a valid header and then zeros, millions of
// tiny sections, a function declaring billions of locals) is refused from
// its raw bytes, before wazero allocates anything for it.
func TestCompileRefusesAbsurdShapes(t *testing.T) {
	header := []byte("\x00asm\x01\x00\x00\x00")
	tinySections := append([]byte{}, header...)
	for range 100_000 {
		tinySections = append(tinySections, 0x00, 0x01, 0x00) // custom section, empty name
	}
	manyLocals := append(append([]byte{}, header...),
		0x0a, 0x09, // code section, 9 bytes
		0x01,                         // one body
		0x07,                         // of 7 bytes
		0x01,                         // one run of locals
		0xff, 0xff, 0xff, 0xff, 0x0f, // 2^32-1 of them
		0x7f) // i32
	manyFuncs := append(append([]byte{}, header...), 0x03, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f)
	tests := []struct {
		name   string
		wasm   []byte
		kind   error
		detail string
	}{
		{"header and zeros", append(append([]byte{}, header...), make([]byte, 31<<20)...), ErrUnsupportedModule, "too many sections"},
		{"header and a few zeros", append(append([]byte{}, header...), make([]byte, 8)...), ErrNotWasm, "custom section without a name"},
		{"100,000 tiny sections", tinySections, ErrUnsupportedModule, "too many sections"},
		{"billions of locals", manyLocals, ErrUnsupportedModule, "locals"},
		{"billions of functions", manyFuncs, ErrUnsupportedModule, "function section"},
	}
	h := newTestHost(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Compile(context.Background(), tt.wasm)
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.kind, tt.detail)
			}
		})
	}
}

// Compiles run one at a time: a second waits for the first, and gives up
// when its context ends.
func TestCompilesOneAtATime(t *testing.T) {
	h := newTestHost(t, Config{})
	h.compiles <- struct{}{} // a compile in progress
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.Compile(ctx, guest(t, "basic")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("compile while another runs: %v", err)
	}
	<-h.compiles
	m, err := h.Compile(context.Background(), guest(t, "basic"))
	if err != nil {
		t.Fatal(err)
	}
	m.Close(context.Background())
}

func TestCompileTooLarge(t *testing.T) {
	h := newTestHost(t, Config{MaxModuleBytes: 1000})
	_, err := h.Compile(context.Background(), guest(t, "basic"))
	if !errors.Is(err, ErrModuleTooLarge) || !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v", err)
	}
}

// A hand-assembled guest, no SDK, no WASI: the ABI is usable from any
// toolchain.
func TestHandAssembledGuest(t *testing.T) {
	h := newTestHost(t, Config{})
	m, err := h.Compile(context.Background(), abiModule(`{"v":1,"bxml":"<Response><Hangup/></Response>"}`).bytes())
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.NewPool(context.Background(), m, PoolConfig{Name: "asm"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	d, err := p.Handle(context.Background(), sdk.Event{Type: sdk.EventAnswer})
	if err != nil || d.BXML != "<Response><Hangup/></Response>" {
		t.Fatalf("decision %+v, err %v", d, err)
	}
	// The same decision is wrong for a SIP hook: a bad decision, not a crash.
	if _, err := p.Handle(context.Background(), sdk.Event{Type: sdk.EventSIPInbound, SIP: &sdk.SIPRequest{Method: "INVITE"}}); !errors.Is(err, ErrBadDecision) {
		t.Fatalf("err = %v, want ErrBadDecision", err)
	}
}

func TestCompilationCacheDir(t *testing.T) {
	dir := t.TempDir()
	h := newTestHost(t, Config{CacheDir: dir})
	if _, err := h.Compile(context.Background(), guest(t, "basic")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("cache dir empty (%v)", err)
	}
	// A second host on the same directory reuses the compiled code.
	h2 := newTestHost(t, Config{CacheDir: dir})
	m, err := h2.Compile(context.Background(), guest(t, "basic"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compile with a warm disk cache: %v", m.Meta().CompileTime)
}
