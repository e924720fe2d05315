package api

// Envelope is the response shape of the voice-application routes:
// {"links": [], "data": {...}, "errors": []}.
type Envelope[T any] struct {
	Links  []Link          `json:"links" doc:"Related resources."`
	Data   T               `json:"data"`
	Errors []EnvelopeError `json:"errors" doc:"Always empty on success; errors are RFC 9457 problem responses."`
}

// Link is a related resource.
type Link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Method string `json:"method"`
}

// EnvelopeError is kept for shape compatibility with envelope consumers.
type EnvelopeError struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

func envelope[T any](data T) Envelope[T] {
	return Envelope[T]{Links: []Link{}, Data: data, Errors: []EnvelopeError{}}
}
