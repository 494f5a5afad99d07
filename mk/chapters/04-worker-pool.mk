# Chapter 04 (worker pool): threads in the tests, the demo and the library.
LDLIBS_CH += -pthread
# Stress tests scale with WP_STRESS (default 1); the Valgrind run keeps it at 1 since threads are serialised there.
TEST_ENV += $(if $(WP_STRESS),WP_STRESS=$(WP_STRESS))
