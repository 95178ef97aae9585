/* The processes of a tree: a command chang runs and everything it started, found by
 * parent links in /proc (children that left the process group or session included). */
#ifndef CHANG_PROCTREE_H
#define CHANG_PROCTREE_H
#include <stddef.h>
#include <sys/types.h>
/* root and its descendants, root first, then by pid; returns the count (*out malloc'ed). */
size_t proctree_list(pid_t root, pid_t **out);
/* Send sig to every process of the tree; returns how many were signalled. */
size_t proctree_kill(pid_t root, int sig);
#endif
