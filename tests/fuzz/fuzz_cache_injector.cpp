// CacheInjector splices cache_control markers into request bodies it forwards unchanged
// otherwise: the output must be the input with only the reported insertions added, each one a
// marker (or the text-block wrapper around a string prompt), valid JSON whenever it changed,
// with no key named twice that was not named twice before, never more than Anthropic's 4
// breakpoints, and a body it cannot parse must pass untouched.
#include "FuzzAssert.h"
#include "JsonChecks.h"
#include "rewrite/CacheInjector.h"

#include <cstdint>

using tollgate::CacheInjector;

namespace {

// Anthropic allows at most 4 cache_control breakpoints per request.
constexpr int kMaxBreakpoints = 4;

bool isMarkerInsertion(const QByteArray &bytes)
{
    static const QByteArray kFiveMinutes =
        QByteArrayLiteral(R"("cache_control":{"type":"ephemeral"})");
    static const QByteArray kOneHour =
        QByteArrayLiteral(R"("cache_control":{"type":"ephemeral","ttl":"1h"})");
    for (const QByteArray &marker : {kFiveMinutes, kOneHour}) {
        if (bytes == marker || bytes == ',' + marker)
            return true;
    }
    return false;
}

bool isWrapperInsertion(const QByteArray &bytes, bool isOpening)
{
    if (isOpening)
        return bytes == QByteArrayLiteral(R"([{"type":"text","text":)");
    return bytes.endsWith("}]") && isMarkerInsertion(bytes.chopped(2));
}

// Walks the output against the input: between insertions the bytes are the input's own.
int checkSplice(QByteArrayView input, const CacheInjector::Result &result)
{
    const QByteArray &out = result.body;
    qsizetype copied = 0; // of the input
    qsizetype at = 0; // of the output
    int markers = 0;
    bool isWrapperOpen = false;
    for (const CacheInjector::Insertion &insertion : result.insertions) {
        FUZZ_ASSERT(insertion.offset >= copied && insertion.offset <= input.size(),
                    "insertion offsets out of order or range");
        const qsizetype run = insertion.offset - copied;
        FUZZ_ASSERT(at + run <= out.size(), "output too short");
        FUZZ_ASSERT(QByteArrayView(out).sliced(at, run) == input.sliced(copied, run),
                    "input bytes changed between insertions");
        at += run;
        copied = insertion.offset;
        FUZZ_ASSERT(QByteArrayView(out).sliced(at).startsWith(insertion.bytes),
                    "reported insertion is not in the output");
        at += insertion.bytes.size();
        if (isWrapperOpen) {
            FUZZ_ASSERT(isWrapperInsertion(insertion.bytes, false), "unclosed text wrapper");
            isWrapperOpen = false;
            ++markers;
        } else if (isWrapperInsertion(insertion.bytes, true)) {
            isWrapperOpen = true;
        } else {
            FUZZ_ASSERT(isMarkerInsertion(insertion.bytes), "an insertion that is no marker");
            ++markers;
        }
    }
    FUZZ_ASSERT(!isWrapperOpen, "text wrapper never closed");
    FUZZ_ASSERT(QByteArrayView(out).sliced(at) == input.sliced(copied),
                "input bytes changed after the last insertion");
    return markers;
}

void check(QByteArrayView input, CacheInjector::Ttl ttl)
{
    const CacheInjector::Result result = CacheInjector::inject(input, {true, ttl});
    FUZZ_ASSERT(result.markersAdded == result.added.size(), "markersAdded and added disagree");
    FUZZ_ASSERT(checkSplice(input, result) == result.markersAdded,
                "insertions and markersAdded disagree");
    if (result.markersAdded == 0) {
        FUZZ_ASSERT(result.body == input, "body changed without a marker");
        FUZZ_ASSERT(!result.needsExtendedTtlBeta, "1h beta without a marker");
        return;
    }
    FUZZ_ASSERT(result.skipped.isEmpty(), "skipped set although markers were added");
    FUZZ_ASSERT(result.clientMarkers + result.markersAdded <= kMaxBreakpoints,
                "more than 4 breakpoints");
    bool hasOneHour = false;
    for (const CacheInjector::Breakpoint &breakpoint : result.added)
        hasOneHour = hasOneHour || breakpoint.ttl == CacheInjector::Ttl::OneHour;
    FUZZ_ASSERT(hasOneHour == result.needsExtendedTtlBeta, "1h beta and markers disagree");

    const int inputDuplicates = JsonChecks::duplicateKeyObjects(input);
    FUZZ_ASSERT(inputDuplicates >= 0, "markers added to a body that is not JSON");
    FUZZ_ASSERT(JsonChecks::isObject(result.body), "output is not a JSON object");
    FUZZ_ASSERT(JsonChecks::duplicateKeyObjects(result.body) == inputDuplicates,
                "output names a key twice");

    // The markers added are markers the injector itself sees in its output.
    const CacheInjector::Result again = CacheInjector::inject(result.body, {true, ttl});
    FUZZ_ASSERT(again.clientMarkers == result.clientMarkers + result.markersAdded,
                "markers added are not counted in the output");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    check(input, CacheInjector::Ttl::FiveMinutes);
    check(input, CacheInjector::Ttl::OneHour);
    if (!JsonChecks::isValid(input)) {
        const CacheInjector::Result result = CacheInjector::inject(input, {});
        FUZZ_ASSERT(result.body == input && result.markersAdded == 0,
                    "a body that is not JSON was changed");
    }
    return 0;
}
