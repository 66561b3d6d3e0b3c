// SPDX-License-Identifier: MIT
#include "cgroup.h"
#include "util.h"

#include <dirent.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/magic.h>

/*
 * The visible cgroup2 mounts from /proc/self/mountinfo: mount point (field 5) and root (field
 * 4: where in the hierarchy the mount starts, as seen from our cgroup namespace). A later line
 * at the same mount point hides an earlier one. Calls fn for each; stops when it returns != 0.
 */
static int cgroup_mounts_each(int (*fn)(const char *mnt, const char *root, void *ud), void *ud)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	char (*mnts)[2][4096] = NULL;
	size_t cap = 0, n = 0;
	int r = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char mnt[4096], root[4096], fstype[64];
		const char *sep = strstr(line, " - ");
		size_t i;

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2") ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
			continue;
		for (i = 0; i < n && strcmp(mnts[i][0], mnt); i++)
			;
		if (i == n) {
			void *m = realloc(mnts, (n + 1) * sizeof(*mnts));

			if (!m) {
				free(mnts);
				return -ENOMEM;
			}
			mnts = m;
			n++;
		}
		snprintf(mnts[i][0], sizeof(mnts[i][0]), "%s", mnt);
		snprintf(mnts[i][1], sizeof(mnts[i][1]), "%s", root);
	}
	for (size_t i = 0; i < n && !r; i++)
		r = fn(mnts[i][0], mnts[i][1], ud);
	free(mnts);
	return r;
}

struct mount_pick {
	const char *want; /* cgroup_mount_root: this mount point; cgroup_mount_find: NULL */
	char *mnt, *root;
};

static int mount_pick(const char *mnt, const char *root, void *ud)
{
	struct mount_pick *p = ud;

	if (p->want ? strcmp(p->want, mnt) : p->root && strlen(root) >= strlen(p->root))
		return 0;
	free(p->mnt);
	free(p->root);
	p->mnt = strdup(mnt);
	p->root = strdup(root);
	return p->mnt && p->root ? 0 : -ENOMEM;
}

static int mount_pick_run(const char *want, char **ret_mnt, char **ret_root)
{
	struct mount_pick p = { .want = want };
	int r = cgroup_mounts_each(mount_pick, &p);

	if (r < 0 || !p.mnt) {
		free(p.mnt);
		free(p.root);
		return r < 0 ? r : -ENOENT;
	}
	if (ret_mnt)
		*ret_mnt = p.mnt;
	else
		free(p.mnt);
	if (ret_root)
		*ret_root = p.root;
	else
		free(p.root);
	return 0;
}

/* The cgroup2 mount that shows the most of the hierarchy (the shortest root): in a container,
 * the host's cgroupfs mounted beside the runtime's own. */
int cgroup_mount_find(char **ret)
{
	return mount_pick_run(NULL, ret, NULL);
}

int cgroup_mount_root(const char *mount, char **ret)
{
	return mount_pick_run(mount, NULL, ret);
}

/* The initial cgroup namespace's inode: fixed (PROC_CGROUP_INIT_INO, include/linux/proc_ns.h);
 * namespaces created later get inodes from 0xF0000000 up. */
#define CGROUP_NS_INIT_INO 0xEFFFFFFBu

static int ns_is_initial(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_ino == CGROUP_NS_INIT_INO;
}

int cgroup_ns_join_initial(void)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;

	if (ns_is_initial("/proc/self/ns/cgroup"))
		return 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[300];
		_cleanup_close_ int fd = -1;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/cgroup", de->d_name);
		if (!ns_is_initial(path) || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue; /* not there, or not ours to read (ptrace rules) */
		if (setns(fd, CLONE_NEWCGROUP) < 0)
			return -errno;
		return 1;
	}
	return -ENOENT;
}

/*
 * Whether the cgroup2 super block has nsdelegate: only then is a cgroup namespace a boundary
 * that even root cannot migrate processes across. With `ensure`, remount to set it (from the
 * initial cgroup namespace; systemd sets it too on unified hosts).
 */
