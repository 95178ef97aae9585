/* Copying a frozen thread's state: registers, the live part of its stack, and the words
 * around the futex it sleeps on (the lock the analyzers will decode). */
#ifndef CHANG_COPY_H
#define CHANG_COPY_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/snapshot.h"
#include "image/memimage.h"

/* Largest stack copied per thread: deeper stacks are cut (the walk reports truncation). */
#define COPY_STACK_MAX (512 * 1024)
/* Bytes below SP that a leaf function may use without moving SP (the x86-64 red zone). */
#define COPY_RED_ZONE 128
/* Window copied around a futex address: enough for every glibc lock type's owner words. */
#define COPY_FUTEX_BEFORE 64
#define COPY_FUTEX_AFTER 64

/* Copy [addr, addr+len) from the process into the image; returns bytes copied. Uses
 * process_vm_readv and falls back to /proc/PID/mem. */
size_t copy_range(pid_t pid, int memfd, struct memimage *m, uint64_t addr, uint64_t len);
/* Copy the live part of a task's stack: from below SP (red zone) to its mapping's top. */
void copy_task_stack(pid_t pid, int memfd, struct memimage *m, const struct task *t,
		     const struct mapping *maps, size_t nmaps);
/* Copy the words around every futex address a task sleeps on, each window once. */
void copy_futex_windows(pid_t pid, int memfd, struct memimage *m, const struct task *tasks,
			size_t ntasks, const struct mapping *maps, size_t nmaps);
#endif
