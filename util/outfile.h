/* The one way chang writes a file the user named (-o, --save-core, run --save=DIR).
 *
 * A new name, or a regular file that can be replaced without loss, is written to a temporary
 * file in the same directory and renamed into place when whole, so an interrupted chang never
 * leaves half a report where a script expects a whole one. Everything else is written in
 * place, because replacing it would destroy something: a device (`-o /dev/null`), a FIFO or a
 * socket (its reader would never see a byte), `/dev/stdout`, a file with other hard links, a
 * file in a directory chang cannot write. Symlinks are written through, except where the
 * kernel's protected_symlinks rule would refuse to follow them. */
#ifndef CHANG_OUTFILE_H
#define CHANG_OUTFILE_H
#include "util/err.h"
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct outfile {
	int fd;
	char *path;		/* the name the user gave: every message names it */
	char *dest;		/* atomic: the regular file's real path that the rename replaces */
	char *tmp;		/* atomic: the temporary name (NULL while an O_TMPFILE is unnamed) */
	bool atomic;
	bool seekable;		/* pwrite and holes work (a regular file) */
	FILE *fp;		/* outfile_stream's stream on fd */
};

/* Open PATH for writing as described above. The message on failure names PATH and errno. */
int outfile_open(struct outfile *of, const char *path, struct err *e);
/* A stdio stream on the file (owned by of: closed by outfile_commit or outfile_abort). */
FILE *outfile_stream(struct outfile *of, struct err *e);
/* Flush, close and (atomic) give the file its name. Always releases of. */
int outfile_commit(struct outfile *of, struct err *e);
/* Close and remove the temporary file; an in-place file keeps what was written. */
void outfile_abort(struct outfile *of);

/* Whether the protected_symlinks rule (applied whatever the sysctl says) forbids following the symlink at PATH, which
 * lstat() described as LST (exposed for the tests). */
bool outfile_symlink_protected(const char *path, uid_t link_owner, uid_t euid);
#endif
