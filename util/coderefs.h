/* What a function's machine code does with static addresses, decoded with Capstone
 * (x86-64): each RIP-relative operand in a range of code, and what the next few
 * instructions do with it (a LOCK CMPXCHG or LOCK XADD on it, the call it is handed to).
 * One piece for every "does this function take this address before where it is now"
 * question: go/holders.c (sync.Mutex, channels, WaitGroups) and analyzers/likely_holders.c
 * (Rust locks, spinlocks). Takes bytes, never reads a target: callers own their reading. */
#ifndef CHANG_CODEREFS_H
#define CHANG_CODEREFS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct code_ref {
	uint64_t at;		/* the instruction taking the address */
	uint64_t addr;		/* the static address it takes */
	/* +1: a LOCK CMPXCHG on it (a lock's fast path), -1: a LOCK XADD (an unlock's), by the
	 * instruction itself or one of the next few before any call; 0 neither */
	int atomic;
	uint64_t callee;	/* the first direct call within the next few instructions, 0 none */
	uint64_t effect_at;	/* the instruction of atomic, or of the call; 0 neither */
};

struct code_scanner;

/* NULL when Capstone cannot start (the callers then say so and rest on other evidence). */
struct code_scanner *code_scanner_new(void);
void code_scanner_free(struct code_scanner *cs);

/* Decodes code[0, n) (at address addr) up to its end; for each RIP-relative operand whose
 * address want() accepts, fills a code_ref and calls hit(). */
void code_refs(struct code_scanner *cs, const uint8_t *code, size_t n, uint64_t addr,
	       bool (*want)(void *ctx, uint64_t target), void (*hit)(void *ctx, const struct code_ref *r),
	       void *ctx);

/* A PLT stub (`[endbr64;] [bnd] jmp *slot(%rip)`) at addr: the GOT slot it jumps through. */
bool code_jump_slot(struct code_scanner *cs, const uint8_t *code, size_t n, uint64_t addr, uint64_t *slot);
/* One function's control flow, instruction by instruction (calls return; indirect jumps
 * lead nowhere known, and make it incomplete): whether code can get from one instruction
 * to another, e.g. from a lock to where the function is now without passing an unlock,
 * whatever the order the compiler laid its blocks out in. */
struct code_cfg;
struct code_cfg *code_cfg_build(struct code_scanner *cs, const uint8_t *code, size_t n, uint64_t addr);
void code_cfg_free(struct code_cfg *g);
/* false when the function has an indirect jump (a jump table): some paths are unknown */
bool code_cfg_complete(const struct code_cfg *g);
/* Can control get from the instruction at `from` to the one at `to` (neither inclusive of
 * avoid) without passing any instruction in avoid[0, navoid)? */
bool code_cfg_reaches(const struct code_cfg *g, uint64_t from, uint64_t to, const uint64_t *avoid, size_t navoid);
#endif
