/* util/strmap.c: strings to indexes, through growth, with replaced values, keys that share
 * prefixes, and lookups by another pointer to the same text. */
#include "unit.h"
#include "util/strmap.h"
#include <stdlib.h>

static void unit_tests(void)
{
	enum { N = 10000 };
	static char keys[N][32];
	struct strmap m = { 0 };
	size_t v = 99;
	CHECK(!strmap_get(&m, "absent", &v) && v == 99);
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "/usr/lib/lib%d.so", i);
		strmap_put(&m, keys[i], (size_t)i);
	}
	CHECK(m.n == N && m.cap >= 2 * N);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		char probe[32];
		snprintf(probe, sizeof(probe), "/usr/lib/lib%d.so", i);	/* another pointer, same text */
		bad += !strmap_get(&m, probe, &v) || v != (size_t)i;
	}
	CHECKF(bad == 0, "%d keys not found with their value", bad);
	CHECK(!strmap_get(&m, "/usr/lib/lib.so", &v) && !strmap_get(&m, "", &v));
	strmap_put(&m, keys[7], 70000);
	CHECK(m.n == N && strmap_get(&m, "/usr/lib/lib7.so", &v) && v == 70000);
	strmap_put(&m, "", 5);
	CHECK(strmap_get(&m, "", &v) && v == 5 && m.n == N + 1);
	strmap_free(&m);
	CHECK(m.cap == 0 && !strmap_get(&m, keys[0], &v));
}
