#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How many tests the runner was asked for: the names after --test in its command line, which a test's process
 * inherits. A test run again on its own would say 1. */
static int tests_asked_for(void)
{
    static char cmdline[16384];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t size = read(fd, cmdline, sizeof cmdline - 1);
    close(fd);
    for (ssize_t at = 0; size > 0 && at < size;) {
        const char *word = cmdline + at;
        at += (ssize_t)strlen(word) + 1;
        if (strcmp(word, "--test") == 0 && at < size) {
            int count = 1;
            for (const char *c = cmdline + at; *c; c++)
                count += *c == ',';
            return count;
        }
    }
    return 0;
}

fv_status fv_insert(fv_vec *v, size_t i, const void *elem)
{
    fprintf(stderr, "fv_insert: one of %d tests this runner was asked for\n", tests_asked_for());
    volatile size_t past_the_end = 8;
    char *scratch = malloc(8);
    if (scratch) {
        scratch[past_the_end] = 1;
        free(scratch);
    }
    return ferrite_hostile_real_fv_insert(v, i, elem);
}
