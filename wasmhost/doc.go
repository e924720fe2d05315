// Package wasmhost runs call handlers compiled to WebAssembly: it compiles and
// validates uploaded modules once (with an on-disk compilation cache), keeps
// a pool of warm instances per application binding, implements the host side
// of the wasmvoice ABI v1 (see sdk/README.md), and turns one event into one
// decision under hard limits (memory cap, per-event deadline, reply size).
//
// Compile rewrites each module so a guest can be stopped cheaply (a check
// per loop iteration in native code, see interrupt.go) instead of using
// wazero's context checks, which leave native code at every guest call.
//
// It knows nothing of SIP or HTTP: the call engine hands it sdk.Event values
// and acts on the sdk.Decision it returns.
package wasmhost
