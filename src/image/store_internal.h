/* store_internal.h - what the image store's files share (store.c,
 * store_db.c, store_layers.c, store_gc.c).  Not for use outside
 * src/image/store*.c (unit tests may include it).
 *
 * In-flight objects: a blob or layer published by a writer that has not yet
 * made an image of it is "pinned" in the pins table by its owner
 * ("<pid>-<starttime>"), so a concurrent rmi or gc does not remove it.
 * store_image_create drops the pins of what the image uses; store_close
 * drops the rest (and collects what is left unused); a dead owner's pins
 * are dropped by the next locker, which then collects.
 */
#ifndef HULL_IMAGE_STORE_INTERNAL_H
#define HULL_IMAGE_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "image/store.h"
#include "util/error.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_STMT_CACHE 96 /* distinct statements: about 50 today */
#define STORE_BUSY_TIMEOUT_MS 30000
#define STORE_JSON_MAX (16u << 20) /* config / manifest blobs */

enum pin_kind { PIN_BLOB = 0, PIN_LAYER = 1 };

struct stmt_cache_entry {
	const char *sql; /* a string literal: cached by address */
	sqlite3_stmt *stmt;
};

struct image_store {
	char *root;
	char *runroot;
	char *driver; /* "overlay" or "vfs" */
	bool vfs;
	int root_fd;  /* O_DIRECTORY of the graph root */
	sqlite3 *db;
	bool sync_full; /* current PRAGMA synchronous: FULL or NORMAL */
	int lock_fd;
	unsigned lock_depth;
	pid_t owner_pid; /* whose owner string below is valid */
	char owner[48];  /* "<pid>-<starttime>" of this process, for pins and tmp names */
	struct stmt_cache_entry stmts[STORE_STMT_CACHE];
};

/* Reset a cached statement at scope exit (ends its implicit read). */
static inline void store_stmt_resetp(sqlite3_stmt **st)
{
	if (*st)
		sqlite3_reset(*st);
}
#define _cleanup_stmt_ __attribute__((cleanup(store_stmt_resetp)))

static inline char *db_col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

/* Column i as text; "" for NULL. */
static inline const char *db_col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* Bind text (static: must outlive the step); NULL binds NULL. */
static inline int db_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Append a copy of str to the NULL-terminated *v (of length *n).  0 or
 * -ENOMEM. */
int store_strv_push(char ***v, size_t *n, const char *str);
/* Whether v holds str. */
bool store_strv_has(char *const *v, const char *str);

/* ---- store.c ---- */
/* "<pid>-<starttime>" of the calling process (recomputed after a fork). */
const char *store_owner(struct image_store *s);
/* The layers' directory under the root: "overlay" or "vfs". */
const char *store_layers_dir(const struct image_store *s);
/* Create / remove the "dirty" marker around a publication (lock held). */
int store_dirty_begin(struct image_store *s, hull_error **err);
void store_dirty_end(struct image_store *s);
/* Test hook: when $HULL_TEST_CRASH_AT equals point, the process is killed
 * with SIGKILL right there (crash-safety tests). */
void store_crash_point(const char *point);
/* Remove a tree below dirfd (chmod'ing unwritable directories when not
 * root); unmounts nothing; missing is success.  0 or -errno. */
int store_rm_at(int dirfd, const char *name);
/* Move dirfd/name into the staging entry trash_name under tmp/ (created on
 * first use), to be removed after the lock is dropped.  0 or -errno. */
int store_trash_at(struct image_store *s, int dirfd, const char *name, char **trash_name);
/* Remove a trash entry made by store_trash_at (lock not needed). */
void store_trash_empty(struct image_store *s, char **trash_name);
/* A fresh entry "<pid>-<start>-<n>" under tmp/: a directory (dir) or an
 * empty file whose write fd goes to *ret_fd (if not NULL).  0 or -errno. */
int store_tmp_entry(struct image_store *s, bool dir, char **ret_name, int *ret_fd);
/* Whether the tmp/ entry name belongs to a process that is gone. */
bool store_tmp_entry_stale(const char *name);
/* RFC 3339 UTC time with nanoseconds, into buf. */
void store_now_rfc3339(char buf[static 40]);

