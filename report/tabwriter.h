/* A port of Go's text/tabwriter (flags 0), so that text chang writes in a Go format is padded
 * byte for byte as Go pads it: tools that compare or parse Go dumps then read chang's too.
 *
 * Input follows Go's rules: '\t' ends a cell, '\v' ends a "soft" cell, '\n' ends a line and
 * '\f' ends a line and flushes; text between two 0xff bytes is written as is (tabs and
 * newlines in it are not cell breaks) and counts as its width minus the two 0xff bytes.
 * A column block is a run of consecutive lines that all have a cell in that column (the
 * text after a line's last tab is not a cell), so a line without tabs ends every block. */
#ifndef CHANG_TABWRITER_H
#define CHANG_TABWRITER_H
#include <stddef.h>
#include <stdio.h>

struct tabwriter;

/* minwidth: smallest cell width including padding; tabwidth: width of a tab when padding
 * with tabs; padding: added to each cell's width; padchar: '\t' pads with tabs (widths
 * rounded up to tabwidth), anything else pads with that character. */
struct tabwriter *tabwriter_new(FILE *out, int minwidth, int tabwidth, int padding, char padchar);
void tabwriter_write(struct tabwriter *tw, const char *buf, size_t n);
void tabwriter_puts(struct tabwriter *tw, const char *s);
void tabwriter_printf(struct tabwriter *tw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes out everything buffered, ending an open escape and cell; -1 if the stream failed
 * (now or in any write since the writer was made). */
int tabwriter_flush(struct tabwriter *tw);
/* Frees without flushing. */
void tabwriter_free(struct tabwriter *tw);
#endif
