// SPDX-License-Identifier: MIT
#include "fence.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "sock_addr.skel.h"
#include "sock_create.skel.h"
#include "skb.skel.h"
#include "level.skel.h"
#include "cgroup.h"
#include <netinet/in.h>
#include <sys/socket.h>

static const char *const map_names[FENCE_MAP_MAX] = {
#define FENCE_MAP_NAME(id, name) [FENCE_MAP_##id] = name,
	FENCE_MAPS(FENCE_MAP_NAME)
#undef FENCE_MAP_NAME
};

_Static_assert(MCPF_CNT_DENY - MCPF_CNT_ALLOW == MCPF_VERDICT_DENY &&
		       MCPF_CNT_AUDIT - MCPF_CNT_ALLOW == MCPF_VERDICT_AUDIT, "counters in verdict order");

static const char *const counter_names[MCPF_CNT_MAX] = {
#define MCPF_COUNTER_NAME(id, name, help) [MCPF_CNT_##id] = name,
	MCPF_COUNTERS(MCPF_COUNTER_NAME)
#undef MCPF_COUNTER_NAME
};

const char *fence_counter_name(int idx)
{
	return idx >= 0 && idx < MCPF_CNT_MAX ? counter_names[idx] : "?";
}

/* Mount bpffs at /sys/fs/bpf when nothing is mounted there, then create our directory. */
int fence_bpffs_ensure(const char *bpffs)
{
	struct statfs sfs;

	if (!strncmp(bpffs, "/sys/fs/bpf/", 12) &&
	    (statfs("/sys/fs/bpf", &sfs) < 0 || sfs.f_type != BPF_FS_MAGIC)) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0)
			return -errno;
	}
	if (mkdir_p(bpffs, 0700) < 0)
		return -errno;
	if (statfs(bpffs, &sfs) < 0)
		return -errno;
	return sfs.f_type == BPF_FS_MAGIC ? 0 : -ENOTDIR;
}

void fence_close(struct fence *f)
{
	if (!f)
		return;
	if (f->skel[0] || f->skel[1] || f->skel[2]) {
		/* the skeletons own the map fds */
		sock_addr_bpf__destroy(f->skel[0]);
		sock_create_bpf__destroy(f->skel[1]);
		skb_bpf__destroy(f->skel[2]);
	} else {
		for (size_t i = 0; i < FENCE_MAP_MAX; i++)
			if (f->fd[i] >= 0)
				close(f->fd[i]);
	}
	free(f->bpffs);
	free(f);
}

static struct fence *fence_new(const char *bpffs)
{
	struct fence *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	for (size_t i = 0; i < FENCE_MAP_MAX; i++)
		f->fd[i] = -1;
	f->bpffs = strdup(bpffs);
	if (!f->bpffs) {
		free(f);
		return NULL;
	}
	return f;
}

int fence_open_pinned(const char *bpffs, struct fence **ret)
{
	_cleanup_(fence_closep) struct fence *f = fence_new(bpffs);

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < FENCE_MAP_MAX; i++) {
		_cleanup_free_ char *path = strdup_printf("%s/%s", bpffs, map_names[i]);

		if (!path)
			return -ENOMEM;
		f->fd[i] = bpf_obj_get(path);
		if (f->fd[i] < 0)
			return -errno;
	}
	*ret = TAKE_PTR(f);
	return 0;
}

/* The knobs and sizes every object shares; the rodata layouts are identical by construction. */
#define SKEL_CONFIGURE(s, p)                                                                       \
	do {                                                                                       \
		(s)->rodata->root_cgroup_id = (p)->root_id;                                        \
		(s)->rodata->root_level = (p)->root_level;                                         \
		(s)->rodata->unbound_action = (p)->unbound;                                        \
		(s)->rodata->deny_raw = (p)->deny_raw;                                             \
		(s)->rodata->deny_mptcp = (p)->deny_mptcp;                                         \
		(s)->rodata->rate_limit = (p)->rate_limit;                                         \
		(s)->rodata->dns_enabled = (p)->dns;                                               \
		(s)->rodata->dns_ttl_floor_ns = (p)->dns_ttl_floor_ns;                             \
		(s)->rodata->dns_ttl_cap_ns = (p)->dns_ttl_cap_ns;                                 \
		(s)->rodata->dns_grace_ns = (p)->dns_grace_ns;                                     \
		(s)->rodata->dns_cap_per_name = (p)->dns_cap_per_name;                             \
		(s)->rodata->dns_cap_per_policy = (p)->dns_cap_per_policy;                         \
		(s)->rodata->dns_queries_per_second = (p)->dns_queries_per_second;                 \
		(s)->rodata->dns_new_names_per_minute = (p)->dns_new_names_per_minute;             \
		bpf_map__set_max_entries((s)->maps.mcpf_trie4, (p)->max_prefixes);                \
		bpf_map__set_max_entries((s)->maps.mcpf_trie6, (p)->max_prefixes);                \
	} while (0)

