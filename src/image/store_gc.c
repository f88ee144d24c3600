/* store_gc.c - keeping the image store clean: what a locker sweeps, image
 * removal and collection of unneeded layers and blobs, the full check
 * (and repair), and disk usage. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store.h"
#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/proc.h"

/* Names of the entries of dir (relative to the root), "." and ".."
 * skipped; a missing dir is empty. */
static int list_dir(struct image_store *s, const char *dir, char ***ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	int fd = openat(s->root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    (r = store_strv_push(ret, ret_n, de->d_name)) < 0)
			break;
	closedir(d);
	return r;
}

static int open_dir(struct image_store *s, const char *dir)
{
	return openat(s->root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* ---- sweeping (at lock time) ---- */

static void sweep_tmp(struct image_store *s)
{
	_cleanup_strv_ char **names = NULL;
	size_t n;
	if (list_dir(s, "tmp", &names, &n) < 0)
		return;
	_cleanup_close_ int tfd = open_dir(s, "tmp");
	for (size_t i = 0; tfd >= 0 && i < n; i++) {
		if (!store_tmp_entry_stale(names[i]))
			continue;
		if (store_rm_at(tfd, names[i]) == -EBUSY) {
			/* a dead overlay probe's mount point */
			char m[PATH_MAX];
			snprintf(m, sizeof(m), "%s/tmp/%s/m", s->root, names[i]);
			(void)umount2(m, MNT_DETACH);
			(void)store_rm_at(tfd, names[i]);
		}
	}
}

/* Layer directories and blobs without a row that needs them. */
static int sweep_orphans(struct image_store *s, hull_error **err)
{
	_cleanup_strv_ char **names = NULL;
	size_t n;
	const char *ldir = store_layers_dir(s);
	_cleanup_close_ int lfd = open_dir(s, ldir);
	int lr = list_dir(s, ldir, &names, &n);
	if (lr < 0)
		return hull_error_set(err, -lr, "read '%s/%s'", s->root, ldir);
	for (size_t i = 0; lfd >= 0 && i < n; i++) {
		char chain[80];
		snprintf(chain, sizeof(chain), "sha256:%s", names[i]);
		int r = digest_valid(chain) ? db_layer_exists(s, chain, err) : 0;
		if (r < 0)
			return -1;
		if (r == 0)
			(void)store_rm_at(lfd, names[i]);
	}
	strv_free(TAKE_PTR(names));
	_cleanup_close_ int bfd = open_dir(s, "blobs/sha256");
	if ((lr = list_dir(s, "blobs/sha256", &names, &n)) < 0)
		return hull_error_set(err, -lr, "read '%s/blobs/sha256'", s->root);
	for (size_t i = 0; bfd >= 0 && i < n; i++) {
		char d[80];
		snprintf(d, sizeof(d), "sha256:%s", names[i]);
		int r = digest_valid(d) ? db_blob_needed(s, d, err) : 0;
		if (r < 0)
			return -1;
		if (r == 0)
			(void)store_rm_at(bfd, names[i]);
	}
	/* short links whose layer is gone */
	strv_free(TAKE_PTR(names));
	_cleanup_close_ int sfd = open_dir(s, "l");
	if (sfd >= 0 && list_dir(s, "l", &names, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (faccessat(sfd, names[i], F_OK, 0) < 0 && errno == ENOENT)
				(void)unlinkat(sfd, names[i], 0);
	return 0;
}

/* Inside a transaction: delete owner's pins, adding their keys to *keys. */
static int drop_pins_txn(struct image_store *s, const char *owner, char ***keys, size_t *nk, hull_error **err)
{
	static const char q_keys[] = "SELECT key FROM pins WHERE owner=?1";
	static const char q_del[] = "DELETE FROM pins WHERE owner=?1";
	const char *qs[2] = { q_keys, q_del };
	for (int q = 0; q < 2; q++) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (db_stmt(s, qs[q], &st, err) < 0)
			return -1;
		sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (store_strv_push(keys, nk, (const char *)sqlite3_column_text(st, 0)) < 0)
				return hull_error_set(err, ENOMEM, "drop pins");
		if (rc != SQLITE_DONE)
			return db_fail(s, "drop pins", err);
	}
	return 0;
}

int gc_unpin_locked(struct image_store *s, char *const *owners, char **trash, hull_error **err)
{
	_cleanup_strv_ char **keys = NULL;
	size_t nk = 0;
	if (db_begin(s, err) < 0)
		return -1;
	for (size_t i = 0; owners && owners[i]; i++)
		if (drop_pins_txn(s, owners[i], &keys, &nk, err) < 0) {
			db_rollback(s);
			return -1;
		}
	if (db_commit(s, err) < 0)
		return -1;
	return gc_run_locked(s, keys, false, trash, err);
}

/* Owners of pins that are gone. */
static int dead_owners(struct image_store *s, char ***ret, hull_error **err)
{
	static const char q_owners[] = "SELECT DISTINCT owner FROM pins";
	size_t n = 0;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, q_owners, &st, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(st, 0);
		if (o && store_tmp_entry_stale(o) && store_strv_push(ret, &n, o) < 0)
			return hull_error_set(err, ENOMEM, "sweep pins");
	}
	return rc == SQLITE_DONE ? 0 : db_fail(s, "sweep pins", err);
}

int store_sweep_locked(struct image_store *s, hull_error **err)
{
	sweep_tmp(s);
	if (faccessat(s->root_fd, "dirty", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if (sweep_orphans(s, err) < 0)
			return hull_error_wrap(err, "remove leftovers of an interrupted change");
		store_dirty_end(s);
	}
	_cleanup_strv_ char **dead = NULL;
	if (dead_owners(s, &dead, err) < 0)
		return -1;
	if (!dead)
		return 0;
	char *trash = NULL;
	int r = gc_unpin_locked(s, dead, &trash, err);
	store_trash_empty(s, &trash);
	return r;
}

/* ---- collection ---- */

static const char Q_UNNEEDED_LAYERS[] =
	"WITH RECURSIVE needed(c) AS ("
	"  SELECT chain_id FROM image_layers"
	"  UNION SELECT key FROM pins WHERE kind=1"
	"  UNION SELECT l.parent FROM layers l JOIN needed n ON l.chain_id=n.c WHERE l.parent IS NOT NULL)"
	" SELECT chain_id, blob_digest FROM layers WHERE chain_id NOT IN (SELECT c FROM needed)";

static int unneeded_layers(struct image_store *s, char ***ret_layers, size_t *nl, char ***ret_blobs, size_t *nb,
			   hull_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, Q_UNNEEDED_LAYERS, &st, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (store_strv_push(ret_layers, nl, (const char *)sqlite3_column_text(st, 0)) < 0 ||
		    (ret_blobs && store_strv_push(ret_blobs, nb, (const char *)sqlite3_column_text(st, 1)) < 0))
			return hull_error_set(err, ENOMEM, "collect layers");
	}
	if (rc != SQLITE_DONE)
		return db_fail(s, "collect layers", err);
	return 0;
}

static int delete_layer_row(struct image_store *s, const char *chain_id, hull_error **err)
{
	static const char q_pin[] = "DELETE FROM pins WHERE key=?1";
	static const char q_del[] = "DELETE FROM layers WHERE chain_id=?1";
	const char *qs[2] = { q_pin, q_del };
	for (int q = 0; q < 2; q++) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (db_stmt(s, qs[q], &st, err) < 0)
			return -1;
		sqlite3_bind_text(st, 1, chain_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(s, "delete layer", err);
	}
	return 0;
}

static int add_unneeded_blob(struct image_store *s, const char *d, char ***ret, size_t *n, hull_error **err)
{
	if (!digest_valid(d) || store_strv_has(*ret, d) || !store_blob_exists(s, d))
		return 0;
	int r = db_blob_needed(s, d, err);
	if (r < 0)
		return -1;
	if (r == 0 && store_strv_push(ret, n, d) < 0)
		return hull_error_set(err, ENOMEM, "collect blobs");
	return 0;
}

int gc_collect_locked(struct image_store *s, char *const *blob_candidates, bool all_blobs, char ***ret_layers,
		      char ***ret_blobs, hull_error **err)
{
	_cleanup_strv_ char **layers = NULL, **cands = NULL, **blobs = NULL, **disk = NULL;
	size_t nl = 0, nc = 0, nb = 0, nd = 0;
	if (unneeded_layers(s, &layers, &nl, &cands, &nc, err) < 0)
		return -1;
	for (size_t i = 0; i < nl; i++)
		if (delete_layer_row(s, layers[i], err) < 0)
			return -1;
	int lr = all_blobs ? list_dir(s, "blobs/sha256", &disk, &nd) : 0;
	if (lr < 0)
		return hull_error_set(err, -lr, "read '%s/blobs/sha256'", s->root);
	for (size_t i = 0; i < nd; i++) {
		char d[80];
		snprintf(d, sizeof(d), "sha256:%s", disk[i]);
		if (add_unneeded_blob(s, d, &blobs, &nb, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < nc; i++)
		if (add_unneeded_blob(s, cands[i], &blobs, &nb, err) < 0)
			return -1;
	for (size_t i = 0; blob_candidates && blob_candidates[i]; i++)
		if (add_unneeded_blob(s, blob_candidates[i], &blobs, &nb, err) < 0)
			return -1;
	*ret_layers = TAKE_PTR(layers);
	*ret_blobs = TAKE_PTR(blobs);
	return 0;
}

static void remove_short_links(struct image_store *s, const char *hex)
{
	char target[128], have[128], link[80];
	snprintf(target, sizeof(target), "../overlay/%s/diff", hex);
	for (int len = 20; len <= 64; len += 44) {
		snprintf(link, sizeof(link), "l/%.*s", len, hex);
		ssize_t n = readlinkat(s->root_fd, link, have, sizeof(have) - 1);
		if (n < 0)
			continue;
		have[n] = '\0';
		if (strcmp(have, target) == 0)
			(void)unlinkat(s->root_fd, link, 0);
	}
}

void gc_remove_files(struct image_store *s, char *const *layers, char *const *blobs, char **trash)
{
	for (size_t i = 0; layers && layers[i]; i++) {
		if (!digest_valid(layers[i]))
			continue;
		char rel[96];
		snprintf(rel, sizeof(rel), "%s/%s", store_layers_dir(s), digest_hex(layers[i]));
		if (store_trash_at(s, s->root_fd, rel, trash) < 0)
			(void)store_rm_at(s->root_fd, rel);
		if (!s->vfs)
			remove_short_links(s, digest_hex(layers[i]));
	}
	for (size_t i = 0; blobs && blobs[i]; i++) {
		char rel[96];
		snprintf(rel, sizeof(rel), "blobs/sha256/%s", digest_hex(blobs[i]));
		(void)unlinkat(s->root_fd, rel, 0);
	}
}

int gc_run_locked(struct image_store *s, char *const *blob_candidates, bool all_blobs, char **trash,
		  hull_error **err)
{
	_cleanup_strv_ char **layers = NULL, **blobs = NULL;
	if (store_dirty_begin(s, err) < 0)
		return -1;
	if (db_begin(s, err) < 0)
		return -1;
	if (gc_collect_locked(s, blob_candidates, all_blobs, &layers, &blobs, err) < 0) {
		db_rollback(s);
		store_dirty_end(s);
		return hull_error_wrap(err, "collect unused layers and blobs");
	}
	if (db_commit(s, err) < 0)
		return -1;
	store_crash_point("gc-committed");
	gc_remove_files(s, layers, blobs, trash);
	store_dirty_end(s);
	return 0;
}

int store_gc(struct image_store *s, hull_error **err)
{
	char *trash = NULL;
	if (store_lock(s, err) < 0)
		return hull_error_wrap(err, "collect garbage");
	int r = gc_run_locked(s, NULL, true, &trash, err);
	store_unlock(s);
	store_trash_empty(s, &trash);
	return r;
}

/* ---- removing an image ---- */

static int image_blobs(struct image_store *s, const char *id, char ***ret, size_t *n, hull_error **err)
{
	static const char q[] = "SELECT digest FROM image_digests WHERE image=?1 AND instr(digest, '@')=0"
				" UNION SELECT manifest_digest FROM images WHERE id=?1";
	if (store_strv_push(ret, n, id) < 0)
		return hull_error_set(err, ENOMEM, "remove image");
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, q, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (store_strv_push(ret, n, (const char *)sqlite3_column_text(st, 0)) < 0)
			return hull_error_set(err, ENOMEM, "remove image");
	return rc == SQLITE_DONE ? 0 : db_fail(s, "remove image", err);
}

static int remove_txn(struct image_store *s, const char *id, char ***ret_layers, char ***ret_blobs, hull_error **err)
{
	static const char q_del[] = "DELETE FROM images WHERE id=?1";
	_cleanup_strv_ char **cands = NULL;
	size_t nc = 0;
	if (image_blobs(s, id, &cands, &nc, err) < 0)
		return -1;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, q_del, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "delete image", err);
	sqlite3_reset(st);
	return gc_collect_locked(s, cands, false, ret_layers, ret_blobs, err);
}

static int check_removable(struct image_store *s, const char *id, bool force, hull_error **err)
{
	static const char q_holds[] = "SELECT count(*) FROM image_holds WHERE image=?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, q_holds, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(s, "count image holders", err);
	long long holders = sqlite3_column_int64(st, 0);
	unsigned mounts = 0;
	if (mount_count_locked(s, id, &mounts, err) < 0)
		return -1;
	if (!force && holders > 0) {
		hull_error_set(err, 0, "image is in use by %lld container%s", holders, holders == 1 ? "" : "s");
		if (err && *err)
			(*err)->status = EBUSY;
		return -1;
	}
	if (mounts > 0 && !force) {
		hull_error_set(err, 0, "image is mounted");
		if (err && *err)
			(*err)->status = EBUSY;
		return -1;
	}
	if (mounts > 0 && unmount_locked(s, id, true, err) < 0)
		return -1;
	return 0;
}

static int remove_locked(struct image_store *s, const char *input, bool force, char **trash, hull_error **err)
{
	_cleanup_free_ char *id = NULL;
	_cleanup_strv_ char **layers = NULL, **blobs = NULL;
	if (db_image_resolve(s, input, &id, err) < 0 || check_removable(s, id, force, err) < 0)
		return -1;
	if (store_dirty_begin(s, err) < 0 || db_begin_durable(s, err) < 0)
		return -1;
	if (remove_txn(s, id, &layers, &blobs, err) < 0) {
		db_rollback(s);
		store_dirty_end(s);
		return -1;
	}
	if (db_commit(s, err) < 0)
		return -1;
	store_crash_point("remove-committed");
	gc_remove_files(s, layers, blobs, trash);
	store_dirty_end(s);
	return 0;
}

int store_image_remove(struct image_store *s, const char *id, bool force, hull_error **err)
{
	char *trash = NULL;
	if (store_lock(s, err) < 0)
		return hull_error_wrap(err, "remove image '%s'", id);
	int r = remove_locked(s, id, force, &trash, err);
	store_unlock(s);
	store_trash_empty(s, &trash);
	return r < 0 ? hull_error_wrap(err, "remove image '%s'", id) : 0;
}

/* ---- check ---- */

struct check {
	struct image_store *s;
	json_t *errors, *repaired;
	char **bad_blobs, **good_blobs, **orphans, **broken_layers, **broken_images;
	size_t n_bad, n_good, n_orphans, n_broken_layers, n_broken_images;
};

static void check_clear(struct check *c)
{
	json_decref(c->errors);
	json_decref(c->repaired);
	strv_free(c->bad_blobs);
	strv_free(c->good_blobs);
	strv_free(c->orphans);
	strv_free(c->broken_layers);
	strv_free(c->broken_images);
}

static void report(json_t *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(json_t *list, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r >= 0)
		json_array_append_new(list, json_string(msg));
	free(msg);
}

static int check_blobs(struct check *c, hull_error **err)
{
	_cleanup_strv_ char **names = NULL;
	size_t n;
	int lr = list_dir(c->s, "blobs/sha256", &names, &n);
	if (lr < 0)
		return hull_error_set(err, -lr, "read '%s/blobs/sha256'", c->s->root);
	_cleanup_close_ int bfd = open_dir(c->s, "blobs/sha256");
	for (size_t i = 0; bfd >= 0 && i < n; i++) {
		char d[80], got[DIGEST_SHA256_LEN + 1];
		snprintf(d, sizeof(d), "sha256:%s", names[i]);
		int fd = digest_valid(d) ? openat(bfd, names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
		struct stat st;
		int r = fd < 0 ? -EINVAL : fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ? -EINVAL : digest_fd(fd, got, NULL);
		if (fd >= 0)
			close(fd);
		if (r == 0 && strcmp(got, d) == 0) {
			if (store_strv_push(&c->good_blobs, &c->n_good, d) < 0)
				return hull_error_set(err, ENOMEM, "check blobs");
			continue;
		}
		if (r == 0)
			report(c->errors, "blob '%s': digest mismatch: content is %s", d, got);
		else
			report(c->errors, "blob file 'blobs/sha256/%s': not a valid blob", names[i]);
		if (store_strv_push(r == 0 ? &c->bad_blobs : &c->orphans, r == 0 ? &c->n_bad : &c->n_orphans,
				    r == 0 ? d : names[i]) < 0)
			return hull_error_set(err, ENOMEM, "check blobs");
	}
	return 0;
}

static int mark_broken_layer(struct check *c, const char *chain_id)
{
	if (store_strv_has(c->broken_layers, chain_id))
		return 0;
	return store_strv_push(&c->broken_layers, &c->n_broken_layers, chain_id);
}

static int check_layer_rows(struct check *c, hull_error **err)
{
	static const char q[] = "SELECT chain_id, parent, blob_digest FROM layers ORDER BY rowid";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(c->s, q, &st, err) < 0)
		return -1;
	int rc;
	_cleanup_strv_ char **parents = NULL, **children = NULL;
	size_t np = 0, nch = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *parent = (const char *)sqlite3_column_text(st, 1);
		const char *blob = (const char *)sqlite3_column_text(st, 2);
		char rel[128];
		struct stat sb;
		snprintf(rel, sizeof(rel), "%s/%s%s", store_layers_dir(c->s), digest_hex(id), c->s->vfs ? "" : "/diff");
		bool broken = false;
		if (fstatat(c->s->root_fd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode)) {
			report(c->errors, "layer '%s': directory '%s' missing", id, rel);
			broken = true;
		}
		if (!store_strv_has(c->good_blobs, blob)) {
			report(c->errors, "layer '%s': blob '%s' %s", id, blob,
			       store_strv_has(c->bad_blobs, blob) ? "corrupt" : "missing");
			broken = true;
		}
		if ((broken && mark_broken_layer(c, id) < 0) ||
		    (parent && (store_strv_push(&parents, &np, parent) < 0 || store_strv_push(&children, &nch, id) < 0)))
			return hull_error_set(err, ENOMEM, "check layers");
	}
	if (rc != SQLITE_DONE)
		return db_fail(c->s, "check layers", err);
	/* a layer above a broken one is broken too */
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < nch; i++)
			if (store_strv_has(c->broken_layers, parents[i]) && !store_strv_has(c->broken_layers, children[i])) {
				report(c->errors, "layer '%s': parent layer '%s' is broken", children[i], parents[i]);
				if (mark_broken_layer(c, children[i]) < 0)
					return hull_error_set(err, ENOMEM, "check layers");
				changed = true;
			}
	}
	return 0;
}

