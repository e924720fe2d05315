package wav

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// HeaderSize is the size of the canonical 44-byte header Writer produces.
const HeaderSize = 44

// Writer writes 16-bit PCM WAV to a seekable destination; Close patches the
// chunk sizes into the header.
type Writer struct {
	ws       io.WriteSeeker
	bw       *bufio.Writer
	rate     int
	channels int
	data     int64
	buf      []byte
}

// writeBuffer is small on purpose: a process that dies mid-recording loses
// what was buffered (a quarter second of 8 kHz mono), not seconds of it.
const writeBuffer = 4 << 10

// NewWriter writes a provisional header and returns a Writer.
func NewWriter(ws io.WriteSeeker, sampleRate, channels int) (*Writer, error) {
	w := &Writer{ws: ws, bw: bufio.NewWriterSize(ws, writeBuffer), rate: sampleRate, channels: channels}
	if _, err := w.bw.Write(header(sampleRate, channels, 0)); err != nil {
		return nil, fmt.Errorf("wav: writing header: %w", err)
	}
	return w, nil
}

// Write appends interleaved samples.
func (w *Writer) Write(samples []int16) error {
	w.buf = w.buf[:0]
	for _, s := range samples {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(s))
	}
	n, err := w.bw.Write(w.buf)
	w.data += int64(n)
	if err != nil {
		return fmt.Errorf("wav: writing samples: %w", err)
	}
	return nil
}

// DataBytes returns the number of sample bytes written so far.
func (w *Writer) DataBytes() int64 { return w.data }

// Close flushes and fixes the header sizes. It does not close the destination.
func (w *Writer) Close() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("wav: flushing: %w", err)
	}
	if _, err := w.ws.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("wav: seeking to header: %w", err)
	}
	if _, err := w.ws.Write(header(w.rate, w.channels, w.data)); err != nil {
		return fmt.Errorf("wav: rewriting header: %w", err)
	}
	if _, err := w.ws.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("wav: seeking to end: %w", err)
	}
	return nil
}

func header(rate, channels int, dataBytes int64) []byte {
	b := make([]byte, 0, HeaderSize)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+dataBytes))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, formatPCM)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*2))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*2))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(dataBytes))
	return b
}

// Encode returns a complete 16-bit PCM WAV file in memory (for tests and
// small generated prompts).
func Encode(sampleRate, channels int, samples []int16) []byte {
	b := header(sampleRate, channels, int64(len(samples)*2))
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}
