package trunkops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
)

// Port documents (the signed letter of authorization, a recent bill): a
// PDF or an image of at most MaxPortDocumentBytes, its type sniffed from
// its first bytes, never from what the client says. The file goes under
// the data dir; the database keeps what it is.

// MaxPortDocumentBytes caps one document.
const MaxPortDocumentBytes = 10 << 20

// ErrDocumentTooLarge refuses a document past MaxPortDocumentBytes (413).
var ErrDocumentTooLarge = fmt.Errorf("document larger than %d MB", MaxPortDocumentBytes>>20)

// documentTypes are the accepted types and their magic bytes: what
// http.DetectContentType says must agree with the file's signature.
var documentTypes = []struct {
	contentType string
	magic       []byte
}{
	{"application/pdf", []byte("%PDF-")},
	{"image/png", []byte("\x89PNG\r\n\x1a\n")},
	{"image/jpeg", []byte("\xff\xd8\xff")},
	{"image/gif", []byte("GIF8")},
	{"image/webp", []byte("RIFF")},
}

// sniffDocument returns the type of a document from its first bytes, or
// a reason it is refused.
func sniffDocument(head []byte) (string, error) {
	ct := http.DetectContentType(head)
	for _, t := range documentTypes {
		if ct == t.contentType && bytes.HasPrefix(head, t.magic) {
			return ct, nil
		}
	}
	return "", &store.ValidationError{Field: "file", Value: ct, Reason: "must be a PDF or an image (PNG, JPEG, GIF, WebP); this file looks like " + ct}
}

// SaveDocument reads a document from r (at most MaxPortDocumentBytes,
// checked while reading), sniffs its type and stores it for accountID.
// A refused file leaves nothing behind.
func (p *Porting) SaveDocument(ctx context.Context, accountID, fileName string, r io.Reader) (store.PortDocument, error) {
	fileName = filepath.Base(strings.TrimSpace(fileName))
	if fileName == "." || fileName == "/" || fileName == "" {
		fileName = "document"
	}
	if len(fileName) > 255 || strings.ContainsAny(fileName, "\x00\r\n") {
		return store.PortDocument{}, &store.ValidationError{Field: "file", Value: fileName, Reason: "file name: at most 255 characters, no control characters"}
	}
	dir := filepath.Join(p.docs, filepath.Base(accountID))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return store.PortDocument{}, fmt.Errorf("port documents dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return store.PortDocument{}, fmt.Errorf("port document: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return store.PortDocument{}, fmt.Errorf("read port document: %w", err)
	}
	if n == 0 {
		return store.PortDocument{}, &store.ValidationError{Field: "file", Reason: "empty"}
	}
	head = head[:n]
	ct, err := sniffDocument(head)
	if err != nil {
		return store.PortDocument{}, err
	}
	h := sha256.New()
	w := io.MultiWriter(tmp, h)
	if _, err := w.Write(head); err != nil {
		return store.PortDocument{}, fmt.Errorf("write port document: %w", err)
	}
	// One byte more than allowed tells a file at the limit from one past it.
	rest, err := io.Copy(w, io.LimitReader(r, MaxPortDocumentBytes-int64(n)+1))
	if err != nil {
		return store.PortDocument{}, fmt.Errorf("read port document: %w", err)
	}
	size := int64(n) + rest
	if size > MaxPortDocumentBytes {
		return store.PortDocument{}, ErrDocumentTooLarge
	}
	if err := tmp.Close(); err != nil {
		return store.PortDocument{}, fmt.Errorf("write port document: %w", err)
	}
	doc := store.PortDocument{ID: store.NewPortID("doc_"), AccountID: accountID, FileName: fileName, ContentType: ct,
		Size: size, SHA256: hex.EncodeToString(h.Sum(nil)), CreatedAt: p.now().UTC().Truncate(time.Millisecond)}
	final := filepath.Join(dir, doc.ID)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return store.PortDocument{}, fmt.Errorf("store port document: %w", err)
	}
	if err := p.store.CreatePortDocument(ctx, doc); err != nil {
		os.Remove(final)
		return store.PortDocument{}, err
	}
	keep = true
	p.log.Info("port document stored", "accountId", accountID, "documentId", doc.ID, "contentType", ct, "bytes", size)
	return doc, nil
}
