/*
 * kernel.c — chapter 05, parts 4 to 6 on the hardware: loading processes, the kernel's loop, SysTick (part 4),
 * alarms and idling (part 5), the MPU (part 6).   (reference solution)
 *
 * The loop is Tock's: pick a process, run it until it traps, handle the trap, repeat; sleep in wfi when nothing
 * is ready; exit QEMU when every process has stopped. Every decision is delegated to the portable code
 * (sched.c, syscall.c, mpu.c); this file is the glue to the registers. Cortex-M3 only.
 */
#include "kernel.h"

#if defined(__arm__)

#include "mpu.h"
#include "sched.h"
#include "syscall.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define SCB_SHCSR REG(0xE000ED24u) /* bits 16-18: enable MemManage, BusFault, UsageFault */
#define MPU_CTRL REG(0xE000ED94u)  /* bit 0 ENABLE, bit 2 PRIVDEFENA */
#define MPU_RBAR REG(0xE000ED9Cu)
#define MPU_RASR REG(0xE000EDA0u)
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)

extern uint32_t _app_ram_start[];
extern uint32_t __user_start[];

/* Owned by the loop below; no handler reads them. */
static k_proc procs[K_MAX_PROCS];
static k_sched sched;
static unsigned nprocs;
static uint32_t idle_sleeps;

static void mpu_init(void)
{
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18); /* else every fault escalates to HardFault */
    k_mpu_region code;
    if (k_mpu_encode(K_USER_CODE_BASE, K_USER_CODE_SIZE, K_MPU_USER_RX, 0, 0, &code) != K_OK)
        k_panic("the user-code window is not a valid MPU region");
    MPU_RBAR = code.rbar;
    MPU_RASR = code.rasr;
    MPU_CTRL = (1u << 2) | 1u; /* PRIVDEFENA: the kernel keeps the default map; processes get regions only */
    __asm__ volatile("dsb\n isb" ::: "memory");
}

/* Region 1 is the running process's RAM; region 0 (all process code) never changes. */
static void mpu_switch(const k_proc *p)
{
    MPU_RBAR = p->mpu_rbar;
    MPU_RASR = p->mpu_rasr;
    __asm__ volatile("dsb\n isb" ::: "memory");
}

/* Region 1 for p's RAM, computed once at load. A table the MPU cannot enforce must not boot. */
static void mpu_cover_ram(k_proc *p)
{
    k_mpu_region ram;
    if (k_mpu_cover(p->mem_start, p->mem_size, K_MPU_USER_RW, 1, &ram) != K_OK) {
        k_printf("kernel: process '%s' asks for %u bytes of RAM, which one MPU region cannot cover\n", p->name,
                 (unsigned)p->mem_size);
        k_panic("bad process table");
    }
    p->mpu_rbar = ram.rbar;
    p->mpu_rasr = ram.rasr;
}

static void load(unsigned pid, const k_app *app)
{
    k_proc *p = &procs[pid];
    if (app->mem_size > K_APP_SLOT || app->mem_size < 128) {
        k_printf("kernel: process '%s' asks for %u bytes of RAM, outside 128 .. %u\n", app->name, (unsigned)app->mem_size,
                 (unsigned)K_APP_SLOT);
        k_panic("bad process table");
    }
    *p = (k_proc){.name = app->name, .pid = (uint8_t)pid, .prio = app->prio, .state = K_READY};
    p->mem_start = (uint32_t)(uintptr_t)_app_ram_start + pid * K_APP_SLOT;
    p->mem_size = app->mem_size;
    p->code_start = K_USER_CODE_BASE;
    p->code_size = K_USER_CODE_SIZE;
    mpu_cover_ram(p);
    p->stack_lo = p->mem_start + 32;
    p->stack_hi = p->mem_start + p->mem_size - 32;
    /* The first "resume" pops this frame: r0 = arg, pc = entry. lr = 0: returning from entry faults. */
    uint32_t top = p->mem_start + p->mem_size;
    /* SAFETY: [top - 64, top) is inside the slot reserved for this process by kernel.ld (mem_size >= 128). */
    k_frame *f = (k_frame *)(uintptr_t)(top - sizeof(k_frame));
    *f = (k_frame){.r0 = app->arg, .pc = (uint32_t)(uintptr_t)app->entry & ~1u, .xpsr = 1u << 24};
    uint32_t *r4_r11 = (uint32_t *)(uintptr_t)(top - sizeof(k_frame) - 32);
    for (int i = 0; i < 8; i++)
        r4_r11[i] = 0;
    p->psp = top - sizeof(k_frame) - 32;
    if (k_sched_add(&sched, (int)pid, app->prio) != K_OK || k_sched_ready(&sched, (int)pid) != K_OK)
        k_panic("bad priority in the process table");
}

