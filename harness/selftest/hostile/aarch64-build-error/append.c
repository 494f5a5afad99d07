#ifdef __aarch64__
static long broken(void) { return no_such_register_variable; }
#endif
