package callflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
)

// queryValues turns an event's JSON into query parameters for GET
// callbacks: the same names as the JSON body, nested objects flattened
// with dots (diversion.origTo), null fields left out.
func queryValues(body []byte) (url.Values, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("callflow: event to query: %w", err)
	}
	q := url.Values{}
	flatten(q, "", m)
	return q, nil
}

func flatten(q url.Values, prefix string, m map[string]any) {
	for k, v := range m {
		key := prefix + k
		switch v := v.(type) {
		case nil:
		case map[string]any:
			flatten(q, key+".", v)
		case string:
			q.Set(key, v)
		case json.Number:
			q.Set(key, v.String())
		case bool:
			if v {
				q.Set(key, "true")
			} else {
				q.Set(key, "false")
			}
		default:
			b, _ := json.Marshal(v)
			q.Set(key, string(b))
		}
	}
}
