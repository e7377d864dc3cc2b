/* CPU and memory figures from /proc: the server's, this generator's, and each core's. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "loadgen.h"

/* Server CPU time in ns (utime + stime from /proc/<pid>/stat) and RSS in MB. */
int64_t server_cpu_ns(void) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", g_server_pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  unsigned long long utime = 0, stime = 0;
  /* fields after ")" start at 3 (state); utime is 14, stime 15 */
  sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime);
  return (int64_t)((utime + stime) * (1000000000.0 / (double)sysconf(_SC_CLK_TCK)));
}

/*
 * CPU time in ns of the server's threads that last ran on `core` (field 39 of
 * /proc/<pid>/task/<tid>/stat). The server's threads are pinned (the process to one core, embedded
 * Chorus's PGlite thread to the other), so this is each core's share of the server's CPU. Threads
 * that exited during the window are missed (none do in a measured step).
 */
int64_t server_cpu_on_core_ns(int core) {
  char dir[64], path[384], buf[2048];
  snprintf(dir, sizeof dir, "/proc/%d/task", g_server_pid);
  DIR *tasks = opendir(dir);
  if (!tasks) return 0;
  unsigned long long total = 0;
  struct dirent *entry;
  while ((entry = readdir(tasks))) {
    if (entry->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s/stat", dir, entry->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) continue;
    /* Fields after ")" start at 3 (state): utime is 14, stime 15, processor 39. */
    unsigned long long utime = 0, stime = 0;
    int field = 3, processor = -1;
    for (char *token = strtok(p + 2, " "); token; token = strtok(NULL, " "), field++) {
      if (field == 14) utime = strtoull(token, NULL, 10);
      else if (field == 15) stime = strtoull(token, NULL, 10);
      else if (field == 39) {
        processor = atoi(token);
        break;
      }
    }
    if (processor == core) total += utime + stime;
  }
  closedir(tasks);
  return (int64_t)(total * (1000000000.0 / (double)sysconf(_SC_CLK_TCK)));
}

double server_rss_mb(void) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", g_server_pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  double kb = 0;
  while (fgets(line, sizeof line, f)) if (strncmp(line, "VmRSS:", 6) == 0) kb = atof(line + 6);
  fclose(f);
  return kb / 1024.0;
}

/* Time CPU `core` spent running tasks, in ns, from /proc/stat. */
int64_t core_busy_ns(int core) {
  char line[512], name[16];
  snprintf(name, sizeof name, "cpu%d ", core);
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  unsigned long long v[8] = { 0 };
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, name, strlen(name)) != 0) continue;
    sscanf(line + strlen(name), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    break;
  }
  fclose(f);
  /* Everything but idle and iowait. Interrupt and softirq time includes loopback packet work
     caused by the benchmark itself, so "other load" slightly overstates disturbance at high rates. */
  unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return (int64_t)(busy * (1000000000.0 / (double)sysconf(_SC_CLK_TCK)));
}

int64_t self_cpu_ns(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (int64_t)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
         (int64_t)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
}
