/* store_db.c - the image store's SQLite side: schema, the connection and
 * its cached statements, settings, pins, layer rows, image records (load,
 * list), resolving names and ids, publishing and naming images, holds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/reference.h"
#include "image/store.h"
#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/digest.h"

static const char SCHEMA_V1[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE layers ("
	"  chain_id TEXT PRIMARY KEY,"
	"  parent TEXT REFERENCES layers(chain_id) DEFERRABLE INITIALLY DEFERRED,"
	"  diff_id TEXT NOT NULL,"
	"  blob_digest TEXT NOT NULL,"
	"  media_type TEXT NOT NULL,"
	"  blob_size INTEGER NOT NULL,"
	"  unpacked_size INTEGER NOT NULL,"
	"  created TEXT NOT NULL);"
	"CREATE INDEX layers_parent ON layers(parent);"
	"CREATE INDEX layers_blob ON layers(blob_digest);"
	"CREATE TABLE images ("
	"  id TEXT PRIMARY KEY,"
	"  manifest_digest TEXT NOT NULL,"
	"  manifest_media_type TEXT NOT NULL,"
	"  created TEXT,"
	"  added TEXT NOT NULL,"
	"  size INTEGER NOT NULL);"
	"CREATE INDEX images_manifest ON images(manifest_digest);"
	"CREATE TABLE image_names ("
	"  name TEXT PRIMARY KEY,"
	"  image TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);"
	"CREATE INDEX image_names_image ON image_names(image);"
	/* digest: a manifest digest "sha256:..." or a repo digest "repo@sha256:..." */
	"CREATE TABLE image_digests ("
	"  image TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  digest TEXT NOT NULL,"
	"  PRIMARY KEY (image, digest));"
	"CREATE INDEX image_digests_digest ON image_digests(digest);"
	"CREATE TABLE image_layers ("
	"  image TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  chain_id TEXT NOT NULL REFERENCES layers(chain_id),"
	"  PRIMARY KEY (image, idx));"
	"CREATE INDEX image_layers_chain ON image_layers(chain_id);"
	"CREATE TABLE image_holds ("
	"  holder TEXT NOT NULL,"
	"  image TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  PRIMARY KEY (holder, image));"
	"CREATE INDEX image_holds_image ON image_holds(image);"
	"CREATE TABLE pins ("
	"  owner TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  key TEXT NOT NULL,"
	"  PRIMARY KEY (owner, key));"
	"CREATE INDEX pins_key ON pins(key);"
	"PRAGMA user_version = 1;";

/* ---- small helpers ---- */

int store_strv_push(char ***v, size_t *n, const char *str)
{
	char *d = strdup(str);
	if (!d)
		return -ENOMEM;
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv) {
		free(d);
		return -ENOMEM;
	}
	nv[(*n)++] = d;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

bool store_strv_has(char *const *v, const char *str)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], str) == 0)
			return true;
	return false;
}

static int errno_of_sqlite(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_READONLY:
		return EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return EACCES;
	case SQLITE_NOMEM:
		return ENOMEM;
	case SQLITE_CONSTRAINT:
		return EEXIST;
	case SQLITE_CANTOPEN:
		return ENOENT;
	default:
		return EIO;
	}
}

int db_fail(struct image_store *s, const char *what, hull_error **err)
{
	bool fresh = err && !*err;
	int rc = s->db ? sqlite3_extended_errcode(s->db) : SQLITE_ERROR;
	hull_error_set(err, 0, "%s: database '%s/hull.db': %s", what, s->root,
		       s->db ? sqlite3_errmsg(s->db) : "not open");
	if (fresh && *err)
		(*err)->status = errno_of_sqlite(rc);
	return -1;
}

/* ---- connection ---- */

int db_stmt(struct image_store *s, const char *sql, sqlite3_stmt **ret, hull_error **err)
{
	size_t free_slot = STORE_STMT_CACHE;
	for (size_t i = 0; i < STORE_STMT_CACHE; i++) {
		if (s->stmts[i].sql == sql) {
			sqlite3_reset(s->stmts[i].stmt);
			sqlite3_clear_bindings(s->stmts[i].stmt);
			*ret = s->stmts[i].stmt;
			return 0;
		}
		if (!s->stmts[i].sql && free_slot == STORE_STMT_CACHE)
			free_slot = i;
	}
	if (free_slot == STORE_STMT_CACHE)
		return hull_error_set(err, ENOSPC, "prepare statement: cache full");
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return db_fail(s, "prepare statement", err);
	s->stmts[free_slot].sql = sql;
	s->stmts[free_slot].stmt = st;
	*ret = st;
	return 0;
}

int db_exec(struct image_store *s, const char *sql, hull_error **err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, "run statement", err);
	return 0;
}

static int set_sync(struct image_store *s, bool full, hull_error **err)
{
	if (s->sync_full == full)
		return 0;
	if (db_exec(s, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", err) < 0)
		return -1;
	s->sync_full = full;
	return 0;
}

static int begin(struct image_store *s, bool full, hull_error **err)
{
	if (set_sync(s, full, err) < 0)
		return -1;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, "begin transaction", err);
	return 0;
}

int db_begin(struct image_store *s, hull_error **err)
{
	return begin(s, false, err);
}

int db_begin_durable(struct image_store *s, hull_error **err)
{
	return begin(s, true, err);
}

int db_commit(struct image_store *s, hull_error **err)
{
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(s, "commit", err);
		db_rollback(s);
		return -1;
	}
	return 0;
}

void db_rollback(struct image_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* A read transaction (one snapshot for several statements) unless one is
 * open already. */
int db_read_begin(struct image_store *s, bool *started, hull_error **err)
{
	*started = false;
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, "begin read", err);
	*started = true;
	return 0;
}

void db_read_end(struct image_store *s, bool started)
{
	if (started)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

static int user_version(struct image_store *s, int *ret, hull_error **err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "read schema version", err);
	int rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_fail(s, "read schema version", err);
	return 0;
}

