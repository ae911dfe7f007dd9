/* The main() of the integration scenario programs (test_presence*.c, test_names.c): run the one
 * scenario argv[1] names from the program's table, which CMake also reads to register one ctest
 * entry per scenario (mim_add_scenarios, tests/CMakeLists.txt). */
#ifndef MIM_TEST_SCENARIO_H
#define MIM_TEST_SCENARIO_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* Runs tests[i] whose name is argv[1] (with its own setup and teardown) as cmocka group
 * `group`: cmocka's exit code. No or an unknown name: the usage and the scenarios on stderr,
 * exit code 2. */
int scenario_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n,
                  const char *group);

#endif
