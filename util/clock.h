/* The monotonic clock, the one every duration chang measures or waits for is read from
 * (pause times, phase times, run's timeout, watch's samples). */
#ifndef CHANG_CLOCK_H
#define CHANG_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_ms(void)
{
	return mono_ns() / 1000000u;
}

static inline double mono_s(void)
{
	return (double)mono_ns() / 1e9;
}
#endif