static int check_layer_dirs(struct check *c, hull_error **err)
{
	_cleanup_strv_ char **names = NULL;
	size_t n;
	const char *ldir = store_layers_dir(c->s);
	int lr = list_dir(c->s, ldir, &names, &n);
	if (lr < 0)
		return hull_error_set(err, -lr, "read '%s/%s'", c->s->root, ldir);
	for (size_t i = 0; i < n; i++) {
		char chain[80];
		snprintf(chain, sizeof(chain), "sha256:%s", names[i]);
		int r = digest_valid(chain) ? db_layer_exists(c->s, chain, err) : 0;
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		char rel[PATH_MAX];
		snprintf(rel, sizeof(rel), "%s/%s", ldir, names[i]);
		report(c->errors, "layer directory '%s': no layer record", rel);
		if (store_strv_push(&c->orphans, &c->n_orphans, rel) < 0)
			return hull_error_set(err, ENOMEM, "check layers");
	}
	return 0;
}

static int check_image(struct check *c, const char *id, const char *manifest, hull_error **err)
{
	static const char q[] = "SELECT chain_id FROM image_layers WHERE image=?1 ORDER BY idx";
	bool broken = false;
	const char *what[2] = { "config", "manifest" }, *dig[2] = { id, manifest };
	for (int i = 0; i < 2; i++)
		if (!store_strv_has(c->good_blobs, dig[i])) {
			report(c->errors, "image '%s': %s blob '%s' %s", id, what[i], dig[i],
			       store_strv_has(c->bad_blobs, dig[i]) ? "corrupt" : "missing");
			broken = true;
		}
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(c->s, q, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *l = (const char *)sqlite3_column_text(st, 0);
		if (store_strv_has(c->broken_layers, l)) {
			report(c->errors, "image '%s': layer '%s' is broken", id, l);
			broken = true;
		}
	}
	if (rc != SQLITE_DONE)
		return db_fail(c->s, "check images", err);
	if (broken && store_strv_push(&c->broken_images, &c->n_broken_images, id) < 0)
		return hull_error_set(err, ENOMEM, "check images");
	return 0;
}