int cgroup_mount_nsdelegate(const char *mount_path, bool ensure)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char mnt[4096], opts[1024] = "";
		const char *sep = strstr(line, " - cgroup2 ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || strcmp(mnt, mount_path))
			continue;
		sscanf(sep + 11, "%*s %1023s", opts);
		found = strstr(opts, "nsdelegate") != NULL;
		break;
	}
	if (found != 0 || !ensure)
		return found;
	if (mount(NULL, mount_path, NULL, MS_REMOUNT | MS_RELATIME, "nsdelegate") < 0)
		return -errno;
	return cgroup_mount_nsdelegate(mount_path, false);
}

int cgroup_path_resolve(const char *mount, const char *path, char **ret)
{
	size_t ml = strlen(mount);
	char *s;

	if (!path || !*path || strstr(path, "..") || strchr(path, '\n'))
		return -EINVAL;
	if (path[0] == '/' && !strncmp(path, mount, ml) && (path[ml] == '/' || !path[ml]))
		s = strdup(path);
	else
		s = strdup_printf("%s/%s", mount, path + (path[0] == '/'));
	if (!s)
		return -ENOMEM;
	for (size_t l = strlen(s); l > 1 && s[l - 1] == '/'; l--)
		s[l - 1] = '\0';
	*ret = s;
	return 0;
}

const char *cgroup_path_display(const char *mount, const char *abs)
{
	size_t ml = strlen(mount);

	if (!strncmp(abs, mount, ml) && abs[ml] == '/')
		return abs + ml;
	return !strcmp(abs, mount) ? "/" : abs;
}

/* cgroup v2 ids are kernfs node ids, which are the directory's inode number on 64-bit. */
int cgroup_id_from_path(const char *abs, uint64_t *ret)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(abs, &sfs) < 0)
		return -errno;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -ENOTDIR;
	if (stat(abs, &st) < 0)
		return -errno;
	*ret = (uint64_t)st.st_ino;
	return 0;
}

int cgroup_level(const char *mount, const char *abs)
{
	const char *rel = cgroup_path_display(mount, abs);
	int level = 0;

	for (const char *p = rel; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			level++;
	return level;
}

int cgroup_is_under(const char *root_abs, const char *abs)
{
	size_t rl = strlen(root_abs);

	return !strncmp(abs, root_abs, rl) && (abs[rl] == '/' || !abs[rl]);
}

int cgroup_create(const char *abs)
{
	return mkdir_p(abs, 0755);
}

int cgroup_enter(const char *abs, pid_t pid)
{
	_cleanup_free_ char *procs = strdup_printf("%s/cgroup.procs", abs);
	char buf[32];

	if (!procs)
		return -ENOMEM;
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return write_file(procs, buf);
}

/*
 * The "0::/path" line of /proc/PID/cgroup, as an absolute path under the mount. The kernel
 * writes it relative to our cgroup namespace's root, the mount's root is relative to the same:
 * a cgroup outside what the mount shows is -EXDEV.
 */
int cgroup_of_pid(const char *mount, pid_t pid, char **ret_abs)
{
	char path[64];
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL, *root = NULL;
	size_t cap = 0, rl;
	const char *rel;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	r = cgroup_mount_root(mount, &root);
	if (r < 0)
		return r;
	rl = strcmp(root, "/") ? strlen(root) : 0;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		rel = line + 3;
		if (strncmp(rel, root, rl) || (rel[rl] != '/' && rel[rl]))
			return -EXDEV;
		rel += rl;
		*ret_abs = strdup_printf("%s%s", mount, strcmp(rel, "/") ? rel : "");
		return *ret_abs ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

/* cgroup.kill (5.14+) kills the whole subtree at once; older kernels get SIGKILL per process. */
int cgroup_kill_all(const char *abs)
{
	_cleanup_free_ char *kill_file = strdup_printf("%s/cgroup.kill", abs);
	_cleanup_free_ char *procs = strdup_printf("%s/cgroup.procs", abs);
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!kill_file || !procs)
		return -ENOMEM;
	if (write_file(kill_file, "1") == 0)
		return 0;
	f = fopen(procs, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		long pid = strtol(line, NULL, 10);

		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
	}
	return 0;
}

int cgroup_run_child(const char *abs, int (*fn)(void *ud), void *ud)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(cgroup_enter(abs, 0) < 0 ? 126 : fn(ud));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* rmdir, retrying briefly: a killed task leaves the cgroup asynchronously. */
int cgroup_remove(const char *abs)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(abs) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&(struct timespec){ .tv_nsec = 5000000L }, NULL);
	}
	return -EBUSY;
}

