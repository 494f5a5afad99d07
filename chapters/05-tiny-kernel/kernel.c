/*
 * kernel.c — chapter 05, parts 4 to 6 on the hardware: loading processes, the kernel's loop, SysTick (part 4),
 * alarms and idling (part 5), the MPU (part 6).   (exercise skeleton)
 *
 * The loop is Tock's: pick a process, run it until it traps, handle the trap, repeat; sleep in wfi when nothing
 * is ready; exit QEMU when every process has stopped. Every decision is delegated to the portable code
 * (sched.c, syscall.c, mpu.c); this file is the glue to the registers. Cortex-M3 only.
 *
 * Given: k_frame_of, k_any_alive, k_exit_status (kernel.h), k_make_ready (sched.h), k_report_fault,
 * k_kernel_fault (fault.c) and k_console_write (console.c). Yours, part by part — each TODO names its part:
 *   part 4: load, run and k_main (the skeleton's k_main returns at once, so QEMU exits with
 *           K_EXIT_KERNEL_RETURNED);
 *   part 5: expire_alarms and idle;
 *   part 6: mpu_init, mpu_switch and mpu_cover_ram.
 * The loop of part 4 already calls the functions of parts 5 and 6: their skeletons do nothing, so the loop runs
 * without alarms, without sleeping and without the MPU until you write them. The static functions and variables
 * are marked `unused` only so that this skeleton compiles before anything uses them; the mark does nothing else.
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
static __attribute__((unused)) k_proc procs[K_MAX_PROCS];
static __attribute__((unused)) k_sched sched;
static __attribute__((unused)) unsigned nprocs;
static __attribute__((unused)) uint32_t idle_sleeps;

static __attribute__((unused)) void mpu_init(void)
{
    /* TODO (part 6): enable MemManage, BusFault and UsageFault (SHCSR bits 16-18) — otherwise every MPU violation
     * escalates to HardFault. Region 0: all process code, K_USER_CODE_BASE / K_USER_CODE_SIZE, K_MPU_USER_RX
     * (k_mpu_encode; panic if it refuses). Write RBAR then RASR. Then MPU_CTRL = ENABLE | PRIVDEFENA (bit 2:
     * the kernel keeps the default memory map, unprivileged code gets only the regions), then dsb and isb so
     * the next instruction already runs under the new map. */
}

/* Region 1 is the running process's RAM; region 0 (all process code) never changes. */
static __attribute__((unused)) void mpu_switch(const k_proc *p)
{
    /* TODO (part 6): region 1 = this process's RAM: MPU_RBAR = p->mpu_rbar, MPU_RASR = p->mpu_rasr (computed
     * once by mpu_cover_ram), then dsb and isb. Forget it and every process keeps the previous one's RAM, and
     * faults on its own. */
    (void)p;
}

/* Region 1 for p's RAM, computed once at load. */
static __attribute__((unused)) void mpu_cover_ram(k_proc *p)
{
    /* TODO (part 6): k_mpu_cover(p->mem_start, p->mem_size, K_MPU_USER_RW, region 1) gives p->mpu_rbar and
     * p->mpu_rasr. If it refuses, print "kernel: process '<name>' asks for <n> bytes of RAM, which one MPU region
     * cannot cover" and k_panic: a table the MPU cannot enforce must not boot. Until this is written, both
     * words stay 0 and region 1 stays off. */
    (void)p;
}

static __attribute__((unused)) void load(unsigned pid, const k_app *app)
{
    /* TODO (part 4): set up procs[pid] from app.
     *   - Its RAM: mem_start = _app_ram_start + pid * K_APP_SLOT, mem_size = app->mem_size; refuse (print which
     *     process asked for what, then k_panic) a size above K_APP_SLOT or below 128 bytes. Then
     *     mpu_cover_ram(p) computes its MPU region (part 6; the skeleton's does nothing).
     *   - Its code: code_start/code_size = K_USER_CODE_BASE/K_USER_CODE_SIZE. Bounds for the switch:
     *     stack_lo = mem_start + 32, stack_hi = mem_start + mem_size - 32.
     *   - Its first frame, at the top of its RAM: r0 = app->arg, pc = entry & ~1, xpsr = 1 << 24 (Thumb; a
     *     zero xPSR faults on the very first instruction), lr = 0 (returning from entry faults). Below it, eight
     *     zero words for r4-r11; psp points at them.
     *   - name, pid, prio, state K_READY; k_sched_add then k_sched_ready (panic if either fails). */
    (void)pid;
    (void)app;
}