static int db_schema(struct image_store *s, hull_error **err)
{
	int v;
	if (user_version(s, &v, err) < 0)
		return -1;
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (v > STORE_SCHEMA_VERSION)
		return hull_error_set(err, 0, "open store '%s': schema version %d is newer than this hull knows (%d)",
				      s->root, v, STORE_SCHEMA_VERSION);
	if (db_begin(s, err) < 0)
		return -1;
	/* another process may have created it while we waited */
	if (user_version(s, &v, err) < 0) {
		db_rollback(s);
		return -1;
	}
	if (v == 0 && db_exec(s, SCHEMA_V1, err) < 0) {
		db_rollback(s);
		return hull_error_wrap(err, "create schema");
	}
	return db_commit(s, err);
}

static int set_journal_wal(struct image_store *s, hull_error **err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "set journal mode", err);
	int rc = sqlite3_step(st);
	bool wal = rc == SQLITE_ROW && strcmp(db_col_str(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_fail(s, "set journal mode", err);
	if (!wal)
		return hull_error_set(err, 0, "open database '%s/hull.db': cannot use WAL journal", s->root);
	return 0;
}

int db_open(struct image_store *s, hull_error **err)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/hull.db", s->root) < 0)
		return hull_error_set(err, ENOMEM, "open database");
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		db_fail(s, "open database", err);
		db_close(s);
		return -1;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	s->sync_full = false;
	if (db_exec(s, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL", err) < 0 || set_journal_wal(s, err) < 0 ||
	    db_schema(s, err) < 0) {
		db_close(s);
		return -1;
	}
	return 0;
}

void db_close(struct image_store *s)
{
	for (size_t i = 0; i < STORE_STMT_CACHE; i++) {
		if (s->stmts[i].stmt)
			sqlite3_finalize(s->stmts[i].stmt);
		s->stmts[i].stmt = NULL;
		s->stmts[i].sql = NULL;
	}
	if (s->db)
		sqlite3_close_v2(s->db);
	s->db = NULL;
}

/* ---- meta and pins ---- */

int db_meta_get(struct image_store *s, const char *key, char **ret, hull_error **err)
{
	static const char sql[] = "SELECT value FROM meta WHERE key=?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*ret = NULL;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return db_fail(s, "read store settings", err);
	*ret = db_col_dup(st, 0);
	return *ret ? 0 : hull_error_set(err, ENOMEM, "read store settings");
}

int db_meta_set(struct image_store *s, const char *key, const char *value, hull_error **err)
{
	static const char sql[] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, key);
	db_bind_text(st, 2, value);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "write store settings", err);
	return 0;
}

int db_pin(struct image_store *s, enum pin_kind kind, const char *key, hull_error **err)
{
	static const char sql[] = "INSERT OR IGNORE INTO pins(owner, kind, key) VALUES(?1, ?2, ?3)";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, store_owner(s));
	sqlite3_bind_int(st, 2, (int)kind);
	db_bind_text(st, 3, key);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "pin", err);
	return 0;
}

int db_unpin(struct image_store *s, const char *key, hull_error **err)
{
	static const char sql[] = "DELETE FROM pins WHERE owner=?1 AND key=?2";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, store_owner(s));
	db_bind_text(st, 2, key);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "unpin", err);
	return 0;
}

int db_blob_needed(struct image_store *s, const char *digest, hull_error **err)
{
	static const char sql[] =
		"SELECT EXISTS(SELECT 1 FROM images WHERE id=?1 OR manifest_digest=?1)"
		" OR EXISTS(SELECT 1 FROM image_digests WHERE digest=?1)"
		" OR EXISTS(SELECT 1 FROM layers WHERE blob_digest=?1)"
		" OR EXISTS(SELECT 1 FROM pins WHERE key=?1)";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, digest);
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(s, "check blob references", err);
	return sqlite3_column_int(st, 0) ? 1 : 0;
}

/* ---- layers ---- */

void layer_info_free(struct layer_info *l)
{
	if (!l)
		return;
	free(l->chain_id);
	free(l->parent);
	free(l->diff_id);
	free(l->blob_digest);
	free(l->media_type);
	free(l);
}

int db_layer_exists(struct image_store *s, const char *chain_id, hull_error **err)
{
	static const char sql[] = "SELECT 1 FROM layers WHERE chain_id=?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, chain_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(s, "look up layer", err);
}

int store_layer_get(struct image_store *s, const char *chain_id, struct layer_info **ret, hull_error **err)
{
	static const char sql[] = "SELECT chain_id, parent, diff_id, blob_digest, media_type, blob_size,"
				  " unpacked_size FROM layers WHERE chain_id=?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, chain_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*ret = NULL;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return db_fail(s, "look up layer", err);
	struct layer_info *l = calloc(1, sizeof(*l));
	if (!l)
		return hull_error_set(err, ENOMEM, "look up layer");
	l->chain_id = db_col_dup(st, 0);
	l->parent = db_col_dup(st, 1);
	l->diff_id = db_col_dup(st, 2);
	l->blob_digest = db_col_dup(st, 3);
	l->media_type = db_col_dup(st, 4);
	l->blob_size = (uint64_t)sqlite3_column_int64(st, 5);
	l->unpacked_size = (uint64_t)sqlite3_column_int64(st, 6);
	if (!l->chain_id || !l->diff_id || !l->blob_digest || !l->media_type) {
		layer_info_free(l);
		return hull_error_set(err, ENOMEM, "look up layer");
	}
	*ret = l;
	return 0;
}

/* ---- image records ---- */

void image_record_free(struct image_record *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->manifest_digest);
	free(r->manifest_media_type);
	strv_free(r->names);
	strv_free(r->digests);
	strv_free(r->layers);
	free(r->created);
	free(r->added);
	free(r);
}

