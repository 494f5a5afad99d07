/*
 * mpu.c — chapter 05, part 6: ARMv7-M MPU region arithmetic.   (exercise skeleton)
 *
 * Pure arithmetic, run on the host by the tests; kernel.c writes your two words to MPU_RBAR and MPU_RASR. The
 * register layouts are in mpu.h. Work in uint64_t wherever a size could reach 2^32 — `1u << 32` is undefined.
 *
 * Yours: every function. Each returns a neutral value so the file compiles.
 */
#include "mpu.h"

k_err k_mpu_encode(uint32_t base, uint32_t size, k_mpu_access access, uint8_t srd, unsigned number, k_mpu_region *out)
{
    /* TODO: refuse (K_ERR_INVAL, *out untouched) a region number above 7, a size that is not a power of two
     * or is below 32, a base not aligned to size, and srd != 0 when size < 256 (no subregions there).
     * Then rbar = base | K_MPU_RBAR_VALID | number, and rasr = the access bits | srd << 8 |
     * (log2(size) - 1) << 1 | ENABLE. The access bits, from the ARMv7-M manual:
     *   K_MPU_USER_RW: XN, AP = 0b011, TEX = 0b001 (bit 19), S (bit 18)
     *   K_MPU_USER_RX: AP = 0b110, C (bit 17)
     *   K_MPU_USER_RO: XN, AP = 0b110, C (bit 17)
     * Trap: SIZE is log2 minus one — a 32-byte region is SIZE 4. Off by one means a region twice as large: a
     * process that can write into its neighbour, and no test on real hardware will tell you. */
    (void)base;
    (void)size;
    (void)access;
    (void)srd;
    (void)number;
    (void)out;
    return K_ERR_TODO;
}

k_err k_mpu_cover(uint32_t start, uint32_t len, k_mpu_access access, unsigned number, k_mpu_region *out)
{
    /* TODO: the smallest region that allows exactly [start, start+len).
     *   - len 0, start + len beyond 2^32, number > 7: K_ERR_INVAL.
     *   - Try sizes from the first power of two >= max(len, 32) upward: base = start rounded down to size.
     *     If base + size < start + len, this size cannot contain the range: try the next.
     *   - If base == start and size == len: one plain region, srd 0.
     *   - Below 256 bytes there are no subregions: try the next size.
     *   - Else sub = size / 8; (start - base) and len must both be multiples of sub, or return K_ERR_SIZE
     *     (every bigger region has bigger subregions). Disable every subregion outside the range.
     * Rust's Tock does this in `allocate_app_memory_region`; rounding up silently instead would hand a process
     * memory it was never given. */
    (void)start;
    (void)len;
    (void)access;
    (void)number;
    (void)out;
    return K_ERR_TODO;
}

bool k_mpu_allows(const k_mpu_region *r, uint32_t addr, uint32_t len)
{
    /* TODO: false if ENABLE is clear or len is 0. Decode size = 2^(SIZE + 1) and base = rbar with its low 5
     * bits (VALID, region) cleared; false if [addr, addr+len) is not inside [base, base+size) (in 64 bits). For
     * regions of 256 bytes or more, false if any touched subregion (index (byte - base) / (size / 8)) has its SRD
     * bit set. */
    (void)r;
    (void)addr;
    (void)len;
    return false;
}
