/*
 * Times TA-Lib's C core per bar over the benchmark's input series, for bench/indicators.ts.
 * Built at bench time by bench/talib-c/talib-c.ts from the C sources the `talib` npm package ships
 * (cc -O2); nothing is committed but this file.
 *
 *   harness <series.bin> <rounds>     all cases, prints one JSON line
 *   harness <series.bin> --serve      paired mode for bench/talib-c/paired.ts (below)
 *
 * series.bin: int64 n, then n doubles each of ts, high, low, close, volume (little-endian, as written
 * by talib-c.ts). Every sample is one call over the whole history (preallocated output buffers, the way
 * TA-Lib is called), in ns per bar. JSON mode: 3 warm-up calls, then `rounds` rounds, each calling
 * every case once (so a burst of load spreads over all cases); the figure is the minimum per case.
 *
 * Serve mode: reads one case name per line on stdin, calls that function once, answers one line with
 * its ns per bar (or "error <rc>"); "q" or end of input ends. Between requests it waits blocked in
 * read(), using no CPU, so the JavaScript side can time its own call alone in between.
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

typedef TA_RetCode (*Fn)(int *beg, int *nb);

static int lastBeg;

/* One call of fn: ns per bar, or -rc when TA-Lib returns an error. */
static double once(Fn fn) {
  int beg = 0, nb = 0;
  double t = now_ns();
  TA_RetCode rc = fn(&beg, &nb);
  double dt = (now_ns() - t) / N;
  if (rc != TA_SUCCESS) return -(double)rc;
  sink += o1[nb > 0 ? nb - 1 : 0];
  lastBeg = beg;
  return dt;
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
    fprintf(stderr, "usage: harness <series.bin> <rounds> | harness <series.bin> --serve\n");
    return 2;
  }
  int serve = strcmp(argv[2], "--serve") == 0;
  rounds = serve ? 1 : atoi(argv[2]);
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
  if (serve) {
    char line[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
      line[strcspn(line, "\r\n")] = 0;
      if (strcmp(line, "q") == 0) break;
      int i = 0;
      while (i < nc && strcmp(cases[i].name, line) != 0) i++;
      if (i == nc) {
        printf("error unknown case %s\n", line);
        continue;
      }
      double ns = once(cases[i].fn);
      if (ns < 0) printf("error %d\n", (int)-ns);
      else printf("%.6f\n", ns);
    }
    TA_Shutdown();
    return 0;
  }
  double best[sizeof cases / sizeof cases[0]];
  int begs[sizeof cases / sizeof cases[0]];
  for (int i = 0; i < nc; i++) best[i] = 1e300;
  for (int r = 0; r < 3 + rounds; r++) {
    for (int i = 0; i < nc; i++) {
      double ns = once(cases[i].fn);
      begs[i] = lastBeg;
      if (ns < 0) best[i] = ns; /* an error sticks */
      else if (r >= 3 && best[i] >= 0 && ns < best[i]) best[i] = ns;
    }
  }
  printf("{\"version\":\"%s\",\"bars\":%d,\"rounds\":%d,\"results\":{", TA_GetVersionString(), N, rounds);
  for (int i = 0; i < nc; i++)
    printf("%s\"%s\":{\"nsPerBar\":%.4f,\"begIndex\":%d}", i ? "," : "", cases[i].name, best[i], begs[i]);
  printf("},\"sink\":%d}\n", sink != 0.0);
  TA_Shutdown();
  return 0;
}
