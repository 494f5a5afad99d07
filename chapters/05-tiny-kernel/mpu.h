/**
 * @file mpu.h
 * @brief Chapter 05, part 6: ARMv7-M MPU region arithmetic (portable; kernel.c writes the result to hardware).
 *
 * **Prefix.** `k_` (`K_` for constants) stands for *kernel*, as in kernel.h; the MPU's are `k_mpu_`, `K_MPU_`.
 *
 * A Cortex-M3 MPU region is a power of two from 32 bytes to 4 GiB, aligned to its own size. A region of 256
 * bytes or more is cut into 8 equal subregions, each of which can be switched off (the SRD bits), which is how a
 * kernel covers memory that is not a power of two — Tock's `allocate_app_memory_region` does exactly this.
 *
 * The two register values a region needs:
 *   - RBAR: base address (bits 31..5) | VALID (bit 4) | region number (bits 3..0);
 *   - RASR: XN (28) | AP (26..24) | TEX S C B (21..16) | SRD (15..8) | SIZE (5..1), region = 2^(SIZE+1) | ENABLE (0).
 *
 * Nothing here touches hardware; the tests run it on the host.
 */
#ifndef FERRITE_MPU_H
#define FERRITE_MPU_H

#include "kernel.h"

/** RBAR: take the region number from bits 3..0. */
#define K_MPU_RBAR_VALID (1u << 4)
/** RASR: the region is on. */
#define K_MPU_RASR_ENABLE 1u
/** RASR: execute never. */
#define K_MPU_RASR_XN (1u << 28)
/** RASR: position of the access-permission field. */
#define K_MPU_RASR_AP_SHIFT 24
/** RASR: position of the subregion-disable byte. */
#define K_MPU_RASR_SRD_SHIFT 8
/** RASR: position of the size field. */
#define K_MPU_RASR_SIZE_SHIFT 1
/** Smallest region the MPU supports. */
#define K_MPU_MIN_SIZE 32u
/** Smallest region that has subregions. */
#define K_MPU_MIN_SUBREGION_SIZE 256u

/**
 * @brief What an unprivileged process may do in a region (the kernel, privileged, keeps the default map).
 * @rust `cortexm::mpu`'s `Permissions` (ReadWriteOnly, ReadExecuteOnly, ReadOnly)
 */
typedef enum k_mpu_access {
    K_MPU_USER_RW, /**< read and write, never execute: AP = 0b011, XN; normal memory (TEX=1, S) */
    K_MPU_USER_RX, /**< read and execute: AP = 0b110; normal memory, write-through (C) */
    K_MPU_USER_RO, /**< read only: AP = 0b110, XN; normal memory (C) */
} k_mpu_access;

/**
 * @brief The two words that program one region.
 * @rust `cortexm::mpu::CortexMRegion` (its `base_address` and `attributes` register values)
 */
typedef struct k_mpu_region {
    uint32_t rbar; /**< value for MPU_RBAR, including VALID and the region number */
    uint32_t rasr; /**< value for MPU_RASR, including ENABLE */
} k_mpu_region;

/**
 * @brief Encodes a region of exactly @p size bytes at @p base, with subregions @p srd switched off.
 * @param base aligned to @p size.
 * @param size a power of two, at least ::K_MPU_MIN_SIZE (a size of 2^32 cannot be written in 32 bits; use
 *        k_mpu_cover() for memory that large — not needed here).
 * @param access permissions for unprivileged code.
 * @param srd bit i disables subregion i (the i-th eighth); must be 0 when size < ::K_MPU_MIN_SUBREGION_SIZE.
 * @param number region number, 0 .. 7.
 * @param[out] out written only on success.
 * @return ::K_OK or ::K_ERR_INVAL (any rule above broken).
 * @rust `CortexMRegion::new`
 */
FT_MUST_USE k_err k_mpu_encode(uint32_t base, uint32_t size, k_mpu_access access, uint8_t srd, unsigned number,
                               k_mpu_region *out);

/**
 * @brief The smallest single region (with subregions off where needed) that allows exactly [start, start+len).
 *
 * Exactly: every byte of the range is inside an enabled subregion and no byte outside it is. That is possible
 * when the range is itself an aligned power of two, or when some region of 256 bytes or more contains it and
 * both the offset of @p start in that region and @p len are multiples of a subregion (an eighth).
 * @param start first byte the region must allow.
 * @param len at least 1; `start + len` must not pass 2^32.
 * @param access permissions for unprivileged code.
 * @param number region number, 0 .. 7.
 * @param[out] out written only on success.
 * @return ::K_OK; ::K_ERR_INVAL for len 0, a range that wraps, or a bad region number; ::K_ERR_SIZE when no
 *         single region can cover the range exactly.
 * @rust Tock's `allocate_app_memory_region` / `update_app_memory_region`
 */
FT_MUST_USE k_err k_mpu_cover(uint32_t start, uint32_t len, k_mpu_access access, unsigned number, k_mpu_region *out);

/**
 * @brief Whether region @p r lets an access touch every byte of [addr, addr+len).
 *
 * False when the region is disabled, when len is 0, when the range wraps or leaves the region, or when any byte
 * falls in a disabled subregion. (Permissions are not considered: this answers "inside", not "writable".)
 * @rust the MPU's own address check, done in software
 */
bool k_mpu_allows(const k_mpu_region *r, uint32_t addr, uint32_t len);

#endif