/* ---- store_db.c ---- */
int db_open(struct image_store *s, hull_error **err);
void db_close(struct image_store *s);
/* A cached prepared statement for sql (a literal), reset and unbound. */
int db_stmt(struct image_store *s, const char *sql, sqlite3_stmt **ret, hull_error **err);
int db_exec(struct image_store *s, const char *sql, hull_error **err);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  db_begin's commit is not synced
 * (WAL, synchronous=NORMAL: pins, layers, collection); db_begin_durable's
 * is (FULL: changes a user sees, which also makes every earlier commit
 * durable). */
int db_begin(struct image_store *s, hull_error **err);
int db_begin_durable(struct image_store *s, hull_error **err);
int db_commit(struct image_store *s, hull_error **err);
void db_rollback(struct image_store *s);
/* Fill err from the connection's last error: "<what>: <sqlite message>". */
int db_fail(struct image_store *s, const char *what, hull_error **err);
int db_meta_get(struct image_store *s, const char *key, char **ret, hull_error **err);
int db_meta_set(struct image_store *s, const char *key, const char *value, hull_error **err);
/* Pin (kind, key) for this process, inside the caller's transaction. */
int db_pin(struct image_store *s, enum pin_kind kind, const char *key, hull_error **err);
int db_unpin(struct image_store *s, const char *key, hull_error **err);
/* Whether a blob is referenced by an image, a layer or a pin. */
int db_blob_needed(struct image_store *s, const char *digest, hull_error **err);
/* Whether a layer row exists: 1, 0, or -1 with err. */
int db_layer_exists(struct image_store *s, const char *chain_id, hull_error **err);
/* A read transaction (one snapshot for several statements) unless one is
 * open; *started says whether db_read_end must end it. */
int db_read_begin(struct image_store *s, bool *started, hull_error **err);
void db_read_end(struct image_store *s, bool started);
/* The record of image id (full "sha256:..."). */
int db_image_load(struct image_store *s, const char *id, struct image_record **ret, hull_error **err);
/* "domain/path" of a stored name "domain/path:tag", malloc'd. */
char *db_name_repository(const char *name);
/* err = "image not known: 'what'" with status ENOENT; returns -1. */
int db_not_known(const char *what, hull_error **err);

/* Resolve name_or_id to a full image id ("sha256:..."), malloc'd. */
int db_image_resolve(struct image_store *s, const char *name_or_id, char **ret_id, hull_error **err);

/* ---- store_gc.c ---- */
/* Everything a locker does first: stale tmp entries, the orphans a dead
 * publisher left ("dirty"), dead owners' pins (then collect). */
int store_sweep_locked(struct image_store *s, hull_error **err);
/* Inside an open transaction: delete the layer rows no image or pin needs
 * (*ret_layers: their chain ids) and list in *ret_blobs the blobs no longer
 * needed among blob_candidates, the deleted layers' blobs, and (all_blobs)
 * every blob on disk. */
int gc_collect_locked(struct image_store *s, char *const *blob_candidates, bool all_blobs, char ***ret_layers,
		      char ***ret_blobs, hull_error **err);
/* After the commit: move collected layers to the trash entry, unlink blobs. */
void gc_remove_files(struct image_store *s, char *const *layers, char *const *blobs, char **trash);
/* Drop the pins of owners (lock held) and collect what they held. */
int gc_unpin_locked(struct image_store *s, char *const *owners, char **trash, hull_error **err);
/* Collection under the lock with the dirty protocol; *trash to be emptied
 * by the caller after unlocking. */
int gc_run_locked(struct image_store *s, char *const *blob_candidates, bool all_blobs, char **trash,
		  hull_error **err);

/* ---- store_layers.c ---- */
/* Whether the kernel mounts an overlay of layers made in this store. */
bool store_overlay_works(struct image_store *s);
/* Mount count of image id (lock held): 0 when not mounted. */
int mount_count_locked(struct image_store *s, const char *id, unsigned *ret, hull_error **err);
/* Drop one mount of image id (all with force), unmounting at zero. */
int unmount_locked(struct image_store *s, const char *id, bool force, hull_error **err);

#endif
