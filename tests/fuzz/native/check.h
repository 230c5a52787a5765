/* CHECK: a contract check in a harness, for the C harnesses (harness.h) and the C++ one
 * (fuzz_textscan.cc) alike. A broken check aborts, which libFuzzer reports as a crash. */
#ifndef DRIFT_CHECK_H
#define DRIFT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: contract check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#endif
