/* fuzz_config.c - libFuzzer target for the config.json parser.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc tests/fuzz/fuzz_config.c \
 *          src/runtime/config.c src/util/{error,fs,log}.c -ljansson -o fuzz_config
 * Run:   ./fuzz_config -max_total_time=60 -max_len=65536 CORPUS_DIR
 *
 * Each input goes through oci_config_parse(); on success the result is
 * walked a little (namespace lookups) and freed.  The same bytes are also
 * parsed as a bare "process" object through oci_json_parse() and
 * oci_process_parse(), as `exec --process FILE` does.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/config.h"
#include "util/error.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* warnings (relative mount destinations) go nowhere */
	log_open("/dev/null", LOG_FORMAT_TEXT);
	log_set_quiet_stderr(true);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_config *c = NULL;
	hull_error *err = NULL;

	if (oci_config_parse((const char *)data, size, &c, &err) == 0) {
		static const int types[] = { 0x20000000 /* pid */, 0x40000000 /* net */, 0x00020000 /* mnt */,
					     0x10000000 /* user */, 0x00000080 /* time */ };
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			const struct oci_namespace *ns = oci_config_namespace(c, types[i]);
			if (ns && (ns->type != types[i] || !oci_namespace_name(ns->type)))
				__builtin_trap();
		}
		if (c->has_process && (!c->process.args || !c->process.args[0] || c->process.cwd[0] != '/'))
			__builtin_trap();
		for (size_t i = 0; i < c->n_mounts; i++)
			if (c->mounts[i].destination[0] != '/')
				__builtin_trap();
		oci_config_free(c);
	} else {
		/* a failed parse reports why and hands nothing out */
		if (!err || !err->msg || c)
			__builtin_trap();
		hull_error_clear(&err);
	}

	json_t *obj = oci_json_parse((const char *)data, size, &err);
	if (obj) {
		struct oci_process p;
		if (oci_process_parse(obj, &p, &err) == 0)
			oci_process_clear(&p);
		json_decref(obj);
	}
	hull_error_clear(&err);
	return 0;
}
