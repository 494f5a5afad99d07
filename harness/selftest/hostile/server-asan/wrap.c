#include <stdlib.h>

int ae_server_run(ae_server *s)
{
    int rc = ferrite_hostile_real_ae_server_run(s);
    volatile size_t past_the_end = 8;
    char *scratch = malloc(8);
    if (scratch) {
        scratch[past_the_end] = 1;
        free(scratch);
    }
    return rc;
}
