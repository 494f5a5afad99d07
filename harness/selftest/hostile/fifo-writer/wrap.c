#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The word after `flag` in the runner's command line, which a test's process inherits; NULL if there is none. */
static const char *runner_argument(const char *flag)
{
    static char cmdline[8192];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t size = read(fd, cmdline, sizeof cmdline - 1);
    close(fd);
    for (ssize_t at = 0; size > 0 && at < size;) {
        const char *word = cmdline + at;
        at += (ssize_t)strlen(word) + 1;
        if (strcmp(word, flag) == 0 && at < size)
            return cmdline + at;
    }
    return NULL;
}

/* A detached grandchild, once per test process: it writes something that is not Check's into the log and stays.
 * The test is quick while its part runs together and slow (2 s, under its 3 s limit) when it runs alone:
 * the reruns the spoiled logs cause are where the time goes. */
static void spoil_the_log(void)
{
    static int done;
    if (done++)
        return;
    pid_t middle = fork();
    if (middle == 0) {
        setsid();
        if (fork() == 0) {
            const char *path = runner_argument("--xml");
            int log = path ? open(path, O_WRONLY | O_NONBLOCK) : -1;
            static const char junk[] = "<test result=\"success\"><id>not_a_test</id></test>\n";
            if (log >= 0 && write(log, junk, sizeof junk - 1) < 0)
                _exit(1);
            sleep(60);
        }
        _exit(0);
    }
    if (middle > 0)
        waitpid(middle, NULL, 0);
    const char *tests = runner_argument("--test");
    if (tests != NULL && strchr(tests, ',') == NULL)
        sleep(2);
}

fv_status fv_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)
{
    spoil_the_log();
    return ferrite_hostile_real_fv_new(out, type, alloc);
}
