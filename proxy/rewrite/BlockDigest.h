#pragma once

#include <QtGlobal>

namespace tollgate {

// XXH3's 128-bit digest of `size` bytes under `seed` (Debian's libxxhash), by the fastest
// way this CPU has. On x86-64 with AVX2 that is XXH3's AVX2 code compiled into Tollgate:
// inside the proxy the library's AVX-512 path digested 12-13 GB/s, the AVX2 one 22-23 GB/s
// (a Claude Code session of 1 MiB, 4 KiB blocks), as the wide unit is entered anew for each
// block and the upper register halves are left dirty for the code after it.
struct Xxh3Digest
{
    quint64 low = 0;
    quint64 high = 0;
};
Xxh3Digest xxh3Digest(const char *data, qsizetype size, quint64 seed);

} // namespace tollgate
