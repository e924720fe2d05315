//go:build cgo

package g729

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stddef.h>

// The bcg729 1.x entry points, declared here so the build needs no bcg729
// headers: the library is loaded with dlopen at run time.
typedef struct bcg729Encoder bcg729Encoder;
typedef struct bcg729Decoder bcg729Decoder;

static bcg729Encoder *(*wv_enc_init)(uint8_t);
static void (*wv_enc)(bcg729Encoder *, const int16_t *, uint8_t *, uint8_t *);
static void (*wv_enc_close)(bcg729Encoder *);
static bcg729Decoder *(*wv_dec_init)(void);
static void (*wv_dec)(bcg729Decoder *, const uint8_t *, uint8_t, uint8_t, uint8_t, uint8_t, int16_t *);
static void (*wv_dec_close)(bcg729Decoder *);

static void *wv_sym(void *h, const char *name, const char **missing) {
	void *p = dlsym(h, name);
	if (!p && !*missing) *missing = name;
	return p;
}

static const char *wv_load(void) {
	void *h = dlopen("libbcg729.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h) return dlerror();
	const char *missing = NULL;
	wv_enc_init = wv_sym(h, "initBcg729EncoderChannel", &missing);
	wv_enc = wv_sym(h, "bcg729Encoder", &missing);
	wv_enc_close = wv_sym(h, "closeBcg729EncoderChannel", &missing);
	wv_dec_init = wv_sym(h, "initBcg729DecoderChannel", &missing);
	wv_dec = wv_sym(h, "bcg729Decoder", &missing);
	wv_dec_close = wv_sym(h, "closeBcg729DecoderChannel", &missing);
	if (missing) {
		dlclose(h);
		return missing;
	}
	return NULL;
}

static bcg729Encoder *wv_encoder_new(void) { return wv_enc_init(0); }
static void wv_encode(bcg729Encoder *e, const int16_t *pcm, uint8_t *out, uint8_t *n) { wv_enc(e, pcm, out, n); }
static void wv_encoder_free(bcg729Encoder *e) { wv_enc_close(e); }
static bcg729Decoder *wv_decoder_new(void) { return wv_dec_init(); }
static void wv_decode(bcg729Decoder *d, const uint8_t *in, uint8_t n, uint8_t lost, uint8_t sid, int16_t *pcm) {
	wv_dec(d, in, n, lost, sid, 0, pcm);
}
static void wv_decoder_free(bcg729Decoder *d) { wv_dec_close(d); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func load() error {
	if msg := C.wv_load(); msg != nil {
		return fmt.Errorf("%w: %s", ErrUnavailable, C.GoString(msg))
	}
	return nil
}

type encoder struct {
	p *C.bcg729Encoder
	n C.uint8_t // the length C writes back: a field, so not allocated per call
}

func newEncoder() (*encoder, error) {
	p := C.wv_encoder_new()
	if p == nil {
		return nil, fmt.Errorf("g729: creating encoder failed")
	}
	return &encoder{p: p}, nil
}

// encode codes one 80-sample frame into out (at least 10 bytes).
func (e *encoder) encode(out []byte, pcm []int16) int {
	C.wv_encode(e.p, (*C.int16_t)(unsafe.Pointer(unsafe.SliceData(pcm))), (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(out))), &e.n)
	return int(e.n)
}

func (e *encoder) close() {
	if e.p != nil {
		C.wv_encoder_free(e.p)
		e.p = nil
	}
}

type decoder struct{ p *C.bcg729Decoder }

func newDecoder() (*decoder, error) {
	p := C.wv_decoder_new()
	if p == nil {
		return nil, fmt.Errorf("g729: creating decoder failed")
	}
	return &decoder{p: p}, nil
}

// decode decodes one frame (10 bytes, or a 2-byte SID) into out (80
// samples).
func (d *decoder) decode(out []int16, frame []byte, sid bool) {
	var s C.uint8_t
	if sid {
		s = 1
	}
	C.wv_decode(d.p, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(frame))), C.uint8_t(len(frame)), 0, s,
		(*C.int16_t)(unsafe.Pointer(unsafe.SliceData(out))))
}

func (d *decoder) close() {
	if d.p != nil {
		C.wv_decoder_free(d.p)
		d.p = nil
	}
}
