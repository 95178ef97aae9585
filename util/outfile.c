#include "util/outfile.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void dir_of(const char *path, char *dir, size_t cap)
{
	snprintf(dir, cap, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, cap, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
}

bool outfile_symlink_protected(const char *path, uid_t link_owner, uid_t euid)
{
	/* The rule of fs.protected_symlinks: in a sticky world-writable directory (/tmp), a link
	 * is followed only by its owner or when the directory's owner owns it too. Applied even
	 * where the sysctl is off: a link planted in /tmp must never aim root's output. */
	char dir[PATH_MAX];
	dir_of(path, dir, sizeof(dir));
	struct stat d;
	if (stat(dir, &d) != 0)
		return false;
	if (!(d.st_mode & S_ISVTX) || !(d.st_mode & S_IWOTH))
		return false;
	return link_owner != euid && link_owner != d.st_uid;
}

/* Whether following the symlink at PATH passes through /proc (/dev/stdout, /dev/fd/N,
 * /proc/self/fd/N): such "magic" links name an open file, which must be written where it is. */
static bool through_proc(const char *path)
{
	char cur[PATH_MAX];
	snprintf(cur, sizeof(cur), "%s", path);
	for (int hop = 0; hop < 40; hop++) {
		if (strncmp(cur, "/proc/", 6) == 0)
			return true;
		char to[PATH_MAX];
		ssize_t n = readlink(cur, to, sizeof(to) - 1);
		if (n < 0)
			return false;
		to[n] = 0;
		if (to[0] == '/') {
			snprintf(cur, sizeof(cur), "%s", to);
		} else {
			char dir[PATH_MAX];
			dir_of(cur, dir, sizeof(dir));
			snprintf(cur, sizeof(cur), "%.*s/%s", PATH_MAX / 2, dir, to);
		}
	}
	return false;
}

static int open_in_place(struct outfile *of, const char *path, int flags, struct err *e)
{
	of->fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0666);
	if (of->fd < 0)
		return err_set(e, ERR_FAIL, "%s: cannot open for writing: %s", of->path, strerror(errno));
	struct stat st;
	of->seekable = fstat(of->fd, &st) == 0 && S_ISREG(st.st_mode);
	return 0;
}

/* A temporary file beside DEST, unnamed (O_TMPFILE) where the file system allows. */
static int open_atomic(struct outfile *of, const char *dest, const struct stat *old, struct err *e)
{
	char dir[PATH_MAX];
	dir_of(dest, dir, sizeof(dir));
	of->atomic = true;
	of->seekable = true;
	of->dest = xstrdup(dest);
	of->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
	if (of->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		char tmp[PATH_MAX + 32];
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", dest, (int)getpid());
		of->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (of->fd >= 0)
			of->tmp = xstrdup(tmp);
	}
	if (of->fd < 0)
		return err_set(e, ERR_FAIL, "%s: cannot create: %s", of->path, strerror(errno));
	if (old) {
		/* The replacement keeps what the user set on the file it replaces. */
		if (fchown(of->fd, old->st_uid, old->st_gid) != 0) {
			/* only root may give a file away: the mode is still kept */
		}
		if (fchmod(of->fd, old->st_mode & 07777) != 0)
			return err_set(e, ERR_FAIL, "%s: cannot keep the mode: %s", of->path, strerror(errno));
	}
	return 0;
}

static int open_resolved(struct outfile *of, const char *real, struct err *e)
{
	struct stat st;
	if (stat(real, &st) != 0) {
		if (errno == ENOENT)
			return open_atomic(of, real, NULL, e);
		return err_set(e, ERR_FAIL, "%s: %s", of->path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode))
		return err_set(e, ERR_FAIL, "%s: is a directory", of->path);
	if (!S_ISREG(st.st_mode))
		return open_in_place(of, real, 0, e);	/* a device, FIFO or socket */
	char dir[PATH_MAX];
	dir_of(real, dir, sizeof(dir));
	/* Replacing a file with other links would part it from them; a directory chang cannot
	 * write cannot take the temporary file. */
	if (st.st_nlink > 1 || access(dir, W_OK | X_OK) != 0)
		return open_in_place(of, real, O_TRUNC, e);
	return open_atomic(of, real, &st, e);
}

int outfile_open(struct outfile *of, const char *path, struct err *e)
{
	memset(of, 0, sizeof(*of));
	of->fd = -1;
	of->path = xstrdup(path);
	struct stat lst;
	int r;
	if (lstat(path, &lst) != 0) {
		if (errno != ENOENT)
			r = err_set(e, ERR_FAIL, "%s: %s", path, strerror(errno));
		else
			r = open_atomic(of, path, NULL, e);
	} else if (S_ISLNK(lst.st_mode)) {
		char real[PATH_MAX];
		if (outfile_symlink_protected(path, lst.st_uid, geteuid()))
			r = err_set(e, ERR_FAIL, "%s: not followed: a symlink owned by another user in a sticky "
				    "world-writable directory (fs.protected_symlinks)", path);
		else if (through_proc(path))
			r = open_in_place(of, path, 0, e);
		else if (realpath(path, real))
			r = open_resolved(of, real, e);
		else if (errno == ENOENT)
			r = open_in_place(of, path, O_CREAT | O_TRUNC, e);	/* dangling: create the target */
		else
			r = err_set(e, ERR_FAIL, "%s: %s", path, strerror(errno));
	} else {
		r = open_resolved(of, path, e);
	}
	if (r != 0)
		outfile_abort(of);
	return r;
}

FILE *outfile_stream(struct outfile *of, struct err *e)
{
	if (!of->fp) {
		of->fp = fdopen(of->fd, "w");
		if (!of->fp)
			err_set(e, ERR_FAIL, "%s: %s", of->path, strerror(errno));
	}
	return of->fp;
}

static void release(struct outfile *of)
{
	if (of->fp)
		fclose(of->fp);
	else if (of->fd >= 0)
		close(of->fd);
	if (of->tmp)
		unlink(of->tmp);
	free(of->tmp);
	free(of->dest);
	free(of->path);
	memset(of, 0, sizeof(*of));
	of->fd = -1;
}

int outfile_commit(struct outfile *of, struct err *e)
{
	int r = 0;
	if (of->fp && fflush(of->fp) != 0)
		r = err_set(e, ERR_FAIL, "%s: write failed: %s", of->path, strerror(errno));
	if (r == 0 && of->atomic && !of->tmp) {
		char proc[64], tmp[PATH_MAX + 32];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", of->fd);
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", of->dest, (int)getpid());
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0)
			r = err_set(e, ERR_FAIL, "%s: cannot name the file: %s", of->path, strerror(errno));
		else
			of->tmp = xstrdup(tmp);
	}
	if (r == 0 && of->atomic) {
		if (rename(of->tmp, of->dest) != 0) {
			r = err_set(e, ERR_FAIL, "%s: %s", of->path, strerror(errno));
		} else {
			free(of->tmp);
			of->tmp = NULL;
		}
	}
	int c = of->fp ? fclose(of->fp) : close(of->fd);
	of->fp = NULL;
	of->fd = -1;
	if (c != 0 && r == 0)
		r = err_set(e, ERR_FAIL, "%s: write failed: %s", of->path, strerror(errno));
	release(of);
	return r;
}

void outfile_abort(struct outfile *of)
{
	release(of);
}
