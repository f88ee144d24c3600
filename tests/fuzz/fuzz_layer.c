/* fuzz_layer.c - libFuzzer target for layer extraction (untrusted tars).
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc tests/fuzz/fuzz_layer.c \
 *          src/image/layer.c src/util/{error,fs,log,digest}.c -larchive -lcrypto -ljansson -o fuzz_layer
 * Run:   ./fuzz_layer -max_total_time=60 -max_len=65536 CORPUS_DIR
 *
 * Each input is a layer stream (any compression) extracted into a fresh
 * directory BASE/layer, in overlay mode for even-sized inputs and apply mode
 * for odd ones, with small limits.  Whatever it does, nothing may appear in
 * BASE beside "layer" (an escape), and a failure must say why.  BASE is
 * removed after each input.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/layer.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_open("/dev/null", LOG_FORMAT_TEXT);
	log_set_quiet_stderr(true);
	return 0;
}

/* Names in dir other than "layer". */
static int count_strangers(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "layer"))
			n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char base[] = "/tmp/hull-fuzz-layer-XXXXXX", layer[64];
	if (!mkdtemp(base))
		return 0;
	snprintf(layer, sizeof(layer), "%s/layer", base);
	int in = memfd_create("fuzz", MFD_CLOEXEC);
	int dirfd = -1;
	if (mkdir(layer, 0755) == 0)
		dirfd = open(layer, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (in >= 0 && dirfd >= 0 && write(in, data, size) == (ssize_t)size && lseek(in, 0, SEEK_SET) == 0) {
		struct layer_limits lim = { .max_bytes = 16 << 20, .max_entries = 4096 };
		struct layer_result res;
		hull_error *err = NULL;
		enum layer_whiteout_mode mode = (size & 1) ? LAYER_WHITEOUT_APPLY : LAYER_WHITEOUT_OVERLAY;
		int r = layer_extract(in, dirfd, mode, &lim, -1, &res, &err);
		if (r < 0 && (!err || !err->msg))
			__builtin_trap();
		if (r == 0 && (err || res.blob_size != size || res.unpacked_size > lim.max_bytes))
			__builtin_trap();
		hull_error_free(err);
		if (count_strangers(base) != 0)
			__builtin_trap(); /* something was made beside the layer */
	}
	if (in >= 0)
		close(in);
	if (dirfd >= 0)
		close(dirfd);
	fs_rm_rf(base);
	return 0;
}
