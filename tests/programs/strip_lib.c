/* The shared library of the stripped-frames tests (tests/e2e/test_stripped_frames.py).
 * Built with -fno-toplevel-reorder so the functions lie in this order: once stripped,
 * .dynsym names the exported lib_wait_outer exactly, while the static lib_block_inner,
 * which lies past the exported lib_first, can only be guessed as "near lib_first". */
#include <unistd.h>

__attribute__((noinline)) int lib_first(int x)
{
	return x * 3 + 1;
}

static __attribute__((noinline, noclone)) int lib_block_inner(int fd)
{
	char c;
	ssize_t r = read(fd, &c, 1);	/* blocks: nothing is ever written */
	return (int)r + lib_first((int)r);
}

__attribute__((noinline)) int lib_wait_outer(int fd)
{
	int r = lib_block_inner(fd);
	return r * 2 + 1;	/* not a tail call: the frame stays on the stack */
}
