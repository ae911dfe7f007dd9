/* The main() of the integration scenario programs (see scenario.h). */
#include "scenario.h"

#include <stdio.h>
#include <string.h>

int scenario_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n,
                  const char *group)
{
    if (argc == 2) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(tests[i].name, argv[1]) == 0) {
                cmocka_set_test_filter(argv[1]);
                return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
            }
        }
        fprintf(stderr, "%s: no scenario named '%s'\n", argv[0], argv[1]);
    }
    fprintf(stderr, "Usage: %s SCENARIO\nScenarios:\n", argv[0]);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %s\n", tests[i].name);
    return 2;
}
