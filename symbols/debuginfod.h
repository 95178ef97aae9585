/* Debug files and executables fetched by build-id from the debuginfod servers named in
 * DEBUGINFOD_URLS, through elfutils' client library (libdebuginfod, the one gdb and eu-stack
 * use), with its cache (DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client).
 *
 * The library is loaded with dlopen, not linked: a host without libdebuginfod1 (or the
 * static chang, which cannot dlopen) still runs, and says so (debuginfod_support).
 *
 * Fetches happen only after debuginfod_allow(): commands allow them after the capture has
 * thawed the target, so the network never lengthens a freeze. libdwfl's own debuginfod
 * client is kept out (it would fetch without a timeout, a progress line or a word in the
 * report): DEBUGINFOD_URLS is taken out of the environment when chang starts and given back
 * to the library only around chang's own fetches. */
#ifndef CHANG_DEBUGINFOD_H
#define CHANG_DEBUGINFOD_H
#include <stdbool.h>
#include <stddef.h>

/* Take DEBUGINFOD_URLS out of the environment (see above). Call once, first thing. */
void debuginfod_init(void);
/* Put DEBUGINFOD_URLS back into the environment (on) or take it out again (off): around
 * the fork of a command chang runs, which must see the environment it was given. */
void debuginfod_env_for_child(bool on);
/* --no-debuginfod: never fetch. */
void debuginfod_disable(void);
/* From now on fetches may happen (the target is thawed, or was never frozen). */
void debuginfod_allow(void);
/* One line for --version: how debuginfod is supported in this build. */
const char *debuginfod_support(void);
/* The servers chang would ask, NULL when it would ask none. */
const char *debuginfod_urls(void);
/* Whether this chang could fetch (not the static build, not --no-debuginfod). */
bool debuginfod_usable(void);

enum debuginfod_kind { DEBUGINFOD_DEBUGINFO, DEBUGINFOD_EXECUTABLE };

/* Fetch the file of this kind with this build-id: returns an open fd and sets *path
 * (malloc'ed, the file in the client's cache), or returns -1 and says why in why
 * ("not found on the servers", "Connection refused", "not tried: ..."). -2 when chang does
 * not use debuginfod at all (no servers, --no-debuginfod, no library, before allow): the
 * report then says nothing of it. label names the module on the progress line. Once a
 * server cannot be reached or times out, later fetches of the run are not tried, so a
 * run waits at most one timeout for a dead server. */
int debuginfod_fetch(enum debuginfod_kind kind, const unsigned char *id, int len, const char *label,
		     char **path, char *why, size_t cap);
#endif
