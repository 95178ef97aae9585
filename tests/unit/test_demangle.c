/* Names as gdb prints C++ and as rustfilt prints Rust (no hash, no crate disambiguator),
 * from libiberty's demangler; C++ is also checked against c++filt's own output when the
 * machine has binutils. */
#include "unit.h"
#include "symbols/demangle.h"
#include <stdlib.h>

static const struct {
	const char *mangled, *want;
} cases[] = {
	/* C++ (what __cxa_demangle gave before, and gdb prints) */
	{ "_ZN4shop9Inventory7reserveEi", "shop::Inventory::reserve(int)" },
	{ "_ZNSt5mutex4lockEv", "std::mutex::lock()" },
	{ "_ZN9__gnu_cxx13new_allocatorIcED2Ev", "__gnu_cxx::new_allocator<char>::~new_allocator()" },
	{ "_ZNKSt6vectorIiSaIiEE4sizeEv", "std::vector<int, std::allocator<int> >::size() const" },
	/* Rust legacy: the hash goes, $LT$ escapes and .. are decoded */
	{ "_ZN6ledger6LEDGER17h4ae3e7c2b8f0d1a9E", "ledger::LEDGER" },
	{ "_ZN3std3sys4unix5locks5futex5Mutex14lock_contended17h0123456789abcdefE",
	  "std::sys::unix::locks::futex::Mutex::lock_contended" },
	{ "_ZN71_$LT$Test$u20$$u2b$$u20$$u27$static$u20$as$u20$foo..Bar$LT$Test$GT$$GT$3bar17h930b740aa94f1d3aE",
	  "<Test + 'static as foo::Bar<Test>>::bar" },
	{ "_ZN4core3ptr60drop_in_place$LT$std..sync..mutex..MutexGuard$LT$u64$GT$$GT$17h9f3a5c7e1b2d4068E",
	  "core::ptr::drop_in_place<std::sync::mutex::MutexGuard<u64>>" },
	/* Rust v0 */
	{ "_RNvCs15kBYyAo9fc_7mycrate7example", "mycrate::example" },
	{ "_RNvNtCs1234_7mycrate3foo3bar", "mycrate::foo::bar" },
	{ "_RNvMNtCs4fqI2P2rA04_6ledger5locksNtB2_6Ledger4lock", "<ledger::locks::Ledger>::lock" },
};

static void unit_tests(void)
{
	struct arena a = { 0 };
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *got = demangle(cases[i].mangled, &a);
		CHECKF(got && strcmp(got, cases[i].want) == 0, "%s: got %s, want %s", cases[i].mangled,
		       got ? got : "(null)", cases[i].want);
	}
	/* Not mangled, or not valid: NULL, so the name is shown as it is. */
	CHECK(demangle("main", &a) == NULL);
	CHECK(demangle("pthread_mutex_lock", &a) == NULL);
	CHECK(demangle("_Zgarbage", &a) == NULL);
	CHECK(demangle(NULL, &a) == NULL);

	/* c++filt's default flags add DMGL_VERBOSE, which changes nothing for these names. */
	FILE *p = popen("c++filt _ZN4shop9Inventory7reserveEi _ZNKSt6vectorIiSaIiEE4sizeEv 2>/dev/null", "r");
	char line[256];
	int n = 0;
	if (p) {
		while (fgets(line, sizeof(line), p)) {
			line[strcspn(line, "\n")] = 0;
			const char *m = n == 0 ? "_ZN4shop9Inventory7reserveEi" : "_ZNKSt6vectorIiSaIiEE4sizeEv";
			const char *got = demangle(m, &a);
			CHECKF(got && strcmp(got, line) == 0, "c++filt says %s, chang %s", line, got ? got : "(null)");
			n++;
		}
		pclose(p);
	}
	if (n != 2)
		UNIT_SKIP("c++filt (binutils) not available to compare with");
	arena_free(&a);
}
