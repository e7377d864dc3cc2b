/*
 * loadgen entry point: reads the plan (rooms and connections), then runs commands from stdin:
 *   connect <max_in_flight> <timeout_s>        open every planned connection
 *   run <rate_per_sender> <seconds> <drain_s>  publish at a fixed rate, measure, drain
 *   stream <stagger_s> <timeout_s> <mention> <viewers_per_conversation> [count: first publishers only]
 *                                              one send per publisher, each triggering an agent reply
 *   probe <count> <mention>                    unloaded send -> provider latency, one send at a time
 *   idle <seconds>                             keep connections alive, then sample the server
 *   settle <quiet_s> <max_s>                   wait until no frame arrived for quiet_s
 *   quit
 * Plan lines: "room <index> <conversationId|->", "conn <room> <token|->", "pub <conn> <room>".
 * Each command prints one JSON line. Usage:
 *   loadgen --proto ws|sio|chorus --port N --path P --plan FILE [--server-pid N]
 *           [--pad-bytes N] [--self-echo 0|1] [--provider-port N --tokens N --tps N]
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "loadgen.h"

int g_epoll;
enum proto g_proto = PROTO_WS;
const char *g_host = "127.0.0.1";
int g_port;
const char *g_path = "/";
conn_t *g_conns;
int g_nconns;
room_t *g_rooms;
int g_nrooms;
pub_t *g_pubs;
int g_npubs;
stats_t g_stats;
/* Padding in each published payload; -1: 160 on the baselines (~206-byte frames), 120 in Chorus content. */
int g_pad_bytes = -1;
int g_self_echo = 1;
int g_server_pid;

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One pass of the event loop: waits at most `timeout_ms` and dispatches what is ready. */
static void poll_once(int timeout_ms) {
  struct epoll_event events[1024];
  int n = epoll_wait(g_epoll, events, 1024, timeout_ms);
  for (int i = 0; i < n; i++) {
    uint64_t tag = events[i].data.u64;
    uint64_t kind = tag >> 32;
    if (kind == TAG_CONN) conn_on_event(&g_conns[(uint32_t)tag], events[i].events);
    else provider_on_event(tag, events[i].events);
  }
  provider_tick(now_ns());
}

static int count_state(int state) {
  int n = 0;
  for (int i = 0; i < g_nconns; i++) n += g_conns[i].state == state;
  return n;
}

static void cmd_connect(int max_in_flight, double timeout_s) {
  int64_t start = now_ns(), deadline = start + (int64_t)(timeout_s * 1e9);
  int next = 0, pending = 0;
  while (now_ns() < deadline) {
    pending = 0;
    for (int i = 0; i < next; i++) pending += g_conns[i].state >= CS_CONNECTING && g_conns[i].state <= CS_OPEN;
    while (next < g_nconns && pending < max_in_flight) {
      if (g_conns[next].state == CS_IDLE) conn_start(&g_conns[next]), pending++;
      next++;
    }
    if (next >= g_nconns && pending == 0) break;
    poll_once(5);
  }
  for (int r = 0; r < g_nrooms; r++) g_rooms[r].members = 0;
  for (int i = 0; i < g_nconns; i++) if (g_conns[i].state == CS_READY) g_rooms[g_conns[i].room].members++;
  printf("{\"event\":\"connect\",\"planned\":%d,\"ready\":%d,\"failed\":%d,\"pending\":%d,\"ms\":%.0f,"
         "\"serverRssMb\":%.1f}\n",
         g_nconns, count_state(CS_READY), count_state(CS_CLOSED), pending, (now_ns() - start) / 1e6, server_rss_mb());
}

static void reset_stats(int64_t window_start) {
  memset(&g_stats, 0, sizeof g_stats);
  g_stats.window_start_ns = window_start;
}