static int check_images(struct check *c, hull_error **err)
{
	static const char q[] = "SELECT id, manifest_digest FROM images ORDER BY rowid";
	_cleanup_strv_ char **ids = NULL, **mans = NULL;
	size_t ni = 0, nm = 0;
	{
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (db_stmt(c->s, q, &st, err) < 0)
			return -1;
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (store_strv_push(&ids, &ni, (const char *)sqlite3_column_text(st, 0)) < 0 ||
			    store_strv_push(&mans, &nm, (const char *)sqlite3_column_text(st, 1)) < 0)
				return hull_error_set(err, ENOMEM, "check images");
		if (rc != SQLITE_DONE)
			return db_fail(c->s, "check images", err);
	}
	for (size_t i = 0; i < ni; i++)
		if (check_image(c, ids[i], mans[i], err) < 0)
			return -1;
	return 0;
}

/* Layers and blobs that nothing needs (and no live writer has pinned). */
static int check_unused(struct check *c, hull_error **err)
{
	_cleanup_strv_ char **layers = NULL;
	size_t nl = 0;
	if (unneeded_layers(c->s, &layers, &nl, NULL, NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < nl; i++)
		report(c->errors, "layer '%s': not used by any image", layers[i]);
	for (size_t i = 0; i < c->n_good; i++) {
		int r = db_blob_needed(c->s, c->good_blobs[i], err);
		if (r < 0)
			return -1;
		if (r == 0)
			report(c->errors, "blob '%s': not used by any image or layer", c->good_blobs[i]);
	}
	return 0;
}

static int repair_txn(struct check *c, char ***ret_layers, char ***ret_blobs, hull_error **err)
{
	static const char q_img[] = "DELETE FROM images WHERE id=?1";
	for (size_t i = 0; i < c->n_broken_images; i++) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (db_stmt(c->s, q_img, &st, err) < 0)
			return -1;
		sqlite3_bind_text(st, 1, c->broken_images[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(c->s, "remove broken image", err);
		report(c->repaired, "removed image '%s'", c->broken_images[i]);
	}
	for (size_t i = 0; i < c->n_broken_layers; i++)
		if (delete_layer_row(c->s, c->broken_layers[i], err) < 0)
			return -1;
	return gc_collect_locked(c->s, NULL, true, ret_layers, ret_blobs, err);
}

static int repair(struct check *c, char **trash, hull_error **err)
{
	_cleanup_strv_ char **layers = NULL, **blobs = NULL;
	struct image_store *s = c->s;
	if (store_dirty_begin(s, err) < 0 || db_begin_durable(s, err) < 0)
		return -1;
	if (repair_txn(c, &layers, &blobs, err) < 0) {
		db_rollback(s);
		store_dirty_end(s);
		return -1;
	}
	if (db_commit(s, err) < 0)
		return -1;
	gc_remove_files(s, c->broken_layers, c->bad_blobs, trash);
	gc_remove_files(s, layers, blobs, trash);
	for (size_t i = 0; i < c->n_broken_layers; i++)
		report(c->repaired, "removed layer '%s'", c->broken_layers[i]);
	for (size_t i = 0; layers && layers[i]; i++)
		report(c->repaired, "removed layer '%s'", layers[i]);
	for (size_t i = 0; i < c->n_bad; i++)
		report(c->repaired, "removed blob '%s'", c->bad_blobs[i]);
	for (size_t i = 0; blobs && blobs[i]; i++)
		if (!store_strv_has(c->bad_blobs, blobs[i]))
			report(c->repaired, "removed blob '%s'", blobs[i]);
	for (size_t i = 0; i < c->n_orphans; i++) {
		char rel[PATH_MAX];
		bool is_layer = strchr(c->orphans[i], '/') != NULL;
		snprintf(rel, sizeof(rel), "%s%s", is_layer ? "" : "blobs/sha256/", c->orphans[i]);
		(void)store_rm_at(s->root_fd, rel);
		report(c->repaired, "removed '%s'", rel);
	}
	store_dirty_end(s);
	return 0;
}

static long long count_rows(struct image_store *s, const char *sql)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, NULL) < 0 || sqlite3_step(st) != SQLITE_ROW)
		return -1;
	return sqlite3_column_int64(st, 0);
}

