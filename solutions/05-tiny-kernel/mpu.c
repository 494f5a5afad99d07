/*
 * mpu.c — chapter 05, part 6: ARMv7-M MPU region arithmetic.   (reference solution)
 *
 * Portable arithmetic only; kernel.c writes the two words to MPU_RBAR and MPU_RASR. Sizes are handled as
 * uint64_t wherever a region could be 4 GiB, because 1 << 32 does not fit in 32 bits.
 */
#include "mpu.h"

static bool is_pow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

static unsigned log2_pow2(uint64_t x)
{
    unsigned n = 0;
    while (x > 1) {
        x >>= 1;
        n++;
    }
    return n;
}

static uint32_t attributes(k_mpu_access access)
{
    switch (access) {
    case K_MPU_USER_RW: /* AP=011 full access; TEX=001 S=1: normal, shareable, non-cacheable; never execute */
        return K_MPU_RASR_XN | (3u << K_MPU_RASR_AP_SHIFT) | (1u << 19) | (1u << 18);
    case K_MPU_USER_RX: /* AP=110 read-only for everyone; C=1: normal, write-through */
        return (6u << K_MPU_RASR_AP_SHIFT) | (1u << 17);
    case K_MPU_USER_RO:
        return K_MPU_RASR_XN | (6u << K_MPU_RASR_AP_SHIFT) | (1u << 17);
    }
    return K_MPU_RASR_XN; /* unknown: no access for unprivileged code (AP=000) */
}

k_err k_mpu_encode(uint32_t base, uint32_t size, k_mpu_access access, uint8_t srd, unsigned number, k_mpu_region *out)
{
    if (number > 7 || size < K_MPU_MIN_SIZE || !is_pow2(size) || (base & (size - 1)) != 0)
        return K_ERR_INVAL;
    if (srd != 0 && size < K_MPU_MIN_SUBREGION_SIZE)
        return K_ERR_INVAL; /* regions under 256 bytes have no subregions; the SRD bits must be zero */
    out->rbar = base | K_MPU_RBAR_VALID | number;
    out->rasr = attributes(access) | ((uint32_t)srd << K_MPU_RASR_SRD_SHIFT) |
                ((log2_pow2(size) - 1) << K_MPU_RASR_SIZE_SHIFT) | K_MPU_RASR_ENABLE;
    return K_OK;
}

/* Subregion-disable bits for a region at `base` of `size` bytes that must enable exactly [start, start+len). */
static uint8_t srd_outside(uint64_t base, uint64_t size, uint64_t start, uint64_t len)
{
    uint64_t sub = size / 8;
    unsigned first = (unsigned)((start - base) / sub);
    unsigned count = (unsigned)(len / sub);
    uint8_t enabled = (uint8_t)(((1u << count) - 1) << first);
    return (uint8_t)~enabled;
}

k_err k_mpu_cover(uint32_t start, uint32_t len, k_mpu_access access, unsigned number, k_mpu_region *out)
{
    uint64_t end = (uint64_t)start + len;
    if (len == 0 || end > (1ull << 32) || number > 7)
        return K_ERR_INVAL;
    uint64_t size = K_MPU_MIN_SIZE;
    while (size < len)
        size <<= 1;
    for (; size < (1ull << 32); size <<= 1) {
        uint64_t base = start & ~(size - 1);
        if (base + size < end)
            continue; /* too small to contain the range from an aligned base: grow */
        if (base == start && size == len)
            return k_mpu_encode(start, (uint32_t)size, access, 0, number, out);
        if (size < K_MPU_MIN_SUBREGION_SIZE)
            continue; /* no subregions yet: only a bigger region can trim the excess */
        uint64_t sub = size / 8;
        if ((start - base) % sub != 0 || len % sub != 0)
            return K_ERR_SIZE; /* every bigger region has bigger subregions: none can fit exactly */
        return k_mpu_encode((uint32_t)base, (uint32_t)size, access, srd_outside(base, size, start, len), number, out);
    }
    return K_ERR_SIZE;
}

bool k_mpu_allows(const k_mpu_region *r, uint32_t addr, uint32_t len)
{
    if (!(r->rasr & K_MPU_RASR_ENABLE) || len == 0)
        return false;
    unsigned field = (r->rasr >> K_MPU_RASR_SIZE_SHIFT) & 0x1f;
    uint64_t size = 1ull << (field + 1);
    uint64_t base = r->rbar & ~(uint32_t)0x1f & ~(size - 1);
    uint64_t end = (uint64_t)addr + len;
    if (addr < base || end > base + size)
        return false;
    if (size < K_MPU_MIN_SUBREGION_SIZE)
        return true;
    uint8_t srd = (uint8_t)(r->rasr >> K_MPU_RASR_SRD_SHIFT);
    uint64_t sub = size / 8;
    for (uint64_t i = (addr - base) / sub; i <= (end - 1 - base) / sub; i++)
        if ((srd >> i) & 1u)
            return false;
    return true;
}