static int link_pin_path(const char *bpffs, const struct bpf_program *prog, char **ret)
{
	*ret = strdup_printf("%s/link_%s", bpffs, bpf_program__name(prog));
	return *ret ? 0 : -ENOMEM;
}

static int link_cgroup_id(int link_fd, uint64_t *ret)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(link_fd, &info, &len) < 0)
		return -errno;
	*ret = info.cgroup.cgroup_id;
	return 0;
}

/*
 * Attach every program of an object to the root with a link pinned under bpffs. Where a link is
 * pinned already (an earlier agent), swap the program inside it: the hook is never empty.
 */
static int object_attach(struct fence *f, const struct fence_params *p, struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		_cleanup_free_ char *pin = NULL;
		_cleanup_close_ int fd = -1;
		struct bpf_link *link;
		uint64_t cg = 0;
		int r;

		if (fence_prog_is_tail(prog))
			continue;
		r = link_pin_path(f->bpffs, prog, &pin);
		if (r < 0)
			return r;
		fd = bpf_obj_get(pin);
		if (fd >= 0) {
			r = link_cgroup_id(fd, &cg);
			if (r < 0)
				return r;
			if (cg != p->root_id)
				return -EXDEV;
			if (bpf_link_update(fd, bpf_program__fd(prog), NULL) < 0)
				return -errno;
			f->reused_links = true;
			continue;
		}
		link = bpf_program__attach_cgroup(prog, p->root_fd);
		if (!link)
			return -errno;
		r = bpf_link__pin(link, pin);
		bpf_link__destroy(link); /* the pin holds the attachment */
		if (r < 0)
			return r;
	}
	return 0;
}

int fence_load(const struct fence_params *p, struct fence **ret)
{
	_cleanup_(fence_closep) struct fence *f = fence_new(p->bpffs);
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = p->bpffs);
	struct sock_addr_bpf *sa;
	struct sock_create_bpf *sc;
	struct skb_bpf *sk;
	int r;

	if (!f)
		return -ENOMEM;
	r = fence_bpffs_ensure(p->bpffs);
	if (r < 0)
		return r;

	f->skel[0] = sa = sock_addr_bpf__open_opts(&opts);
	f->skel[1] = sc = sock_create_bpf__open_opts(&opts);
	f->skel[2] = sk = skb_bpf__open_opts(&opts);
	if (!sa || !sc || !sk)
		return -errno ? -errno : -EINVAL;
	SKEL_CONFIGURE(sa, p);
	SKEL_CONFIGURE(sc, p);
	SKEL_CONFIGURE(sk, p);
	/* loading pins the maps by name; the second and third objects reuse them */
	if ((r = sock_addr_bpf__load(sa)) < 0 || (r = sock_create_bpf__load(sc)) < 0 ||
	    (r = skb_bpf__load(sk)) < 0)
		return r;

	for (size_t i = 0; i < FENCE_MAP_MAX; i++) {
		/* pinned, so one instance for all objects: found in the first that defines it */
		struct bpf_map *m = bpf_object__find_map_by_name(sa->obj, map_names[i]);

		if (!m)
			m = bpf_object__find_map_by_name(sk->obj, map_names[i]);
		f->fd[i] = m ? bpf_map__fd(m) : -1;
		if (f->fd[i] < 0)
			return -ENOENT;
	}

	if ((r = object_attach(f, p, sa->obj)) < 0 || (r = object_attach(f, p, sc->obj)) < 0 ||
	    (r = object_attach(f, p, sk->obj)) < 0)
		return r;
	*ret = TAKE_PTR(f);
	return 0;
}

bool fence_prog_is_tail(const struct bpf_program *prog)
{
	return !strncmp(bpf_program__name(prog), "mcpf_tail_", 10);
}

int fence_attached_root(const char *bpffs, uint64_t *ret)
{
	_cleanup_free_ char *pin = strdup_printf("%s/link_mcpf_connect4", bpffs);
	_cleanup_close_ int fd = -1;

	*ret = 0;
	if (!pin)
		return -ENOMEM;
	fd = bpf_obj_get(pin);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	return link_cgroup_id(fd, ret);
}

