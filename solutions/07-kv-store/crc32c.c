/*
 * Chapter 07, part 1: CRC-32C, one table-driven byte at a time (a 256-entry table built once). Hardware has a
 * faster way (the SSE 4.2 `crc32` instruction, ARMv8's `crc32cb`): the crc32c crate picks it at run time; a log
 * record costs one pass either way.
 */
#include "crc32c.h"

#include <pthread.h>

#define CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41, bits reversed: the table works on the least significant bit first */

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        table[i] = c;
    }
}

uint32_t kv_crc32c_extend(uint32_t crc, const void *data, size_t len)
{
    /* pthread_once orders the table's writes before every reader's loads, on any thread. */
    pthread_once(&table_once, build_table);
    const unsigned char *p = data;
    uint32_t c = ~crc; /* undo the previous final xor (and apply the initial 0xFFFFFFFF when crc is 0) */
    for (size_t i = 0; i < len; i++)
        c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return ~c;
}

uint32_t kv_crc32c(const void *data, size_t len) { return kv_crc32c_extend(0, data, len); }
