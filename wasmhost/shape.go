package wasmhost

import "fmt"

// Limits on a module's shape, checked on the raw bytes before anything is
// allocated for them (wazero decodes every section into objects, and junk
// built to look like millions of tiny sections or functions with millions of
// locals would take gigabytes). The numbers follow the limits browsers
// enforce (V8's wasm-limits.h), lower where no call handler comes near.
const (
	maxSections        = 256
	maxCustomSections  = 128
	maxTypes           = 100_000
	maxImports         = 10_000
	maxFunctions       = 200_000
	maxGlobals         = 100_000
	maxExports         = 100_000
	maxElementSegments = 100_000
	maxDataSegments    = 100_000
	maxLocals          = 50_000 // per function
	maxFunctionBytes   = 8 << 20
)

// sectionNames are the standard sections' names, for refusals.
var sectionNames = map[byte]string{1: "type", 2: "import", 3: "function", 6: "global", 7: "export", 9: "element", 11: "data"}

// checkShape refuses a module whose counts no toolchain produces. secs are
// the module's sections (splitSections already capped their number).
func checkShape(secs []section) error {
	custom := 0
	limits := map[byte]uint32{1: maxTypes, 2: maxImports, 3: maxFunctions, 6: maxGlobals, 7: maxExports, 9: maxElementSegments, 11: maxDataSegments}
	for _, s := range secs {
		switch s.id {
		case 0:
			if custom++; custom > maxCustomSections {
				return fmt.Errorf("more than %d custom sections", maxCustomSections)
			}
			r := &reader{b: s.body}
			r.name()
			if r.err != nil {
				return fmt.Errorf("%w: custom section without a name", errMalformed)
			}
		case 10:
			if err := checkCode(s.body); err != nil {
				return err
			}
		default:
			max, ok := limits[s.id]
			if !ok {
				continue
			}
			r := &reader{b: s.body}
			n := r.u32()
			if r.err != nil {
				return fmt.Errorf("%w: %s section count", errMalformed, sectionNames[s.id])
			}
			if n > max {
				return fmt.Errorf("%d entries in the %s section, more than %d", n, sectionNames[s.id], max)
			}
		}
	}
	return nil
}

// checkCode bounds the code section: the function bodies, their sizes and
// the locals each declares (a body names its locals as counted runs, so a
// few bytes can declare billions).
func checkCode(b []byte) error {
	r := &reader{b: b}
	n := r.u32()
	if r.err != nil {
		return fmt.Errorf("%w: code section count", errMalformed)
	}
	if n > maxFunctions {
		return fmt.Errorf("%d function bodies, more than %d", n, maxFunctions)
	}
	for i := range n {
		size := r.u32()
		if r.err != nil || uint64(size) > uint64(len(r.b)) {
			return fmt.Errorf("%w: function body %d", errMalformed, i)
		}
		if size > maxFunctionBytes {
			return fmt.Errorf("function body %d is %d bytes, more than %d", i, size, maxFunctionBytes)
		}
		body := &reader{b: r.b[:size]}
		r.b = r.b[size:]
		runs := body.u32()
		var locals uint64
		for range runs {
			locals += uint64(body.u32())
			body.byte() // value type
			if body.err != nil {
				return fmt.Errorf("%w: locals of function body %d", errMalformed, i)
			}
			if locals > maxLocals {
				return fmt.Errorf("function body %d declares more than %d locals", i, maxLocals)
			}
		}
	}
	return nil
}
