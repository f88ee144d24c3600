/* digest_bench.c - throughput of src/util/digest.c: 200 MiB read from
 * /dev/zero hashed with digester_update(), then the same 200 MiB from a
 * memfd through digest_fd().
 *
 * Build: gcc -O2 -std=gnu11 -D_GNU_SOURCE -Isrc bench/digest_bench.c src/util/digest.c src/util/error.c \
 *          -lcrypto -o /tmp/digest_bench
 * Run:   /tmp/digest_bench [MiB]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "util/digest.h"

#define CHUNK (256 * 1024)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_stream(size_t total, unsigned char *buf)
{
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("open /dev/zero");
		return -1;
	}
	struct digester *d = digester_new();
	if (!d) {
		close(fd);
		return -1;
	}
	double t0 = now();
	size_t done = 0;
	while (done < total) {
		size_t want = total - done < CHUNK ? total - done : CHUNK;
		ssize_t n = read(fd, buf, want);
		if (n <= 0) {
			perror("read /dev/zero");
			digester_free(d);
			close(fd);
			return -1;
		}
		digester_update(d, buf, (size_t)n);
		done += (size_t)n;
	}
	char out[DIGEST_SHA256_LEN + 1];
	digester_final(d, out);
	double dt = now() - t0;
	printf("stream  /dev/zero %zu MiB: %.3f s, %.0f MB/s, %.0f MiB/s  %s\n", total >> 20, dt,
	       (double)total / dt / 1e6, (double)total / dt / (1 << 20), out);
	digester_free(d);
	close(fd);
	return 0;
}

static int bench_fd(size_t total, unsigned char *buf)
{
	int fd = memfd_create("digest-bench", MFD_CLOEXEC);
	if (fd < 0) {
		perror("memfd_create");
		return -1;
	}
	memset(buf, 0, CHUNK);
	for (size_t done = 0; done < total; done += CHUNK)
		if (write(fd, buf, CHUNK) != CHUNK) {
			perror("write memfd");
			close(fd);
			return -1;
		}
	lseek(fd, 0, SEEK_SET);
	char out[DIGEST_SHA256_LEN + 1];
	uint64_t size = 0;
	double t0 = now();
	int r = digest_fd(fd, out, &size);
	double dt = now() - t0;
	close(fd);
	if (r < 0) {
		fprintf(stderr, "digest_fd: %s\n", strerror(-r));
		return -1;
	}
	printf("digest_fd memfd   %llu MiB: %.3f s, %.0f MB/s, %.0f MiB/s  %s\n", (unsigned long long)(size >> 20),
	       dt, (double)size / dt / 1e6, (double)size / dt / (1 << 20), out);
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
	size_t total = mib << 20;
	unsigned char *buf = malloc(CHUNK);
	if (!buf)
		return 1;
	int r = bench_stream(total, buf) < 0 || bench_fd(total, buf) < 0;
	free(buf);
	return r;
}
