package bxml

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time is a callback timestamp: ISO 8601 in UTC with milliseconds, as
// Bandwidth sends them ("2022-06-17T22:19:40.375Z"). The zero Time is
// omitted from JSON by the omitzero tags.
type Time struct{ time.Time }

const timeLayout = "2006-01-02T15:04:05.000Z"

// At wraps t (the zero time stays zero).
func At(t time.Time) Time { return Time{t} }

// MarshalJSON renders the timestamp in UTC with milliseconds.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(timeLayout) + `"`), nil
}

// UnmarshalJSON accepts any RFC 3339 timestamp, or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		t.Time = time.Time{}
		return nil
	}
	s, err := strconv.Unquote(s)
	if err != nil {
		return fmt.Errorf("bxml: time %s: %w", b, err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("bxml: time %q: %w", s, err)
	}
	t.Time = v
	return nil
}

// String renders the timestamp as MarshalJSON does, without quotes.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// ISODuration renders d as an ISO 8601 duration the way Bandwidth reports
// recording durations ("PT13.67S", "PT1M2.5S").
func ISODuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	var b strings.Builder
	b.WriteString("PT")
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
		d -= m * time.Minute
	}
	if d > 0 || b.Len() == 2 {
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
		b.WriteByte('S')
	}
	return b.String()
}
