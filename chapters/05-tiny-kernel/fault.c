/*
 * fault.c — chapter 05, parts 4 and 6: what the kernel prints when something faults.   (given)
 *
 * Linked into every kernel image. A process's fault stops that process (k_report_fault, called by the loop in
 * kernel.c); a fault in the kernel itself panics (k_kernel_fault, called by k_fault_handler in switch.c). Both
 * read the fault status registers of the System Control Block. Cortex-M3 only: on the host this file compiles
 * to nothing.
 */
#include "kernel.h"

#if defined(__arm__)

#define REG(addr) (*(volatile uint32_t *)(addr))
#define SCB_CFSR REG(0xE000ED28u)  /* configurable fault status; write 1 to clear */
#define SCB_HFSR REG(0xE000ED2Cu)  /* HardFault status; write 1 to clear */
#define SCB_MMFAR REG(0xE000ED34u) /* the address a MemManage fault was about, when CFSR_MMARVALID */
#define SCB_BFAR REG(0xE000ED38u)  /* the address a BusFault was about, when CFSR_BFARVALID */

#define CFSR_IACCVIOL (1u << 0)
#define CFSR_DACCVIOL (1u << 1)
#define CFSR_MSTKERR (1u << 4)
#define CFSR_MMARVALID (1u << 7)
#define CFSR_STKERR (1u << 12)
#define CFSR_BFARVALID (1u << 15)
#define HFSR_FORCED (1u << 30)

void k_report_fault(k_proc *p, bool stack_ok)
{
    uint32_t cfsr = SCB_CFSR;
    k_printf("kernel: process '%s' faulted: ", p->name);
    if ((cfsr & CFSR_MMARVALID) && (cfsr & CFSR_DACCVIOL))
        k_printf("data access violation at 0x%08x", (unsigned)SCB_MMFAR);
    else if (cfsr & CFSR_IACCVIOL)
        k_printf("instruction access violation");
    else if (cfsr & (CFSR_MSTKERR | CFSR_STKERR))
        k_printf("stack fault on exception entry");
    else if (cfsr & CFSR_BFARVALID)
        k_printf("bus fault at 0x%08x", (unsigned)SCB_BFAR);
    else
        k_printf("fault (CFSR 0x%08x, HFSR 0x%08x)", (unsigned)cfsr, (unsigned)SCB_HFSR);
    if (SCB_HFSR & HFSR_FORCED)
        k_printf(" (escalated to HardFault: MemManage, BusFault and UsageFault are not enabled in SHCSR)");
    if (stack_ok)
        k_printf(", pc 0x%08x", (unsigned)k_frame_of(p)->pc);
    k_printf("; stopped after %u runs\n", (unsigned)p->runs);
    SCB_CFSR = cfsr; /* write-1-to-clear, so the next fault reports only itself */
    SCB_HFSR = SCB_HFSR;
    p->state = K_FAULTED;
}

void k_kernel_fault(const k_frame *frame)
{
    k_printf("kernel: fault in the kernel itself at pc 0x%08x (CFSR 0x%08x)\n", (unsigned)frame->pc, (unsigned)SCB_CFSR);
    k_panic("kernel fault");
}

#else
typedef int k_fault_is_arm_only; /* the host build compiles this file to nothing */
#endif
