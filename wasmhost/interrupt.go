package wasmhost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Stopping a guest that runs too long.
//
// wazero's own mechanism (RuntimeConfig.WithCloseOnContextDone) makes every
// loop header of the compiled code leave native code to check the module in
// Go. A Go guest enters a loop in every function it calls (the Go wasm port
// wraps each function body in one for resumable stacks), so that check
// costs tens of nanoseconds per guest call and made a warm Go guest five
// times slower than the webhook it replaces.
//
// Instead, Compile rewrites the module before wazero sees it. It adds two
// mutable i32 globals, a fuel counter and an exported interrupt flag, and at
// every loop header inserts
//
//	fuel -= 1
//	if fuel == 0 {
//	    fuel = interruptFuel
//	    memory.grow 0      ;; a trip through Go: see below
//	    if interrupt { unreachable }
//	}
//
// which in native code is a load, a store and a branch. To stop a guest the
// host sets the flag from another goroutine (a context.AfterFunc on the
// event's deadline); the guest traps within interruptFuel loop iterations. An
// interrupted instance is closed, never reused.
//
// The trip through Go matters as much as the flag: native code cannot be
// preempted, so a garbage collection that stops the world waits for every
// goroutine running a guest. memory.grow leaves native code for wazero's Go
// side, where the goroutine can be preempted; without it a spinning guest
// would stall the whole process, watchdog timer included.

// interruptFuel is how many checks run between trips through Go: a few
// microseconds of guest work.
const interruptFuel = 4096

// interruptExport names the global Compile adds. A module that already
// exports this name is refused.
const interruptExport = "wasmvoice_host_interrupt"

// interruptCheck returns the instructions inserted at each check point.
// Without a memory (such a module is refused later anyway) it omits the
// trip through Go.
func interruptCheck(fuel, flag uint32, memory bool) []byte {
	f := binary.AppendUvarint(nil, uint64(fuel))
	b := append([]byte{0x23}, f...)   // global.get fuel
	b = append(b, 0x41, 0x01, 0x6b)   // i32.const 1; i32.sub
	b = append(append(b, 0x24), f...) // global.set fuel
	b = append(append(b, 0x23), f...) // global.get fuel
	b = append(b, 0x45, 0x04, 0x40)   // i32.eqz; if
	b = append(b, 0x41)               // i32.const interruptFuel
	b = appendSLEB(b, interruptFuel)
	b = append(append(b, 0x24), f...) // global.set fuel
	if memory {
		b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0; memory.grow 0; drop
	}
	b = append(b, 0x23) // global.get flag
	b = binary.AppendUvarint(b, uint64(flag))
	return append(b, 0x04, 0x40, 0x00, 0x0b, 0x0b) // if unreachable end; end
}

var errInstrument = errors.New("cannot instrument module")

// section order ranks (the binary format requires this order of the known
// sections); custom sections (id 0) may appear anywhere.
var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