static void cmd_run(double rate, double seconds, double drain_s) {
  int64_t start = now_ns(), end = start + (int64_t)(seconds * 1e9);
  int64_t cpu0 = server_cpu_ns(), self0 = self_cpu_ns(), core0 = core_busy_ns(0), core1 = core_busy_ns(1);
  int64_t srv_on0 = server_cpu_on_core_ns(0), srv_on1 = server_cpu_on_core_ns(1);
  reset_stats(start);
  int senders = 0;
  for (int i = 0; i < g_npubs; i++) senders += g_conns[g_pubs[i].conn].state == CS_READY;
  double interval_ns = 1e9 / rate;
  int64_t now;
  while ((now = now_ns()) < end) {
    for (int i = 0; i < g_npubs; i++) {
      pub_t *pub = &g_pubs[i];
      conn_t *c = &g_conns[pub->conn];
      if (c->state != CS_READY) continue;
      /* Publishers are phase-shifted across one interval so the offered load is smooth: no burst of
         one message per publisher at the start of a step. */
      double phase = interval_ns * (i + 1) / g_npubs;
      uint64_t due = (uint64_t)(((double)(now - start) + phase) / interval_ns);
      for (int burst = 0; pub->sent < due && burst < 8; burst++) conn_publish(c, pub->room, NULL), pub->sent++;
    }
    poll_once(1);
  }
  int64_t cpu1 = server_cpu_ns(), self1 = self_cpu_ns();
  /* CPU used by everything else on each core: how disturbed this step was by other processes. The
     server's own threads (embedded Chorus's PGlite thread runs on core 1) are not other load. */
  double other0 = fmax(0, 100.0 * ((core_busy_ns(0) - core0) - (server_cpu_on_core_ns(0) - srv_on0)) / (now - start));
  double other1 =
      fmax(0, 100.0 * ((core_busy_ns(1) - core1) - (self1 - self0) - (server_cpu_on_core_ns(1) - srv_on1)) / (now - start));
  double window_s = (now - start) / 1e9;
  uint64_t expected = 0;
  for (int i = 0; i < g_npubs; i++) {
    pub_t *pub = &g_pubs[i];
    expected += pub->sent * (uint64_t)(g_rooms[pub->room].members - (g_self_echo ? 0 : 1));
    pub->sent = 0;
  }
  /* Drain: until everything arrived, or nothing arrived for 300 ms, or the drain deadline. */
  int64_t drain_end = now + (int64_t)(drain_s * 1e9);
  while ((now = now_ns()) < drain_end && g_stats.delivered < expected) {
    if (now - g_stats.last_frame_ns > 300000000LL && now - end > 300000000LL) break;
    poll_once(5);
  }
  printf("{\"event\":\"run\",\"rate\":%.2f,\"seconds\":%.3f,\"senders\":%d,\"sent\":%llu,\"expected\":%llu,"
         "\"delivered\":%llu,\"deliveredPerSec\":%.0f,\"frameBytes\":%.0f,\"p50Ms\":%.2f,\"p99Ms\":%.2f,\"maxMs\":%.2f,"
         "\"acks\":%llu,\"errors\":%llu,\"closed\":%llu,\"serverCpuPct\":%.1f,\"serverRssMb\":%.1f,\"loadgenCpuPct\":%.1f,"
         "\"otherCore0Pct\":%.1f,\"otherCore1Pct\":%.1f}\n",
         rate, window_s, senders, (unsigned long long)g_stats.sent, (unsigned long long)expected,
         (unsigned long long)g_stats.delivered, g_stats.delivered / window_s,
         g_stats.delivered ? (double)g_stats.delivered_bytes / g_stats.delivered : 0.0, hist_pct(&g_stats.latency, 50),
         hist_pct(&g_stats.latency, 99), g_stats.latency.max_ns / 1e6, (unsigned long long)g_stats.acks,
         (unsigned long long)g_stats.errors, (unsigned long long)g_stats.closed, 100.0 * (cpu1 - cpu0) / (now - start),
         server_rss_mb(), 100.0 * (self1 - self0) / (now - start), other0, other1);
}

