/*
 * console.c — chapter 05: text on the UART, above k_putc.   (given; linked into every kernel image)
 *
 * Everything the kernel prints goes through k_putc (boot.c), one byte at a time: k_write for a buffer, k_printf
 * for the few conversions the kernel uses, and k_console_write, the console driver behind a process's
 * console-write command. Cortex-M3 only: on the host this file compiles to nothing.
 */
#include "kernel.h"

#if defined(__arm__)

#include <stdarg.h>

void k_write(const char *buf, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        k_putc(buf[i]);
}

uint32_t k_console_write(void *ctx, uint32_t addr, uint32_t len)
{
    (void)ctx;
    /* SAFETY: k_syscall checked that [addr, addr+len) lies in the caller's RAM or code, both mapped memory. */
    k_write((const char *)(uintptr_t)addr, len);
    return len;
}

/* v in base 10 or 16, at least width digits (zero-padded). */
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
            va_end(ap);
            return; /* an unknown conversion: stop rather than guess what was passed */
        }
    }
    va_end(ap);
}

#else
typedef int k_console_is_arm_only; /* the host build compiles this file to nothing */
#endif
