/* The snapshot model's grouping order, the memory image, and the /proc parsers. */
#include "unit.h"
#include "attach/procfs.h"
#include "model/snapshot.h"
#include "image/memimage.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

static void set_stack(struct snapshot *s, struct task *t, const uint64_t *pcs, int n)
{
	t->pcs = ARENA_NEW(&s->arena, uint64_t, n);
	memcpy(t->pcs, pcs, sizeof(uint64_t) * (size_t)n);
	t->npcs = n;
}

static void test_grouping(void)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	s->ntasks = 6;
	s->tasks = ARENA_NEW(&s->arena, struct task, 6);
	static const uint64_t a[] = { 0x40d374, 0x401000 }, b[] = { 0x430896, 0x401000 },
			      c[] = { 0x1f, 0x2 }, d[] = { 0x1, 0x2 };
	/* counts: a x2, b x2, c x1, d x1 */
	const uint64_t *st[] = { b, a, c, a, b, d };
	for (int i = 0; i < 6; i++) {
		s->tasks[i].tid = 100 + i;
		set_stack(s, &s->tasks[i], st[i], 2);
	}
	snapshot_group(s);
	CHECK(s->ngroups == 4);
	/* equal counts sort by the text "@ 0x.." : "0x40d374" < "0x430896", "0x1 " < "0x1f" */
	CHECK(s->groups[0].count == 2 && s->groups[0].pcs[0] == 0x40d374);
	CHECK(s->groups[1].count == 2 && s->groups[1].pcs[0] == 0x430896);
	CHECK(s->groups[2].count == 1 && s->groups[2].pcs[0] == 0x1);
	CHECK(s->groups[3].count == 1 && s->groups[3].pcs[0] == 0x1f);
	CHECK(s->groups[0].tasks[0]->tid == 101 && s->groups[0].tasks[1]->tid == 103);
	CHECK(s->tasks[0].group == 1 && s->tasks[5].group == 2);
	CHECK(snapshot_find_task(s, 104) == &s->tasks[4]);
	CHECK(snapshot_find_task(s, 99) == NULL);
	snapshot_free(s);
}

static void test_memimage(void)
{
	struct memimage m = { 0 };
	unsigned char *x = xmalloc(16), *y = xmalloc(16);
	for (int i = 0; i < 16; i++) {
		x[i] = (unsigned char)i;
		y[i] = (unsigned char)(0x80 + i);
	}
	memimage_add_buf(&m, 0x2000, y, 16);
	memimage_add_buf(&m, 0x1000, x, 16);
	unsigned char out[32];
	CHECK(memimage_read(&m, 0x1004, out, 4) == 4 && out[0] == 4 && out[3] == 7);
	CHECK(memimage_read(&m, 0x100c, out, 8) == 4);	/* short at the region's end */
	CHECK(memimage_read(&m, 0x2000, out, 1) == 1 && out[0] == 0x80);
	CHECK(memimage_read(&m, 0x3000, out, 1) == 0);
	CHECK(memimage_read(&m, UINT64_MAX - 2, out, 8) == 0);	/* wraps: nothing */
	CHECK(memimage_covers(&m, 0x200f) && !memimage_covers(&m, 0x2010));
	memimage_free(&m);
}

static void test_procfs_parsers(void)
{
	struct arena a = { 0 };
	struct mapping mp;
	CHECK(procfs_parse_maps_line("55d0c000-55d0e000 r-xp 00001000 08:01 1234   /usr/bin/x y (deleted)\n",
				     &mp, &a));
	CHECK(mp.start == 0x55d0c000 && mp.end == 0x55d0e000 && mp.offset == 0x1000 && mp.inode == 1234);
	CHECK(strcmp(mp.perms, "r-xp") == 0 && strcmp(mp.path, "/usr/bin/x y") == 0);
	CHECK(procfs_parse_maps_line("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]", &mp, &a) &&
	      strcmp(mp.path, "[stack]") == 0);
	CHECK(procfs_parse_maps_line("7000-6000 rw-p 00000000 00:00 0", &mp, &a) == false);
	CHECK(procfs_parse_maps_line("garbage", &mp, &a) == false);
	CHECK(procfs_parse_maps_line("1000-2000 rw-p 00000000 00:00 0                  \n", &mp, &a) && !mp.path);
	CHECK(procfs_parse_maps_line("1000-2000 rw-p 00000000 00:00 0", &mp, &a) && !mp.path);
	CHECK(!procfs_parse_maps_line("1000-2000 rw-pp 00000000 00:00 0", &mp, &a));
	CHECK(!procfs_parse_maps_line("1000-2000 rw- 00000000 00:00 0", &mp, &a));
	CHECK(!procfs_parse_maps_line("1000-12345678901234567890 rw-p 0 00:00 0", &mp, &a));
	CHECK(!procfs_parse_maps_line("1000-2000 rw-p 00000000 0000 0", &mp, &a));
	CHECK(procfs_parse_maps_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]", &mp, &a) &&
	      mp.end == 0xffffffffff601000ull && strcmp(mp.path, "[vsyscall]") == 0 && strcmp(mp.perms, "--xp") == 0);
	/* every line of a real maps file reads as sscanf reads it */
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4200];
	int lines = 0, same = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long st, en, off, ino;
		char perms[8], path[4200] = "";
		unsigned dmaj, dmin;
		int n = sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %4199[^\n]", &st, &en, perms, &off, &dmaj, &dmin,
			       &ino, path);
		lines++;
		same += n >= 7 && procfs_parse_maps_line(line, &mp, &a) && mp.start == st && mp.end == en &&
			mp.offset == off && mp.inode == ino && strcmp(mp.perms, perms) == 0 &&
			(n == 7 ? !mp.path : strcmp(mp.path, path) == 0);
	}
	if (f)
		fclose(f);
	CHECKF(lines > 5 && same == lines, "%d of %d lines of /proc/self/maps parsed alike", same, lines);
	char st;
	uint64_t ticks;
	CHECK(procfs_parse_stat("123 (a) b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13", &st, &ticks) && st == 'S');
	CHECK(ticks == 23);
	CHECK(!procfs_parse_stat("123 (noclose", &st, NULL));
	long nr;
	uint64_t args[6], sp, pc;
	CHECK(procfs_parse_syscall("202 0x55ee423e0280 0x80 0x2 0x0 0x0 0x0 0x7ffc10 0x7f12\n", &nr, args, &sp, &pc) == 1);
	CHECK(nr == 202 && args[0] == 0x55ee423e0280 && args[2] == 2 && sp == 0x7ffc10 && pc == 0x7f12);
	CHECK(procfs_parse_syscall("running\n", &nr, args, &sp, &pc) == 0);
	CHECK(procfs_parse_syscall("-1 0x7ffc 0x4011\n", &nr, args, &sp, &pc) == 2 && sp == 0x7ffc);
	CHECK(procfs_parse_syscall("202 0x1", &nr, args, &sp, &pc) == -1);
	arena_free(&a);
}

static void unit_tests(void)
{
	test_grouping();
	test_memimage();
	test_procfs_parsers();
}