/* Remove a cgroup and its children, deepest first. */
int cgroup_remove_tree(const char *abs)
{
	DIR *d = opendir(abs);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *child = NULL;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		child = strdup_printf("%s/%s", abs, de->d_name);
		if (!child) {
			r = -ENOMEM;
			break;
		}
		int k = cgroup_remove_tree(child);
		if (k < 0 && r == 0)
			r = k;
	}
	closedir(d);
	int k = cgroup_remove(abs);
	return r < 0 ? r : k;
}

/* Visit root and every cgroup below it, parents first; stops at the first negative return. */
int cgroup_walk(const char *root_abs, int (*fn)(uint64_t id, const char *abs, void *ud), void *ud)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int r;

	if (stat(root_abs, &st) < 0)
		return -errno;
	r = fn((uint64_t)st.st_ino, root_abs, ud);
	if (r != 0)
		return r;
	d = opendir(root_abs);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (de = readdir(d))) {
		_cleanup_free_ char *child = NULL;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		child = strdup_printf("%s/%s", root_abs, de->d_name);
		r = child ? cgroup_walk(child, fn, ud) : -ENOMEM;
		if (r == -ENOENT)
			r = 0; /* removed while we looked */
	}
	closedir(d);
	return r;
}

struct find_id {
	uint64_t id;
	char *found;
};

static int find_id_visit(uint64_t id, const char *abs, void *ud)
{
	struct find_id *f = ud;

	if (id != f->id)
		return 0;
	f->found = strdup(abs);
	return f->found ? 1 : -ENOMEM;
}

/* A cgroup's kernfs file handle is its 64-bit id (FILEID_KERNFS). */
static int cgroup_open_by_id(int mount_fd, uint64_t id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = 0xfe /* FILEID_KERNFS */ } };

	memcpy(h.fh.f_handle, &id, sizeof(id));
	return open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int cgroup_exists_by_id(int mount_fd, uint64_t id)
{
	int fd = cgroup_open_by_id(mount_fd, id);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == ESTALE || errno == ENOENT ? 0 : -errno;
}

int cgroup_path_by_id(int mount_fd, uint64_t id, char **ret_abs)
{
	_cleanup_close_ int fd = cgroup_open_by_id(mount_fd, id);
	char link[64], path[4096];
	ssize_t n;

	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	*ret_abs = strdup(path);
	return *ret_abs ? 0 : -ENOMEM;
}

int cgroup_path_of_id(int mount_fd, const char *walk_abs, uint64_t id, char **ret_abs)
{
	int r = mount_fd >= 0 ? cgroup_path_by_id(mount_fd, id, ret_abs) : -EBADF;

	if (r == -ESTALE)
		return -ENOENT; /* gone: a walk could only fail too */
	if (r == 0 || r == -ENOENT)
		return r;
	return cgroup_path_from_id(walk_abs, id, ret_abs);
}

int cgroup_path_from_id(const char *root_abs, uint64_t id, char **ret_abs)
{
	struct find_id f = { .id = id };
	int r = cgroup_walk(root_abs, find_id_visit, &f);

	if (r < 0)
		return r;
	if (!f.found)
		return -ENOENT;
	*ret_abs = f.found;
	return 0;
}