// instrument returns wasm with the interrupt globals and checks added. It
// refuses a module it cannot parse (errMalformed) or one using what it does
// not know (errInstrument); wazero validates the result.
func instrument(wasm []byte) ([]byte, error) {
	all, err := splitSections(wasm)
	if err != nil {
		return nil, err
	}
	secs := all[:0:0]
	for _, s := range all {
		if s.id == 0 && isDebugSection(s.body) {
			// DWARF refers to code offsets, which the rewrite moves; wazero
			// only reads it for debug info, which the host turns off.
			continue
		}
		if s.id != 0 {
			if _, ok := sectionRank[s.id]; !ok {
				return nil, fmt.Errorf("%w: unknown section id %d", errMalformed, s.id)
			}
		}
		secs = append(secs, s)
	}

	var importedGlobals, definedGlobals uint32
	memory := false
	for _, s := range secs {
		switch s.id {
		case 5:
			mr := &reader{b: s.body}
			memory = memory || mr.u32() > 0
		case 2:
			imps, err := parseImportSection(s.body)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", errMalformed, err)
			}
			for _, imp := range imps {
				switch imp.Kind {
				case 3:
					importedGlobals++
				case 2:
					memory = true
				}
			}
		case 6:
			gr := &reader{b: s.body}
			definedGlobals = gr.u32()
			if gr.err != nil {
				return nil, fmt.Errorf("%w: global count", errMalformed)
			}
		case 7:
			if exportsName(s.body, interruptExport) {
				return nil, fmt.Errorf("%w: it exports %s, a name the host reserves", errInstrument, interruptExport)
			}
		}
	}
	// The two new globals go last, so no existing index moves.
	fuel := importedGlobals + definedGlobals
	global := fuel + 1
	check := interruptCheck(fuel, global, memory)

	out := make([]byte, 0, len(wasm)+len(wasm)/8+64)
	out = append(out, wasm[:8]...)
	addedGlobal, addedExport := false, false
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	// New sections go before the first known section that ranks after them.
	emitMissing := func(beforeRank int) {
		if !addedGlobal && beforeRank > sectionRank[6] {
			emit(6, appendGlobals(nil, 0))
			addedGlobal = true
		}
		if !addedExport && beforeRank > sectionRank[7] {
			emit(7, appendExport(nil, 0, global))
			addedExport = true
		}
	}
	for _, s := range secs {
		if s.id != 0 {
			emitMissing(sectionRank[s.id])
		}
		switch s.id {
		case 6:
			emit(6, appendGlobals(s.body, definedGlobals))
			addedGlobal = true
		case 7:
			body, err := appendExportTo(s.body, global)
			if err != nil {
				return nil, err
			}
			emit(7, body)
			addedExport = true
		case 10:
			body, err := instrumentCode(s.body, check)
			if err != nil {
				return nil, err
			}
			emit(10, body)
		default:
			emit(s.id, s.body)
		}
	}
	emitMissing(len(sectionRank) + 1)
	return out, nil
}

func isDebugSection(body []byte) bool {
	r := &reader{b: body}
	name := r.name()
	return r.err == nil && (strings.HasPrefix(name, ".debug_") || name == "external_debug_info" || name == "sourceMappingURL")
}

// appendGlobals returns a global section body holding the old one's
// globals (old is the section body; count its global count) plus the fuel
// counter and the interrupt flag, both (mut i32).
func appendGlobals(old []byte, count uint32) []byte {
	b := binary.AppendUvarint(nil, uint64(count)+2)
	if old != nil {
		gr := &reader{b: old}
		gr.u32()
		b = append(b, gr.b...)
	}
	b = append(b, 0x7f, 0x01, 0x41)
	b = appendSLEB(b, interruptFuel)
	return append(b, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b)
}

// appendExport returns an export section body with old's entries (old
// excludes the count) plus the interrupt global.
func appendExport(old []byte, count uint32, global uint32) []byte {
	b := binary.AppendUvarint(nil, uint64(count)+1)
	b = append(b, old...)
	b = binary.AppendUvarint(b, uint64(len(interruptExport)))
	b = append(b, interruptExport...)
	b = append(b, 0x03)
	return binary.AppendUvarint(b, uint64(global))
}

func appendExportTo(body []byte, global uint32) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	if r.err != nil {
		return nil, fmt.Errorf("%w: export count", errMalformed)
	}
	return appendExport(r.b, n, global), nil
}

// exportsName reports whether an export section body exports name.
func exportsName(body []byte, name string) bool {
	r := &reader{b: body}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		if r.name() == name {
			return true
		}
		r.byte()
		r.u32()
	}
	return false
}

// instrumentCode rewrites a code section body.
func instrumentCode(body []byte, check []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	if r.err != nil {
		return nil, fmt.Errorf("%w: function count", errMalformed)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+len(body)/8), uint64(n))
	var fn []byte
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		if r.err != nil || uint64(size) > uint64(len(r.b)) {
			return nil, fmt.Errorf("%w: function %d: truncated body", errMalformed, i)
		}
		var err error
		fn, err = instrumentFunc(fn[:0], r.b[:size], check)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		r.b = r.b[size:]
		out = binary.AppendUvarint(out, uint64(len(fn)))
		out = append(out, fn...)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: data after the last function body", errMalformed)
	}
	return out, nil
}