void image_record_list_free(struct image_record **list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		image_record_free(list[i]);
	free(list);
}

/* Rows of image_digests as read, before they become repo digests. */
struct record_build {
	struct image_record *r;
	size_t n_names, n_layers;
	char **plain;      /* manifest digests */
	size_t n_plain;
	char **repo_dig;   /* "repo@digest" entries */
	size_t n_repo_dig;
};

static void record_build_clear(struct record_build *b)
{
	strv_free(b->plain);
	strv_free(b->repo_dig);
	b->plain = b->repo_dig = NULL;
	b->n_plain = b->n_repo_dig = 0;
}

static int build_add_digest(struct record_build *b, const char *d)
{
	if (strchr(d, '@'))
		return store_strv_push(&b->repo_dig, &b->n_repo_dig, d);
	return store_strv_push(&b->plain, &b->n_plain, d);
}

/* "domain/path" of a stored name "domain/path:tag" (tags follow the last '/'). */
char *db_name_repository(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *colon = strrchr(slash ? slash : name, ':');
	size_t n = colon ? (size_t)(colon - name) : strlen(name);
	return strndup(name, n);
}

int db_not_known(const char *what, hull_error **err)
{
	bool fresh = err && !*err;
	hull_error_set(err, 0, "image not known: '%s'", what);
	if (fresh && *err)
		(*err)->status = ENOENT;
	return -1;
}

/* Add "repo@digest" for every manifest digest to *out (no duplicates). */
static int add_repo_digests(const struct record_build *b, const char *name, char ***out, size_t *n)
{
	char *repo = db_name_repository(name);
	int r = repo ? 0 : -ENOMEM;
	for (size_t j = 0; r == 0 && j < b->n_plain; j++) {
		char *rd = NULL;
		if (asprintf(&rd, "%s@%s", repo, b->plain[j]) < 0)
			r = -ENOMEM;
		else if (!store_strv_has(*out, rd))
			r = store_strv_push(out, n, rd);
		free(rd);
	}
	free(repo);
	return r;
}

/* digests = every name's repository @ every manifest digest, then the
 * recorded repo digests. */
static int build_finish(struct record_build *b)
{
	struct image_record *r = b->r;
	size_t n = 0;
	char **out = calloc(1, sizeof(char *));
	int ret = out ? 0 : -ENOMEM;
	for (size_t i = 0; ret == 0 && r->names && r->names[i]; i++)
		ret = add_repo_digests(b, r->names[i], &out, &n);
	for (size_t j = 0; ret == 0 && j < b->n_repo_dig; j++)
		if (!store_strv_has(out, b->repo_dig[j]))
			ret = store_strv_push(&out, &n, b->repo_dig[j]);
	if (ret < 0) {
		strv_free(out);
		return ret;
	}
	strv_free(r->digests);
	r->digests = out;
	if (!r->names && !(r->names = calloc(1, sizeof(char *))))
		return -ENOMEM;
	if (!r->layers && !(r->layers = calloc(1, sizeof(char *))))
		return -ENOMEM;
	return 0;
}

static struct image_record *record_from_row(sqlite3_stmt *st)
{
	struct image_record *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->id = db_col_dup(st, 0);
	r->manifest_digest = db_col_dup(st, 1);
	r->manifest_media_type = db_col_dup(st, 2);
	r->created = db_col_dup(st, 3);
	r->added = db_col_dup(st, 4);
	r->size = (uint64_t)sqlite3_column_int64(st, 5);
	if (!r->created)
		r->created = strdup("");
	if (!r->id || !r->manifest_digest || !r->manifest_media_type || !r->created || !r->added) {
		image_record_free(r);
		return NULL;
	}
	return r;
}

/* Add the value of row st (query q: 0 names, 1 digests, 2 layers) to b. */
static int build_add(struct record_build *b, int q, const char *v)
{
	if (q == 0)
		return store_strv_push(&b->r->names, &b->n_names, v);
	if (q == 1)
		return build_add_digest(b, v);
	return store_strv_push(&b->r->layers, &b->n_layers, v);
}

static int load_parts(struct image_store *s, const char *id, struct record_build *b, hull_error **err)
{
	static const char q_names[] = "SELECT name FROM image_names WHERE image=?1 ORDER BY rowid";
	static const char q_digs[] = "SELECT digest FROM image_digests WHERE image=?1 ORDER BY rowid";
	static const char q_layers[] = "SELECT chain_id FROM image_layers WHERE image=?1 ORDER BY idx";
	const char *qs[3] = { q_names, q_digs, q_layers };
	for (int q = 0; q < 3; q++) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (db_stmt(s, qs[q], &st, err) < 0)
			return -1;
		db_bind_text(st, 1, id);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (build_add(b, q, db_col_str(st, 0)) < 0)
				return hull_error_set(err, ENOMEM, "load image");
		if (rc != SQLITE_DONE)
			return db_fail(s, "load image", err);
	}
	return build_finish(b) < 0 ? hull_error_set(err, ENOMEM, "load image") : 0;
}

static int load_one(struct image_store *s, const char *id, struct image_record **ret, hull_error **err)
{
	static const char q_img[] = "SELECT id, manifest_digest, manifest_media_type, created, added, size"
				    " FROM images WHERE id=?1";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, q_img, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return db_not_known(id, err);
	if (rc != SQLITE_ROW)
		return db_fail(s, "load image", err);
	struct record_build b = { .r = record_from_row(st) };
	if (!b.r)
		return hull_error_set(err, ENOMEM, "load image");
	int r = load_parts(s, id, &b, err);
	record_build_clear(&b);
	if (r < 0) {
		image_record_free(b.r);
		return -1;
	}
	*ret = b.r;
	return 0;
}

int db_image_load(struct image_store *s, const char *id, struct image_record **ret, hull_error **err)
{
	bool started;
	if (db_read_begin(s, &started, err) < 0)
		return -1;
	int r = load_one(s, id, ret, err);
	db_read_end(s, started);
	return r;
}