static int check_locked(struct check *c, bool do_repair, char **trash, json_t **ret, hull_error **err)
{
	static const char q_images[] = "SELECT count(*) FROM images";
	static const char q_layers[] = "SELECT count(*) FROM layers";
	if (check_blobs(c, err) < 0 || check_layer_rows(c, err) < 0 || check_layer_dirs(c, err) < 0 ||
	    check_images(c, err) < 0 || check_unused(c, err) < 0)
		return -1;
	if (do_repair && json_array_size(c->errors) > 0 && repair(c, trash, err) < 0)
		return -1;
	_cleanup_strv_ char **names = NULL;
	size_t nblobs = 0;
	(void)list_dir(c->s, "blobs/sha256", &names, &nblobs);
	*ret = json_pack("{s:O, s:O, s:I, s:I, s:I}", "errors", c->errors, "repaired", c->repaired, "images",
			 (json_int_t)count_rows(c->s, q_images), "layers", (json_int_t)count_rows(c->s, q_layers),
			 "blobs", (json_int_t)nblobs);
	return *ret ? 0 : hull_error_set(err, ENOMEM, "check report");
}

int store_check(struct image_store *s, bool repair_it, json_t **ret, hull_error **err)
{
	struct check c = { .s = s, .errors = json_array(), .repaired = json_array() };
	char *trash = NULL;
	int r = -1;
	if (!c.errors || !c.repaired)
		hull_error_set(err, ENOMEM, "check store");
	else if (store_lock(s, err) == 0) {
		r = check_locked(&c, repair_it, &trash, ret, err);
		store_unlock(s);
		store_trash_empty(s, &trash);
	}
	check_clear(&c);
	return r < 0 ? hull_error_wrap(err, "check store '%s'", s->root) : 0;
}

