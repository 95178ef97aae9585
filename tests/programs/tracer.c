/* Another debugger: seizes a process (argv[1]) and holds it traced until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (ptrace(PTRACE_SEIZE, atoi(argv[1]), 0, 0) != 0) {
		perror("ptrace");
		return 1;
	}
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}
