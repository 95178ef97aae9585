/* Library code never prints: it fills an error with "object: cause" and returns failure;
 * only the command layer decides what reaches stderr and which exit status follows. */
#ifndef CHANG_ERR_H
#define CHANG_ERR_H
struct err {
	int code;		/* exit status the command should use; 0 = no error */
	char msg[512];
};
#define ERR_USAGE 2
#define ERR_FAIL 1

int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefix an existing message with more context ("core.123: " + msg). */
void err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
