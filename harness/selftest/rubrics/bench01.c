/*
 * The selftest's performance driver for chapter 01: pushes and pops a million u32 values, twenty times over,
 * through the chapter's public API. Linked with either side's objects by perf.py and timed by timer.c; it exits
 * non-zero if the vector loses or reorders anything, so a fast wrong vector earns nothing either.
 */
#include "vec.h"

#include <stdint.h>
#include <stdio.h>

enum { ROUNDS = 20, COUNT = 1000000 };

static const fv_type u32_type = {FV_LAYOUT_OF(uint32_t), NULL, "u32"};

int main(void)
{
    uint64_t sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        fv_vec v;
        if (fv_new(&v, &u32_type, NULL) != FV_OK)
            return 1;
        for (uint32_t i = 0; i < COUNT; i++) {
            if (fv_push(&v, &i) != FV_OK)
                return 1;
        }
        uint32_t out, expect = COUNT;
        while (fv_pop(&v, &out)) {
            if (out != --expect)
                return 1;
            sum += out;
        }
        fv_destroy(&v);
    }
    printf("%llu\n", (unsigned long long)sum);
    return sum == (uint64_t)ROUNDS * COUNT * (COUNT - 1) / 2 ? 0 : 1;
}
