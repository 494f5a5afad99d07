/*
 * loom_shim.h — the layer between the student's deque.c and the checker in loom.c.
 *
 * The build compiles a second copy of $(IMPL)/04-worker-pool/deque.c with `-include loom_shim.h`
 * (mk/chapters/04-worker-pool.mk). This header comes first: it includes <stdatomic.h> (so the deque's own include of
 * it changes nothing), then replaces every C11 generic atomic operation with a call into the checker that carries
 * the operand's address, size and value, the memory order, and where the operation is written (__FILE__, __LINE__,
 * __func__ and the operand as spelled). The student writes standard C11 and never sees this file.
 *
 * It also renames the deque's public functions (wp_deque_init becomes loom_wp_deque_init, ...), so that this copy
 * and the ordinary one link into the same test binary; the build then makes every other global symbol of the copy
 * local, so a helper the student did not make static cannot collide either.
 *
 * GNU C: __typeof__, __auto_type and statement expressions, which gcc and clang both accept. `__typeof__((void)0,
 * *p)` is the type of the atomic object without `_Atomic` (what gcc's own <stdatomic.h> uses). Values travel as
 * the object's bytes in a uint64_t, so pointers and integers of 1 to 8 bytes pass alike.
 */
#ifndef FERRITE_LOOM_SHIM_H
#define FERRITE_LOOM_SHIM_H

#include "loom.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define wp_deque_init loom_wp_deque_init
#define wp_deque_destroy loom_wp_deque_destroy
#define wp_deque_push loom_wp_deque_push
#define wp_deque_pop loom_wp_deque_pop
#define wp_deque_steal loom_wp_deque_steal
#define wp_deque_len loom_wp_deque_len

/* Where the operation is written; a compound literal that lives as long as the call. */
#define LOOM_SITE_(text_) (&(const loom_site){__FILE__, __LINE__, __func__, (text_)})
/* The value type of the atomic object *p_. */
#define LOOM_VALUE_T_(p_) __typeof__((void)0, *(p_))
/* Whether a value is a pointer (gcc's and clang's type class 5), so the trace prints it in hex. */
#define LOOM_IS_PTR_(v_) (__builtin_classify_type(v_) == 5)
/* The bytes of the variable v_, zero-extended to 64 bits (x86-64 is little-endian). */
#define LOOM_RAW_(v_)                          \
    __extension__({                            \
        uint64_t loom_raw_ = 0;                \
        memcpy(&loom_raw_, &(v_), sizeof(v_)); \
        loom_raw_;                             \
    })

#define LOOM_LOAD_(p_, order_, text_)                                                                 \
    __extension__({                                                                                   \
        __auto_type loom_p_ = (p_);                                                                   \
        LOOM_VALUE_T_(loom_p_) loom_v_;                                                               \
        uint64_t loom_r_ = loom_atomic_load((const volatile void *)loom_p_, sizeof loom_v_, (order_), \
                                            LOOM_IS_PTR_(loom_v_), LOOM_SITE_(text_));                \
        memcpy(&loom_v_, &loom_r_, sizeof loom_v_);                                                   \
        loom_v_;                                                                                      \
    })

#define LOOM_STORE_(p_, value_, order_, text_)                                                                           \
    __extension__({                                                                                                      \
        __auto_type loom_p_ = (p_);                                                                                      \
        LOOM_VALUE_T_(loom_p_) loom_v_ = (value_);                                                                       \
        loom_atomic_store((volatile void *)loom_p_, sizeof loom_v_, LOOM_RAW_(loom_v_), (order_), LOOM_IS_PTR_(loom_v_), \
                          LOOM_SITE_(text_));                                                                            \
    })

#define LOOM_RMW_(p_, op_, operand_, order_, text_)                                                                       \
    __extension__({                                                                                                       \
        __auto_type loom_p_ = (p_);                                                                                       \
        LOOM_VALUE_T_(loom_p_) loom_v_ = (operand_);                                                                      \
        uint64_t loom_r_ = loom_atomic_rmw((volatile void *)loom_p_, sizeof loom_v_, (op_), LOOM_RAW_(loom_v_), (order_), \
                                           LOOM_IS_PTR_(loom_v_), LOOM_SITE_(text_));                                     \
        memcpy(&loom_v_, &loom_r_, sizeof loom_v_);                                                                       \
        loom_v_;                                                                                                          \
    })

