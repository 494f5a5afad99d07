/**
 * @file ferrite.h
 * @brief What every chapter's headers share: the attribute that makes an ignored result a compile error.
 *
 * One definition for the whole workbook, included by each chapter's contract header. It holds no code: only the
 * spellings of compiler features that several chapters lean on in the same way.
 */
#ifndef FERRITE_H
#define FERRITE_H

/**
 * @brief Marks a function whose result must be looked at: ignoring it is a warning, which `-Werror` makes an error.
 *
 * Written before the declaration's return type, as `FT_MUST_USE fv_status fv_push(...)`. GCC and Clang both
 * honour `warn_unused_result`; a cast to `void` does not silence GCC, so a caller has to branch on the status.
 *
 * @rust `#[must_use]` on `Result`: an unused `Result` is a lint that `#![deny(unused_must_use)]` turns into an error.
 */
#define FT_MUST_USE __attribute__((warn_unused_result))

#endif /* FERRITE_H */
