/* Fixed-bucket latency histogram: percentiles are bucket upper edges (10 µs resolution under 100 ms). */
#include <string.h>
#include "loadgen.h"

void hist_reset(hist_t *h) { memset(h, 0, sizeof *h); }

void hist_add(hist_t *h, int64_t ns) {
  if (ns < 0) ns = 0;
  int64_t us = ns / 1000;
  int64_t index = us < 100000 ? us / 10 : us < 10000000 ? 10000 + (us - 100000) / 1000 : 19900 + (us - 10000000) / 100000;
  if (index >= HIST_BUCKETS) index = HIST_BUCKETS - 1;
  h->bucket[index]++;
  h->count++;
  if ((uint64_t)ns > h->max_ns) h->max_ns = (uint64_t)ns;
}

double hist_pct(const hist_t *h, double p) {
  if (h->count == 0) return 0;
  uint64_t rank = (uint64_t)((p / 100.0) * (double)h->count);
  if (rank >= h->count) rank = h->count - 1;
  uint64_t seen = 0;
  for (int i = 0; i < HIST_BUCKETS; i++) {
    seen += h->bucket[i];
    if (seen > rank) {
      /* Upper edge of the bucket, in ms. */
      if (i < 10000) return (i + 1) * 0.01;
      if (i < 19900) return 100.0 + (i - 10000 + 1) * 1.0;
      return 10000.0 + (i - 19900 + 1) * 100.0;
    }
  }
  return h->max_ns / 1e6;
}
