package sdk

import (
	"errors"
	"fmt"
)

// Level is a log level for Log.
type Level int32

// Levels, as passed to the host's log import.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// Errors the KV calls return, matching the host's return codes.
var (
	ErrKVTooLarge  = errors.New("sdk: kv key or value too large")
	ErrKVInvalid   = errors.New("sdk: kv key is empty")
	ErrKVStore     = errors.New("sdk: kv store failed")
	ErrKVBudget    = errors.New("sdk: kv operation budget for this event used up")
	ErrKVNoEvent   = errors.New("sdk: kv used outside an event")
	ErrKVBadMemory = errors.New("sdk: kv buffer outside guest memory")
)

// codeErr maps a negative host return code to an error.
func codeErr(code int32) error {
	switch code {
	case CodeTooLarge:
		return ErrKVTooLarge
	case CodeInvalid:
		return ErrKVInvalid
	case CodeStoreError:
		return ErrKVStore
	case CodeBudget:
		return ErrKVBudget
	case CodeNoEvent:
		return ErrKVNoEvent
	case CodeBadPointer:
		return ErrKVBadMemory
	}
	return fmt.Errorf("sdk: host returned code %d", code)
}

// Logf formats and logs a message.
func Logf(level Level, format string, args ...any) { Log(level, fmt.Sprintf(format, args...)) }
