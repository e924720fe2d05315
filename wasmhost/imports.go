package wasmhost

import (
	"errors"
	"fmt"
)

// wasmImport is one entry of a module's import section.
type wasmImport struct {
	Module, Name string
	Kind         byte // 0 func, 1 table, 2 memory, 3 global, 4 tag
}

var kindNames = [...]string{"function", "table", "memory", "global", "tag"}

func (i wasmImport) kindName() string {
	if int(i.Kind) < len(kindNames) {
		return kindNames[i.Kind]
	}
	return fmt.Sprintf("kind %d", i.Kind)
}

var (
	errMalformed       = errors.New("malformed module")
	errTooManySections = errors.New("too many sections")
)

// scanImports reads the import section of a binary module. wazero's
// CompiledModule lists imported functions and memories only; this sees
// tables and globals too, so Compile can name any disallowed import. The
// rest of the module is left to wazero's validator.
func scanImports(b []byte) ([]wasmImport, error) {
	secs, err := splitSections(b)
	if err != nil {
		return nil, err
	}
	return sectionImports(secs)
}

// sectionImports parses the import section among secs.
func sectionImports(secs []section) ([]wasmImport, error) {
	for _, s := range secs {
		if s.id == 2 {
			return parseImportSection(s.body)
		}
	}
	return nil, nil
}

// section is one section of a binary module: its id and its bytes.
type section struct {
	id   byte
	body []byte
}

// splitSections checks the header of a binary module and cuts the rest
// into its sections, in order.
func splitSections(b []byte) ([]section, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%w: no \\0asm magic", errMalformed)
	}
	if b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return nil, fmt.Errorf("%w: binary version %x, want 1", errMalformed, b[4:8])
	}
	r := &reader{b: b[8:]}
	var secs []section
	for len(r.b) > 0 {
		if len(secs) == maxSections {
			return nil, fmt.Errorf("%w: more than %d", errTooManySections, maxSections)
		}
		id := r.byte()
		size := r.u32()
		if r.err != nil || uint64(size) > uint64(len(r.b)) {
			return nil, fmt.Errorf("%w: truncated section", errMalformed)
		}
		secs = append(secs, section{id, r.b[:size]})
		r.b = r.b[size:]
	}
	return secs, nil
}

func parseImportSection(b []byte) ([]wasmImport, error) {
	r := &reader{b: b}
	n := r.u32()
	if r.err != nil || uint64(n) > uint64(len(b)) {
		return nil, fmt.Errorf("%w: import count", errMalformed)
	}
	out := make([]wasmImport, 0, n)
	for range n {
		imp := wasmImport{Module: r.name(), Name: r.name(), Kind: r.byte()}
		switch imp.Kind {
		case 0: // function: type index
			r.u32()
		case 1: // table: reference type, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			r.limits()
		case 3: // global: value type, mutability
			r.byte()
			r.byte()
		case 4: // tag: attribute, type index
			r.byte()
			r.u32()
		default:
			return nil, fmt.Errorf("%w: import kind %d", errMalformed, imp.Kind)
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w: import section: %v", errMalformed, r.err)
		}
		out = append(out, imp)
	}
	return out, nil
}

// reader decodes the few binary-format primitives the import section uses.
// The first error sticks; later reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// uleb reads an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= bits+7 || shift >= 64 {
			r.fail("LEB128 too long")
			return 0
		}
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
}

func (r *reader) u32() uint32 {
	v := r.uleb(32)
	if v > 1<<32-1 {
		r.fail("u32 out of range")
		return 0
	}
	return uint32(v)
}

func (r *reader) name() string {
	n := r.u32()
	if r.err != nil {
		return ""
	}
	if uint64(n) > uint64(len(r.b)) {
		r.fail("name past end")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) limits() {
	flags := r.byte()
	bits := uint(32)
	if flags&0x04 != 0 { // memory64
		bits = 64
	}
	r.uleb(bits)
	if flags&0x01 != 0 {
		r.uleb(bits)
	}
}