/* ---- listing ---- */

static int cmp_record_id(const void *a, const void *b)
{
	const struct record_build *x = a, *y = b;
	return strcmp(x->r->id, y->r->id);
}

static struct record_build *find_build(struct record_build *sorted, size_t n, const char *id)
{
	struct image_record key_r = { .id = (char *)id };
	struct record_build key = { .r = &key_r };
	if (n == 0)
		return NULL;
	return bsearch(&key, sorted, n, sizeof(*sorted), cmp_record_id);
}

static int list_fill(struct image_store *s, struct record_build *sorted, size_t n, int which, hull_error **err)
{
	static const char q_names[] = "SELECT image, name FROM image_names ORDER BY rowid";
	static const char q_digs[] = "SELECT image, digest FROM image_digests ORDER BY rowid";
	static const char q_layers[] = "SELECT image, chain_id FROM image_layers ORDER BY image, idx";
	const char *q = which == 0 ? q_names : which == 1 ? q_digs : q_layers;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, q, &st, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct record_build *b = find_build(sorted, n, db_col_str(st, 0));
		if (!b)
			continue;
		if (build_add(b, which, db_col_str(st, 1)) < 0)
			return hull_error_set(err, ENOMEM, "list images");
	}
	if (rc != SQLITE_DONE)
		return db_fail(s, "list images", err);
	return 0;
}

static void builds_free(struct record_build *bs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		record_build_clear(&bs[i]);
		image_record_free(bs[i].r);
	}
	free(bs);
}

/* One record_build per images row, in insertion order. */
static int list_rows(struct image_store *s, struct record_build **ret, size_t *ret_n, hull_error **err)
{
	static const char q_img[] = "SELECT id, manifest_digest, manifest_media_type, created, added, size"
				    " FROM images ORDER BY rowid";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, q_img, &st, err) < 0)
		return -1;
	struct record_build *bs = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct record_build *nb = realloc(bs, cap * sizeof(*bs));
			if (!nb)
				break;
			bs = nb;
		}
		memset(&bs[n], 0, sizeof(bs[n]));
		if (!(bs[n].r = record_from_row(st)))
			break;
		n++;
	}
	if (rc != SQLITE_DONE) {
		builds_free(bs, n);
		return rc == SQLITE_ROW ? hull_error_set(err, ENOMEM, "list images") : db_fail(s, "list images", err);
	}
	*ret = bs;
	*ret_n = n;
	return 0;
}

static int list_locked(struct image_store *s, struct image_record ***ret, size_t *ret_n, hull_error **err)
{
	struct record_build *bs = NULL;
	size_t n = 0;
	if (list_rows(s, &bs, &n, err) < 0)
		return -1;
	/* keep the insertion order for the result; sort the builds for lookups */
	struct image_record **order = calloc(n + 1, sizeof(*order));
	int r = order ? 0 : hull_error_set(err, ENOMEM, "list images");
	for (size_t i = 0; r == 0 && i < n; i++)
		order[i] = bs[i].r;
	if (r == 0 && n > 0)
		qsort(bs, n, sizeof(*bs), cmp_record_id);
	for (int w = 0; r == 0 && w < 3; w++)
		r = list_fill(s, bs, n, w, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (build_finish(&bs[i]) < 0)
			r = hull_error_set(err, ENOMEM, "list images");
	if (r < 0) {
		free(order);
		builds_free(bs, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		record_build_clear(&bs[i]);
		bs[i].r = NULL;
	}
	free(bs);
	*ret = order;
	*ret_n = n;
	return 0;
}

int store_image_list(struct image_store *s, struct image_record ***ret, size_t *ret_n, hull_error **err)
{
	bool started;
	if (db_read_begin(s, &started, err) < 0)
		return -1;
	int r = list_locked(s, ret, ret_n, err);
	db_read_end(s, started);
	return r;
}

/* ---- resolving names ---- */


/* Run a query with ?1 = arg whose column 0 is an image id: 0 rows -> 0,
 * one distinct image -> 1 (*ret_id set), several -> 2 (*ret_id the first,
 * *ret_other the second).  -1 on error. */
static int query_images(struct image_store *s, const char *sql, const char *arg, char **ret_id, char **ret_other,
			hull_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, arg);
	_cleanup_free_ char *first = NULL;
	int rc, found = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = db_col_str(st, 0);
		if (!first) {
			if (!(first = strdup(id)))
				return hull_error_set(err, ENOMEM, "look up image");
			found = 1;
		} else if (strcmp(first, id) != 0) {
			if (ret_other && !(*ret_other = strdup(id)))
				return hull_error_set(err, ENOMEM, "look up image");
			found = 2;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "look up image", err);
	*ret_id = TAKE_PTR(first);
	return found;
}

static int resolve_unique(struct image_store *s, const char *sql, const char *arg, const char *input,
			  const char *kind, char **ret_id, hull_error **err)
{
	_cleanup_free_ char *other = NULL;
	char *id = NULL;
	int r = query_images(s, sql, arg, &id, &other, err);
	if (r == 2) {
		hull_error_set(err, 0, "%s '%s' matches several images: '%s' and '%s'", kind, input, id, other);
		free(id);
		if (err && *err)
			(*err)->status = EINVAL;
		return -1;
	}
	if (r == 1)
		*ret_id = id;
	return r;
}

static const char Q_BY_ID[] = "SELECT id FROM images WHERE id=?1";
static const char Q_BY_NAME[] = "SELECT image FROM image_names WHERE name=?1";
static const char Q_BY_NAME_SUFFIX[] =
	"SELECT image FROM image_names WHERE length(name) > length(?1) AND substr(name, -length(?1))=?1"
	" ORDER BY rowid";
static const char Q_BY_ID_PREFIX[] = "SELECT id FROM images WHERE id GLOB ?1 ORDER BY id LIMIT 2";
static const char Q_BY_REPO_DIGEST[] = "SELECT image FROM image_digests WHERE digest=?1";
static const char Q_REPO_DIGEST_SUFFIX[] =
	"SELECT image FROM image_digests WHERE length(digest) > length(?1) AND substr(digest, -length(?1))=?1";
static const char Q_BY_DIGEST[] = "SELECT image FROM image_digests WHERE digest=?1"
				  " UNION SELECT id FROM images WHERE manifest_digest=?1";
static const char Q_NAMES_OF[] = "SELECT name FROM image_names WHERE image=?1";

/* Whether image id has a name in repository repo (or, suffix, in a
 * repository ending with "/" suffix). */
static int image_has_repo(struct image_store *s, const char *id, const char *repo, const char *suffix,
			  hull_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, Q_NAMES_OF, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		_cleanup_free_ char *r = db_name_repository(db_col_str(st, 0));
		if (!r)
			return hull_error_set(err, ENOMEM, "look up image");
		size_t lr = strlen(r), ls = suffix ? strlen(suffix) : 0;
		if (strcmp(r, repo) == 0 || (suffix && lr > ls && strcmp(r + lr - ls, suffix) == 0))
			return 1;
	}
	if (rc != SQLITE_DONE)
		return db_fail(s, "look up image", err);
	return 0;
}

