#include "BlockDigest.h"

#include <xxhash.h>
#ifdef TOLLGATE_XXH_DISPATCH
#include <xxh_x86dispatch.h>
#endif

namespace tollgate {

#ifdef TOLLGATE_XXH_AVX2
// BlockDigestAvx2.cpp, built for AVX2: called only where the CPU has it.
void xxh3Avx2(const char *data, decltype(sizeof 0) size, unsigned long long seed,
              unsigned long long out[2]);
#endif

Xxh3Digest xxh3Digest(const char *data, qsizetype size, quint64 seed)
{
#ifdef TOLLGATE_XXH_AVX2
    static const bool hasAvx2 = __builtin_cpu_supports("avx2");
    if (hasAvx2) {
        unsigned long long out[2];
        xxh3Avx2(data, size_t(size), seed, out);
        return {out[0], out[1]};
    }
#endif
#ifdef TOLLGATE_XXH_DISPATCH // the widest vector unit the CPU has, chosen at run time
    const XXH128_hash_t digest = XXH3_128bits_withSeed_dispatch(data, size_t(size), seed);
#else
    const XXH128_hash_t digest = XXH3_128bits_withSeed(data, size_t(size), seed);
#endif
    return {digest.low64, digest.high64};
}

} // namespace tollgate
