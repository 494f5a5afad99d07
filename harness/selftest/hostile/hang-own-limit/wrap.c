#include <stdio.h>
#include <time.h>

/* Never returns. Every half second it says, on stderr (unbuffered), how long it has waited so far: the last line
 * its test printed before Check stopped it tells when that was. */
void wp_pool_wait_idle(wp_pool *p)
{
    struct timespec start, now, half = {0, 500000000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        nanosleep(&half, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
        double waited = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        fprintf(stderr, "wp_pool_wait_idle: still waiting after %.1f s\n", waited);
    }
    ferrite_hostile_real_wp_pool_wait_idle(p);
}
