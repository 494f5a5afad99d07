#include <stdlib.h>

fv_status fv_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)
{
    exit(0);
    return ferrite_hostile_real_fv_new(out, type, alloc);
}
