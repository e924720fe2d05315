package wasmhost

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wasmvoice/wasmvoice/sdk"
)

func moduleSeeds() [][]byte {
	valid := abiModule(`{"v":1,"bxml":"<Response/>"}`)
	withImports := valid
	withImports.imports = append(append([]asmImport(nil), valid.imports...),
		asmImport{module: "env", name: "m", memory: true},
		asmImport{module: "env", name: "g", global: true})
	return [][]byte{
		nil,
		[]byte("\x00asm"),
		[]byte("\x00asm\x01\x00\x00\x00"),
		[]byte("\x00asm\x01\x00\x00\x00\x02\x05\x01\x01a\x01b"),
		[]byte("\x00asm\x01\x00\x00\x00\x02\xff\xff\xff\xff\x0f"),
		valid.bytes(),
		withImports.bytes(),
	}
}

func FuzzScanImports(f *testing.F) {
	for _, s := range moduleSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		imps, err := scanImports(b)
		if err != nil && !errors.Is(err, errMalformed) {
			t.Fatalf("error %v does not wrap errMalformed", err)
		}
		if len(imps) > len(b) {
			t.Fatalf("%d imports from %d bytes", len(imps), len(b))
		}
	})
}

func TestScanImports(t *testing.T) {
	m := abiModule("{}")
	m.imports = append(m.imports, asmImport{module: "env", name: "mem", memory: true}, asmImport{module: "env", name: "g", global: true})
	imps, err := scanImports(m.bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []wasmImport{{"wasmvoice_v1", "decision_write", 0}, {"env", "mem", 2}, {"env", "g", 3}}
	if len(imps) != len(want) {
		t.Fatalf("imports %+v", imps)
	}
	for i := range want {
		if imps[i] != want[i] {
			t.Errorf("import %d = %+v, want %+v", i, imps[i], want[i])
		}
	}
}

// FuzzCompile: no input makes Compile panic, and every refusal is a
// RejectError the API can turn into a 400.
func FuzzCompile(f *testing.F) {
	for _, s := range moduleSeeds() {
		f.Add(s)
	}
	h := newTestHost(f, Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := h.Compile(context.Background(), b)
		if err == nil {
			m.Close(context.Background())
			return
		}
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("%v is not a rejection", err)
		}
	})
}

func FuzzDecodeDecision(f *testing.F) {
	f.Add([]byte(`{"v":1,"bxml":"<Response/>"}`), "initiate")
	f.Add([]byte(`{"v":1,"action":"reject","status":403,"reason":"x"}`), "sip.inbound")
	f.Add([]byte(`{"v":1,"action":"continue","setHeaders":{"X-A":"b"}}`), "sip.outbound")
	f.Add([]byte(`{"v":1,"bxml":"<Response/>","extra":1}`), "initiate")
	f.Add([]byte(`{"v":1,"bxml":"a"} {"v":1}`), "initiate")
	f.Add([]byte(`{"v":1,"error":"x"}`), "gather")
	f.Fuzz(func(t *testing.T, b []byte, typ string) {
		d, err := decodeDecision(b, sdk.EventType(typ))
		if err != nil {
			return
		}
		if verr := d.Validate(sdk.EventType(typ)); verr != nil {
			t.Fatalf("decoded an invalid decision: %v", verr)
		}
	})
}

func TestDecodeDecisionStrict(t *testing.T) {
	for wire, want := range map[string]string{
		`{"v":1,"bxml":"<Response/>","extra":1}`: "unknown field",
		`{"v":1,"bxml":"a"} {"v":1}`:             "trailing",
		`{"v":1,"action":"continue"}`:            "answers bxml",
		`not json`:                               "decode",
	} {
		if _, err := decodeDecision([]byte(wire), sdk.EventInitiate); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", wire, err, want)
		}
	}
}
