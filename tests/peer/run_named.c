/* The main() shared by the scenario programs of tests/peer (see pe_run_named in peer_env.h). */
#include "peer_env.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

int pe_run_named(int argc, char **argv, const pe_test *tests, size_t n, int (*setup)(void **state),
                 int (*teardown)(void **state))
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEST (one of:", argv[0]);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %s", tests[i].name);
        fprintf(stderr, ")\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (mim_crypto_init() != 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], tests[i].name) == 0) {
            const struct CMUnitTest one[] = {
                {tests[i].name, tests[i].fn, setup, teardown, NULL},
            };
            return _cmocka_run_group_tests(tests[i].name, one, 1, NULL, NULL);
        }
    }
    fprintf(stderr, "%s: no test named '%s'\n", argv[0], argv[1]);
    return 2;
}
