#include "report/report.h"
#include "report/debug1.h"
#include "report/dot.h"
#include "report/pprof.h"
#include <string.h>
#include <time.h>

static const struct {
	const char *name;
	enum report_format f;
} formats[] = {
	{ "text", FMT_TEXT }, { "threads", FMT_THREADS }, { "json", FMT_JSON },
	{ "goroutine", FMT_GOROUTINE }, { "pprof", FMT_PPROF }, { "dot", FMT_DOT },
};

int report_parse_format(const char *name, enum report_format *out)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++)
		if (strcmp(formats[i].name, name) == 0) {
			*out = formats[i].f;
			return 0;
		}
	return -1;
}

const char *report_format_name(enum report_format f)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++)
		if (formats[i].f == f)
			return formats[i].name;
	return "?";
}

int report_write(FILE *out, enum report_format f, const struct snapshot *s, struct err *e)
{
	switch (f) {
	case FMT_TEXT: return report_text(out, s, e);
	case FMT_THREADS: return report_threads(out, s, e);
	case FMT_JSON: return report_json(out, s, e);
	case FMT_GOROUTINE: return report_goroutine(out, s, e);
	case FMT_PPROF: return report_pprof(out, s, e);
	case FMT_DOT: return report_dot(out, s, e);
	}
	return err_set(e, ERR_USAGE, "unknown format");
}

void report_format_time(uint64_t ns, char *buf, size_t cap)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&sec, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}
