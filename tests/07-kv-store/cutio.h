/*
 * cutio.h — chapter 07's tests: an io.h layer that cuts the power after the n-th durable step, so that a test can
 * replay one operation (a compaction, a flush) with a cut after each of its steps in turn and check recovery.
 */
#ifndef FERRITE_TEST_CUTIO_07_H
#define FERRITE_TEST_CUTIO_07_H

#include "faultio.h"
#include "io.h"

/** The layer: its kv_io first, so that a kv_io * from it is a cut_io *. */
typedef struct cut_io {
    kv_io io;      /**< what the code under test is given */
    faultio *f;    /**< underneath: the power cut drops what was not synced (faultio_free() it after use) */
    kv_io *inner;  /**< faultio_io(f) */
    int steps;     /**< durable steps taken so far */
    int cut_at;    /**< the step after which the power is cut (0: never) */
    char last[80]; /**< the step the power was cut after, for failure messages */
} cut_io;

/** A fresh layer over a fresh faultio that cuts the power after step @p cut_at (0: never). */
void cut_init(cut_io *c, int cut_at);

#endif