/* Fires due alarms; a process blocked in yield-wait whose upcall is now pending runs it when next dispatched. */
static __attribute__((unused)) void expire_alarms(void)
{
    /* TODO (part 5): for every process, k_alarm_expire(p, k_ticks); when it returns true and the process is
     * blocked in yield-wait (K_YIELDED), deliver the upcall into its saved frame (k_upcall_deliver(p,
     * k_frame_of(p))) and make it ready. A ready or running process gets its upcall at its next yield. */
}

/* Nothing is ready: sleep until the next interrupt. */
static __attribute__((unused)) void idle(void)
{
    /* TODO (part 5): cpsid i; if still nothing is queued (sched.nonempty == 0), count an idle sleep
     * (idle_sleeps++) and wfi; cpsie i. Masking first closes the window where a tick arrives between the check
     * and the wfi; wfi still wakes on a masked interrupt. Until this is written the loop spins instead of
     * sleeping, and a process that waits for an alarm waits for ever (expire_alarms is part 5 too). */
}

/* Runs process p until it leaves the CPU: yields, blocks, exits, faults or is preempted. */
static __attribute__((unused)) void run(k_proc *p)
{
    /* TODO (part 4): run p until it leaves the CPU. Mark it K_RUNNING, count the dispatch (p->runs++),
     * slice = 0; loop:
     *   mpu_switch(p) (part 6); k_trap_reason = K_TRAP_NONE; psp = k_switch_to_user(p->psp, &p->stack_lo);
     *   the psp is good only if non-zero and k_stack_ok — then save it in p->psp.
     *   K_TRAP_FAULT: k_report_fault(p, good) and return (never resume a faulted process: Tock's fault policy;
     *            part 6's processes are the first to fault, once the MPU is on).
     *   bad psp: print "kernel: process '<name>' faulted: stack pointer ... outside its memory; stopped",
     *            state K_FAULTED, return.
     *   K_TRAP_TICK: expire_alarms() (part 5); if k_sched_should_switch(&sched, pid, ++slice),
     *            k_make_ready(&sched, p) and return; else resume it (continue).
     *   K_TRAP_SVC: the frame is k_frame_of(p); check that [pc - 2, pc) lies in its code, then the class is the
     *            low byte of the halfword at pc - 2 (the svc instruction). Call k_syscall with an env whose
     *            now = k_ticks and console_write = k_console_write, and act on the k_action: RESUME -> continue;
     *            YIELD -> k_make_ready, return; WAIT -> K_YIELDED, return; EXIT -> K_EXITED, print
     *            "kernel: process '<name>' exited with code <c> (ran <runs> times)", return. */
    (void)p;
}

void k_main(void)
{
    /* TODO (part 4), in this order:
     *   k_uart_init(); print "ferrite kernel 05: booting on mps2-an385 (Cortex-M3)\n"; k_boot_check();
     *   panic if k_napps is 0 or above K_MAX_PROCS; k_sched_init; mpu_init (part 6); load every k_apps[i];
     *   print "kernel: <n> processes loaded, user code at 0x<__user_start>";
     *   SysTick: RVR = K_TICK_COUNTS - 1, CVR = 0, CSR = 7 (enable, interrupt, processor clock);
     *   while k_any_alive(procs, nprocs): expire_alarms() (part 5); run the process k_sched_next gives you, or
     *     idle() (part 5) if none is ready;
     *   SysTick off; print "kernel: all processes stopped after <ticks> ticks, <n> idle sleeps; status <s>"
     *   with s = k_exit_status(procs, nprocs), and k_semihost_exit(s).
     * Rust: this is Tock's `kernel_loop`, and `-> !`: it never returns. */
}

#else
typedef int k_kernel_is_arm_only; /* the host build compiles this file to nothing */
#endif