#define LOOM_CAS_(p_, expected_, desired_, success_, failure_, weak_, text_)                                       \
    __extension__({                                                                                                \
        __auto_type loom_p_ = (p_);                                                                                \
        __auto_type loom_e_ = (expected_);                                                                         \
        LOOM_VALUE_T_(loom_p_) loom_v_ = (desired_);                                                               \
        _Static_assert(sizeof *loom_e_ == sizeof loom_v_, "compare-and-swap: expected has another size");          \
        loom_atomic_cas((volatile void *)loom_p_, sizeof loom_v_, (void *)loom_e_, LOOM_RAW_(loom_v_), (success_), \
                        (failure_), (weak_), LOOM_IS_PTR_(loom_v_), LOOM_SITE_(text_));                            \
    })

#undef atomic_init
#define atomic_init(p_, value_)                                                         \
    __extension__({                                                                     \
        __auto_type loom_p_ = (p_);                                                     \
        LOOM_VALUE_T_(loom_p_) loom_v_ = (value_);                                      \
        loom_atomic_init((volatile void *)loom_p_, sizeof loom_v_, LOOM_RAW_(loom_v_)); \
    })

#undef atomic_load
#undef atomic_load_explicit
#define atomic_load(p_) LOOM_LOAD_(p_, memory_order_seq_cst, #p_)
#define atomic_load_explicit(p_, order_) LOOM_LOAD_(p_, order_, #p_)

#undef atomic_store
#undef atomic_store_explicit
#define atomic_store(p_, value_) LOOM_STORE_(p_, value_, memory_order_seq_cst, #p_)
#define atomic_store_explicit(p_, value_, order_) LOOM_STORE_(p_, value_, order_, #p_)

#undef atomic_exchange
#undef atomic_exchange_explicit
#define atomic_exchange(p_, value_) LOOM_RMW_(p_, LOOM_XCHG, value_, memory_order_seq_cst, #p_)
#define atomic_exchange_explicit(p_, value_, order_) LOOM_RMW_(p_, LOOM_XCHG, value_, order_, #p_)

#undef atomic_fetch_add
#undef atomic_fetch_add_explicit
#undef atomic_fetch_sub
#undef atomic_fetch_sub_explicit
#undef atomic_fetch_or
#undef atomic_fetch_or_explicit
#undef atomic_fetch_xor
#undef atomic_fetch_xor_explicit
#undef atomic_fetch_and
#undef atomic_fetch_and_explicit
#define atomic_fetch_add(p_, v_) LOOM_RMW_(p_, LOOM_ADD, v_, memory_order_seq_cst, #p_)
#define atomic_fetch_add_explicit(p_, v_, order_) LOOM_RMW_(p_, LOOM_ADD, v_, order_, #p_)
#define atomic_fetch_sub(p_, v_) LOOM_RMW_(p_, LOOM_SUB, v_, memory_order_seq_cst, #p_)
#define atomic_fetch_sub_explicit(p_, v_, order_) LOOM_RMW_(p_, LOOM_SUB, v_, order_, #p_)
#define atomic_fetch_or(p_, v_) LOOM_RMW_(p_, LOOM_OR, v_, memory_order_seq_cst, #p_)
#define atomic_fetch_or_explicit(p_, v_, order_) LOOM_RMW_(p_, LOOM_OR, v_, order_, #p_)
#define atomic_fetch_xor(p_, v_) LOOM_RMW_(p_, LOOM_XOR, v_, memory_order_seq_cst, #p_)
#define atomic_fetch_xor_explicit(p_, v_, order_) LOOM_RMW_(p_, LOOM_XOR, v_, order_, #p_)
#define atomic_fetch_and(p_, v_) LOOM_RMW_(p_, LOOM_AND, v_, memory_order_seq_cst, #p_)
#define atomic_fetch_and_explicit(p_, v_, order_) LOOM_RMW_(p_, LOOM_AND, v_, order_, #p_)

#undef atomic_compare_exchange_strong
#undef atomic_compare_exchange_strong_explicit
#undef atomic_compare_exchange_weak
#undef atomic_compare_exchange_weak_explicit
#define atomic_compare_exchange_strong(p_, e_, d_) \
    LOOM_CAS_(p_, e_, d_, memory_order_seq_cst, memory_order_seq_cst, false, #p_)
#define atomic_compare_exchange_strong_explicit(p_, e_, d_, s_, f_) LOOM_CAS_(p_, e_, d_, s_, f_, false, #p_)
#define atomic_compare_exchange_weak(p_, e_, d_) \
    LOOM_CAS_(p_, e_, d_, memory_order_seq_cst, memory_order_seq_cst, true, #p_)
#define atomic_compare_exchange_weak_explicit(p_, e_, d_, s_, f_) LOOM_CAS_(p_, e_, d_, s_, f_, true, #p_)

#undef atomic_thread_fence
#define atomic_thread_fence(order_) loom_atomic_fence((order_), LOOM_SITE_("fence"))

#endif