/* Fires due alarms; a process blocked in yield-wait whose upcall is now pending runs it when next dispatched. */
static void expire_alarms(void)
{
    uint32_t now = k_ticks;
    for (unsigned i = 0; i < nprocs; i++) {
        k_proc *p = &procs[i];
        if (k_alarm_expire(p, now) && p->state == K_YIELDED) {
            k_upcall_deliver(p, k_frame_of(p));
            k_make_ready(&sched, p);
        }
    }
}

/* Nothing is ready: sleep until the next interrupt. Masked first so a tick cannot slip in between the check and
 * the wfi; wfi still wakes on a pending interrupt with PRIMASK set. */
static void idle(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
    if (sched.nonempty == 0) {
        idle_sleeps++;
        __asm__ volatile("wfi" ::: "memory");
    }
    __asm__ volatile("cpsie i" ::: "memory");
}

/* Runs process p until it leaves the CPU: yields, blocks, exits, faults or is preempted. */
static void run(k_proc *p)
{
    k_env env = {.console_write = k_console_write};
    unsigned slice = 0;
    p->state = K_RUNNING;
    p->runs++;
    for (;;) {
        mpu_switch(p);
        k_trap_reason = K_TRAP_NONE;
        uint32_t psp = k_switch_to_user(p->psp, &p->stack_lo);
        uint32_t reason = k_trap_reason;
        bool stack_ok = psp != 0 && k_stack_ok(p, psp);
        if (stack_ok)
            p->psp = psp;
        if (reason == K_TRAP_FAULT) {
            k_report_fault(p, stack_ok);
            return;
        }
        if (!stack_ok) {
            k_printf("kernel: process '%s' faulted: stack pointer 0x%08x outside its memory; stopped\n", p->name,
                     (unsigned)psp);
            p->state = K_FAULTED;
            return;
        }
        if (reason == K_TRAP_TICK) {
            expire_alarms();
            if (k_sched_should_switch(&sched, p->pid, ++slice)) {
                k_make_ready(&sched, p);
                return;
            }
            continue;
        }
        /* A system call. SAFETY: pc is the hardware-stacked address after the svc the process just executed,
         * inside its code (checked); the svc's immediate is the low byte of that halfword. */
        k_frame *f = k_frame_of(p);
        if (!k_range_within(f->pc - 2, 2, p->code_start, p->code_size)) {
            k_printf("kernel: process '%s' trapped from outside its code; stopped\n", p->name);
            p->state = K_FAULTED;
            return;
        }
        unsigned cls = *(const volatile uint16_t *)(uintptr_t)(f->pc - 2) & 0xffu;
        env.now = k_ticks;
        switch (k_syscall(&env, p, cls, f)) {
        case K_ACT_RESUME:
            continue;
        case K_ACT_YIELD:
            k_make_ready(&sched, p);
            return;
        case K_ACT_WAIT:
            p->state = K_YIELDED;
            return;
        case K_ACT_EXIT:
            p->state = K_EXITED;
            k_printf("kernel: process '%s' exited with code %d (ran %u times)\n", p->name, (int)p->exit_code,
                     (unsigned)p->runs);
            return;
        }
    }
}

void k_main(void)
{
    k_uart_init();
    k_printf("ferrite kernel 05: booting on mps2-an385 (Cortex-M3)\n");
    k_boot_check();
    if (k_napps == 0 || k_napps > K_MAX_PROCS)
        k_panic("the process table is empty or too large");
    k_sched_init(&sched);
    mpu_init();
    nprocs = k_napps;
    for (unsigned i = 0; i < nprocs; i++)
        load(i, &k_apps[i]);
    k_printf("kernel: %u processes loaded, user code at 0x%08x\n", nprocs, (unsigned)(uintptr_t)__user_start);
    SYST_RVR = K_TICK_COUNTS - 1;
    SYST_CVR = 0;
    SYST_CSR = 7; /* enable, interrupt, processor clock */
    while (k_any_alive(procs, nprocs)) {
        expire_alarms();
        int pid = k_sched_next(&sched);
        if (pid != K_NO_PROC)
            run(&procs[pid]);
        else
            idle();
    }
    SYST_CSR = 0;
    int status = k_exit_status(procs, nprocs);
    k_printf("kernel: all processes stopped after %u ticks, %u idle sleeps; status %d\n", (unsigned)k_ticks,
             (unsigned)idle_sleeps, status);
    k_semihost_exit(status);
}

#else
typedef int k_kernel_is_arm_only; /* the host build compiles this file to nothing */
#endif
