// XXH3 from libxxhash's own header, all of it inline and of internal linkage, built with
// AVX2 (this file alone): nothing here can stand in for code that runs on a CPU without it.
// It includes no other header with inline functions for the same reason.
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

namespace tollgate {

void xxh3Avx2(const char *data, decltype(sizeof 0) size, unsigned long long seed,
              unsigned long long out[2])
{
    const XXH128_hash_t digest = XXH3_128bits_withSeed(data, size, seed);
    out[0] = digest.low64;
    out[1] = digest.high64;
}

} // namespace tollgate
