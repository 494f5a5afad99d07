/*
 * boot.c — chapter 05, part 1: vector table, reset, the UART, printing, panic.   (reference solution)
 *
 * Cortex-M3 only: on the host this file compiles to nothing. The vector table is the first thing in flash; the
 * CPU loads the stack pointer from word 0 and jumps to word 1 (k_reset), in privileged thread mode on MSP. Before
 * any C code may rely on a global, k_reset must copy .data from flash and zero .bss — nobody else will.
 */
#include "kernel.h"

#if defined(__arm__)

#include <stdarg.h>
#include <stddef.h>

/* ---- the vector table (given) ----------------------------------------------------------------------------- */

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];

static void k_unexpected_handler(void)
{
    k_panic("unexpected exception (NMI, DebugMon, PendSV or an interrupt)");
}

/* SAFETY: the CPU reads this table as 32-bit words: the initial MSP, then handler addresses (Thumb, bit 0 set,
 * which the compiler guarantees for function symbols). Its place, address 0, is fixed by kernel.ld. */
__attribute__((section(".vectors"), used)) static const void *const k_vectors[16] = {
    _estack,               /*  0: initial main stack pointer */
    k_reset,               /*  1: reset */
    k_unexpected_handler,  /*  2: NMI */
    k_fault_handler,       /*  3: HardFault */
    k_fault_handler,       /*  4: MemManage (the MPU said no) */
    k_fault_handler,       /*  5: BusFault */
    k_fault_handler,       /*  6: UsageFault */
    0, 0, 0, 0,            /*  7-10: reserved */
    k_svc_handler,         /* 11: SVCall */
    k_unexpected_handler,  /* 12: DebugMonitor */
    0,                     /* 13: reserved */
    k_unexpected_handler,  /* 14: PendSV (unused: see the README on SVC- versus PendSV-based switching) */
    k_systick_handler,     /* 15: SysTick */
};

/* ---- reset -------------------------------------------------------------------------------------------------- */

void k_reset(void)
{
    /* SAFETY: kernel.ld defines these symbols as word-aligned bounds of .data (and its flash image) and .bss; the
     * loops touch nothing else. Volatile-free plain loops: -fno-tree-loop-distribute-patterns keeps gcc from
     * turning them into calls to memcpy/memset — which would run before .data exists. */
    for (uint32_t *src = _sidata, *dst = _sdata; dst < _edata;)
        *dst++ = *src++;
    for (uint32_t *dst = _sbss; dst < _ebss;)
        *dst++ = 0;
    k_main();
    k_semihost_exit(K_EXIT_KERNEL_RETURNED);
}

/* ---- the UART: CMSDK APB UART0 ---------------------------------------------------------------------------- */

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))  /* bit 0: transmit buffer full */
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))   /* bit 0: transmit enable */
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10)) /* must be >= 16 */

void k_uart_init(void)
{
    UART_BAUDDIV = 16;
    UART_CTRL = 1;
}

void k_putc(char c)
{
    while (UART_STATE & 1u) {
    }
    UART_DATA = (uint8_t)c;
}

void k_write(const char *buf, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        k_putc(buf[i]);
}

/* ---- printing (given) --------------------------------------------------------------------------------------- */

static void put_unsigned(uint32_t v, unsigned base, int width)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (width-- > n)
        k_putc('0');
    while (n)
        k_putc(digits[--n]);
}

void k_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            k_putc(*fmt);
            continue;
        }
        int width = 0;
        if (fmt[1] == '0' && fmt[2] >= '1' && fmt[2] <= '9') {
            width = fmt[2] - '0';
            fmt += 2;
        }
        switch (*++fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (s && *s)
                k_putc(*s++);
            break;
        }
        case 'c':
            k_putc((char)va_arg(ap, int));
            break;
        case 'd': {
            int v = va_arg(ap, int);
            if (v < 0)
                k_putc('-');
            put_unsigned(v < 0 ? 0u - (uint32_t)v : (uint32_t)v, 10, width);
            break;
        }
        case 'u':
            put_unsigned(va_arg(ap, unsigned), 10, width);
            break;
        case 'x':
            put_unsigned(va_arg(ap, unsigned), 16, width);
            break;
        case '%':
            k_putc('%');
            break;
        default:
            return;  /* an unknown conversion: stop rather than guess what was passed */
        }
    }
    va_end(ap);
}

/* ---- panic and exit ----------------------------------------------------------------------------------------- */

void k_semihost_exit(int code)
{
    /* SYS_EXIT_EXTENDED (0x20): r1 points at {reason, code}; 0x20026 is ADP_Stopped_ApplicationExit. */
    static volatile uint32_t block[2];
    block[0] = 0x20026;
    block[1] = (uint32_t)code;
    register uint32_t r0 __asm__("r0") = 0x20;
    register uint32_t r1 __asm__("r1") = (uint32_t)block;
    /* SAFETY: with -semihosting-config enable=on, QEMU handles bkpt 0xab and exits; without it, this is a
     * debug event that halts, which the loop below makes harmless. */
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

void k_panic(const char *msg)
{
    __asm__ volatile("cpsid i" ::: "memory");  /* no tick may take the CPU from a dying kernel */
    k_printf("kernel panic: %s\n", msg);
    k_semihost_exit(K_EXIT_PANIC);
}

/* ---- what gcc may call even in freestanding code (given) -------------------------------------------------- */

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

#else
typedef int k_boot_is_arm_only; /* the host build compiles this file to nothing */
#endif