/* name@digest: a recorded repo digest, else an image with that manifest
 * digest and a name in that repository. */
static int resolve_digest_ref(struct image_store *s, const struct image_ref *ref, const char *input, char **ret_id,
			      hull_error **err)
{
	struct image_ref n = { 0 };
	if (ref_normalize(input, NULL, &n, err) < 0)
		return -1;
	_cleanup_free_ char *repo = ref_repository(&n);
	_cleanup_free_ char *rd = NULL, *suffix = NULL, *suffix_rd = NULL;
	ref_clear(&n);
	if (!repo || asprintf(&rd, "%s@%s", repo, ref->digest) < 0)
		return hull_error_set(err, ENOMEM, "look up image");
	int r = resolve_unique(s, Q_BY_REPO_DIGEST, rd, input, "reference", ret_id, err);
	if (r != 0)
		return r < 0 ? -1 : 1;
	if (!ref->domain) {
		if (asprintf(&suffix, "/%s", ref->path) < 0 || asprintf(&suffix_rd, "/%s@%s", ref->path, ref->digest) < 0)
			return hull_error_set(err, ENOMEM, "look up image");
		r = resolve_unique(s, Q_REPO_DIGEST_SUFFIX, suffix_rd, input, "reference", ret_id, err);
		if (r != 0)
			return r < 0 ? -1 : 1;
	}
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, Q_BY_DIGEST, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, ref->digest);
	_cleanup_strv_ char **cands = NULL;
	size_t nc = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (store_strv_push(&cands, &nc, db_col_str(st, 0)) < 0)
			return hull_error_set(err, ENOMEM, "look up image");
	if (rc != SQLITE_DONE)
		return db_fail(s, "look up image", err);
	sqlite3_reset(st);
	for (size_t i = 0; i < nc; i++) {
		r = image_has_repo(s, cands[i], repo, suffix, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			if (!(*ret_id = strdup(cands[i])))
				return hull_error_set(err, ENOMEM, "look up image");
			return 1;
		}
	}
	return 0;
}

/* A name without digest: normalised, then (short names) any name ending
 * with "/" path ":" tag. */
static int resolve_name_ref(struct image_store *s, const struct image_ref *ref, const char *input, char **ret_id,
			    hull_error **err)
{
	struct image_ref n = { 0 };
	if (ref_normalize(input, NULL, &n, err) < 0)
		return -1;
	_cleanup_free_ char *full = ref_string(&n);
	ref_clear(&n);
	if (!full)
		return hull_error_set(err, ENOMEM, "look up image");
	int r = resolve_unique(s, Q_BY_NAME, full, input, "name", ret_id, err);
	if (r != 0 || ref->domain)
		return r;
	_cleanup_free_ char *suffix = NULL;
	if (asprintf(&suffix, "/%s:%s", ref->path, ref->tag ? ref->tag : "latest") < 0)
		return hull_error_set(err, ENOMEM, "look up image");
	return resolve_unique(s, Q_BY_NAME_SUFFIX, suffix, input, "short name", ret_id, err);
}

static int resolve_id(struct image_store *s, const char *input, char **ret_id, hull_error **err)
{
	const char *hex = strncmp(input, "sha256:", 7) == 0 ? input + 7 : input;
	_cleanup_free_ char *full = NULL;
	if (asprintf(&full, "sha256:%s", hex) < 0)
		return hull_error_set(err, ENOMEM, "look up image");
	if (strlen(hex) == 64)
		return resolve_unique(s, Q_BY_ID, full, input, "id", ret_id, err);
	_cleanup_free_ char *glob = NULL;
	if (asprintf(&glob, "%s*", full) < 0)
		return hull_error_set(err, ENOMEM, "look up image");
	return resolve_unique(s, Q_BY_ID_PREFIX, glob, input, "id prefix", ret_id, err);
}

static int resolve_locked(struct image_store *s, const char *input, char **ret_id, hull_error **err)
{
	bool idlike = ref_is_id_prefix(input);
	int r;
	if (idlike && strlen(input) >= 64 && (r = resolve_id(s, input, ret_id, err)) != 0)
		return r;
	if ((r = resolve_unique(s, Q_BY_NAME, input, input, "name", ret_id, err)) != 0)
		return r;
	struct image_ref ref = { 0 };
	hull_error *perr = NULL;
	if (ref_parse(input, &ref, &perr) == 0) {
		r = ref.digest ? resolve_digest_ref(s, &ref, input, ret_id, err)
			       : resolve_name_ref(s, &ref, input, ret_id, err);
		ref_clear(&ref);
		if (r != 0)
			return r;
	}
	hull_error_free(perr);
	if (idlike && (r = resolve_id(s, input, ret_id, err)) != 0)
		return r;
	return 0;
}

