package wasmhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// Meta describes a compiled module, for the module API.
type Meta struct {
	SHA256     string   // hex digest of the uploaded bytes
	Size       int      // bytes
	ABIVersion int      // 1
	Exports    []string // exported function names, sorted
	Imports    []string // "module.name" of every import, sorted
	// MemoryPages is the initial linear memory the module declares.
	MemoryPages uint32
	// CompileTime is how long compilation and validation took.
	CompileTime time.Duration
}

// Module is a validated, compiled module version. It is immutable and safe
// to share between pools.
type Module struct {
	host     *Host
	compiled wazero.CompiledModule
	meta     Meta
}

// Meta returns the module's metadata.
func (m *Module) Meta() Meta { return m.meta }

// Close releases the compiled code. Pools using the module must be closed
// first.
func (m *Module) Close(ctx context.Context) error { return m.compiled.Close(ctx) }

// Compile validates and compiles a module. Every reason to refuse the bytes
// is a *RejectError (errors.Is(err, ErrRejected)); other errors are the
// host's own failures. Compile also starts one throwaway instance under the
// default limits, so a module that cannot even initialise is refused at
// upload rather than on a live call.
func (h *Host) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	start := time.Now()
	if len(wasm) > h.cfg.MaxModuleBytes {
		return nil, reject(ErrModuleTooLarge, "%d bytes, the limit is %d", len(wasm), h.cfg.MaxModuleBytes)
	}
	secs, err := splitSections(wasm)
	if err == nil {
		err = checkShape(secs)
	}
	switch {
	case errors.Is(err, errMalformed):
		return nil, reject(ErrNotWasm, "%v", err)
	case err != nil:
		return nil, reject(ErrUnsupportedModule, "%v", err)
	}
	imports, err := sectionImports(secs)
	if err != nil {
		return nil, reject(ErrNotWasm, "%v", err)
	}
	if err := h.checkImportNames(imports); err != nil {
		return nil, err
	}
	// One compile at a time (by default): the check above is cheap, what
	// follows takes memory in proportion to the module.
	select {
	case h.compiles <- struct{}{}:
		defer func() { <-h.compiles }()
	case <-ctx.Done():
		return nil, fmt.Errorf("wasmhost: waiting to compile: %w", ctx.Err())
	}
	code, err := instrument(wasm)
	switch {
	case errors.Is(err, errMalformed):
		return nil, reject(ErrNotWasm, "%v", err)
	case err != nil:
		return nil, reject(ErrUnsupportedModule, "%v", err)
	}
	compiled, err := h.runtime.CompileModule(ctx, code)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wasmhost: compile: %w", err)
		}
		return nil, reject(ErrNotWasm, "%v", err)
	}
	m := &Module{host: h, compiled: compiled}
	if err := h.validate(ctx, m, imports); err != nil {
		if cerr := compiled.Close(ctx); cerr != nil {
			h.log.Warn("close rejected module", "error", cerr)
		}
		return nil, err
	}
	sum := sha256.Sum256(wasm)
	m.meta.SHA256 = hex.EncodeToString(sum[:])
	m.meta.Size = len(wasm)
	m.meta.ABIVersion = sdk.ABIVersion
	m.meta.CompileTime = time.Since(start)
	compileSeconds.Observe(m.meta.CompileTime.Seconds())
	return m, nil
}

func (h *Host) checkImportNames(imports []wasmImport) error {
	for _, imp := range imports {
		switch imp.Module {
		case sdk.WASIModule, sdk.ImportModule:
		default:
			return reject(ErrImportNotAllowed, "%s %q from module %q: only %s and %s may be imported",
				imp.kindName(), imp.Name, imp.Module, sdk.WASIModule, sdk.ImportModule)
		}
		if imp.Kind != 0 {
			return reject(ErrImportNotAllowed, "%s %s.%s: only functions may be imported", imp.kindName(), imp.Module, imp.Name)
		}
		if imp.Module == sdk.ImportModule {
			if _, ok := hostFuncs[imp.Name]; !ok {
				return reject(ErrImportNotAllowed, "%s.%s is not a wasmvoice ABI v1 function", imp.Module, imp.Name)
			}
		} else if _, ok := h.wasiDefs[imp.Name]; !ok {
			return reject(ErrImportNotAllowed, "%s.%s is not a WASI preview 1 function", imp.Module, imp.Name)
		}
	}
	return nil
}

