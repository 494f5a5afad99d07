#ifdef __arm__
static void broken(void) { no_such_function_in_the_kernel(); }
#endif
