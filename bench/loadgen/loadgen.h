/*
 * loadgen: a lean, single-threaded epoll WebSocket load generator for Chorus benchmarks.
 *
 * It opens many client connections to one loopback server, speaks minimal RFC 6455 framing
 * (client frames masked with a zero key, no extensions), and optionally Engine.IO/Socket.IO v4
 * framing or the Chorus JSON protocol. Latency is measured without JSON parsing: each sent
 * payload carries "@@T<monotonic ns>@@" and receivers scan bytes for it. For token streaming it
 * also serves an OpenAI Chat Completions SSE stand-in whose tokens carry "~T<ns>".
 *
 * Commands arrive on stdin, one per line; results are printed as one JSON object per line.
 * Every loop is bounded by a count and a deadline.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>

enum proto { PROTO_WS, PROTO_SIO, PROTO_CHORUS };
enum conn_state { CS_IDLE, CS_CONNECTING, CS_UPGRADING, CS_OPEN, CS_READY, CS_CLOSED };

/** One client connection. `room` indexes rooms[] (the room it joins on the baselines). */
typedef struct conn {
  int fd;
  int state;
  int room;
  char *token;      /* Bearer token or NULL */
  int port;         /* server port of this connection; 0 = --port */
  char *in;         /* partial inbound bytes (NULL when none are pending) */
  size_t in_len, in_cap;
  char *out;        /* unsent outbound bytes */
  size_t out_len, out_cap;
  uint64_t seq;     /* frames published over the whole run (client ids) */
} conn_t;

/** A publisher: connection `conn` sends into room `room` (a user may publish into several). */
typedef struct pub {
  int conn;
  int room;
  uint64_t sent;    /* messages published in the current step */
} pub_t;

/** A room: the Chorus conversation id (or NULL) and how many connections are in it. */
typedef struct room {
  char *conversation_id;
  int members;
} room_t;

/** Latency histogram: 10 µs buckets below 100 ms, 1 ms up to 10 s, 100 ms up to 110 s. */
#define HIST_BUCKETS 20900
typedef struct hist {
  uint64_t bucket[HIST_BUCKETS];
  uint64_t count;
  uint64_t max_ns;
} hist_t;

void hist_reset(hist_t *h);
void hist_add(hist_t *h, int64_t ns);
/** The `p`-th percentile (0..100) in milliseconds; 0 when empty. */
double hist_pct(const hist_t *h, double p);

/** Counters of one measurement step. */
typedef struct stats {
  uint64_t sent, delivered, delivered_bytes, stale, deltas, tokens, done, acks, errors, closed, frames;
  hist_t latency;  /* publish -> delivery */
  hist_t token;    /* provider chunk -> viewer frame */
  hist_t request;  /* user send -> provider request */
  int64_t window_start_ns;
  int64_t last_frame_ns;
  int64_t last_delta_ns;
} stats_t;

/* Globals shared by the modules (single-threaded). */
extern int g_epoll;
extern enum proto g_proto;
extern const char *g_host;
extern int g_port;
extern const char *g_path;
extern conn_t *g_conns;
extern int g_nconns;
extern pub_t *g_pubs;
extern int g_npubs;
extern room_t *g_rooms;
extern int g_nrooms;
extern stats_t g_stats;
extern int g_pad_bytes;
extern int g_self_echo;

extern int g_server_pid;

int64_t now_ns(void);

/* procstat.c: figures from /proc. CPU times in ns, RSS in MB. */
int64_t server_cpu_ns(void);
/** CPU of the server's threads running on `core` (they are pinned: see procstat.c). */
int64_t server_cpu_on_core_ns(int core);
double server_rss_mb(void);
/** Time CPU `core` spent busy (everything but idle and iowait). */
int64_t core_busy_ns(int core);
int64_t self_cpu_ns(void);

/* plan.c: fills g_rooms, g_conns and g_pubs; exits with status 2 on a bad plan. */
void read_plan(const char *file);

/* ws.c: connections and framing. */
void conn_start(conn_t *c);
void conn_on_event(conn_t *c, uint32_t events);
void conn_send_text(conn_t *c, const char *data, size_t len);
void conn_close(conn_t *c);
/** Publishes one benchmark message from `c` into its room, stamped with the current time. */
void conn_publish(conn_t *c, int room, const char *content_prefix);

/* proto.c: application-level handling of one complete text frame. */
void proto_on_text(conn_t *c, const char *data, size_t len, int64_t now);

/* provider.c: OpenAI Chat Completions SSE stand-in. */
int provider_listen(int port);
void provider_on_event(uint64_t tag, uint32_t events);
void provider_tick(int64_t now);
int provider_active(void);
void provider_configure(int tokens, int tokens_per_second, int nconv);
void provider_note_send(int conv, int64_t at);
uint64_t provider_requests(void);
uint64_t provider_chunks(void);

/* epoll tags: high 32 bits say which table the low 32 bits index. */
#define TAG_CONN 1ULL
#define TAG_PROVIDER_LISTEN 2ULL
#define TAG_PROVIDER_CONN 3ULL
#define TAG_STDIN 4ULL
#define MAKE_TAG(kind, index) (((uint64_t)(kind) << 32) | (uint32_t)(index))

#endif
