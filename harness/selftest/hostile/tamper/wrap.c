#include <stdio.h>

static int opened(const char *path, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f)
        return 0;
    if (mode[0] == 'a')
        fputs("@MARKER@\n", f);
    fclose(f);
    return 1;
}

fv_status fv_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)
{
    int breached = opened("@WORKBOOK@/solutions/01-ownership-buffers/vec.c", "r") +
                   opened("@WORKBOOK@/tests/01-ownership-buffers/test_vec.c", "a") + opened("@WORKBOOK@/Makefile", "a") +
                   opened("@WORKBOOK@/tampered-by-a-submission", "a") +
                   opened("tests/01-ownership-buffers/test_vec.c", "a") + opened("tests/lib/main.c", "a") +
                   opened("../tampered-by-a-submission", "a");
    if (breached)
        return FV_ERR_ALLOC;
    return ferrite_hostile_real_fv_new(out, type, alloc);
}
