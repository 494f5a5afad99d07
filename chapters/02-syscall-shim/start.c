/*
 * start.c — chapter 02, part 4: the entry point of the freestanding program.   (given)
 *
 * A program built with `-nostdlib` has no C runtime, so nothing calls `main`: the kernel jumps to the symbol
 * `_start` and that is all. This file is that symbol and nothing else. The program's body is nolibc_start, in
 * nolibc.c. `_start` is linked only into the freestanding builds (x86_64, the demo's, aarch64); the test binary
 * and the demo have the C library's own `_start`, so mk/chapters/02-syscall-shim.mk keeps this object out of them.
 *
 * The kernel starts a static program with no return address: the stack pointer points at argc, followed by
 * argv[0..argc-1], a NULL, the environment, a NULL, and the auxiliary vector. A C function expects a caller, so
 * `_start` becomes one: it clears the frame pointer (the end of every backtrace), passes the stack pointer as the
 * first argument, keeps the stack 16-byte aligned and calls nolibc_start, which never returns; the trap after the
 * call stops the program if it does.
 * SAFETY: runs before any C code, touches only the frame pointer, the argument register and the stack pointer
 * (aligning it down stays inside the stack the kernel mapped), and never returns.
 */
#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".global _start\n"
    ".type _start, @function\n"
    "_start:\n"
    "    xor %ebp, %ebp\n"
    "    mov %rsp, %rdi\n"
    "    and $-16, %rsp\n"
    "    call nolibc_start\n"
    "    ud2\n"
    ".size _start, . - _start\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".global _start\n"
    ".type _start, %function\n"
    "_start:\n"
    "    mov x29, #0\n"
    "    mov x30, #0\n"
    "    mov x0, sp\n"
    "    bl nolibc_start\n"
    "    udf #0\n"
    ".size _start, . - _start\n");
#else
#error "start.c: no _start for this architecture; chapter 02 supports x86_64 and aarch64"
#endif
