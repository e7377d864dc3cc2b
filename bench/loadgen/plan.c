/* Reads the plan file: "room <index> <conversationId|->", "conn <room> <token|-> [port]", "pub <conn> <room>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loadgen.h"

void read_plan(const char *file) {
  FILE *f = fopen(file, "r");
  if (!f) {
    perror(file);
    exit(2);
  }
  char line[4096], a[2048];
  int room_cap = 16, conn_cap = 1024, pub_cap = 1024;
  g_rooms = calloc((size_t)room_cap, sizeof *g_rooms);
  g_conns = calloc((size_t)conn_cap, sizeof *g_conns);
  g_pubs = calloc((size_t)pub_cap, sizeof *g_pubs);
  while (fgets(line, sizeof line, f)) {
    int room, conn, port = 0;
    if (sscanf(line, "room %d %2047s", &room, a) == 2) {
      while (room >= room_cap) {
        g_rooms = realloc(g_rooms, sizeof *g_rooms * (size_t)room_cap * 2);
        memset(g_rooms + room_cap, 0, sizeof *g_rooms * (size_t)room_cap);
        room_cap *= 2;
      }
      g_rooms[room].conversation_id = strcmp(a, "-") ? strdup(a) : NULL;
      if (room >= g_nrooms) g_nrooms = room + 1;
    } else if (sscanf(line, "pub %d %d", &conn, &room) == 2) {
      if (g_npubs == pub_cap) g_pubs = realloc(g_pubs, sizeof *g_pubs * (size_t)(pub_cap *= 2));
      g_pubs[g_npubs++] = (pub_t){ .conn = conn, .room = room };
    } else if (sscanf(line, "conn %d %2047s %d", &room, a, &port) >= 2) {
      if (g_nconns == conn_cap) {
        g_conns = realloc(g_conns, sizeof *g_conns * (size_t)conn_cap * 2);
        memset(g_conns + conn_cap, 0, sizeof *g_conns * (size_t)conn_cap);
        conn_cap *= 2;
      }
      conn_t *c = &g_conns[g_nconns++];
      c->fd = -1;
      c->room = room;
      c->token = strcmp(a, "-") ? strdup(a) : NULL;
      c->port = port;
      if (room >= g_nrooms) g_nrooms = room + 1;
    }
  }
  fclose(f);
  for (int i = 0; i < g_npubs; i++) {
    if (g_pubs[i].conn >= g_nconns || g_pubs[i].room >= g_nrooms || g_nrooms > room_cap) {
      fprintf(stderr, "loadgen: plan names an undeclared connection or room\n");
      exit(2);
    }
  }
}