int fence_uninstall(const char *bpffs)
{
	DIR *d = opendir(bpffs);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	/* links first, so no program runs against maps that are going away */
	for (int pass = 0; pass < 2; pass++) {
		rewinddir(d);
		while ((de = readdir(d))) {
			_cleanup_free_ char *path = NULL;
			bool is_link = !strncmp(de->d_name, "link_", 5);

			if (de->d_name[0] == '.' || is_link != (pass == 0))
				continue;
			path = strdup_printf("%s/%s", bpffs, de->d_name);
			if (!path) {
				r = -ENOMEM;
				continue;
			}
			if (is_link) {
				_cleanup_close_ int fd = bpf_obj_get(path);

				if (fd >= 0 && bpf_link_detach(fd) < 0 && errno != EINVAL && !r)
					r = -errno;
			}
			if (unlink(path) < 0 && !r)
				r = -errno;
		}
	}
	closedir(d);
	if (rmdir(bpffs) < 0 && errno != ENOENT && !r)
		r = -errno;
	return r;
}

/* One socket from inside the scratch cgroup, nothing else. */
static int make_one_socket(void *ud)
{
	(void)ud;
	return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) < 0;
}

int fence_cgroup_real_level(const char *dir_abs, uint64_t dir_id, uint32_t *ret_level)
{
	_cleanup_free_ char *scratch = strdup_printf("%s/.mcpfence-level-%d", dir_abs, (int)getpid());
	struct level_bpf *skel = NULL;
	struct bpf_link *link = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!scratch)
		return -ENOMEM;
	r = cgroup_create(scratch);
	if (r < 0)
		return r;
	fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	skel = level_bpf__open_and_load();
	if (fd < 0 || !skel) {
		r = -errno;
		goto out;
	}
	link = bpf_program__attach_cgroup(skel->progs.mcpf_level_probe, fd);
	if (!link) {
		r = -errno;
		goto out;
	}
	r = cgroup_run_child(scratch, make_one_socket, NULL);
	if (r < 0)
		goto out;
	if (r == 126) { /* could not join: outside our cgroup namespace */
		r = -EXDEV;
		goto out;
	}
	r = -ENOENT;
	for (uint32_t i = 0; i < MCPF_LEVEL_MAX; i++) {
		uint64_t id = 0;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.mcpf_level_ids), &i, &id) < 0 || !id)
			break;
		if (id == dir_id) {
			*ret_level = i;
			r = 0;
			break;
		}
	}
out:
	bpf_link__destroy(link);
	level_bpf__destroy(skel);
	cgroup_remove(scratch);
	return r;
}

/* After every change to the bindings: the verdicts sockets cached stop being trusted. Only the
 * agent writes bindings, one change at a time, so read-increment-write is enough. */
/* Map walks. A key buffer fits every map's key; a walk never deletes as it goes (deleting
 * restarts a hash or trie walk): it collects, then deletes. */
#define MAP_KEY_MAX 320
_Static_assert(sizeof(struct mcpf_trie6_key) <= MAP_KEY_MAX && sizeof(struct mcpf_name_key) <= MAP_KEY_MAX &&
		       sizeof(struct mcpf_learned_key) <= MAP_KEY_MAX &&
		       sizeof(struct mcpf_resolver_key) <= MAP_KEY_MAX,
	       "a map key outgrew the walk's buffer");

typedef int (*map_walk_fn)(const void *key, const void *value, void *ud);

/* fn(key, value) for every key in the kernel's order, the value read into `value` (NULL: keys
 * only); a key deleted meanwhile is skipped. Stops at fn's first error. */
static int map_walk(int fd, size_t key_size, void *value, map_walk_fn fn, void *ud)
{
	uint64_t cur[MAP_KEY_MAX / 8], next[MAP_KEY_MAX / 8];
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		int r;

		memcpy(cur, next, key_size);
		prev = cur;
		if (value && bpf_map_lookup_elem(fd, cur, value) < 0)
			continue;
		r = fn(cur, value, ud);
		if (r < 0)
			return r;
	}
	return 0;
}

struct map_collect {
	bool (*match)(const void *key, const void *value, void *ud);
	void *ud;
	size_t key_size, n, cap;
	uint8_t *keys;
};

static int collect_one(const void *key, const void *value, void *ud)
{
	struct map_collect *c = ud;

	if (!c->match(key, value, c->ud))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		uint8_t *nk = realloc(c->keys, cap * c->key_size);

		if (!nk)
			return -ENOMEM;
		c->keys = nk;
		c->cap = cap;
	}
	memcpy(c->keys + c->n++ * c->key_size, key, c->key_size);
	return 0;
}

/* The keys that match, into *ret (owned, n of them). */
static int map_collect(int fd, size_t key_size, void *value,
		       bool (*match)(const void *key, const void *value, void *ud), void *ud,
		       uint8_t **ret, size_t *n)
{
	struct map_collect c = { .match = match, .ud = ud, .key_size = key_size };
	int r = map_walk(fd, key_size, value, collect_one, &c);

	if (r < 0) {
		free(c.keys);
		return r;
	}
	*ret = c.keys;
	*n = c.n;
	return 0;
}

