/*
 * A local stand-in for an OpenAI-compatible model server: every POST gets a Chat Completions
 * SSE stream (HTTP/1.1 chunked, keep-alive) of `tokens` chunks at `tokens_per_second`, then a
 * finish chunk, a usage chunk and `data: [DONE]`. Each token's text is " ~T<monotonic ns>" of
 * the moment it was written, so viewers can measure the latency the server adds. A "@@S<n>@@"
 * marker in the request body names the conversation, timing the user's send -> this request.
 * A request whose last marker is a probe's (" probe @@S<n>@@") gets a one-token stream.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "loadgen.h"

#define MAX_PCONNS 8192

typedef struct pconn {
  int fd;
  int streaming;
  int emitted;
  int limit; /* tokens of the stream in progress */
  int64_t next_due;
  char *in;
  size_t in_len, in_cap;
  char *out;
  size_t out_len, out_cap;
} pconn_t;

static pconn_t pconns[MAX_PCONNS];
static int npconns;
static int listen_fd = -1;
static int cfg_tokens = 200;
static int64_t cfg_interval_ns = 20000000;
static int64_t *send_times;
static int nconv;
static uint64_t requests;
static uint64_t chunks; /* token chunks written, all streams */

void provider_configure(int tokens, int tokens_per_second, int conversations) {
  cfg_tokens = tokens;
  cfg_interval_ns = 1000000000LL / tokens_per_second;
  free(send_times);
  nconv = conversations;
  send_times = calloc((size_t)conversations + 1, sizeof *send_times);
}

void provider_note_send(int conv, int64_t at) {
  if (conv >= 0 && conv < nconv) send_times[conv] = at;
}

uint64_t provider_requests(void) { return requests; }

uint64_t provider_chunks(void) { return chunks; }

int provider_listen(int port) {
  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listen_fd, 4096) < 0) return -1;
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MAKE_TAG(TAG_PROVIDER_LISTEN, 0) };
  return epoll_ctl(g_epoll, EPOLL_CTL_ADD, listen_fd, &ev);
}

static void pclose_conn(pconn_t *p) {
  if (p->fd >= 0) close(p->fd);
  p->fd = -1;
  p->streaming = 0;
  p->in_len = p->out_len = 0;
}

static void pconn_write(pconn_t *p, const char *data, size_t len) {
  if (p->fd < 0) return;
  if (p->out_len == 0) {
    ssize_t n = write(p->fd, data, len);
    if (n == (ssize_t)len) return;
    if (n < 0 && errno != EAGAIN) {
      pclose_conn(p);
      return;
    }
    if (n > 0) data += n, len -= (size_t)n;
  }
  if (p->out_len + len > p->out_cap) {
    p->out_cap = (p->out_len + len) * 2;
    p->out = realloc(p->out, p->out_cap);
  }
  memcpy(p->out + p->out_len, data, len);
  p->out_len += len;
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = MAKE_TAG(TAG_PROVIDER_CONN, p - pconns) };
  epoll_ctl(g_epoll, EPOLL_CTL_MOD, p->fd, &ev);
}

/* Writes one SSE event as one HTTP chunk. */
static void write_event(pconn_t *p, const char *json) {
  char buf[1024];
  size_t size = strlen(json) + 8; /* "data: " + json + "\n\n" */
  int n = snprintf(buf, sizeof buf, "%zx\r\ndata: %s\n\n\r\n", size, json);
  pconn_write(p, buf, (size_t)n);
}

static const char *chunk_head = "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench\",";

static void start_stream(pconn_t *p, const char *body, size_t len, int64_t now) {
  requests++;
  const char *mark = NULL;
  for (const char *at = body; (at = memmem(at, (size_t)(body + len - at), "@@S", 3)) != NULL; at += 3) mark = at;
  if (mark) {
    int conv = atoi(mark + 3);
    if (conv >= 0 && conv < nconv && send_times[conv] > 0) hist_add(&g_stats.request, now - send_times[conv]);
  }
  const char *headers = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                        "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
  pconn_write(p, headers, strlen(headers));
  char json[512];
  snprintf(json, sizeof json, "%s\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}", chunk_head);
  write_event(p, json);
  p->streaming = 1;
  p->emitted = 0;
  /* An unloaded probe's reply (its last message is the probe's) is one token long, so the next
   * probe meets an idle server. */
  p->limit = mark && mark - body >= 7 && memcmp(mark - 7, " probe ", 7) == 0 ? 1 : cfg_tokens;
  p->next_due = now + cfg_interval_ns;
}

