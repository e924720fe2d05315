package wasmhost

// A tiny WebAssembly assembler for tests: enough to build modules with chosen
// imports, exports and bodies, so Compile's checks are tested on exact
// shapes and the ABI is exercised by a non-Go guest.

const (
	tI32 = 0x7f
	tI64 = 0x7e
)

type fnSig struct{ params, results []byte }

type asmImport struct {
	module, name string
	sig          fnSig
	memory       bool // import a memory instead of a function
	global       bool // import an immutable i32 global instead
}

type asmFunc struct {
	name string // export name ("" for none)
	sig  fnSig
	body []byte // instructions, without the final end
}

type asmModule struct {
	imports   []asmImport
	funcs     []asmFunc
	memory    bool // define a memory of 1 page...
	memExport bool // ...exported as "memory"
	data      []byte
}

func uleb(v uint64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}

func asmName(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func asmVec(items ...[]byte) []byte {
	out := uleb(uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func asmSection(id byte, content []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(content)))...), content...)
}

func (s fnSig) encode() []byte {
	out := []byte{0x60}
	out = append(out, asmVec(bytesOf(s.params)...)...)
	return append(out, asmVec(bytesOf(s.results)...)...)
}

func bytesOf(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i, c := range b {
		out[i] = []byte{c}
	}
	return out
}

func (m asmModule) bytes() []byte {
	var types, imports, funcs, exports, codes [][]byte
	nImportedFuncs := 0
	for _, im := range m.imports {
		entry := append(asmName(im.module), asmName(im.name)...)
		switch {
		case im.memory:
			entry = append(entry, 0x02, 0x00, 0x01)
		case im.global:
			entry = append(entry, 0x03, tI32, 0x00)
		default:
			entry = append(entry, 0x00)
			entry = append(entry, uleb(uint64(len(types)))...)
			types = append(types, im.sig.encode())
			nImportedFuncs++
		}
		imports = append(imports, entry)
	}
	for i, f := range m.funcs {
		funcs = append(funcs, uleb(uint64(len(types))))
		types = append(types, f.sig.encode())
		if f.name != "" {
			exports = append(exports, append(append(asmName(f.name), 0x00), uleb(uint64(nImportedFuncs+i))...))
		}
		body := append([]byte{0x00}, f.body...)
		body = append(body, 0x0b)
		codes = append(codes, append(uleb(uint64(len(body))), body...))
	}
	if m.memExport {
		exports = append(exports, append(asmName("memory"), 0x02, 0x00))
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = append(out, asmSection(1, asmVec(types...))...)
	if len(imports) > 0 {
		out = append(out, asmSection(2, asmVec(imports...))...)
	}
	out = append(out, asmSection(3, asmVec(funcs...))...)
	if m.memory {
		out = append(out, asmSection(5, asmVec([]byte{0x00, 0x01}))...)
	}
	out = append(out, asmSection(7, asmVec(exports...))...)
	out = append(out, asmSection(10, asmVec(codes...))...)
	if m.data != nil {
		seg := append([]byte{0x00, 0x41, 0x00, 0x0b}, uleb(uint64(len(m.data)))...)
		seg = append(seg, m.data...)
		out = append(out, asmSection(11, asmVec(seg))...)
	}
	return out
}

// abiModule is the smallest valid guest: a marker, a handle that writes the
// decision held in its data segment, and an exported memory.
func abiModule(decision string) asmModule {
	body := []byte{0x41, 0x00, 0x41} // i32.const 0; i32.const len(decision)
	body = append(body, sleb(int64(len(decision)))...)
	body = append(body, 0x10, 0x00, 0x1a, 0x41, 0x00) // call 0 (decision_write); drop; i32.const 0
	return asmModule{
		imports: []asmImport{{module: "wasmvoice_v1", name: "decision_write", sig: fnSig{[]byte{tI32, tI32}, []byte{tI32}}}},
		funcs: []asmFunc{
			{name: "wasmvoice_abi_v1"},
			{name: "wasmvoice_handle", sig: fnSig{[]byte{tI32}, []byte{tI32}}, body: body},
		},
		memory: true, memExport: true,
		data: []byte(decision),
	}
}

func sleb(v int64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}