int db_image_resolve(struct image_store *s, const char *name_or_id, char **ret_id, hull_error **err)
{
	if (!name_or_id || !*name_or_id)
		return db_not_known(name_or_id ? name_or_id : "", err);
	bool started;
	if (db_read_begin(s, &started, err) < 0)
		return -1;
	int r = resolve_locked(s, name_or_id, ret_id, err);
	db_read_end(s, started);
	if (r < 0)
		return -1;
	if (r == 0)
		return db_not_known(name_or_id, err);
	return 0;
}

int store_image_lookup(struct image_store *s, const char *name_or_id, struct image_record **ret, hull_error **err)
{
	bool started;
	if (db_read_begin(s, &started, err) < 0)
		return -1;
	_cleanup_free_ char *id = NULL;
	int r = db_image_resolve(s, name_or_id, &id, err);
	if (r == 0)
		r = db_image_load(s, id, ret, err);
	db_read_end(s, started);
	return r;
}

/* ---- creating and naming ---- */

/* Normalised name for storing: *ret_name "domain/path:tag" (NULL when the
 * reference is digest-only), *ret_repo_digest "domain/path@digest" or NULL. */
static int normalize_name(const char *name, char **ret_name, char **ret_repo_digest, hull_error **err)
{
	struct image_ref r = { 0 };
	if (ref_normalize(name, NULL, &r, err) < 0)
		return -1;
	*ret_name = NULL;
	*ret_repo_digest = NULL;
	_cleanup_free_ char *repo = ref_repository(&r);
	int ret = 0;
	if (!repo)
		ret = hull_error_set(err, ENOMEM, "normalize name");
	else if (r.tag && asprintf(ret_name, "%s:%s", repo, r.tag) < 0)
		ret = hull_error_set(err, ENOMEM, "normalize name");
	else if (r.digest && asprintf(ret_repo_digest, "%s@%s", repo, r.digest) < 0)
		ret = hull_error_set(err, ENOMEM, "normalize name");
	ref_clear(&r);
	if (ret < 0) {
		free(*ret_name);
		*ret_name = NULL;
	}
	return ret;
}

static int add_digest_row(struct image_store *s, const char *id, const char *digest, hull_error **err)
{
	static const char sql[] = "INSERT OR IGNORE INTO image_digests(image, digest) VALUES(?1, ?2)";
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, digest);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "record image digest", err);
	return 0;
}

/* Give name to image id, taking it from any other image (transaction open). */
static int move_name(struct image_store *s, const char *id, const char *name, hull_error **err)
{
	static const char q_del[] = "DELETE FROM image_names WHERE name=?1 AND image<>?2";
	static const char q_ins[] = "INSERT OR IGNORE INTO image_names(name, image) VALUES(?1, ?2)";
	_cleanup_free_ char *norm = NULL, *repo_digest = NULL;
	if (normalize_name(name, &norm, &repo_digest, err) < 0)
		return -1;
	if (repo_digest && add_digest_row(s, id, repo_digest, err) < 0)
		return -1;
	if (!norm)
		return 0;
	const char *qs[2] = { q_del, q_ins };
	for (int i = 0; i < 2; i++) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (db_stmt(s, qs[i], &st, err) < 0)
			return -1;
		db_bind_text(st, 1, norm);
		db_bind_text(st, 2, id);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(s, "name image", err);
	}
	return 0;
}

/* Checks made before the transaction: blobs there, layers a chain. */
static int check_image_parts(struct image_store *s, const char *config_digest, const char *manifest_digest,
			     char *const *layers, uint64_t *ret_size, hull_error **err)
{
	if (digest_check(config_digest, "image config", err) < 0 ||
	    digest_check(manifest_digest, "image manifest", err) < 0)
		return -1;
	if (!store_blob_exists(s, config_digest))
		return hull_error_set(err, ENOENT, "config blob '%s' not in store", config_digest);
	if (!store_blob_exists(s, manifest_digest))
		return hull_error_set(err, ENOENT, "manifest blob '%s' not in store", manifest_digest);
	uint64_t size = 0;
	for (size_t i = 0; layers && layers[i]; i++) {
		struct layer_info *l = NULL;
		if (store_layer_get(s, layers[i], &l, err) < 0)
			return -1;
		if (!l)
			return hull_error_set(err, ENOENT, "layer '%s' not in store", layers[i]);
		bool chain_ok = i == 0 ? l->parent == NULL : (l->parent && strcmp(l->parent, layers[i - 1]) == 0);
		size += l->unpacked_size;
		layer_info_free(l);
		if (!chain_ok)
			return hull_error_set(err, EINVAL, "layer '%s' is not the child of the layer before it", layers[i]);
	}
	*ret_size = size;
	return 0;
}

static int config_created(struct image_store *s, const char *config_digest, char **ret, hull_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (store_blob_read(s, config_digest, STORE_JSON_MAX, &data, &len, err) < 0)
		return -1;
	json_error_t jerr;
	json_t *j = json_loadb(data, len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return hull_error_set(err, EINVAL, "config '%s': not a JSON object", config_digest);
	}
	const char *c = json_string_value(json_object_get(j, "created"));
	*ret = strdup(c ? c : "");
	json_decref(j);
	return *ret ? 0 : hull_error_set(err, ENOMEM, "read config");
}