static void finish_stream(pconn_t *p) {
  char json[512];
  snprintf(json, sizeof json, "%s\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}", chunk_head);
  write_event(p, json);
  snprintf(json, sizeof json, "%s\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":%d,\"total_tokens\":%d}}",
           chunk_head, p->limit, p->limit + 20);
  write_event(p, json);
  write_event(p, "[DONE]");
  pconn_write(p, "0\r\n\r\n", 5);
  p->streaming = 0;
}

/* Handles a complete request in p->in, if there is one. */
static void try_request(pconn_t *p, int64_t now) {
  if (p->streaming || p->in_len == 0) return;
  const char *end = memmem(p->in, p->in_len, "\r\n\r\n", 4);
  if (!end) return;
  size_t header_len = (size_t)(end - p->in) + 4;
  size_t body_len = 0;
  for (const char *line = p->in; line < end; line = strstr(line, "\r\n") + 2) {
    if (strncasecmp(line, "content-length:", 15) == 0) body_len = (size_t)atol(line + 15);
  }
  if (p->in_len < header_len + body_len) return;
  start_stream(p, p->in + header_len, body_len, now);
  memmove(p->in, p->in + header_len + body_len, p->in_len - header_len - body_len);
  p->in_len -= header_len + body_len;
}

void provider_on_event(uint64_t tag, uint32_t events) {
  if ((tag >> 32) == TAG_PROVIDER_LISTEN) {
    for (int i = 0; i < 256; i++) {
      int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK);
      if (fd < 0) return;
      int slot = -1;
      for (int j = 0; j < npconns; j++) if (pconns[j].fd < 0) { slot = j; break; }
      if (slot < 0 && npconns < MAX_PCONNS) slot = npconns++;
      if (slot < 0) { close(fd); continue; }
      pconn_t *p = &pconns[slot];
      p->fd = fd;
      p->streaming = 0;
      p->in_len = p->out_len = 0;
      struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MAKE_TAG(TAG_PROVIDER_CONN, slot) };
      epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &ev);
    }
    return;
  }
  pconn_t *p = &pconns[(uint32_t)tag];
  if (p->fd < 0) return;
  if (events & EPOLLIN) {
    char buf[65536];
    ssize_t n = read(p->fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN)) { pclose_conn(p); return; }
    if (n > 0) {
      if (p->in_len + (size_t)n + 1 > p->in_cap) {
        p->in_cap = (p->in_len + (size_t)n + 1) * 2;
        p->in = realloc(p->in, p->in_cap);
      }
      memcpy(p->in + p->in_len, buf, (size_t)n);
      p->in_len += (size_t)n;
      p->in[p->in_len] = 0;
      try_request(p, now_ns());
    }
  }
  if (p->fd >= 0 && (events & EPOLLOUT) && p->out_len) {
    ssize_t n = write(p->fd, p->out, p->out_len);
    if (n < 0 && errno != EAGAIN) { pclose_conn(p); return; }
    if (n > 0) {
      memmove(p->out, p->out + n, p->out_len - (size_t)n);
      p->out_len -= (size_t)n;
    }
    if (p->out_len == 0) {
      struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
      epoll_ctl(g_epoll, EPOLL_CTL_MOD, p->fd, &ev);
    }
  }
}

void provider_tick(int64_t now) {
  char json[512];
  for (int i = 0; i < npconns; i++) {
    pconn_t *p = &pconns[i];
    for (int burst = 0; p->fd >= 0 && p->streaming && now >= p->next_due && burst < 4; burst++) {
      snprintf(json, sizeof json, "%s\"choices\":[{\"index\":0,\"delta\":{\"content\":\" ~T%lld\"},\"finish_reason\":null}]}",
               chunk_head, (long long)now_ns());
      write_event(p, json);
      chunks++;
      p->next_due += cfg_interval_ns;
      if (++p->emitted >= p->limit) {
        finish_stream(p);
        try_request(p, now); /* a pipelined request may be waiting */
      }
    }
  }
}

int provider_active(void) {
  int active = 0;
  for (int i = 0; i < npconns; i++) active += pconns[i].fd >= 0 && pconns[i].streaming;
  return active;
}
