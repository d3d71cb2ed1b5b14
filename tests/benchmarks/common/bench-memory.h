/* Memory figures every benchmark prints: the resident size now and the peak
 * resident size of the run. Header only: each benchmark is one program. */
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace bench
{

/* Resident size of this process now (/proc/self/statm), in KiB; -1 when it
 * cannot be read. */
inline long rss_kb()
{
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f)
    return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
    resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Peak resident size of the run so far (getrusage ru_maxrss), in KiB. */
inline long peak_rss_kb()
{
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

} // namespace bench
