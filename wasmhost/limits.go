package wasmhost

import (
	"fmt"
	"time"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// Limits is the manifest of what one module instance may use. A zero field
// means "the default" wherever Limits are accepted.
type Limits struct {
	// MemoryPages caps linear memory in 64 KiB pages (default 256 = 16 MiB;
	// a Go guest starts near 3 MiB and needs about 8).
	MemoryPages uint32
	// Timeout is the wall-clock deadline of one event (default 50 ms).
	Timeout time.Duration
	// MaxDecisionBytes caps the decision JSON (default 64 KiB).
	MaxDecisionBytes int
	// MaxEventBytes caps the event JSON the host will send (default 256 KiB).
	MaxEventBytes int
	// MaxLogBytes caps what one event may log through log, stdout and
	// stderr together (default 16 KiB); one message is cut at 4 KiB.
	MaxLogBytes int
	// MaxKVKeyBytes and MaxKVValueBytes cap key-value entries (256 B, 16 KiB).
	MaxKVKeyBytes   int
	MaxKVValueBytes int
	// MaxKVOps caps kv_get plus kv_set calls per event (default 32).
	MaxKVOps int
}

// Defaults. The decision and key-value sizes are the SDK's, which the
// native stand-in and the operators' KV API enforce too, so a value set
// through one is never refused by another.
const (
	DefaultMemoryPages      = 256
	DefaultTimeout          = 50 * time.Millisecond
	DefaultMaxDecisionBytes = sdk.DefaultMaxDecisionSize
	DefaultMaxEventBytes    = 256 << 10
	DefaultMaxLogBytes      = 16 << 10
	DefaultMaxKVKeyBytes    = sdk.DefaultMaxKVKeyBytes
	DefaultMaxKVValueBytes  = sdk.DefaultMaxKVValueBytes
	DefaultMaxKVOps         = 32

	maxLogMessage = 4 << 10
	maxWasmPages  = 65536
)

// DefaultLimits returns the defaults above.
func DefaultLimits() Limits {
	return Limits{
		MemoryPages:      DefaultMemoryPages,
		Timeout:          DefaultTimeout,
		MaxDecisionBytes: DefaultMaxDecisionBytes,
		MaxEventBytes:    DefaultMaxEventBytes,
		MaxLogBytes:      DefaultMaxLogBytes,
		MaxKVKeyBytes:    DefaultMaxKVKeyBytes,
		MaxKVValueBytes:  DefaultMaxKVValueBytes,
		MaxKVOps:         DefaultMaxKVOps,
	}
}

// DefaultMaxLimits are the node-wide maxima unless configured: four times
// the defaults, with a 1 s deadline.
func DefaultMaxLimits() Limits {
	return Limits{
		MemoryPages:      4 * DefaultMemoryPages,
		Timeout:          time.Second,
		MaxDecisionBytes: 1 << 20,
		MaxEventBytes:    1 << 20,
		MaxLogBytes:      256 << 10,
		MaxKVKeyBytes:    1 << 10,
		MaxKVValueBytes:  256 << 10,
		MaxKVOps:         256,
	}
}

// withDefaults fills zero fields from d.
func (l Limits) withDefaults(d Limits) Limits {
	if l.MemoryPages == 0 {
		l.MemoryPages = d.MemoryPages
	}
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxDecisionBytes == 0 {
		l.MaxDecisionBytes = d.MaxDecisionBytes
	}
	if l.MaxEventBytes == 0 {
		l.MaxEventBytes = d.MaxEventBytes
	}
	if l.MaxLogBytes == 0 {
		l.MaxLogBytes = d.MaxLogBytes
	}
	if l.MaxKVKeyBytes == 0 {
		l.MaxKVKeyBytes = d.MaxKVKeyBytes
	}
	if l.MaxKVValueBytes == 0 {
		l.MaxKVValueBytes = d.MaxKVValueBytes
	}
	if l.MaxKVOps == 0 {
		l.MaxKVOps = d.MaxKVOps
	}
	return l
}

// clamp lowers every field to at most m.
func (l Limits) clamp(m Limits) Limits {
	l.MemoryPages = min(l.MemoryPages, m.MemoryPages)
	l.Timeout = min(l.Timeout, m.Timeout)
	l.MaxDecisionBytes = min(l.MaxDecisionBytes, m.MaxDecisionBytes)
	l.MaxEventBytes = min(l.MaxEventBytes, m.MaxEventBytes)
	l.MaxLogBytes = min(l.MaxLogBytes, m.MaxLogBytes)
	l.MaxKVKeyBytes = min(l.MaxKVKeyBytes, m.MaxKVKeyBytes)
	l.MaxKVValueBytes = min(l.MaxKVValueBytes, m.MaxKVValueBytes)
	l.MaxKVOps = min(l.MaxKVOps, m.MaxKVOps)
	return l
}

// Validate reports a manifest that cannot work (after defaults are applied).
func (l Limits) Validate() error {
	switch {
	case l.MemoryPages == 0 || l.MemoryPages > maxWasmPages:
		return fmt.Errorf("wasmhost: memory pages %d outside 1-%d", l.MemoryPages, maxWasmPages)
	case l.Timeout <= 0:
		return fmt.Errorf("wasmhost: timeout %v must be positive", l.Timeout)
	case l.MaxDecisionBytes <= 0, l.MaxEventBytes <= 0, l.MaxLogBytes < 0,
		l.MaxKVKeyBytes <= 0, l.MaxKVValueBytes < 0, l.MaxKVOps < 0:
		return fmt.Errorf("wasmhost: size limits must be positive: %+v", l)
	}
	return nil
}