/* Delete every key that matches. */
static int map_delete_where(int fd, size_t key_size, void *value,
			    bool (*match)(const void *key, const void *value, void *ud), void *ud)
{
	_cleanup_free_ uint8_t *keys = NULL;
	size_t n = 0;
	int r = map_collect(fd, key_size, value, match, ud, &keys, &n);

	for (size_t i = 0; r == 0 && i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
	return r;
}

/* The typed walks below hand a typed callback its key and value through this. */
struct typed_walk {
	void *fn;
	void *ud;
};

/* name(f, fn, ud): fn(id, value, ud) for each entry of a map keyed by an integer id (the
 * declarations, with what each walks, are in fence.h). */
#define FENCE_FOREACH(name, map, id_t, value_t)                                                    \
	static int name##_one(const void *key, const void *value, void *ud)                        \
	{                                                                                          \
		const struct typed_walk *w = ud;                                                   \
		int (*fn)(id_t, const value_t *, void *) = w->fn;                                  \
		id_t id;                                                                           \
                                                                                                   \
		memcpy(&id, key, sizeof(id));                                                      \
		return fn(id, value, w->ud);                                                       \
	}                                                                                          \
	int name(struct fence *f, int (*fn)(id_t, const value_t *, void *), void *ud)             \
	{                                                                                          \
		value_t v;                                                                         \
                                                                                                   \
		return map_walk(f->fd[map], sizeof(id_t), &v, name##_one,                          \
				&(struct typed_walk){ .fn = (void *)fn, .ud = ud });                \
	}

static void bindings_changed(struct fence *f)
{
	uint32_t zero = 0, gen = 0;

	bpf_map_lookup_elem(f->fd[FENCE_MAP_BINDINGS_GEN], &zero, &gen);
	gen++;
	bpf_map_update_elem(f->fd[FENCE_MAP_BINDINGS_GEN], &zero, &gen, BPF_ANY);
}

int fence_binding_put(struct fence *f, uint64_t cgroup_id, const struct mcpf_binding *b)
{
	if (bpf_map_update_elem(f->fd[FENCE_MAP_BINDINGS], &cgroup_id, b, BPF_ANY) < 0)
		return -errno;
	bindings_changed(f);
	return 0;
}

int fence_binding_get(struct fence *f, uint64_t cgroup_id, struct mcpf_binding *b)
{
	return bpf_map_lookup_elem(f->fd[FENCE_MAP_BINDINGS], &cgroup_id, b) < 0 ? -errno : 0;
}

int fence_binding_del(struct fence *f, uint64_t cgroup_id)
{
	if (bpf_map_delete_elem(f->fd[FENCE_MAP_BINDINGS], &cgroup_id) < 0) {
		if (errno != ENOENT)
			return -errno;
		return 0;
	}
	bindings_changed(f);
	return 0;
}

FENCE_FOREACH(fence_binding_foreach, FENCE_MAP_BINDINGS, uint64_t, struct mcpf_binding)

int fence_identity_put(struct fence *f, uint32_t id, const struct mcpf_identity *ident)
{
	return bpf_map_update_elem(f->fd[FENCE_MAP_IDENTITIES], &id, ident, BPF_ANY) < 0 ? -errno : 0;
}

int fence_identity_get(struct fence *f, uint32_t id, struct mcpf_identity *ident)
{
	if (bpf_map_lookup_elem(f->fd[FENCE_MAP_IDENTITIES], &id, ident) < 0)
		return -errno;
	ident->iss[sizeof(ident->iss) - 1] = ident->sub[sizeof(ident->sub) - 1] = '\0';
	return 0;
}

void fence_identity_del(struct fence *f, uint32_t id)
{
	bpf_map_delete_elem(f->fd[FENCE_MAP_IDENTITIES], &id);
}

static int identity_max(const void *key, const void *value, void *ud)
{
	uint32_t id, *max = ud;

	memcpy(&id, key, sizeof(id));
	if (id > *max)
		*max = id;
	return 0;
}

uint32_t fence_identity_next(struct fence *f)
{
	uint32_t max = 0;

	map_walk(f->fd[FENCE_MAP_IDENTITIES], sizeof(uint32_t), NULL, identity_max, &max);
	return max + 1;
}

void fence_ratelimit_del(struct fence *f, uint64_t cgroup_id)
{
	bpf_map_delete_elem(f->fd[FENCE_MAP_RATELIMIT], &cgroup_id);
}

FENCE_FOREACH(fence_ratelimit_foreach, FENCE_MAP_RATELIMIT, uint64_t, struct mcpf_ratelimit)

static void key4_fill(struct mcpf_trie4_key *k, uint32_t slot, uint8_t plen, const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + plen;
	k->slot = slot;
	memcpy(k->addr, addr, 4);
}

static void key6_fill(struct mcpf_trie6_key *k, uint32_t slot, uint8_t plen, const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + plen;
	k->slot = slot;
	memcpy(k->addr, addr, 16);
}

struct trie6_job {
	struct fence *f;
	uint32_t slot;
	const struct policy_compiled *c;
	int r;
};

static void *write_trie6(void *arg)
{
	struct trie6_job *j = arg;

	for (size_t i = 0; i < j->c->n6 && !j->r; i++) {
		struct mcpf_trie6_key k;

		key6_fill(&k, j->slot, j->c->v6[i].plen, j->c->v6[i].addr);
		if (bpf_map_update_elem(j->f->fd[FENCE_MAP_TRIE6], &k, &j->c->v6[i].allow, BPF_ANY) < 0)
			j->r = -errno;
	}
	return NULL;
}

/* The two tries take separate locks in the kernel: write them from two threads at once. */
int fence_slot_write(struct fence *f, uint32_t slot, const struct policy_compiled *c)
{
	struct trie6_job j6 = { .f = f, .slot = slot, .c = c };
	pthread_t th;
	bool threaded = c->n4 > 1024 && c->n6 > 1024 && pthread_create(&th, NULL, write_trie6, &j6) == 0;
	int r = 0;

	for (size_t i = 0; i < c->n4 && !r; i++) {
		struct mcpf_trie4_key k;

		key4_fill(&k, slot, c->v4[i].plen, c->v4[i].addr);
		if (bpf_map_update_elem(f->fd[FENCE_MAP_TRIE4], &k, &c->v4[i].allow, BPF_ANY) < 0)
			r = -errno;
	}
	if (threaded)
		pthread_join(th, NULL);
	else
		write_trie6(&j6);
	if (r == 0)
		r = j6.r;
	for (size_t i = 0; i < c->nnames && !r; i++) {
		struct mcpf_name_key k = c->names[i].key;

		k.slot = slot;
		if (bpf_map_update_elem(f->fd[FENCE_MAP_NAMES], &k, &c->names[i].val, BPF_ANY) < 0)
			r = -errno;
	}
	/* last: its presence is what tells the programs that the slot has names */
	if (c->has_names && !r && bpf_map_update_elem(f->fd[FENCE_MAP_SLOT_NAMES], &slot, &c->rules, BPF_ANY) < 0)
		r = -errno;
	if (r < 0)
		fence_slot_delete(f, slot, NULL);
	return r;
}

/* A trie key of the slot (both tries keep it after the prefix length) */
static bool trie_key_in_slot(const void *key, const void *value, void *ud)
{
	uint32_t ks;

	_Static_assert(offsetof(struct mcpf_trie4_key, slot) == 4 && offsetof(struct mcpf_trie6_key, slot) == 4,
		       "trie keys keep the slot at offset 4");
	memcpy(&ks, (const uint8_t *)key + 4, sizeof(ks));
	return ks == *(const uint32_t *)ud;
}

static bool name_key_in_slot(const void *key, const void *value, void *ud)
{
	return ((const struct mcpf_name_key *)key)->slot == *(const uint32_t *)ud;
}


int fence_slot_delete(struct fence *f, uint32_t slot, const struct policy_keys *known)
{
	/* first: the programs stop treating the slot as one with names */
	bpf_map_delete_elem(f->fd[FENCE_MAP_SLOT_NAMES], &slot);
	if (!known) {
		int r = map_delete_where(f->fd[FENCE_MAP_TRIE4], sizeof(struct mcpf_trie4_key), NULL, trie_key_in_slot, &slot);

		if (r == 0)
			r = map_delete_where(f->fd[FENCE_MAP_TRIE6], sizeof(struct mcpf_trie6_key), NULL, trie_key_in_slot, &slot);
		return r < 0 ? r : map_delete_where(f->fd[FENCE_MAP_NAMES], sizeof(struct mcpf_name_key), NULL,
						    name_key_in_slot, &slot);
	}
	for (size_t i = 0; i < known->nnames; i++) {
		struct mcpf_name_key k = known->names[i];

		k.slot = slot;
		bpf_map_delete_elem(f->fd[FENCE_MAP_NAMES], &k);
	}
	for (size_t i = 0; i < known->n4; i++) {
		struct mcpf_trie4_key k;

		key4_fill(&k, slot, known->v4[i].plen, known->v4[i].addr);
		bpf_map_delete_elem(f->fd[FENCE_MAP_TRIE4], &k);
	}
	for (size_t i = 0; i < known->n6; i++) {
		struct mcpf_trie6_key k;

		key6_fill(&k, slot, known->v6[i].plen, known->v6[i].addr);
		bpf_map_delete_elem(f->fd[FENCE_MAP_TRIE6], &k);
	}
	return 0;
}

int fence_meta_put(struct fence *f, uint32_t slot, const struct mcpf_policy_meta *m)
{
	return bpf_map_update_elem(f->fd[FENCE_MAP_META], &slot, m, BPF_ANY) < 0 ? -errno : 0;
}

int fence_meta_get(struct fence *f, uint32_t slot, struct mcpf_policy_meta *m)
{
	return bpf_map_lookup_elem(f->fd[FENCE_MAP_META], &slot, m) < 0 ? -errno : 0;
}

int fence_meta_del(struct fence *f, uint32_t slot)
{
	if (bpf_map_delete_elem(f->fd[FENCE_MAP_META], &slot) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

FENCE_FOREACH(fence_meta_foreach, FENCE_MAP_META, uint32_t, struct mcpf_policy_meta)

/* The programs count verdicts once, by policy and hook: the totals are their sums. */
static int fence_verdict_totals(struct fence *f, uint64_t out[MCPF_CNT_MAX])
{
	_cleanup_free_ uint64_t *v = calloc(FENCE_VERDICTS, sizeof(*v));
	int r = v ? fence_verdicts_read(f, v) : -ENOMEM;

	if (r < 0)
		return r;
	for (size_t i = 0; i < FENCE_VERDICTS; i++)
		out[MCPF_CNT_ALLOW + i % MCPF_VERDICT_KINDS] += v[i];
	return 0;
}

int fence_counters_read(struct fence *f, uint64_t out[MCPF_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *vals = NULL;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < MCPF_CNT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(f->fd[FENCE_MAP_COUNTERS], &i, vals) < 0)
			return -errno;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	return fence_verdict_totals(f, out);
}

int fence_verdicts_read(struct fence *f, uint64_t out[FENCE_VERDICTS])
{
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *vals = NULL;
	_cleanup_free_ uint32_t *keys = NULL;
	uint32_t out_batch, count = (uint32_t)FENCE_VERDICTS;
	int r;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu * FENCE_VERDICTS, sizeof(*vals));
	keys = calloc(FENCE_VERDICTS, sizeof(*keys));
	if (!vals || !keys)
		return -ENOMEM;
	/* one call for all of it (a scrape reads this) */
	r = bpf_map_lookup_batch(f->fd[FENCE_MAP_VERDICTS], NULL, &out_batch, keys, vals, &count, NULL);
	if (r < 0 && errno != ENOENT)
		return -errno;
	memset(out, 0, FENCE_VERDICTS * sizeof(*out));
	for (uint32_t i = 0; i < count; i++)
		if (keys[i] < FENCE_VERDICTS)
			for (int c = 0; c < ncpu; c++)
				out[keys[i]] += vals[(size_t)i * (size_t)ncpu + (size_t)c];
	return 0;
}

uint32_t fence_map_capacity(int map_fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(map_fd, &info, &len) == 0 ? info.max_entries : 0;
}

int fence_verdicts_clear_row(struct fence *f, uint32_t row)
{
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *zero = ncpu > 0 ? calloc((size_t)ncpu, sizeof(uint64_t)) : NULL;

	if (!zero || row >= MCPF_METRIC_ROWS)
		return -EINVAL;
	for (uint32_t i = 0; i < MCPF_HOOK_MAX * MCPF_VERDICT_KINDS; i++) {
		uint32_t k = row * MCPF_HOOK_MAX * MCPF_VERDICT_KINDS + i;

		if (bpf_map_update_elem(f->fd[FENCE_MAP_VERDICTS], &k, zero, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

struct resolver_list {
	const struct fence_resolver *r;
	size_t n;
};

static bool resolver_gone(const void *key, const void *value, void *ud)
{
	const struct mcpf_resolver_key *k = key;
	const struct resolver_list *l = ud;

	for (size_t i = 0; i < l->n; i++)
		if (k->family == l->r[i].family && k->port == l->r[i].port &&
		    !memcmp(k->addr, l->r[i].addr, sizeof(k->addr)))
			return false;
	return true;
}

int fence_resolvers_set(struct fence *f, const struct fence_resolver *r, size_t n)
{
	struct mcpf_dns_ports ports = {};
	uint32_t zero = 0, one = 1;

	if (n > MCPF_MAX_RESOLVERS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		struct mcpf_resolver_key k = { .family = r[i].family, .port = r[i].port };

		memcpy(k.addr, r[i].addr, sizeof(k.addr));
		if (bpf_map_update_elem(f->fd[FENCE_MAP_RESOLVERS], &k, &one, BPF_ANY) < 0)
			return -errno;
		ports.bits[r[i].port >> 6] |= 1ULL << (r[i].port & 63);
	}
	/* the ports go last: until then the programs do not look at the new resolvers' packets */
	if (bpf_map_update_elem(f->fd[FENCE_MAP_DNS_PORTS], &zero, &ports, BPF_ANY) < 0)
		return -errno;
	return map_delete_where(f->fd[FENCE_MAP_RESOLVERS], sizeof(struct mcpf_resolver_key), NULL,
				resolver_gone, &(struct resolver_list){ .r = r, .n = n });
}

static void count_give_back(struct fence *f, uint32_t policy_id, uint32_t kind, uint64_t pattern)
{
	struct mcpf_count_key k = { .policy_id = policy_id, .kind = kind, .pattern = pattern };
	uint64_t c;

	if (bpf_map_lookup_elem(f->fd[FENCE_MAP_LEARN_COUNTS], &k, &c) < 0)
		return;
	/* the kernel may count concurrently; a lost update only errs by one, towards the cap */
	c = c ? c - 1 : 0;
	if (c)
		bpf_map_update_elem(f->fd[FENCE_MAP_LEARN_COUNTS], &k, &c, BPF_EXIST);
	else
		bpf_map_delete_elem(f->fd[FENCE_MAP_LEARN_COUNTS], &k);
}

struct sweep {
	uint64_t now_mono_ns, grace_ns;
	const uint32_t *live;
	size_t nlive;
};

/* Past its expiry and grace, or of a policy no longer loaded. Both maps' keys start with the
 * policy id, their values with the expiry. */
static bool learned_doomed(const void *key, const void *value, void *ud)
{
	uint32_t policy_id = *(const uint32_t *)key;
	uint64_t expires_ns = *(const uint64_t *)value;
	const struct sweep *sw = ud;
	bool alive = false;

	for (size_t i = 0; i < sw->nlive && !alive; i++)
		alive = sw->live[i] == policy_id;
	return !alive || expires_ns + sw->grace_ns < sw->now_mono_ns;
}

_Static_assert(offsetof(struct mcpf_learned_key, policy_id) == 0 &&
		       offsetof(struct mcpf_learned_name_key, policy_id) == 0 &&
		       offsetof(struct mcpf_learned, expires_ns) == 0 &&
		       offsetof(struct mcpf_learned_name, expires_ns) == 0,
	       "learned_doomed reads both maps alike");

/* One learned map (kind 0: addresses, 1: names of addresses): its doomed entries deleted and
 * their counts given back. */
static int learned_sweep_map(struct fence *f, int kind, const struct sweep *sw, size_t *deleted)
{
	int fd = f->fd[kind ? FENCE_MAP_LEARNED_NAMES : FENCE_MAP_LEARNED];
	size_t ksize = kind ? sizeof(struct mcpf_learned_name_key) : sizeof(struct mcpf_learned_key);
	_cleanup_free_ uint8_t *doomed = NULL;
	union {
		struct mcpf_learned a;
		struct mcpf_learned_name n;
	} v;
	size_t n = 0;
	int r = map_collect(fd, ksize, &v, learned_doomed, (void *)sw, &doomed, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = doomed + i * ksize;
		uint32_t policy_id;

		memcpy(&policy_id, k, sizeof(policy_id));
		if (bpf_map_lookup_elem(fd, k, &v) < 0 || bpf_map_delete_elem(fd, k) < 0)
			continue;
		count_give_back(f, policy_id, (uint32_t)kind, kind ? v.n.pattern : v.a.pattern);
		count_give_back(f, policy_id, (uint32_t)kind, 0);
	}
	*deleted += n;
	return 0;
}

int fence_learned_sweep(struct fence *f, uint64_t now_mono_ns, uint64_t grace_ns,
			const uint32_t *live, size_t nlive, size_t *ret_deleted)
{
	struct sweep sw = { .now_mono_ns = now_mono_ns, .grace_ns = grace_ns, .live = live, .nlive = nlive };
	size_t n = 0;
	int r = learned_sweep_map(f, 0, &sw, &n);

	if (r == 0)
		r = learned_sweep_map(f, 1, &sw, &n);
	if (ret_deleted)
		*ret_deleted = n;
	return r;
}

/* Every name learned for (policy, family, addr), under any rule: fn(hash) for each. */
struct learned_names_of {
	uint32_t policy_id;
	uint8_t family;
	const uint8_t *addr;
	void (*fn)(uint64_t name_hash, void *ud);
	void *ud;
};

static int learned_name_one(const void *key, const void *value, void *ud)
{
	const struct mcpf_learned_name_key *k = key;
	const struct learned_names_of *w = ud;

	(void)value;
	if (k->policy_id == w->policy_id && k->family == w->family &&
	    !memcmp(k->addr, w->addr, k->family == AF_INET ? 4 : 16))
		w->fn(k->name_hash, w->ud);
	return 0;
}

int fence_learned_names_of(struct fence *f, uint32_t policy_id, uint8_t family, const uint8_t addr[16],
			   void (*fn)(uint64_t name_hash, void *ud), void *ud)
{
	struct learned_names_of w = { policy_id, family, addr, fn, ud };

	return map_walk(f->fd[FENCE_MAP_LEARNED_NAMES], sizeof(struct mcpf_learned_name_key), NULL,
			learned_name_one, &w);
}

int fence_rule_use_seed(struct fence *f, const struct mcpf_rule_use_key *k, uint64_t digest)
{
	struct mcpf_rule_use u;

	if (bpf_map_lookup_elem(f->fd[FENCE_MAP_RULE_USE], k, &u) == 0 && u.digest == digest)
		return 0;
	u = (struct mcpf_rule_use){ .digest = digest, .since_ns = now_ns(CLOCK_MONOTONIC) };
	return bpf_map_update_elem(f->fd[FENCE_MAP_RULE_USE], k, &u, BPF_ANY) < 0 ? -errno : 0;
}

int fence_rule_use_get(struct fence *f, const struct mcpf_rule_use_key *k, struct mcpf_rule_use *ret)
{
	return bpf_map_lookup_elem(f->fd[FENCE_MAP_RULE_USE], k, ret) < 0 ? -errno : 0;
}

struct rule_use_keep {
	bool (*keep)(const struct mcpf_rule_use_key *k, void *ud);
	void *ud;
};

static bool rule_use_doomed(const void *key, const void *value, void *ud)
{
	const struct rule_use_keep *k = ud;

	(void)value;
	return !k->keep(key, k->ud);
}

int fence_rule_use_prune(struct fence *f, bool (*keep)(const struct mcpf_rule_use_key *k, void *ud), void *ud)
{
	struct rule_use_keep k = { keep, ud };

	return map_delete_where(f->fd[FENCE_MAP_RULE_USE], sizeof(struct mcpf_rule_use_key), NULL,
				rule_use_doomed, &k);
}

int fence_rule_slot_get(struct fence *f, uint32_t slot, struct mcpf_rule_slot *ret)
{
	return bpf_map_lookup_elem(f->fd[FENCE_MAP_RULE_LAST], &slot, ret) < 0 ? -errno : 0;
}

int fence_rule_slot_put(struct fence *f, uint32_t slot, const struct mcpf_rule_slot *v)
{
	return bpf_map_update_elem(f->fd[FENCE_MAP_RULE_LAST], &slot, v, BPF_ANY) < 0 ? -errno : 0;
}

/* In batches: 65535 lookups one by one would take tens of ms at every start. */
int fence_rule_slots_foreach(struct fence *f, void (*fn)(uint32_t slot, const struct mcpf_rule_slot *v, void *ud),
			     void *ud)
{
	enum { BATCH = 4096 };
	_cleanup_free_ uint32_t *keys = calloc(BATCH, sizeof(*keys));
	_cleanup_free_ struct mcpf_rule_slot *vals = calloc(BATCH, sizeof(*vals));
	uint32_t in = 0, out = 0;
	bool first = true;

	if (!keys || !vals)
		return -ENOMEM;
	for (;;) {
		__u32 count = BATCH;
		int r = bpf_map_lookup_batch(f->fd[FENCE_MAP_RULE_LAST], first ? NULL : &in, &out, keys, vals,
					     &count, NULL);

		if (r < 0 && errno != ENOENT)
			return -errno;
		for (__u32 i = 0; i < count; i++)
			if (vals[i].policy_id)
				fn(keys[i], &vals[i], ud);
		if (r < 0) /* ENOENT: that was the last batch */
			return 0;
		in = out;
		first = false;
	}
}

static int count_one(const void *key, const void *value, void *ud)
{
	(*(size_t *)ud)++;
	return 0;
}

size_t fence_learned_count(struct fence *f)
{
	size_t n = 0;

	map_walk(f->fd[FENCE_MAP_LEARNED], sizeof(struct mcpf_learned_key), NULL, count_one, &n);
	return n;
}

int fence_dns_name(struct fence *f, uint64_t hash, struct mcpf_dns_name *ret)
{
	if (bpf_map_lookup_elem(f->fd[FENCE_MAP_DNS_NAMES], &hash, ret) < 0)
		return -errno;
	return 0;
}

bool fence_dns_supported(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_loop, NULL) == 1;
}
