/* A target in another pid namespace: the NSpid parser, and TIDs from lock words mapped
 * through the threads' namespace TIDs (attach/pidns.h, snapshot_tid_from_target). */
#include "unit.h"
#include "attach/pidns.h"
#include "model/snapshot.h"

static void test_parse(void)
{
	pid_t last = 0;
	CHECK(pidns_parse_status("\nName:\tabba\nNSpid:\t24871\t1\nNSpgid:\t1\n", &last) == 2 && last == 1);
	CHECK(pidns_parse_status("\nNSpid:\t900\t40\t7\n", &last) == 3 && last == 7);
	CHECK(pidns_parse_status("\nNSpid:\t812\n", &last) == 1 && last == 812);
	CHECK(pidns_parse_status("\nName:\told kernel\nPid:\t5\n", &last) == 0);
	CHECK(pidns_parse_status("\nNSpid:\t-3\n", &last) == 0);
	/* "NSpid" must start a line: NSpgid does not count */
	CHECK(pidns_parse_status("\nNSpgid:\t1\t2\n", &last) == 0);
}

static void test_map(void)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	s->ntasks = 3;
	s->tasks = ARENA_NEW(&s->arena, struct task, 3);
	for (int i = 0; i < 3; i++)
		s->tasks[i].tid = 24871 + i;
	/* same namespace: lock words are chang's TIDs */
	CHECK(snapshot_tid_from_target(s, 24872) == 24872);
	CHECK(snapshot_tid_from_target(s, 2) == 2);
	s->ns_pid = 1;
	for (int i = 0; i < 3; i++)
		s->tasks[i].ns_tid = 1 + i;
	CHECK(snapshot_tid_from_target(s, 2) == 24872);
	CHECK(snapshot_tid_from_target(s, 3) == 24873);
	CHECK(snapshot_tid_from_target(s, 0) == 0);
	/* another process of the container */
	s->ns_tids = ARENA_NEW(&s->arena, struct ns_tid_map, 1);
	s->ns_tids[0] = (struct ns_tid_map){ .ns = 9, .host = 30000 };
	s->nns_tids = 1;
	CHECK(snapshot_tid_from_target(s, 9) == 30000);
	/* no thread of the namespace has it: unchanged */
	CHECK(snapshot_tid_from_target(s, 10) == 10);
	snapshot_free(s);
}

static void unit_tests(void)
{
	test_parse();
	test_map();
}
