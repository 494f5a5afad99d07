static int broken(void) { return no_such_variable; }
