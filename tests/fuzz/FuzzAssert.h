#pragma once

#include <cstdio>
#include <cstdlib>

// A property a fuzz target checks: when it fails, the input is a finding. abort() is what
// libFuzzer (and the replay runner) report as a crash, with the input saved.
#define FUZZ_ASSERT(condition, what)                                                               \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "%s:%d: property failed: %s (%s)\n", __FILE__, __LINE__,          \
                         #condition, what);                                                        \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)
