/*
 * A submission's copy of a file chapter.conf lists as `given`. The harness never takes such a file from a
 * submission, so this one is never compiled; if it were, the build would stop here and the chapter score 0.
 */
#error "a submission's copy of a given file was compiled instead of the pristine one"
