#include "attach/rereads.h"
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

bool rereads_unchanged(pid_t pid, const struct watch_word *w, int n)
{
	enum { BATCH = 64 };
	for (int i = 0; i < n; i += BATCH) {
		int m = n - i < BATCH ? n - i : BATCH;
		unsigned char buf[BATCH][8];
		struct iovec local[BATCH], remote[BATCH];
		size_t want = 0;
		for (int k = 0; k < m; k++) {
			memset(buf[k], 0, sizeof(buf[k]));
			local[k] = (struct iovec){ buf[k], w[i + k].size };
			remote[k] = (struct iovec){ (void *)(uintptr_t)w[i + k].addr, w[i + k].size };
			want += w[i + k].size;
		}
		if (process_vm_readv(pid, local, (unsigned long)m, remote, (unsigned long)m, 0) != (ssize_t)want)
			return false;
		for (int k = 0; k < m; k++) {
			uint64_t v = 0;
			for (unsigned b = 0; b < w[i + k].size; b++)
				v |= (uint64_t)buf[k][b] << (8 * b);
			if ((v & w[i + k].mask) != w[i + k].value)
				return false;
		}
	}
	return true;
}
