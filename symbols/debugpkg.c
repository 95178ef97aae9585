#include "symbols/debugpkg.h"
#include "util/xalloc.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WANTED 64

struct wanted {
	struct module *m;
	/* the module's path and its other name across the /usr merge: dpkg may list
	 * /lib/x86_64-linux-gnu/libc.so.6 while the kernel shows /usr/lib/... */
	char path[2][4096];
};

static bool lacks_symbols(const struct module *m)
{
	return m->symbols_known && !m->has_symtab && !m->has_debuginfo && !m->missing && !m->mismatched &&
	       m->name && m->name[0] == '/';
}

static void other_name(const char *p, char *out, size_t size)
{
	static const char *const merged[] = { "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/" };
	out[0] = 0;
	for (size_t i = 0; i < sizeof(merged) / sizeof(*merged); i++) {
		size_t n = strlen(merged[i]);
		if (strncmp(p, "/usr", 4) == 0 && strncmp(p + 4, merged[i], n) == 0)
			snprintf(out, size, "%s", p + 4);
		else if (strncmp(p, merged[i], n) == 0)
			snprintf(out, size, "/usr%s", p);
	}
}

/* The package of a list file's name: "libevent-2.1-7:amd64.list" -> "libevent-2.1-7". */
static char *package_of(const char *list_name, struct arena *a)
{
	size_t n = strlen(list_name) - strlen(".list");
	const char *colon = memchr(list_name, ':', n);
	return arena_strndup(a, list_name, colon ? (size_t)(colon - list_name) : n);
}

void debugpkg_fill(struct snapshot *s, const char *info_dir)
{
	struct wanted *w = NULL;
	size_t nw = 0;
	for (size_t i = 0; i < s->nmodules && nw < MAX_WANTED; i++) {
		struct module *m = &s->modules[i];
		if (!lacks_symbols(m) || strlen(m->name) >= sizeof(w->path[0]))
			continue;
		w = xreallocarray(w, nw + 1, sizeof(*w));
		w[nw].m = m;
		snprintf(w[nw].path[0], sizeof(w->path[0]), "%s", m->name);
		other_name(m->name, w[nw].path[1], sizeof(w->path[1]));
		nw++;
	}
	DIR *d = nw ? opendir(info_dir) : NULL;
	size_t found = 0;
	char line[4096 + 2], file[4096];
	for (struct dirent *de; d && found < nw && (de = readdir(d)) != NULL;) {
		size_t len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".list") != 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", info_dir, de->d_name);
		FILE *f = fopen(file, "re");
		while (f && found < nw && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			for (size_t k = 0; k < nw; k++) {
				if (w[k].m->package || (strcmp(line, w[k].path[0]) != 0 && strcmp(line, w[k].path[1]) != 0))
					continue;
				w[k].m->package = package_of(de->d_name, &s->arena);
				found++;
			}
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	free(w);
}
