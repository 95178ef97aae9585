/* The /proc text parsers, on whatever a kernel (or a process naming its files and threads
 * with any bytes) could make them read: the input whole as /proc/PID/maps, and each of its
 * lines as a maps line, a stat line, a task's syscall line and, split at spaces, as the
 * address fields of /proc/net/tcp. */
#include "attach/socktable.h"
#include "attach/procfs.h"
#include "fuzz.h"

static void check_mapping(const struct mapping *m)
{
	FUZZ_CHECK(m->start < m->end);
	FUZZ_CHECK(strlen(m->perms) == 4);
	if (m->path)
		FUZZ_CHECK(!strchr(m->path, '\n'));
}

static void inet(const char *tok, size_t cap)
{
	/* the output buffer sits at the end of a heap block, so that writing past cap is seen */
	char *out = malloc(cap);
	if (!out)
		abort();
	if (socktable_format_inet(tok, out, cap))
		FUZZ_CHECK(strnlen(out, cap) < cap);
	free(out);
}

static void one_line(const char *line, struct arena *a)
{
	struct mapping m;
	if (procfs_parse_maps_line(line, &m, a))
		check_mapping(&m);
	char state = 0;
	uint64_t ticks = 0;
	if (procfs_parse_stat(line, &state, &ticks))
		FUZZ_CHECK(state != 0);
	procfs_parse_stat(line, &state, NULL);
	long nr = 0;
	uint64_t args[6], sp = 0, pc = 0;
	int k = procfs_parse_syscall(line, &nr, args, &sp, &pc);
	FUZZ_CHECK(k >= -1 && k <= 2);
	if (k == 1)
		FUZZ_CHECK(nr >= 0);
	if (k == 2)
		FUZZ_CHECK(nr == -1);

	char *dup = strdup(line);
	if (!dup)
		abort();
	char *save = NULL;
	for (char *tok = strtok_r(dup, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		inet(tok, 64);
		inet(tok, 1 + (size_t)(strlen(tok) % 23));
	}
	free(dup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	struct arena a = { 0 };
	struct mapping *maps = NULL;
	size_t n = procfs_parse_maps(text, &maps, &a);
	for (size_t i = 0; i < n; i++) {
		check_mapping(&maps[i]);
		FUZZ_CHECK(i == 0 || maps[i].start >= maps[i - 1].start);
	}
	/* each line on its own, ending where the kernel's would: at the newline, or the NUL */
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = malloc(len + 1);
		if (!line)
			abort();
		memcpy(line, p, len);
		line[len] = 0;
		one_line(line, &a);
		free(line);
		if (!nl)
			break;
		p = nl + 1;
	}
	arena_free(&a);
	free(text);
	return 0;
}
