/*
 * Times TA-Lib's C core per bar over the benchmark's input series, for bench/indicators.ts.
 * Built at bench time by bench/talib-c/build.ts from the C sources the `talib` npm package ships
 * (cc -O2); nothing is committed but this file.
 *
 *   harness <series.bin> <rounds>
 *
 * series.bin: int64 n, then n doubles each of ts, high, low, close, volume (little-endian, as written
 * by build.ts). Statistic as in bench/worker.ts for batch: every sample is one call over the whole
 * history (preallocated output buffers, the way TA-Lib is called), 3 warm-up calls discarded, the
 * figure is the 20th percentile of `rounds` calls, in ns per bar. Prints one JSON line.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ta_libc.h"

static int N;
/* `close_`: `close` is the POSIX function. ts is read but not used (TA-Lib has no VWAP). */
static double *ts, *high, *low, *close_, *volume;
static double *o1, *o2, *o3;
static int rounds;
static volatile double sink;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef TA_RetCode (*Fn)(int *beg, int *nb);

static int lastBeg;

/* 20th percentile of per-call ns/bar over `rounds` calls after 3 warm-up calls. */
static double measure(Fn fn) {
  double *samples = malloc(sizeof(double) * (size_t)rounds);
  for (int r = 0; r < 3 + rounds; r++) {
    int beg = 0, nb = 0;
    double t = now_ns();
    TA_RetCode rc = fn(&beg, &nb);
    double dt = (now_ns() - t) / N;
    if (rc != TA_SUCCESS) {
      free(samples);
      return -(double)rc;
    }
    sink += o1[nb > 0 ? nb - 1 : 0];
    lastBeg = beg;
    if (r >= 3) samples[r - 3] = dt;
  }
  qsort(samples, (size_t)rounds, sizeof(double), cmp);
  int idx = (int)(rounds * 0.2);
  if (idx >= rounds) idx = rounds - 1;
  double p = samples[idx];
  free(samples);
  return p;
}

static TA_RetCode f_sma(int *b, int *n) { return TA_SMA(0, N - 1, close_, 20, b, n, o1); }
static TA_RetCode f_ema(int *b, int *n) { return TA_EMA(0, N - 1, close_, 12, b, n, o1); }
static TA_RetCode f_rsi(int *b, int *n) { return TA_RSI(0, N - 1, close_, 14, b, n, o1); }
static TA_RetCode f_macd(int *b, int *n) { return TA_MACD(0, N - 1, close_, 12, 26, 9, b, n, o1, o2, o3); }
static TA_RetCode f_bbands(int *b, int *n) {
  return TA_BBANDS(0, N - 1, close_, 20, 2.0, 2.0, TA_MAType_SMA, b, n, o1, o2, o3);
}
static TA_RetCode f_stddev(int *b, int *n) { return TA_STDDEV(0, N - 1, close_, 20, 1.0, b, n, o1); }
static TA_RetCode f_atr(int *b, int *n) { return TA_ATR(0, N - 1, high, low, close_, 14, b, n, o1); }
static TA_RetCode f_stoch(int *b, int *n) {
  return TA_STOCH(0, N - 1, high, low, close_, 14, 3, TA_MAType_SMA, 3, TA_MAType_SMA, b, n, o1, o2);
}
static TA_RetCode f_adx(int *b, int *n) { return TA_ADX(0, N - 1, high, low, close_, 14, b, n, o1); }
static TA_RetCode f_pdi(int *b, int *n) { return TA_PLUS_DI(0, N - 1, high, low, close_, 14, b, n, o1); }
static TA_RetCode f_mdi(int *b, int *n) { return TA_MINUS_DI(0, N - 1, high, low, close_, 14, b, n, o1); }
static TA_RetCode f_obv(int *b, int *n) { return TA_OBV(0, N - 1, close_, volume, b, n, o1); }

static double *readCol(FILE *f) {
  double *x = malloc(sizeof(double) * (size_t)N);
  if (fread(x, sizeof(double), (size_t)N, f) != (size_t)N) {
    fprintf(stderr, "short series file\n");
    exit(2);
  }
  return x;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: harness <series.bin> <rounds>\n");
    return 2;
  }
  rounds = atoi(argv[2]);
  if (rounds < 1) rounds = 1;
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  int64_t n64;
  if (fread(&n64, sizeof n64, 1, f) != 1) return 2;
  N = (int)n64;
  ts = readCol(f);
  high = readCol(f);
  low = readCol(f);
  close_ = readCol(f);
  volume = readCol(f);
  fclose(f);
  o1 = malloc(sizeof(double) * (size_t)N);
  o2 = malloc(sizeof(double) * (size_t)N);
  o3 = malloc(sizeof(double) * (size_t)N);
  if (TA_Initialize() != TA_SUCCESS) return 3;

  struct {
    const char *name;
    Fn fn;
  } cases[] = {
      {"SMA", f_sma},     {"EMA", f_ema},     {"RSI", f_rsi},           {"MACD", f_macd},
      {"Bollinger", f_bbands}, {"StdDev", f_stddev}, {"ATR", f_atr},    {"Stochastic", f_stoch},
      {"ADX", f_adx},     {"PLUS_DI", f_pdi}, {"MINUS_DI", f_mdi},      {"OBV", f_obv},
  };
  const int nc = (int)(sizeof cases / sizeof cases[0]);
  printf("{\"version\":\"%s\",\"bars\":%d,\"rounds\":%d,\"results\":{", TA_GetVersionString(), N, rounds);
  for (int i = 0; i < nc; i++) {
    double ns = measure(cases[i].fn);
    printf("%s\"%s\":{\"nsPerBar\":%.4f,\"begIndex\":%d}", i ? "," : "", cases[i].name, ns, lastBeg);
  }
  printf("},\"sink\":%d}\n", sink != 0.0);
  TA_Shutdown();
  return 0;
}