static void cmd_stream(double stagger_s, double timeout_s, const char *mention, int viewers_per_conversation, int count) {
  int npubs = count > 0 && count < g_npubs ? count : g_npubs;
  int64_t start = now_ns(), deadline = start + (int64_t)(timeout_s * 1e9);
  int64_t cpu0 = server_cpu_ns(), self0 = self_cpu_ns(), core0 = core_busy_ns(0), srv_on0 = server_cpu_on_core_ns(0);
  reset_stats(start);
  int senders = 0, viewers = 0;
  for (int i = 0; i < npubs; i++) senders += g_conns[g_pubs[i].conn].state == CS_READY;
  for (int i = 0; i < g_nconns; i++) viewers += g_conns[i].state == CS_READY;
  int started = 0, next = 0;
  uint64_t requests0 = provider_requests(), chunks0 = provider_chunks();
  int64_t now, last_rss = 0;
  double rss_peak = 0;
  char prefix[160];
  while ((now = now_ns()) < deadline) {
    int due = stagger_s > 0 ? (int)((now - start) / (stagger_s * 1e9) * senders) + 1 : senders;
    for (; next < npubs && started < due; next++) {
      pub_t *pub = &g_pubs[next];
      conn_t *c = &g_conns[pub->conn];
      if (c->state != CS_READY) continue;
      snprintf(prefix, sizeof prefix, "%s go @@S%d@@ ", mention, pub->room);
      provider_note_send(pub->room, now_ns());
      conn_publish(c, pub->room, prefix);
      started++;
    }
    if (now - last_rss > 250000000LL) {
      double rss = server_rss_mb();
      if (rss > rss_peak) rss_peak = rss;
      last_rss = now;
    }
    /* Finished: every reply was streamed and every viewer has its `message.done`. */
    if (started >= senders && provider_requests() - requests0 >= (uint64_t)senders && provider_active() == 0 &&
        g_stats.done >= (uint64_t)senders * (uint64_t)viewers_per_conversation)
      break;
    poll_once(1);
  }
  int64_t cpu1 = server_cpu_ns(), self1 = self_cpu_ns();
  double window_s = (now - start) / 1e9;
  double delta_window_s = g_stats.last_delta_ns > start ? (g_stats.last_delta_ns - start) / 1e9 : window_s;
  printf("{\"event\":\"stream\",\"generations\":%d,\"viewers\":%d,\"seconds\":%.3f,\"providerRequests\":%llu,"
         "\"deltas\":%llu,\"deltasPerSec\":%.0f,\"tokens\":%llu,\"done\":%llu,\"tokenP50Ms\":%.2f,\"tokenP99Ms\":%.2f,"
         "\"tokenMaxMs\":%.2f,\"sendToProviderP50Ms\":%.2f,\"sendToProviderP99Ms\":%.2f,\"errors\":%llu,\"closed\":%llu,"
         "\"serverCpuPct\":%.1f,\"serverRssPeakMb\":%.1f,\"loadgenCpuPct\":%.1f,\"otherCore0Pct\":%.1f,"
         "\"providerChunks\":%llu,\"serverCpuMs\":%.1f}\n",
         senders, viewers, window_s, (unsigned long long)(provider_requests() - requests0), (unsigned long long)g_stats.deltas,
         g_stats.deltas / delta_window_s, (unsigned long long)g_stats.tokens, (unsigned long long)g_stats.done,
         hist_pct(&g_stats.token, 50), hist_pct(&g_stats.token, 99), g_stats.token.max_ns / 1e6,
         hist_pct(&g_stats.request, 50), hist_pct(&g_stats.request, 99), (unsigned long long)g_stats.errors,
         (unsigned long long)g_stats.closed, 100.0 * (cpu1 - cpu0) / (now - start), rss_peak,
         100.0 * (self1 - self0) / (now - start),
         fmax(0, 100.0 * ((core_busy_ns(0) - core0) - (server_cpu_on_core_ns(0) - srv_on0)) / (now - start)),
         (unsigned long long)(provider_chunks() - chunks0), (cpu1 - cpu0) / 1e6);
}

/*
 * Unloaded send -> provider latency: `count` single sends, one at a time, each waiting (at most
 * 5 s) for its provider request before the next. The replies keep streaming in the background.
 */
static void cmd_probe(int count, const char *mention) {
  hist_t *samples = calloc(1, sizeof *samples);
  char prefix[160];
  int done = 0;
  for (int i = 0; i < count && i < g_npubs; i++) {
    pub_t *pub = &g_pubs[i];
    conn_t *c = &g_conns[pub->conn];
    if (c->state != CS_READY) continue;
    uint64_t before = provider_requests();
    hist_t saved = g_stats.request;
    hist_reset(&g_stats.request);
    snprintf(prefix, sizeof prefix, "%s probe @@S%d@@ ", mention, pub->room);
    int64_t sent_at = now_ns(), deadline = sent_at + 5000000000LL;
    provider_note_send(pub->room, sent_at);
    conn_publish(c, pub->room, prefix);
    while (provider_requests() == before && now_ns() < deadline) poll_once(1);
    if (g_stats.request.count) {
      for (int b = 0; b < HIST_BUCKETS; b++) samples->bucket[b] += g_stats.request.bucket[b];
      samples->count += g_stats.request.count;
      if (g_stats.request.max_ns > samples->max_ns) samples->max_ns = g_stats.request.max_ns;
      done++;
    }
    g_stats.request = saved;
    int64_t pause = now_ns() + 200000000LL;
    while (now_ns() < pause) poll_once(5);
  }
  printf("{\"event\":\"probe\",\"count\":%d,\"sendToProviderP50Ms\":%.2f,\"sendToProviderMaxMs\":%.2f}\n", done,
         hist_pct(samples, 50), samples->max_ns / 1e6);
  free(samples);
}