static int fsync_at(struct image_store *s, const char *rel, int flags, hull_error **err)
{
	_cleanup_close_ int fd = openat(s->root_fd, rel, flags | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return hull_error_set(err, errno, "sync '%s/%s'", s->root, rel);
	return 0;
}

/* Blobs and layers are written without fsync; make what the image needs
 * durable before the commit that makes it visible. */
static int sync_parts(struct image_store *s, const char *config_digest, const char *manifest_digest,
		      hull_error **err)
{
	char rel[96];
	const char *d[2] = { config_digest, manifest_digest };
	/* directories first: on a journalling filesystem their commit carries
	 * the files' data along, and the files' own syncs are then cheap */
	if (fsync_at(s, store_layers_dir(s), O_RDONLY | O_DIRECTORY, err) < 0 ||
	    fsync_at(s, "blobs/sha256", O_RDONLY | O_DIRECTORY, err) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), "blobs/sha256/%s", digest_hex(d[i]));
		if (fsync_at(s, rel, O_RDONLY, err) < 0)
			return -1;
	}
	return 0;
}

static int insert_image(struct image_store *s, const char *id, const char *manifest_digest, const char *media_type,
			const char *created, uint64_t size, char *const *layers, hull_error **err)
{
	static const char q_img[] = "INSERT INTO images(id, manifest_digest, manifest_media_type, created, added, size)"
				    " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
	static const char q_lay[] = "INSERT INTO image_layers(image, idx, chain_id) VALUES(?1, ?2, ?3)";
	char now[40];
	store_now_rfc3339(now);
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, q_img, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, manifest_digest);
	db_bind_text(st, 3, media_type);
	db_bind_text(st, 4, created);
	db_bind_text(st, 5, now);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)size);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "insert image", err);
	for (size_t i = 0; layers && layers[i]; i++) {
		_cleanup_stmt_ sqlite3_stmt *sl = NULL;
		if (db_stmt(s, q_lay, &sl, err) < 0)
			return -1;
		db_bind_text(sl, 1, id);
		sqlite3_bind_int(sl, 2, (int)i);
		db_bind_text(sl, 3, layers[i]);
		if (sqlite3_step(sl) != SQLITE_DONE)
			return db_fail(s, "insert image layers", err);
	}
	return 0;
}

static int image_exists(struct image_store *s, const char *id, hull_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, Q_BY_ID, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(s, "look up image", err);
}

static int create_txn(struct image_store *s, const char *id, const char *manifest_digest, const char *media_type,
		      const char *created, uint64_t size, char *const *layers, char *const *names, hull_error **err)
{
	int ex = image_exists(s, id, err);
	if (ex < 0)
		return -1;
	if (!ex && insert_image(s, id, manifest_digest, media_type, created, size, layers, err) < 0)
		return -1;
	if (add_digest_row(s, id, manifest_digest, err) < 0)
		return -1;
	for (size_t i = 0; names && names[i]; i++)
		if (move_name(s, id, names[i], err) < 0)
			return hull_error_wrap(err, "name '%s'", names[i]);
	if (db_unpin(s, id, err) < 0 || db_unpin(s, manifest_digest, err) < 0)
		return -1;
	for (size_t i = 0; layers && layers[i]; i++)
		if (db_unpin(s, layers[i], err) < 0)
			return -1;
	return 0;
}

int store_image_create(struct image_store *s, const char *config_digest, const char *manifest_digest,
		       const char *manifest_media_type, char *const *layer_chain_ids, char *const *names,
		       struct image_record **ret, hull_error **err)
{
	_cleanup_free_ char *created = NULL;
	uint64_t size = 0;
	if (!manifest_media_type || !*manifest_media_type)
		manifest_media_type = "application/vnd.oci.image.manifest.v1+json";
	if (store_lock(s, err) < 0)
		return hull_error_wrap(err, "create image '%s'", config_digest ? config_digest : "");
	int r = check_image_parts(s, config_digest, manifest_digest, layer_chain_ids, &size, err);
	if (r == 0)
		r = config_created(s, config_digest, &created, err);
	if (r == 0)
		r = sync_parts(s, config_digest, manifest_digest, err);
	if (r == 0 && (r = db_begin_durable(s, err)) == 0) {
		r = create_txn(s, config_digest, manifest_digest, manifest_media_type, created, size, layer_chain_ids,
			       names, err);
		r = r < 0 ? (db_rollback(s), -1) : db_commit(s, err);
	}
	store_unlock(s);
	if (r < 0)
		return hull_error_wrap(err, "create image '%s'", config_digest ? config_digest : "");
	if (ret && db_image_load(s, config_digest, ret, err) < 0)
		return -1;
	return 0;
}

int store_image_tag(struct image_store *s, const char *id, const char *name, hull_error **err)
{
	if (store_lock(s, err) < 0)
		return hull_error_wrap(err, "tag '%s'", id);
	_cleanup_free_ char *full = NULL;
	int r = db_image_resolve(s, id, &full, err);
	if (r == 0 && (r = db_begin_durable(s, err)) == 0) {
		r = move_name(s, full, name, err);
		r = r < 0 ? (db_rollback(s), -1) : db_commit(s, err);
	}
	store_unlock(s);
	return r < 0 ? hull_error_wrap(err, "tag '%s' as '%s'", id, name) : 0;
}

/* Delete name (as given, normalised, or a name of the image ending in
 * "/" + short name) from image id; 1 if removed, 0 if no such name. */