// instrumentFunc appends the rewritten body to out: the instructions with a
// check after every loop's block type. Loops are the only way code runs
// unbounded: recursion ends in a stack-overflow trap, and tail calls (which
// would not) are refused.
func instrumentFunc(out, body, check []byte) ([]byte, error) {
	r := &reader{b: body}
	groups := r.u32()
	for i := uint32(0); i < groups && r.err == nil; i++ {
		r.u32()  // count
		r.byte() // value type
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: locals: %v", errMalformed, r.err)
	}
	code := r.b
	out = append(out, body[:len(body)-len(code)]...)
	done := 0 // code[:done] is already in out
	for len(r.b) > 0 {
		op := r.byte()
		if err := skipImmediates(r, op); err != nil {
			return nil, err
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w: opcode 0x%02x: %v", errMalformed, op, r.err)
		}
		if op == 0x03 { // loop: check at the top of every iteration
			at := len(code) - len(r.b)
			out = append(out, code[done:at]...)
			out = append(out, check...)
			done = at
		}
	}
	return append(out, code[done:]...), nil
}

// skipImmediates consumes the immediates of op (WebAssembly 2.0, what the
// host's runtime enables). Anything else, tail calls included, is refused
// rather than guessed at.
func skipImmediates(r *reader, op byte) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block type: s33
		r.uleb(33)
	case op == 0x0c || op == 0x0d || op == 0x10: // br, br_if, call
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x11: // call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.byte()
		}
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores: memarg
		r.u32()
		r.u32()
	case op == 0x3f || op == 0x40: // memory.size/grow: memory index
		r.u32()
	case op == 0x41: // i32.const
		r.uleb(32)
	case op == 0x42: // i64.const
		r.uleb(64)
	case op == 0x43:
		r.skip(4)
	case op == 0x44:
		r.skip(8)
	case op == 0xd0: // ref.null: reference type
		r.byte()
	case op == 0xd2: // ref.func
		r.u32()
	case op == 0xfc:
		return skipFC(r)
	case op == 0xfd:
		return skipSIMD(r)
	case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b,
		op >= 0x45 && op <= 0xc4, op == 0xd1:
		// no immediates
	default:
		return fmt.Errorf("%w: unsupported opcode 0x%02x", errInstrument, op)
	}
	return nil
}

func skipFC(r *reader) error {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8: // memory.init data memory
		r.u32()
		r.byte()
	case sub == 9, sub == 13, sub >= 15 && sub <= 17: // data.drop, elem.drop, table.grow/size/fill
		r.u32()
	case sub == 10: // memory.copy
		r.byte()
		r.byte()
	case sub == 11: // memory.fill
		r.byte()
	case sub == 12, sub == 14: // table.init, table.copy
		r.u32()
		r.u32()
	default:
		return fmt.Errorf("%w: unsupported opcode 0xfc %d", errInstrument, sub)
	}
	return nil
}

func skipSIMD(r *reader) error {
	switch sub := r.u32(); {
	case sub <= 0x0b, sub == 0x5c, sub == 0x5d: // loads and stores: memarg
		r.u32()
		r.u32()
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle
		r.skip(16)
	case sub >= 0x15 && sub <= 0x22: // extract/replace lane
		r.byte()
	case sub >= 0x54 && sub <= 0x5b: // load/store lane: memarg, lane
		r.u32()
		r.u32()
		r.byte()
	case sub <= 0xff:
		// no immediates
	default:
		return fmt.Errorf("%w: unsupported opcode 0xfd %d", errInstrument, sub)
	}
	return nil
}

func (r *reader) skip(n int) {
	if len(r.b) < n {
		r.fail("unexpected end")
		return
	}
	r.b = r.b[n:]
}

// appendSLEB appends v as a signed LEB128 (binary.AppendVarint is zigzag).
func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