func (h *Host) validate(ctx context.Context, m *Module, imports []wasmImport) error {
	c := m.compiled
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		var params, results []api.ValueType
		if mod == sdk.ImportModule {
			params, results = hostFuncs[name].params, hostFuncs[name].results
		} else {
			d := h.wasiDefs[name]
			params, results = d.ParamTypes(), d.ResultTypes()
		}
		if !slices.Equal(f.ParamTypes(), params) || !slices.Equal(f.ResultTypes(), results) {
			return reject(ErrImportNotAllowed, "%s.%s imported as %s, the host provides %s",
				mod, name, signature(f.ParamTypes(), f.ResultTypes()), signature(params, results))
		}
	}
	exports := c.ExportedFunctions()
	if _, ok := exports["_start"]; ok {
		return reject(ErrNotReactor, "it exports _start; build a reactor (Go: -buildmode=c-shared; other toolchains: -mexec-model=reactor)")
	}
	want := []struct {
		name            string
		params, results []api.ValueType
	}{
		{sdk.ExportMarker, nil, nil},
		{sdk.ExportHandle, []api.ValueType{i32}, []api.ValueType{i32}},
	}
	for _, w := range want {
		f, ok := exports[w.name]
		if !ok {
			return reject(ErrMissingExport, "function %s is not exported (is the wasmvoice SDK linked in?)", w.name)
		}
		if !slices.Equal(f.ParamTypes(), w.params) || !slices.Equal(f.ResultTypes(), w.results) {
			return reject(ErrExportSignature, "%s is %s, want %s", w.name,
				signature(f.ParamTypes(), f.ResultTypes()), signature(w.params, w.results))
		}
	}
	if f, ok := exports["_initialize"]; ok && (len(f.ParamTypes()) > 0 || len(f.ResultTypes()) > 0) {
		return reject(ErrExportSignature, "_initialize is %s, want ()", signature(f.ParamTypes(), f.ResultTypes()))
	}
	mem, ok := c.ExportedMemories()["memory"]
	if !ok {
		return reject(ErrMissingExport, `linear memory is not exported as "memory"`)
	}
	m.meta.MemoryPages = mem.Min()
	if mem.Min() > h.cfg.Defaults.MemoryPages {
		return reject(ErrMemoryTooLarge, "module starts with %d pages, the default cap is %d", mem.Min(), h.cfg.Defaults.MemoryPages)
	}
	for name := range exports {
		m.meta.Exports = append(m.meta.Exports, name)
	}
	slices.Sort(m.meta.Exports)
	for _, imp := range imports {
		m.meta.Imports = append(m.meta.Imports, imp.Module+"."+imp.Name)
	}
	slices.Sort(m.meta.Imports)

	// A trial start: runs _initialize (Go: runtime and package init) under
	// the default limits.
	inst, err := h.instantiate(ctx, m, h.cfg.Defaults, "compile-check", h.log)
	if err != nil {
		if ctx.Err() != nil || !errors.Is(err, ErrInstantiate) {
			return err
		}
		return reject(ErrUnsupportedModule, "it does not start: %v", err)
	}
	inst.close(ctx)
	return nil
}

func signature(params, results []api.ValueType) string {
	s := "("
	for i, p := range params {
		if i > 0 {
			s += ", "
		}
		s += api.ValueTypeName(p)
	}
	s += ")"
	if len(results) > 0 {
		s += " -> ("
		for i, r := range results {
			if i > 0 {
				s += ", "
			}
			s += api.ValueTypeName(r)
		}
		s += ")"
	}
	return s
}
