#include <sys/wait.h>
#include <unistd.h>

/* Detaches a process as a daemon does: the middle process starts a session of its own, forks and exits, so the
 * grandchild is in no process group Check kills when the test ends. It outlives the test by a minute. */
static void start_daemon(void)
{
    pid_t middle = fork();
    if (middle == 0) {
        setsid();
        if (fork() == 0)
            sleep(60);
        _exit(0);
    }
    if (middle > 0)
        waitpid(middle, NULL, 0);
}

fv_status fv_shrink_to_fit(fv_vec *v)
{
    start_daemon();
    return ferrite_hostile_real_fv_shrink_to_fit(v);
}
