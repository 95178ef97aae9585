/* What a live process's file descriptors are: pipes, sockets with their addresses, files.
 * Read after the thaw: fd tables rarely change in a hung process, and this costs no pause. */
#ifndef CHANG_FDS_H
#define CHANG_FDS_H
#include <sys/types.h>
#include "model/snapshot.h"
void fds_read(pid_t pid, struct snapshot *s);
#endif
