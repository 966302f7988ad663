/* A minimal delivery agent for fetchmail's `mda`: the message on stdin is written to
 * MAILDIR/tmp/<unique>, fsynced, and renamed into MAILDIR/new/. Exit 0 only once it is there,
 * so fetchmail counts a message as delivered only after the fsync (as mpop and pop3 fetch do).
 * Usage: maildir-mda MAILDIR */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) {
  perror(what);
  return 75; /* EX_TEMPFAIL: fetchmail keeps the message for the next run */
}

int main(int argc, char **argv) {
  char name[128], tmp[4096], dst[4096], buf[65536];
  struct timespec ts;
  if (argc != 2) return 64;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(name, sizeof name, "%lld.M%ldP%d.bench", (long long)ts.tv_sec, ts.tv_nsec / 1000, (int)getpid());
  if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", argv[1], name) >= (int)sizeof tmp) return 64;
  if (snprintf(dst, sizeof dst, "%s/new/%s", argv[1], name) >= (int)sizeof dst) return 64;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return fail("open");
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("read");
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(fd, buf + off, (size_t)(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return fail("write");
      }
      off += w;
    }
  }
  if (fsync(fd) != 0) return fail("fsync");
  if (close(fd) != 0) return fail("close");
  if (rename(tmp, dst) != 0) return fail("rename");
  return 0;
}
