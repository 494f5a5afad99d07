/**
 * @file ferrite_test.h
 * @brief Ferrite's thin layer over Check: points and hints declared next to each test.
 *
 * A chapter's test file declares its parts once and then its tests:
 *
 *     FT_PART(1, "raw buffer");
 *     FT_TEST(1, empty_buffer_allocates_nothing, 2,
 *             "An empty Vec owns no allocation: capacity 0, a dangling pointer.")
 *     {
 *         ...ck_assert_*()...
 *     }
 *
 * Each FT_TEST registers itself (a constructor) with the shared main in tests/lib/main.c, which builds one Check
 * suite per part and one test case per test, so every result names its test and every test has its own timeout.
 * The points and hint stay on the FT_TEST line, where the harness can also read them from the source.
 */
#ifndef FERRITE_TEST_H
#define FERRITE_TEST_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Check's comparison macros hand their operands to a second macro, which quotes them only after macro expansion: a
 * failed `ck_assert_int_eq(fv_layout_check(FV_LAYOUT_OF(uint32_t)), FV_OK)` would show a compound literal instead
 * of what the test says. These replacements quote each operand as written and keep Check's message shape, which
 * tests/lib/messages.c reads to name status values.
 */
#define FT_COMPARE_(type_, format_, cast_, x_, op_, y_, x_text_, y_text_)                          \
    do {                                                                                           \
        type_ ft_x_ = (x_);                                                                        \
        type_ ft_y_ = (y_);                                                                        \
        ck_assert_msg(ft_x_ op_ ft_y_, "Assertion '%s' failed: %s == " format_ ", %s == " format_, \
                      x_text_ " " #op_ " " y_text_, x_text_, cast_ ft_x_, y_text_, cast_ ft_y_);   \
    } while (0)
#define FT_INT_(x_, op_, y_, xt_, yt_) FT_COMPARE_(intmax_t, "%jd", , x_, op_, y_, xt_, yt_)
#define FT_UINT_(x_, op_, y_, xt_, yt_) FT_COMPARE_(uintmax_t, "%ju", , x_, op_, y_, xt_, yt_)
#define FT_PTR_(x_, op_, y_, xt_, yt_) FT_COMPARE_(const void *, "%#lx", (unsigned long)(uintptr_t), x_, op_, y_, xt_, yt_)

#undef ck_assert
#define ck_assert(expr_)                       \
    ((expr_) ? _mark_point(__FILE__, __LINE__) \
             : _ck_assert_failed(__FILE__, __LINE__, "Assertion '" #expr_ "' failed", NULL))
#undef ck_assert_int_eq
#define ck_assert_int_eq(x_, y_) FT_INT_(x_, ==, y_, #x_, #y_)
#undef ck_assert_int_ne
#define ck_assert_int_ne(x_, y_) FT_INT_(x_, !=, y_, #x_, #y_)
#undef ck_assert_int_lt
#define ck_assert_int_lt(x_, y_) FT_INT_(x_, <, y_, #x_, #y_)
#undef ck_assert_int_le
#define ck_assert_int_le(x_, y_) FT_INT_(x_, <=, y_, #x_, #y_)
#undef ck_assert_int_gt
#define ck_assert_int_gt(x_, y_) FT_INT_(x_, >, y_, #x_, #y_)
#undef ck_assert_int_ge
#define ck_assert_int_ge(x_, y_) FT_INT_(x_, >=, y_, #x_, #y_)
#undef ck_assert_uint_eq
#define ck_assert_uint_eq(x_, y_) FT_UINT_(x_, ==, y_, #x_, #y_)
#undef ck_assert_uint_ne
#define ck_assert_uint_ne(x_, y_) FT_UINT_(x_, !=, y_, #x_, #y_)
#undef ck_assert_uint_lt
#define ck_assert_uint_lt(x_, y_) FT_UINT_(x_, <, y_, #x_, #y_)
#undef ck_assert_uint_le
#define ck_assert_uint_le(x_, y_) FT_UINT_(x_, <=, y_, #x_, #y_)
#undef ck_assert_uint_gt
#define ck_assert_uint_gt(x_, y_) FT_UINT_(x_, >, y_, #x_, #y_)
#undef ck_assert_uint_ge
#define ck_assert_uint_ge(x_, y_) FT_UINT_(x_, >=, y_, #x_, #y_)
#undef ck_assert_ptr_eq
#define ck_assert_ptr_eq(x_, y_) FT_PTR_(x_, ==, y_, #x_, #y_)
#undef ck_assert_ptr_ne
#define ck_assert_ptr_ne(x_, y_) FT_PTR_(x_, !=, y_, #x_, #y_)

/** One registered test: what Check needs, plus what the grade needs. */
typedef struct ft_test {
    int part;           /**< part number, declared with FT_PART */
    const char *name;   /**< C identifier, unique within the chapter */
    int points;         /**< points awarded when the test passes */
    const char *hint;   /**< the concept a failing student should look at */
    int signal;         /**< 0, or the signal the test must die with */
    const TTest *ttest; /**< Check's descriptor of the test function */
    const char *file;   /**< source file, for messages */
} ft_test;

/** A part of a chapter: a numbered group of tests with a title. */
typedef struct ft_part {
    int number;
    const char *title;
} ft_part;

void ft_register_test(const ft_test *t);
void ft_register_part(const ft_part *p);

#define FT_CAT_(a, b) a##b
#define FT_CAT(a, b) FT_CAT_(a, b)

/** Declare part @p num_ of this chapter with a short title. */
#define FT_PART(num_, title_)                                                      \
    static const ft_part FT_CAT(ft_part_, num_) = {(num_), (title_)};              \
    __attribute__((constructor)) static void FT_CAT(ft_part_register_, num_)(void) \
    {                                                                              \
        ft_register_part(&FT_CAT(ft_part_, num_));                                 \
    }                                                                              \
    struct ft_part_semicolon_##num_

/* What START_TEST expands to since Check 0.13 (the function and its TTest: name, function, file, line), plus the
 * ft_test record with points and hint; the shared main passes the TTest to tcase_add_test_raise_signal. */
#define FT_TEST_WITH_SIGNAL_(part_, name_, points_, signal_, hint_)                                               \
    static void name_##_fn(int _i CK_ATTRIBUTE_UNUSED);                                                           \
    static const TTest name_##_ttest = {#name_, name_##_fn, __FILE__, __LINE__};                                  \
    static const ft_test name_##_ft = {(part_), #name_, (points_), (hint_), (signal_), &name_##_ttest, __FILE__}; \
    __attribute__((constructor)) static void name_##_register(void) { ft_register_test(&name_##_ft); }            \
    static void name_##_fn(int _i CK_ATTRIBUTE_UNUSED)

/** A test in part @p part_ worth @p points_, with a hint shown when it fails. Follow with the body in braces. */
#define FT_TEST(part_, name_, points_, hint_) FT_TEST_WITH_SIGNAL_(part_, name_, points_, 0, hint_)

/** A test that passes only if its body dies with @p signal_ (e.g. SIGABRT from a detected misuse). */
#define FT_TEST_SIGNAL(part_, name_, points_, signal_, hint_) FT_TEST_WITH_SIGNAL_(part_, name_, points_, signal_, hint_)

/** Seconds a test may run before it is stopped as hung, unless FT_TIMEOUT gives it more; Check multiplies it by
 *  CK_TIMEOUT_MULTIPLIER (Valgrind's and TSan's runs set one). A correct test of this workbook takes milliseconds. */
#define FT_DEFAULT_TIMEOUT_S 3

void ft_register_timeout(const ft_test *t, int seconds);

/**
 * Gives the test @p name_, declared above it in the same file, @p seconds_ instead of FT_DEFAULT_TIMEOUT_S: for a
 * test that waits on purpose (a server, a timer, a large transfer). The run prints a line as such a test starts,
 * so a long wait is never silent. A line of its own after the test, leaving FT_TEST's arguments as they are:
 *
 *     FT_TIMEOUT(random_payloads_up_to_1_mib_come_back_byte_exact, 60);
 */
#define FT_TIMEOUT(name_, seconds_)                                         \
    __attribute__((constructor)) static void name_##_timeout_register(void) \
    {                                                                       \
        ft_register_timeout(&name_##_ft, (seconds_));                       \
    }                                                                       \
    struct ft_timeout_semicolon_##name_

/** A setup that the tests of some parts need, registered with FT_SETUP. */
typedef struct ft_setup {
    void (*fn)(void); /**< runs once in the runner process, before the first test forks */
    const int *parts; /**< the parts whose tests need it */
    size_t n_parts;   /**< how many numbers @ref parts holds */
} ft_setup;

void ft_register_setup(const ft_setup *s);

/**
 * Runs @p fn_ (`void fn_(void)`) once, in the runner process, after the tests are selected and before the first
 * one forks, when at least one selected test belongs to one of the parts listed after it; never for `--list` or a
 * selection of other parts. For what is slow to start and shared by many tests, such as a database server: its
 * state (a connection string, say) lives in static variables that the tests' forked processes inherit. A setup
 * that fails says so in those variables, and the tests that need it fail (or skip) with the reason.
 *
 *     FT_SETUP(start_clusters, 2, 3, 5);
 */
#define FT_SETUP(fn_, ...)                                                                                                \
    static const int fn_##_setup_parts[] = {__VA_ARGS__};                                                                 \
    static const ft_setup fn_##_setup = {fn_, fn_##_setup_parts, sizeof fn_##_setup_parts / sizeof fn_##_setup_parts[0]}; \
    __attribute__((constructor)) static void fn_##_setup_register(void) { ft_register_setup(&fn_##_setup); }              \
    struct ft_setup_semicolon_##fn_

/** Prefix of a Check failure message that the shared main reads as "skipped", not "failed". */
#define FT_SKIP_MARK "ferrite-skip: "

/**
 * Ends the running test as skipped, for a test that cannot run on this machine (a missing tool), never for a
 * failure. The first argument is a string-literal format, e.g. `FT_SKIP("needs %s: sudo make deps", pkgs)`.
 * A skipped test scores no points; it is listed as "skipped: <reason>", written as `skip` in the results file and
 * as `ok N # SKIP reason` in the TAP log. Check itself counts it among its failures.
 */
#define FT_SKIP(...) ck_abort_msg(FT_SKIP_MARK __VA_ARGS__)

#endif
