# Writes go/waitreasons.c from the Go sources of each toolchain named:
#   python3 go/waitreasons_gen.py 1.19 1.21 ... > go/waitreasons.c
import re,sys
out=['/* The runtime\'s waitReasonStrings of each Go release chang was tested with, generated from',
' * each toolchain\'s src/runtime/runtime2.go (index = waitReason value). Used only when the',
' * binary\'s own array cannot be found: stripped binaries have no symbol for it, and the',
' * strings moved (1.24 added "sync.WaitGroup.Wait"; 1.26 reordered the enum). */',
'#include "go/internal.h"','#include <stddef.h>','']
vers=[]
for v in sys.argv[1:]:
    s=open('/usr/lib/go-%s/src/runtime/runtime2.go'%v).read()
    a=s.index('var waitReasonStrings = [...]string{'); b=s.index('\n}',a)
    d=dict(re.findall(r'(waitReason\w+)\s*:\s*"([^"]*)"',s[a:b]))
    e=s.index('waitReasonZero '); eb=s.index('\n)',e)
    names=re.findall(r'^\s*(waitReason\w+)',s[e:eb],re.M)
    minor=int(v.split('.')[1]); vers.append((minor,len(names)))
    out.append('static const char *const reasons_1_%d[] = {'%minor)
    for n in names:
        out.append('\t"%s",\t/* %s */'%(d.get(n,''),n))
    out.append('};'); out.append('')
out.append('static const struct {\n\tint minor;\n\tconst char *const *v;\n\tint n;\n} tables[] = {')
for m,n in vers:
    out.append('\t{ %d, reasons_1_%d, %d },'%(m,m,n))
out.append('};')
out.append('''
const char *const *go_waitreason_table(int minor, int *n, int *table_minor)
{
	/* the newest table not newer than the binary; the oldest for older binaries */
	size_t best = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++)
		if (tables[i].minor <= minor)
			best = i;
	*n = tables[best].n;
	*table_minor = tables[best].minor;
	return tables[best].v;
}''')
print('\n'.join(out))
