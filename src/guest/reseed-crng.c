/*
 * nimbus-reseed: run by the microVM agent after a restore (reseed.guest.ts).
 * Every VM restored from one saved state starts with the same kernel CRNG;
 * writing to /dev/urandom only mixes the input pool and the CRNG keeps
 * handing out the same bytes. This adds the host's entropy (stdin, up to 512
 * bytes, credited) with RNDADDENTROPY, then forces a CRNG reseed with
 * RNDRESEEDCRNG, so getrandom() and /dev/urandom differ in every restore.
 * Both ioctls need CAP_SYS_ADMIN (the agent is root inside the VM).
 * Built static at image build (image/reseed-helper.ts): the initramfs has no libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
  struct {
    struct rand_pool_info info;
    unsigned char buf[512];
  } req;
  size_t n = 0;
  while (n < sizeof req.buf) {
    ssize_t r = read(0, req.buf + n, sizeof req.buf - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  if (n < 32) {
    fprintf(stderr, "nimbus-reseed: need at least 32 bytes of entropy on stdin, got %zu\n", n);
    return 2;
  }
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "nimbus-reseed: open /dev/urandom: %s\n", strerror(errno));
    return 1;
  }
  req.info.entropy_count = (int)(n * 8);
  req.info.buf_size = (int)n;
  if (ioctl(fd, RNDADDENTROPY, &req.info) != 0) {
    fprintf(stderr, "nimbus-reseed: RNDADDENTROPY: %s\n", strerror(errno));
    return 1;
  }
  if (ioctl(fd, RNDRESEEDCRNG) != 0) {
    fprintf(stderr, "nimbus-reseed: RNDRESEEDCRNG: %s\n", strerror(errno));
    return 1;
  }
  close(fd);
  return 0;
}
