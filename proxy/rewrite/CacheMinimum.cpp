#include "CacheMinimum.h"

#include <QVarLengthArray>
#include <algorithm>
#include <iterator>
#include <string_view>

namespace tollgate {

namespace {

struct Entry
{
    const char *family;
    int tokens;
};

// Anthropic's prompt-caching guide (2026-08), "Cache limitations": the minimum cacheable
// prompt length is 512 tokens for Fable 5 and Mythos 5; 1,024 for Opus 4.8, Sonnet 5,
// Sonnet 4.6, Sonnet 4.5, Opus 4.1, Opus 4 and Sonnet 4; 2,048 for Mythos Preview, Opus 4.7
// and Haiku 3.5; 4,096 for Opus 4.6, Opus 4.5 and Haiku 4.5. Opus 5 is listed at 512 with
// Fable 5 in the pricing notes; the Claude 3 rows come from the guide's older revision.
// Bedrock lists its own minimums for new models (1,024 for Fable 5 and Mythos 5); the
// smaller first-party figure is used, which errs on the side of marking.
constexpr Entry kEntries[] = {
    {"claude-fable-5", 512},         {"claude-mythos-5", 512},    {"claude-opus-5", 512},
    {"claude-mythos-preview", 2048}, {"claude-opus-4-8", 1024},   {"claude-opus-4-7", 2048},
    {"claude-opus-4-6", 4096},       {"claude-opus-4-5", 4096},   {"claude-opus-4-1", 1024},
    {"claude-opus-4-0", 1024},       {"claude-opus-4", 1024},     {"claude-sonnet-5", 1024},
    {"claude-sonnet-4-6", 1024},     {"claude-sonnet-4-5", 1024}, {"claude-sonnet-4-0", 1024},
    {"claude-sonnet-4", 1024},       {"claude-haiku-4-5", 4096},  {"claude-3-5-haiku", 2048},
    {"claude-3-haiku", 2048},        {"claude-3-7-sonnet", 1024}, {"claude-3-5-sonnet", 1024},
    {"claude-3-opus", 1024},
};

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

bool isAlnum(char c)
{
    return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// What may follow a family name in an id: nothing, a Vertex "@date", a Bedrock "-v1:0" or
// ":0", a "[1m]"-style suffix, or a "-20250514" date. A version digit ("claude-opus-4" in
// "claude-opus-4-9") is not a match: that is another model.
bool endsFamily(QByteArrayView rest)
{
    if (rest.isEmpty())
        return true;
    const char first = rest.front();
    if (first == '@' || first == ':' || first == '[')
        return true;
    if (first != '-' || rest.size() < 2)
        return false;
    if (rest.at(1) == 'v')
        return true;
    int digits = 0;
    while (1 + digits < rest.size() && isDigit(rest.at(1 + digits)))
        ++digits;
    return digits == 8;
}

// Every family starts so; an id is searched for it once, not for each family in turn.
constexpr char kFamilyPrefix[] = "claude-";

constexpr bool allStartWithPrefix()
{
    for (const Entry &entry : kEntries) {
        for (size_t i = 0; i + 1 < sizeof kFamilyPrefix; ++i) {
            if (entry.family[i] != kFamilyPrefix[i])
                return false;
        }
    }
    return true;
}
static_assert(allStartWithPrefix());

// Where a family name may start in model: after a non-alphanumeric or at the start.
// Ids name one model, so there is mostly one such place.
QVarLengthArray<qsizetype, 4> familyStarts(QByteArrayView model)
{
    // std::string_view's search: QByteArrayView::indexOf sets up a hashed search per call,
    // which costs more than the short ids it runs over.
    QVarLengthArray<qsizetype, 4> starts;
    const std::string_view id(model.data(), size_t(model.size()));
    for (size_t at = id.find(kFamilyPrefix); at != std::string_view::npos;
         at = id.find(kFamilyPrefix, at + 1)) {
        if (at == 0 || !isAlnum(id[at - 1]))
            starts.append(qsizetype(at));
    }
    return starts;
}

bool matchesFamily(QByteArrayView model, const QVarLengthArray<qsizetype, 4> &starts,
                   QByteArrayView family)
{
    for (const qsizetype at : starts) {
        const QByteArrayView rest = model.sliced(at);
        if (rest.startsWith(family) && endsFamily(rest.sliced(family.size())))
            return true;
    }
    return false;
}

} // namespace

int CacheMinimum::tokensFor(QByteArrayView model)
{
    const QVarLengthArray<qsizetype, 4> starts = familyStarts(model);
    if (starts.isEmpty())
        return smallest();
    for (const Entry &entry : kEntries) {
        if (matchesFamily(model, starts, QByteArrayView(entry.family)))
            return entry.tokens;
    }
    return smallest();
}

int CacheMinimum::smallest()
{
    return std::min_element(std::begin(kEntries), std::end(kEntries),
                            [](const Entry &a, const Entry &b) { return a.tokens < b.tokens; })
        ->tokens;
}

} // namespace tollgate