/* ---- usage ---- */

int store_usage(struct image_store *s, struct store_usage *ret, hull_error **err)
{
	static const char q[] =
		"SELECT (SELECT count(*) FROM images),"
		" (SELECT count(DISTINCT image) FROM image_holds),"
		" (SELECT coalesce(sum(unpacked_size), 0) FROM layers"
		"   WHERE chain_id IN (SELECT chain_id FROM image_layers)),"
		" (SELECT coalesce(sum(unpacked_size), 0) FROM layers"
		"   WHERE chain_id IN (SELECT chain_id FROM image_layers) AND chain_id NOT IN"
		"   (SELECT il.chain_id FROM image_layers il JOIN image_holds h ON h.image=il.image)),"
		" (SELECT count(*) FROM layers)";
	memset(ret, 0, sizeof(*ret));
	{
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (db_stmt(s, q, &st, err) < 0)
			return -1;
		if (sqlite3_step(st) != SQLITE_ROW)
			return db_fail(s, "disk usage", err);
		ret->images = (size_t)sqlite3_column_int64(st, 0);
		ret->images_active = (size_t)sqlite3_column_int64(st, 1);
		ret->images_size = (uint64_t)sqlite3_column_int64(st, 2);
		ret->images_reclaimable = (uint64_t)sqlite3_column_int64(st, 3);
		ret->layers = (size_t)sqlite3_column_int64(st, 4);
	}
	_cleanup_strv_ char **names = NULL;
	size_t n;
	int lr = list_dir(s, "blobs/sha256", &names, &n);
	if (lr < 0)
		return hull_error_set(err, -lr, "read '%s/blobs/sha256'", s->root);
	_cleanup_close_ int bfd = open_dir(s, "blobs/sha256");
	for (size_t i = 0; bfd >= 0 && i < n; i++) {
		struct stat st;
		if (fstatat(bfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			ret->blobs_size += (uint64_t)st.st_size;
	}
	return 0;
}
