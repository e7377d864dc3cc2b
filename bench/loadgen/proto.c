/*
 * What a complete text frame means for each protocol, and how a benchmark message is published.
 * Deliveries are recognised by scanning bytes for "@@T<ns>@@" (no JSON parsing), tokens of a
 * streamed reply by "~T<ns>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loadgen.h"

static int64_t parse_digits(const char *p, const char *end) {
  int64_t value = 0;
  while (p < end && *p >= '0' && *p <= '9') value = value * 10 + (*p++ - '0');
  return value;
}

static void record_delivery(const char *data, size_t len, int64_t now) {
  const char *mark = memmem(data, len, "@@T", 3);
  if (!mark) return;
  int64_t sent_at = parse_digits(mark + 3, data + len);
  if (sent_at < g_stats.window_start_ns) {
    g_stats.stale++;
    return;
  }
  g_stats.delivered++;
  g_stats.delivered_bytes += len;
  hist_add(&g_stats.latency, now - sent_at);
}

static void record_tokens(const char *data, size_t len, int64_t now) {
  const char *end = data + len;
  const char *p = data;
  g_stats.deltas++;
  g_stats.last_delta_ns = now;
  while ((p = memmem(p, (size_t)(end - p), "~T", 2)) != NULL) {
    int64_t emitted_at = parse_digits(p + 2, end);
    if (emitted_at > 0) {
      g_stats.tokens++;
      hist_add(&g_stats.token, now - emitted_at);
    }
    p += 2;
  }
}

/* The value of the first "type" key, which the Chorus server writes first in every frame. */
static int type_is(const char *data, size_t len, const char *type) {
  const char *key = memmem(data, len < 64 ? len : 64, "\"type\":\"", 8);
  if (!key) return 0;
  size_t n = strlen(type);
  const char *value = key + 8;
  return (size_t)(data + len - value) > n && memcmp(value, type, n) == 0 && value[n] == '"';
}

static void on_chorus(conn_t *c, const char *data, size_t len, int64_t now) {
  (void)c;
  if (type_is(data, len, "message.delta")) record_tokens(data, len, now);
  else if (type_is(data, len, "message")) record_delivery(data, len, now);
  else if (type_is(data, len, "message.done")) g_stats.done++;
  else if (type_is(data, len, "ack")) g_stats.acks++;
  else if (type_is(data, len, "error")) {
    if (g_stats.errors++ < 3) fprintf(stderr, "loadgen: error frame: %.*s\n", (int)(len > 300 ? 300 : len), data);
  }
}

void proto_on_text(conn_t *c, const char *data, size_t len, int64_t now) {
  g_stats.last_frame_ns = now;
  if (g_proto == PROTO_WS) {
    record_delivery(data, len, now);
  } else if (g_proto == PROTO_CHORUS) {
    on_chorus(c, data, len, now);
  } else if (len >= 2 && data[0] == '4' && data[1] == '2') {
    record_delivery(data, len, now);
  } else if (len == 1 && data[0] == '2') {
    conn_send_text(c, "3", 1); /* Engine.IO ping -> pong */
  } else if (len >= 1 && data[0] == '0') {
    conn_send_text(c, "40", 2); /* Engine.IO open -> Socket.IO connect to "/" */
  } else if (len >= 2 && data[0] == '4' && data[1] == '0') {
    c->state = CS_READY;
  } else if (len >= 2 && data[0] == '4' && data[1] == '4') {
    if (g_stats.errors++ < 3) fprintf(stderr, "loadgen: socket.io connect error: %.*s\n", (int)len, data);
    conn_close(c);
  }
}

void conn_publish(conn_t *c, int room, const char *content_prefix) {
  char pad[2048];
  char frame[4096];
  int pad_len = g_pad_bytes < 0 ? (g_proto == PROTO_CHORUS ? 120 : 160) : g_pad_bytes < (int)sizeof pad ? g_pad_bytes : (int)sizeof pad - 1;
  memset(pad, 'x', (size_t)pad_len);
  pad[pad_len] = 0;
  int64_t at = now_ns();
  int n;
  c->seq++;
  if (g_proto == PROTO_CHORUS) {
    /* The content is the padding; the JSON envelope is Chorus's own. */
    n = snprintf(frame, sizeof frame,
                 "{\"type\":\"send\",\"id\":\"%llu\",\"conversationId\":\"%s\",\"clientMsgId\":\"b%ld-%llu\","
                 "\"content\":\"%s@@T%lld@@ %.*s\"}",
                 (unsigned long long)c->seq, g_rooms[room].conversation_id, (long)(c - g_conns),
                 (unsigned long long)c->seq, content_prefix ? content_prefix : "", (long long)at, pad_len, pad);
  } else {
    /* ~200 bytes of JSON, like the SPEC §8 reference measurements. */
    n = snprintf(frame, sizeof frame, "%s{\"t\":\"@@T%lld@@\",\"room\":%d,\"pad\":\"%.*s\"}%s",
                 g_proto == PROTO_SIO ? "42[\"msg\"," : "", (long long)at, room,
                 pad_len, pad, g_proto == PROTO_SIO ? "]" : "");
  }
  if (n <= 0 || n >= (int)sizeof frame) return;
  conn_send_text(c, frame, (size_t)n);
  g_stats.sent++;
}
