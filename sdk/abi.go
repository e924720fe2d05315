package sdk

// ABI names and numbers, shared by the guest SDK and the host so both sides
// spell them the same way.
const (
	// ABIVersion is the version carried in every event and decision ("v").
	ABIVersion = 1
	// ImportModule is the namespace of the host functions.
	ImportModule = "wasmvoice_v1"
	// WASIModule is the only other namespace a module may import from.
	WASIModule = "wasi_snapshot_preview1"
	// ExportMarker is the empty marker function that declares ABI version 1.
	ExportMarker = "wasmvoice_abi_v1"
	// ExportHandle is the per-event entry point: (event_len i32) -> i32.
	ExportHandle = "wasmvoice_handle"
)

// Host function return codes. Non-negative results are lengths; these
// negative values are the errors.
const (
	CodeOK         int32 = 0
	CodeNotFound   int32 = -1 // kv_get: no such key
	CodeBadPointer int32 = -2 // a pointer/length pair lies outside guest memory
	CodeTooLarge   int32 = -3 // a decision, key or value is above its limit
	CodeNoEvent    int32 = -4 // called outside wasmvoice_handle
	CodeStoreError int32 = -5 // the key-value store failed
	CodeBudget     int32 = -6 // the per-event key-value operation budget is used up
	CodeInvalid    int32 = -7 // empty key
)

// Return codes of wasmvoice_handle.
const (
	// HandleOK means a decision was written with decision_write.
	HandleOK int32 = 0
	// HandleFailed means the guest could not produce a decision; the host
	// discards the instance.
	HandleFailed int32 = 1
	// HandlePanicked means the handler panicked; an error decision may have
	// been written; the host discards the instance.
	HandlePanicked int32 = 2
)

// Default limits the host applies unless an application is configured
// otherwise (see wasmhost.Limits); the native stand-in enforces the same.
const (
	DefaultMaxKVKeyBytes   = 256
	DefaultMaxKVValueBytes = 16 << 10
	DefaultMaxDecisionSize = 64 << 10
)
