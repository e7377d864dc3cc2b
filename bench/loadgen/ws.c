/*
 * Client side of RFC 6455 over non-blocking loopback TCP: connect, HTTP upgrade, frame parsing,
 * masked sends (zero mask key: valid framing, no per-byte XOR cost), ping -> pong, close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "loadgen.h"

static char scratch[1 << 18];

static void watch(conn_t *c, int op, uint32_t events) {
  struct epoll_event ev = { .events = events, .data.u64 = MAKE_TAG(TAG_CONN, c - g_conns) };
  epoll_ctl(g_epoll, op, c->fd, &ev);
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
  if (*len + n > *cap) {
    size_t next = *cap ? *cap : 1024;
    while (next < *len + n) next *= 2;
    *buf = realloc(*buf, next);
    *cap = next;
  }
  memcpy(*buf + *len, data, n);
  *len += n;
}

static void flush_out(conn_t *c) {
  while (c->out_len > 0) {
    ssize_t n = write(c->fd, c->out, c->out_len);
    if (n < 0) {
      if (errno == EAGAIN) break;
      conn_close(c);
      return;
    }
    memmove(c->out, c->out + n, c->out_len - (size_t)n);
    c->out_len -= (size_t)n;
  }
  watch(c, EPOLL_CTL_MOD, EPOLLIN | (c->out_len ? EPOLLOUT : 0));
}

static void write_raw(conn_t *c, const char *data, size_t len) {
  if (c->state == CS_CLOSED) return;
  if (c->out_len == 0) {
    ssize_t n = write(c->fd, data, len);
    if (n == (ssize_t)len) return;
    if (n < 0 && errno != EAGAIN) {
      conn_close(c);
      return;
    }
    if (n < 0) n = 0;
    data += n;
    len -= (size_t)n;
  }
  append(&c->out, &c->out_len, &c->out_cap, data, len);
  watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
}

static void write_frame(conn_t *c, int opcode, const char *data, size_t len) {
  char frame[16 + 4096];
  size_t header = 2;
  frame[0] = (char)(0x80 | opcode);
  if (len < 126) {
    frame[1] = (char)(0x80 | len);
  } else if (len < 65536) {
    frame[1] = (char)(0x80 | 126);
    frame[2] = (char)(len >> 8);
    frame[3] = (char)len;
    header = 4;
  } else {
    return; /* benchmark frames are small */
  }
  memset(frame + header, 0, 4); /* zero mask key */
  header += 4;
  if (header + len > sizeof frame) return;
  memcpy(frame + header, data, len);
  write_raw(c, frame, header + len);
}

void conn_send_text(conn_t *c, const char *data, size_t len) { write_frame(c, 1, data, len); }

void conn_start(conn_t *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) {
    c->state = CS_CLOSED;
    g_stats.closed++;
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(c->port ? c->port : g_port)) };
  inet_pton(AF_INET, g_host, &addr.sin_addr);
  c->state = CS_CONNECTING;
  connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
  watch(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT);
}

void conn_close(conn_t *c) {
  if (c->state == CS_CLOSED) return;
  if (c->fd >= 0) close(c->fd); /* close() also removes it from the epoll set */
  c->fd = -1;
  c->state = CS_CLOSED;
  c->in_len = 0;
  c->out_len = 0;
  g_stats.closed++;
}

static void send_upgrade(conn_t *c) {
  char request[2048];
  char path[512];
  if (g_proto == PROTO_SIO) snprintf(path, sizeof path, "%s?EIO=4&transport=websocket&room=%d", g_path, c->room);
  else if (g_proto == PROTO_WS) snprintf(path, sizeof path, "%s?room=%d", g_path, c->room);
  else snprintf(path, sizeof path, "%s", g_path);
  int n = snprintf(request, sizeof request,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                   path, g_host, c->port ? c->port : g_port, c->token ? "Authorization: Bearer " : "", c->token ? c->token : "",
                   c->token ? "\r\n" : "");
  c->state = CS_UPGRADING;
  write_raw(c, request, (size_t)n);
}

/* Parses as many complete items as `data` holds; returns the bytes consumed. */
static size_t consume(conn_t *c, const char *data, size_t len, int64_t now) {
  size_t at = 0;
  if (c->state == CS_UPGRADING) {
    const char *end = memmem(data, len, "\r\n\r\n", 4);
    if (!end) return 0;
    if (len < 12 || memcmp(data + 9, "101", 3) != 0) {
      if (g_stats.errors++ < 3) fprintf(stderr, "loadgen: upgrade refused: %.*s\n", (int)(end - data), data);
      conn_close(c);
      return len;
    }
    c->state = g_proto == PROTO_SIO ? CS_OPEN : CS_READY;
    at = (size_t)(end - data) + 4;
  }
  while (c->state != CS_CLOSED && len - at >= 2) {
    const unsigned char *p = (const unsigned char *)data + at;
    int opcode = p[0] & 0x0f;
    uint64_t size = p[1] & 0x7f;
    size_t header = 2;
    if (size == 126) {
      if (len - at < 4) break;
      size = ((uint64_t)p[2] << 8) | p[3];
      header = 4;
    } else if (size == 127) {
      if (len - at < 10) break;
      size = 0;
      for (int i = 0; i < 8; i++) size = (size << 8) | p[2 + i];
      header = 10;
    }
    if (p[1] & 0x80) header += 4; /* servers do not mask; tolerate it */
    if (len - at < header + size) break;
    const char *payload = data + at + header;
    g_stats.frames++;
    if (opcode == 1) proto_on_text(c, payload, (size_t)size, now);
    else if (opcode == 9) write_frame(c, 10, payload, (size_t)size);
    else if (opcode == 8) {
      conn_close(c);
      return len;
    }
    at += header + (size_t)size;
  }
  return at;
}

static void on_readable(conn_t *c) {
  for (int rounds = 0; rounds < 8 && c->state != CS_CLOSED; rounds++) {
    ssize_t n = read(c->fd, scratch, sizeof scratch);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      conn_close(c);
      return;
    }
    if (n < 0) return;
    int64_t now = now_ns();
    if (c->in_len == 0) {
      size_t used = consume(c, scratch, (size_t)n, now);
      if (c->state != CS_CLOSED && used < (size_t)n) append(&c->in, &c->in_len, &c->in_cap, scratch + used, (size_t)n - used);
    } else {
      append(&c->in, &c->in_len, &c->in_cap, scratch, (size_t)n);
      size_t used = consume(c, c->in, c->in_len, now);
      if (c->state == CS_CLOSED) return;
      memmove(c->in, c->in + used, c->in_len - used);
      c->in_len -= used;
    }
    if ((size_t)n < sizeof scratch) return;
  }
}

void conn_on_event(conn_t *c, uint32_t events) {
  if (c->state == CS_CONNECTING) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      conn_close(c);
      return;
    }
    if (events & EPOLLOUT) {
      int error = 0;
      socklen_t size = sizeof error;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &size);
      if (error) {
        conn_close(c);
        return;
      }
      watch(c, EPOLL_CTL_MOD, EPOLLIN);
      send_upgrade(c);
    }
    return;
  }
  if (events & EPOLLIN) on_readable(c);
  if (c->state != CS_CLOSED && (events & EPOLLOUT)) flush_out(c);
  if (c->state != CS_CLOSED && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) conn_close(c);
}
