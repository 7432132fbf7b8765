/* test_membudget.c - comp_parse_size and the node memory budget of `comp prune`'s preflight
 * (comp_mem_budget_detect_at) on fake /proc and /sys trees: cgroup v2 (pure and hybrid) and v1
 * hierarchies with limits at different levels, reclaimable page cache, Slurm's allocation. The
 * expected budgets are the closed forms of the figures written here. */
#include <stdarg.h>
#include <unistd.h>

#include "comp/util.h"
#include "comp_test.h"

static char root[256];

/* Write text to root/rel, making the directories. */
static void put(const char *rel, const char *fmt, ...)
{
  char path[1024], cmd[1200];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
  CHECK(system(cmd) == 0);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fclose(f);
}

static void fresh(void)
{
  char cmd[512];
  if (root[0]) {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
  }
  snprintf(root, sizeof root, "/tmp/comp_membudget_XXXXXX");
  CHECK(mkdtemp(root) != NULL);
  unsetenv("SLURM_MEM_PER_NODE");
  unsetenv("SLURM_MEM_PER_CPU");
  unsetenv("SLURM_CPUS_ON_NODE");
}

static const int64_t Ki = 1024, Mi = 1024 * 1024, Gi = 1024 * 1024 * 1024;

int main(void)
{
  int64_t v = 0;
  CHECK_OK(comp_parse_size("512M", &v));
  CHECK(v == 512 * Mi);
  CHECK_OK(comp_parse_size("1.5G", &v));
  CHECK(v == 3 * Gi / 2);
  CHECK_OK(comp_parse_size("64GiB", &v));
  CHECK(v == 64 * Gi);
  CHECK_OK(comp_parse_size("2t", &v));
  CHECK(v == 2 * 1024 * Gi);
  CHECK_OK(comp_parse_size("4096", &v));
  CHECK(v == 4096);
  const char *bad[] = {"", "G", "12Q", "-1G", "0", "1G2", "nan", "1e30T"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_MSG(comp_parse_size(bad[i], &v) == COMP_ERR_ARG, "'%s' accepted", bad[i]);
    comp_error_clear();
  }

  const int64_t   rss = 200 * Mi; /* what the node's ranks hold now */
  comp_mem_budget b;

  /* nothing readable: unknown */
  fresh();
  comp_mem_budget_detect_at(root, rss, &b);
  CHECK(b.bytes == -1);

  /* MemAvailable alone */
  put("proc/meminfo", "MemTotal:       32000000 kB\nMemFree:         1000 kB\nMemAvailable:    8000000 kB\n");
  put("proc/self/cgroup", "0::/\n");
  comp_mem_budget_detect_at(root, rss, &b);
  CHECK_MSG(b.bytes == 8000000 * Ki + rss && strstr(b.source, "MemAvailable"), "%lld %s", (long long)b.bytes, b.source);

  /* cgroup v2 (pure): a limit on the job, none on the step; page cache reclaimable */
  put("proc/self/cgroup", "0::/slurm/job_7/step_0\n");
  put("sys/fs/cgroup/slurm/job_7/step_0/memory.max", "max\n");
  put("sys/fs/cgroup/slurm/job_7/step_0/memory.current", "%lld\n", (long long)(1 * Gi));
  put("sys/fs/cgroup/slurm/job_7/memory.max", "%lld\n", (long long)(4 * Gi));
  put("sys/fs/cgroup/slurm/job_7/memory.current", "%lld\n", (long long)(3 * Gi / 2));
  put("sys/fs/cgroup/slurm/job_7/memory.stat", "anon 1000\nfile 900\ninactive_file %lld\nactive_file 5\n",
      (long long)(Gi / 2));
  put("sys/fs/cgroup/memory.max", "max\n");
  comp_mem_budget_detect_at(root, rss, &b);
  CHECK_MSG(b.bytes == 4 * Gi - (3 * Gi / 2 - Gi / 2) + rss && strstr(b.source, "/slurm/job_7 memory.max"), "%lld %s",
            (long long)b.bytes, b.source);

  /* a tighter limit further up wins */
  put("sys/fs/cgroup/slurm/memory.max", "%lld\n", (long long)(2 * Gi));
  put("sys/fs/cgroup/slurm/memory.current", "%lld\n", (long long)(3 * Gi / 2));
  comp_mem_budget_detect_at(root, rss, &b);
  CHECK_MSG(b.bytes == 2 * Gi - 3 * Gi / 2 + rss && strstr(b.source, "cgroup /slurm memory.max"), "%lld %s",
            (long long)b.bytes, b.source);

  /* Slurm's allocation, tighter still; then per CPU */
  setenv("SLURM_MEM_PER_NODE", "600", 1);
  comp_mem_budget_detect_at(root, rss, &b);
  CHECK_MSG(b.bytes == 600 * Mi && strstr(b.source, "SLURM_MEM_PER_NODE"), "%lld %s", (long long)b.bytes, b.source);
  setenv("SLURM_MEM_PER_NODE", "0", 1); /* 0: the whole node, no limit of its own */
  setenv("SLURM_MEM_PER_CPU", "100", 1);
  setenv("SLURM_CPUS_ON_NODE", "4", 1);
  comp_mem_budget_detect_at(root, rss, &b);
  CHECK_MSG(b.bytes == 400 * Mi && strstr(b.source, "SLURM_MEM_PER_CPU"), "%lld %s", (long long)b.bytes, b.source);

  /* cgroup v1: memory controller among others, "unlimited" at the leaf, a limit on the parent */
  fresh();
  put("proc/meminfo", "MemAvailable:    8000000 kB\n");
  put("proc/self/cgroup", "5:cpu,cpuacct:/x\n4:memory:/lxc/c1/sub\n0::/\n");
  put("sys/fs/cgroup/memory/lxc/c1/sub/memory.limit_in_bytes", "9223372036854771712\n");
  put("sys/fs/cgroup/memory/lxc/c1/sub/memory.usage_in_bytes", "%lld\n", (long long)Gi);
  put("sys/fs/cgroup/memory/lxc/c1/memory.limit_in_bytes", "%lld\n", (long long)(3 * Gi));
  put("sys/fs/cgroup/memory/lxc/c1/memory.usage_in_bytes", "%lld\n", (long long)(2 * Gi));
  put("sys/fs/cgroup/memory/lxc/c1/memory.stat", "cache 10\ninactive_file 7\ntotal_inactive_file %lld\n",
      (long long)(Gi / 4));
  comp_mem_budget_detect_at(root, rss, &b);
  CHECK_MSG(b.bytes == 3 * Gi - (2 * Gi - Gi / 4) + rss && strstr(b.source, "/lxc/c1 memory.limit_in_bytes"), "%lld %s",
            (long long)b.bytes, b.source);

  /* cgroup v2 in the hybrid layout (/sys/fs/cgroup/unified) */
  fresh();
  put("proc/self/cgroup", "4:memory:/\n0::/u\n");
  put("sys/fs/cgroup/unified/cgroup.controllers", "memory\n");
  put("sys/fs/cgroup/unified/u/memory.max", "%lld\n", (long long)Gi);
  put("sys/fs/cgroup/unified/u/memory.current", "%lld\n", (long long)(Gi / 4));
  comp_mem_budget_detect_at(root, rss, &b);
  CHECK_MSG(b.bytes == Gi - Gi / 4 + rss && strstr(b.source, "cgroup /u memory.max"), "%lld %s", (long long)b.bytes,
            b.source);

  /* the real machine: something readable, and no more than MemAvailable allows */
  comp_mem_budget_detect(rss, &b);
  CHECK_MSG(b.bytes > rss, "%lld %s", (long long)b.bytes, b.source);
  fresh();
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  CHECK(system(cmd) == 0);
  return comp_test_end();
}