static void cmd_idle(double seconds) {
  int64_t start = now_ns(), end = start + (int64_t)(seconds * 1e9);
  int64_t cpu0 = server_cpu_ns();
  uint64_t closed0 = g_stats.closed;
  while (now_ns() < end) poll_once(50);
  printf("{\"event\":\"idle\",\"ready\":%d,\"closedWhileIdle\":%llu,\"serverRssMb\":%.1f,\"serverCpuPct\":%.1f}\n",
         count_state(CS_READY), (unsigned long long)(g_stats.closed - closed0), server_rss_mb(),
         100.0 * (server_cpu_ns() - cpu0) / (now_ns() - start));
}

/* Waits until no frame has arrived for `quiet_s` (a backlog has drained), at most `max_s`. */
static void cmd_settle(double quiet_s, double max_s) {
  int64_t start = now_ns(), end = start + (int64_t)(max_s * 1e9), quiet_ns = (int64_t)(quiet_s * 1e9);
  g_stats.last_frame_ns = start;
  int64_t now;
  while ((now = now_ns()) < end && now - g_stats.last_frame_ns < quiet_ns) poll_once(10);
  printf("{\"event\":\"settle\",\"ms\":%.0f,\"quiet\":%s}\n", (now - start) / 1e6, now < end ? "true" : "false");
}

int main(int argc, char **argv) {
  const char *plan = NULL;
  int provider_port = 0, tokens = 200, tps = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--proto")) g_proto = !strcmp(v, "sio") ? PROTO_SIO : !strcmp(v, "chorus") ? PROTO_CHORUS : PROTO_WS;
    else if (!strcmp(k, "--port")) g_port = atoi(v);
    else if (!strcmp(k, "--path")) g_path = v;
    else if (!strcmp(k, "--plan")) plan = v;
    else if (!strcmp(k, "--server-pid")) g_server_pid = atoi(v);
    else if (!strcmp(k, "--pad-bytes")) g_pad_bytes = atoi(v);
    else if (!strcmp(k, "--self-echo")) g_self_echo = atoi(v);
    else if (!strcmp(k, "--provider-port")) provider_port = atoi(v);
    else if (!strcmp(k, "--tokens")) tokens = atoi(v);
    else if (!strcmp(k, "--tps")) tps = atoi(v);
  }
  if (!plan || (!g_port && !provider_port)) {
    fprintf(stderr, "usage: loadgen --proto ws|sio|chorus --port N --path P --plan FILE [...]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN); /* a peer that went away is counted, not fatal */
  g_epoll = epoll_create1(0);
  read_plan(plan);
  provider_configure(tokens, tps, g_nrooms);
  if (provider_port && provider_listen(provider_port) < 0) {
    perror("loadgen: provider listen");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("{\"event\":\"ready\",\"connections\":%d,\"rooms\":%d}\n", g_nconns, g_nrooms);
  char line[512], word[64], mention[128];
  while (fgets(line, sizeof line, stdin)) {
    double x = 0, y = 0, z = 0;
    int n = sscanf(line, "%63s %lf %lf %lf", word, &x, &y, &z);
    if (n < 1) continue;
    if (!strcmp(word, "quit")) break;
    if (!strcmp(word, "connect")) cmd_connect((int)x, y);
    else if (!strcmp(word, "run")) cmd_run(x, y, z);
    else if (!strcmp(word, "idle")) cmd_idle(x);
    else if (!strcmp(word, "settle")) cmd_settle(x, y);
    else if (!strcmp(word, "stream") && sscanf(line, "%*s %lf %lf %127s %lf", &x, &y, mention, &z) == 4) {
      int count = 0;
      sscanf(line, "%*s %*f %*f %*s %*f %d", &count);
      cmd_stream(x, y, mention, (int)z, count);
    }
    else if (!strcmp(word, "probe") && sscanf(line, "%*s %lf %127s", &x, mention) == 2) cmd_probe((int)x, mention);
    else printf("{\"event\":\"error\",\"message\":\"unknown command\"}\n");
  }
  for (int i = 0; i < g_nconns; i++) conn_close(&g_conns[i]);
  return 0;
}
