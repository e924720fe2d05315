/* Generates the spandsp reference vectors of TestSpanDSPVectors:
 * gcc -O2 gen_spandsp.c -o gen -ldl -lm && ./gen (needs libspandsp.so.2),
 * then in.raw -> chirp16k.raw, code.g722 -> chirp.g722, out.raw -> chirp_decoded16k.raw. */
#include <stdio.h>
#include <stdint.h>
#include <math.h>
#include <dlfcn.h>
typedef void *(*einit)(void *, int, int);
typedef int (*enc)(void *, uint8_t *, const int16_t *, int);
typedef void *(*dinit)(void *, int, int);
typedef int (*dec)(void *, int16_t *, const uint8_t *, int);
int main(void) {
  void *h = dlopen("libspandsp.so.2", RTLD_NOW);
  if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  einit ei = (einit)dlsym(h, "g722_encode_init");
  enc e = (enc)dlsym(h, "g722_encode");
  dinit di = (dinit)dlsym(h, "g722_decode_init");
  dec d = (dec)dlsym(h, "g722_decode");
  static int16_t in[16000]; static uint8_t code[8000]; static int16_t out[16000];
  /* a chirp 100 Hz .. 7 kHz plus a step, deterministic */
  uint32_t r = 12345;
  for (int i = 0; i < 16000; i++) {
    double t = i / 16000.0;
    double f = 100 + 6900 * t;
    r = r * 1103515245 + 12345;
    in[i] = (int16_t)(9000 * sin(2 * M_PI * (100 * t + 3450 * t * t)) + ((int)(r >> 16) % 2001 - 1000) + (i > 12000 ? 4000 : 0));
    (void)f;
  }
  void *es = ei(NULL, 64000, 0);
  int n = e(es, code, in, 16000);
  void *ds = di(NULL, 64000, 0);
  int m = d(ds, out, code, n);
  FILE *f = fopen("in.raw", "wb"); fwrite(in, 2, 16000, f); fclose(f);
  f = fopen("code.g722", "wb"); fwrite(code, 1, n, f); fclose(f);
  f = fopen("out.raw", "wb"); fwrite(out, 2, m, f); fclose(f);
  fprintf(stderr, "enc %d dec %d\n", n, m);
  return 0;
}