static int untag_one(struct image_store *s, const char *id, const char *name, hull_error **err)
{
	static const char q_del[] = "DELETE FROM image_names WHERE name=?1 AND image=?2";
	_cleanup_strv_ char **cands = NULL;
	size_t nc = 0;
	if (store_strv_push(&cands, &nc, name) < 0)
		return hull_error_set(err, ENOMEM, "untag");
	struct image_ref ref = { 0 };
	hull_error *perr = NULL;
	if (ref_parse(name, &ref, &perr) == 0 && !ref.digest) {
		struct image_ref n = { 0 };
		if (ref_normalize(name, NULL, &n, &perr) == 0) {
			_cleanup_free_ char *full = ref_string(&n);
			if (full && store_strv_push(&cands, &nc, full) < 0)
				nc = 0;
			ref_clear(&n);
		}
	}
	hull_error_free(perr);
	for (size_t i = 0; i < nc; i++) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (db_stmt(s, q_del, &st, err) < 0) {
			ref_clear(&ref);
			return -1;
		}
		db_bind_text(st, 1, cands[i]);
		db_bind_text(st, 2, id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			ref_clear(&ref);
			return db_fail(s, "untag", err);
		}
		if (sqlite3_changes(s->db) > 0) {
			ref_clear(&ref);
			return 1;
		}
	}
	int r = 0;
	if (ref.path && !ref.domain && !ref.digest) {
		static const char q_suffix[] = "DELETE FROM image_names WHERE image=?2 AND length(name) > length(?1)"
					       " AND substr(name, -length(?1))=?1";
		_cleanup_free_ char *suffix = NULL;
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (asprintf(&suffix, "/%s:%s", ref.path, ref.tag ? ref.tag : "latest") < 0)
			r = hull_error_set(err, ENOMEM, "untag");
		else if (db_stmt(s, q_suffix, &st, err) < 0)
			r = -1;
		else {
			db_bind_text(st, 1, suffix);
			db_bind_text(st, 2, id);
			if (sqlite3_step(st) != SQLITE_DONE)
				r = db_fail(s, "untag", err);
			else
				r = sqlite3_changes(s->db) > 0 ? 1 : 0;
		}
	}
	ref_clear(&ref);
	return r;
}

static int untag_txn(struct image_store *s, const char *id, const char *name, hull_error **err)
{
	if (!name) {
		static const char q_all[] = "DELETE FROM image_names WHERE image=?1";
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		if (db_stmt(s, q_all, &st, err) < 0)
			return -1;
		db_bind_text(st, 1, id);
		if (sqlite3_step(st) != SQLITE_DONE)
			return db_fail(s, "untag", err);
		return 0;
	}
	int r = untag_one(s, id, name, err);
	if (r == 0) {
		hull_error_set(err, 0, "name '%s' not known", name);
		if (err && *err)
			(*err)->status = ENOENT;
		return -1;
	}
	return r < 0 ? -1 : 0;
}

int store_image_untag(struct image_store *s, const char *id, const char *name, hull_error **err)
{
	if (store_lock(s, err) < 0)
		return hull_error_wrap(err, "untag '%s'", id);
	_cleanup_free_ char *full = NULL;
	int r = db_image_resolve(s, id, &full, err);
	if (r == 0 && (r = db_begin_durable(s, err)) == 0) {
		r = untag_txn(s, full, name, err);
		r = r < 0 ? (db_rollback(s), -1) : db_commit(s, err);
	}
	store_unlock(s);
	return r < 0 ? hull_error_wrap(err, "untag '%s'", id) : 0;
}

/* ---- holds ---- */

static int simple_write(struct image_store *s, const char *sql, const char *a1, const char *a2, const char *what,
			hull_error **err)
{
	if (db_begin_durable(s, err) < 0)
		return -1;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0) {
		db_rollback(s);
		return -1;
	}
	db_bind_text(st, 1, a1);
	if (a2)
		db_bind_text(st, 2, a2);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_fail(s, what, err);
		db_rollback(s);
		return -1;
	}
	return db_commit(s, err);
}

int store_image_hold(struct image_store *s, const char *id, const char *holder, hull_error **err)
{
	static const char sql[] = "INSERT OR IGNORE INTO image_holds(holder, image) VALUES(?1, ?2)";
	if (!holder || !*holder)
		return hull_error_set(err, EINVAL, "hold image '%s': empty holder", id);
	if (store_lock(s, err) < 0)
		return hull_error_wrap(err, "hold image '%s'", id);
	_cleanup_free_ char *full = NULL;
	int r = db_image_resolve(s, id, &full, err);
	if (r == 0)
		r = simple_write(s, sql, holder, full, "hold image", err);
	store_unlock(s);
	return r < 0 ? hull_error_wrap(err, "hold image '%s'", id) : 0;
}

int store_image_release(struct image_store *s, const char *holder, hull_error **err)
{
	static const char sql[] = "DELETE FROM image_holds WHERE holder=?1";
	if (store_lock(s, err) < 0)
		return hull_error_wrap(err, "release images held by '%s'", holder);
	int r = simple_write(s, sql, holder, NULL, "release images", err);
	store_unlock(s);
	return r < 0 ? hull_error_wrap(err, "release images held by '%s'", holder) : 0;
}

int store_image_holders(struct image_store *s, const char *id, size_t *ret_n, hull_error **err)
{
	static const char sql[] = "SELECT count(*) FROM image_holds WHERE image=?1";
	_cleanup_free_ char *full = NULL;
	if (db_image_resolve(s, id, &full, err) < 0)
		return -1;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	db_bind_text(st, 1, full);
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(s, "count image holders", err);
	*ret_n = (size_t)sqlite3_column_int64(st, 0);
	return 0;
}

/* ---- config and manifest ---- */

static int read_json_blob(struct image_store *s, const char *digest, const char *what, json_t **ret, hull_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (store_blob_read(s, digest, STORE_JSON_MAX, &data, &len, err) < 0)
		return hull_error_wrap(err, "read %s", what);
	json_error_t jerr;
	json_t *j = json_loadb(data, len, 0, &jerr);
	if (!j)
		return hull_error_set(err, EINVAL, "read %s '%s': line %d: %s", what, digest, jerr.line, jerr.text);
	*ret = j;
	return 0;
}

int store_image_config(struct image_store *s, const struct image_record *r, json_t **ret, hull_error **err)
{
	return read_json_blob(s, r->id, "image config", ret, err);
}

int store_image_manifest(struct image_store *s, const struct image_record *r, json_t **ret, hull_error **err)
{
	return read_json_blob(s, r->manifest_digest, "image manifest", ret, err);
}
