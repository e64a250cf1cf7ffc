/*
 * plain_files - the reference for the statement writers: creates, in a
 * fresh folder OUT, one file of the same size for every file in folder IN,
 * with a plain single-threaded open-write-close loop and one syncfs at the
 * end (what the writers do for durability), and prints files per second.
 *
 *   plain_files IN OUT
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: plain_files IN OUT\n");
		return 2;
	}
	DIR *in = opendir(argv[1]);
	if (!in || mkdir(argv[2], 0750) < 0) {
		perror("plain_files");
		return 1;
	}
	/* sizes first, so only the writing is timed */
	size_t n = 0, cap = 1024, maxsz = 1;
	off_t *sizes = malloc(cap * sizeof *sizes);
	struct dirent *e;
	while ((e = readdir(in))) {
		struct stat st;
		if (e->d_name[0] == '.' || fstatat(dirfd(in), e->d_name, &st, 0) < 0)
			continue;
		if (n == cap)
			sizes = realloc(sizes, (cap *= 2) * sizeof *sizes);
		sizes[n++] = st.st_size;
		if ((size_t)st.st_size > maxsz)
			maxsz = (size_t)st.st_size;
	}
	closedir(in);
	char *buf = malloc(maxsz);
	memset(buf, 'x', maxsz);
	int out = open(argv[2], O_RDONLY | O_DIRECTORY);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "f%zu", i);
		int fd = openat(out, name, O_WRONLY | O_CREAT | O_TRUNC, 0640);
		if (fd < 0 || write(fd, buf, (size_t)sizes[i]) != (ssize_t)sizes[i] || close(fd) < 0) {
			perror(name);
			return 1;
		}
	}
	syncfs(out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("plain loop: %zu files in %.2f s = %.0f files/s\n", n, s, (double)n / s);
	return 0;
}
