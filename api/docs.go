package api

import (
	"embed"
	"net/http"

	"github.com/swaggest/swgui/v5emb"
)

// The landing page and the API reference are served from the binary: an
// offline node shows them as well as one on the internet (Huma's own docs
// page loads its renderer from a CDN).
//
//go:embed docs/index.html docs/LICENSE.txt
var docsFS embed.FS

// registerDocs serves the API reference, and the landing page at / when
// no web console does.
func registerDocs(mux *http.ServeMux, landing bool) {
	if landing {
		mux.Handle("GET /{$}", fileHandler("docs/index.html", "text/html; charset=utf-8"))
	}
	mux.Handle("GET /docs/LICENSE.txt", fileHandler("docs/LICENSE.txt", "text/plain; charset=utf-8"))
	mux.Handle("GET /docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently))
	mux.Handle("GET /docs/", v5emb.New("wasmvoice API", "/openapi.json", "/docs/"))
}

func fileHandler(name, contentType string) http.Handler {
	b, err := docsFS.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(b)
	})
}
