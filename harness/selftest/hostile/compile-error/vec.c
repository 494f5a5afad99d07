#include "vec.h"

fv_status fv_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)
{
    return FV_OK /* the semicolon is missing */
}
