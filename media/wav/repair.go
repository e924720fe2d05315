package wav

import (
	"fmt"
	"os"
)

// Repair makes a recording cut short (the process died while writing it)
// a valid file: the header's sizes are set to the samples actually on disk,
// less a partial last frame. It returns the sample bytes kept.
func Repair(path string, sampleRate, channels int) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("wav: repair: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("wav: repair: %w", err)
	}
	frame := int64(2 * channels)
	data := max(0, fi.Size()-HeaderSize)
	data -= data % frame
	if err := f.Truncate(HeaderSize + data); err != nil {
		return 0, fmt.Errorf("wav: repair: %w", err)
	}
	if _, err := f.WriteAt(header(sampleRate, channels, data), 0); err != nil {
		return 0, fmt.Errorf("wav: repair: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("wav: repair: %w", err)
	}
	return data, nil
}
