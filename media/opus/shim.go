//go:build cgo

package opus

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stddef.h>

// The few libopus entry points we use, declared here so the build needs no
// opus headers: libopus is loaded with dlopen at run time.
typedef struct OpusEncoder OpusEncoder;
typedef struct OpusDecoder OpusDecoder;

static OpusEncoder *(*wv_enc_create)(int32_t, int, int, int *);
static int32_t (*wv_encode)(OpusEncoder *, const int16_t *, int, unsigned char *, int32_t);
static int (*wv_enc_ctl)(OpusEncoder *, int, ...);
static void (*wv_enc_destroy)(OpusEncoder *);
static OpusDecoder *(*wv_dec_create)(int32_t, int, int *);
static int (*wv_decode)(OpusDecoder *, const unsigned char *, int32_t, int16_t *, int, int);
static void (*wv_dec_destroy)(OpusDecoder *);
static const char *(*wv_version)(void);

static void *wv_sym(void *h, const char *name, const char **missing) {
	void *p = dlsym(h, name);
	if (!p && !*missing) *missing = name;
	return p;
}

// wv_load opens libopus and resolves the functions; it returns NULL on
// success, else what failed (the caller loads once).
static const char *wv_load(void) {
	void *h = dlopen("libopus.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h) return dlerror();
	const char *missing = NULL;
	wv_enc_create = wv_sym(h, "opus_encoder_create", &missing);
	wv_encode = wv_sym(h, "opus_encode", &missing);
	wv_enc_ctl = wv_sym(h, "opus_encoder_ctl", &missing);
	wv_enc_destroy = wv_sym(h, "opus_encoder_destroy", &missing);
	wv_dec_create = wv_sym(h, "opus_decoder_create", &missing);
	wv_decode = wv_sym(h, "opus_decode", &missing);
	wv_dec_destroy = wv_sym(h, "opus_decoder_destroy", &missing);
	wv_version = wv_sym(h, "opus_get_version_string", &missing);
	if (missing) {
		dlclose(h);
		return missing;
	}
	return NULL;
}

static OpusEncoder *wv_encoder_create(int32_t rate, int channels, int app, int *err) {
	return wv_enc_create(rate, channels, app, err);
}
static int32_t wv_encoder_encode(OpusEncoder *e, const int16_t *pcm, int n, unsigned char *out, int32_t max) {
	return wv_encode(e, pcm, n, out, max);
}
// opus_encoder_ctl is variadic: every request we use takes one opus_int32.
static int wv_encoder_ctl(OpusEncoder *e, int req, int32_t v) { return wv_enc_ctl(e, req, v); }
static void wv_encoder_destroy(OpusEncoder *e) { wv_enc_destroy(e); }
static OpusDecoder *wv_decoder_create(int32_t rate, int channels, int *err) {
	return wv_dec_create(rate, channels, err);
}
static int wv_decoder_decode(OpusDecoder *d, const unsigned char *data, int32_t len, int16_t *pcm, int n) {
	return wv_decode(d, data, len, pcm, n, 0);
}
static void wv_decoder_destroy(OpusDecoder *d) { wv_dec_destroy(d); }
static const char *wv_version_string(void) { return wv_version(); }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

func load() (string, error) {
	if msg := C.wv_load(); msg != nil {
		return "", fmt.Errorf("%w: %s", ErrUnavailable, C.GoString(msg))
	}
	return C.GoString(C.wv_version_string()), nil
}

// Requests of opus_encoder_ctl (opus_defines.h).
const (
	ctlSetBitrate    = 4002
	ctlSetComplexity = 4010
	ctlSetInbandFEC  = 4012
	ctlSetPacketLoss = 4014
	ctlSetDTX        = 4016
	applicationVoIP  = 2048
)

type encoder struct{ p *C.OpusEncoder }

func newEncoder(rate, channels int, o EncoderOptions) (*encoder, error) {
	var cerr C.int
	p := C.wv_encoder_create(C.int32_t(rate), C.int(channels), applicationVoIP, &cerr)
	if p == nil || cerr != 0 {
		return nil, fmt.Errorf("opus: creating encoder at %d Hz: error %d", rate, int(cerr))
	}
	e := &encoder{p: p}
	set := func(req int, v int32) error {
		if r := C.wv_encoder_ctl(p, C.int(req), C.int32_t(v)); r != 0 {
			return fmt.Errorf("opus: encoder ctl %d=%d: error %d", req, v, int(r))
		}
		return nil
	}
	err := errors.Join(
		set(ctlSetBitrate, int32(o.Bitrate)),
		set(ctlSetComplexity, int32(o.Complexity)),
		set(ctlSetInbandFEC, b2i(o.FEC)),
		set(ctlSetPacketLoss, int32(o.PacketLossPercent)),
		set(ctlSetDTX, b2i(o.DTX)),
	)
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func (e *encoder) encode(dst []byte, pcm []int16, frame int) (int, error) {
	n := C.wv_encoder_encode(e.p, (*C.int16_t)(unsafe.Pointer(unsafe.SliceData(pcm))), C.int(frame),
		(*C.uchar)(unsafe.Pointer(unsafe.SliceData(dst))), C.int32_t(len(dst)))
	if n < 0 {
		return 0, fmt.Errorf("opus: encode: error %d", int(n))
	}
	return int(n), nil
}

func (e *encoder) close() {
	if e.p != nil {
		C.wv_encoder_destroy(e.p)
		e.p = nil
	}
}

type decoder struct{ p *C.OpusDecoder }

func newDecoder(rate, channels int) (*decoder, error) {
	var cerr C.int
	p := C.wv_decoder_create(C.int32_t(rate), C.int(channels), &cerr)
	if p == nil || cerr != 0 {
		return nil, fmt.Errorf("opus: creating decoder at %d Hz: error %d", rate, int(cerr))
	}
	return &decoder{p: p}, nil
}

// decode decodes packet (nil: conceal one lost frame of max samples) into
// out and returns the samples per channel.
func (d *decoder) decode(out []int16, packet []byte, max int) (int, error) {
	var data *C.uchar
	if len(packet) > 0 {
		data = (*C.uchar)(unsafe.Pointer(unsafe.SliceData(packet)))
	}
	n := C.wv_decoder_decode(d.p, data, C.int32_t(len(packet)), (*C.int16_t)(unsafe.Pointer(unsafe.SliceData(out))), C.int(max))
	if n < 0 {
		return 0, fmt.Errorf("%w: error %d", ErrCorrupt, int(n))
	}
	return int(n), nil
}

func (d *decoder) close() {
	if d.p != nil {
		C.wv_decoder_destroy(d.p)
		d.p = nil
	}
}
