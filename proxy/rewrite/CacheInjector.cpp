#include "CacheInjector.h"

#include "CacheMinimum.h"
#include "PromptLayout.h"

#include <QStringList>
#include <algorithm>
#include <cstring>

namespace tollgate {

namespace {

using Ttl = CacheInjector::Ttl;
using Place = CacheInjector::Place;
using Spot = PromptLayout::Spot;
using Role = PromptLayout::Message::Role;

// Anthropic allows at most 4 cache_control breakpoints per request, a top-level
// ("automatic") one included; a fifth is a 400 ("A maximum of 4 blocks with cache_control
// may be provided. Found 5.").
constexpr int kMaxBreakpoints = 4;

// Bytes of JSON per token for the minimum-length estimate. English prose runs about 4 bytes a
// token and code about 3, and Claude 4.7+ models' tokenizer makes about 30% more tokens, so 3
// over-counts tokens for most prompts: a prompt is skipped only when it is short on any fair
// reading. A marker on a too-short prompt costs nothing (the API just caches nothing), while
// a skipped prompt that was long enough loses its savings.
constexpr qsizetype kBytesPerToken = 3;

// A breakpoint reads an entry an earlier request wrote only within 20 blocks back from it: "a
// turn that adds 20 or more blocks misses unless a second breakpoint sits nearer the previous
// write" (Anthropic's prompt-caching guide, the lookback window).
constexpr quint64 kLookbackBlocks = 20;

// simdjson (json::forEachMember) reads up to 64 bytes past the end of what it scans.
constexpr qsizetype kScanPadding = 64;

QString nameOf(Place place)
{
    switch (place) {
    case Place::LastTool:
        return QStringLiteral("last tool");
    case Place::SystemPrompt:
        return QStringLiteral("system prompt");
    case Place::NewestUserTurn:
        return QStringLiteral("newest user turn");
    case Place::PreviousUserTurn:
        return QStringLiteral("previous user turn");
    }
    return {};
}

QByteArray markerJson(Ttl ttl)
{
    return ttl == Ttl::OneHour
        ? QByteArrayLiteral(R"("cache_control":{"type":"ephemeral","ttl":"1h"})")
        : QByteArrayLiteral(R"("cache_control":{"type":"ephemeral"})");
}

Ttl otherTtl(Ttl ttl)
{
    return ttl == Ttl::OneHour ? Ttl::FiveMinutes : Ttl::OneHour;
}

struct Candidate
{
    Place place;
    Spot spot;
    QString missing; // why there is no spot, when !spot.isValid()
    // Marked by a top-level cache_control, which automatic caching puts on the spot: the
    // last cacheable block of the prompt.
    bool isAutomatic = false;
};

Candidate turnCandidate(const PromptLayout &layout, Place place, qsizetype index)
{
    Candidate candidate {place, Spot(), QString()};
    if (index < 0) {
        candidate.missing = QStringLiteral("no %1").arg(nameOf(place));
        return candidate;
    }
    const PromptLayout::Message &message = layout.messages.at(index);
    if (message.hasMarker) {
        candidate.missing = QStringLiteral("%1 already marked by the client").arg(nameOf(place));
    } else if (message.hasMarkableBlock()) {
        candidate.spot = message.lastEligible;
    } else if (!message.lastEligible.isValid()) {
        candidate.missing = QStringLiteral("%1 has no block that can be marked").arg(nameOf(place));
    } else if (place != Place::NewestUserTurn || !layout.hasAutomaticTarget()
               || layout.automaticTarget() != message.lastEligible.order) {
        candidate.missing = QStringLiteral("%1 is a string of over %2 KiB, left unwrapped")
                                .arg(nameOf(place))
                                .arg(PromptLayout::kLongestWrappedString / 1024);
    } else if (layout.hasTopLevelCacheControlKey && !layout.hasTopLevelMarker) {
        candidate.missing = QStringLiteral("%1 is a string of over %2 KiB, and the client's "
                                           "top-level cache_control is not a marker")
                                .arg(nameOf(place))
                                .arg(PromptLayout::kLongestWrappedString / 1024);
    } else {
        // A string content too long to wrap (PromptLayout::kLongestWrappedString) that ends
        // the prompt: a top-level marker, at the body's end, lands on it. (A client's own
        // top-level marker covers it already: the planner passes it over then.)
        candidate.spot = message.lastEligible;
        candidate.isAutomatic = true;
    }
    return candidate;
}

// Where markers pay, most valuable first. A client that sends no markers gets the static
// prefix covered (tools, then tools + system) plus the conversation; a client that places its
// own (Claude Code marks two system blocks and its newest user turn) manages its prefix, so
// only the conversation spots are offered: the newest user turn if it is unmarked, and the
// previous user turn, where last request's moving breakpoint wrote its entry. That one is a
// read, and it rescues turns that add many blocks (parallel tool calls): a breakpoint finds an
// earlier cache entry only within 20 blocks back (Anthropic's prompt-caching guide, "the
// lookback window is 20 blocks").
QList<Candidate> candidatesFor(const PromptLayout &layout, int clientMarkers)
{
    QList<Candidate> candidates;
    if (clientMarkers == 0) {
        candidates.append({Place::LastTool, layout.lastTool, QStringLiteral("no tool to mark")});
        candidates.append({Place::SystemPrompt, layout.lastSystemBlock,
                           QStringLiteral("no system block to mark")});
    }
    const PromptLayout::UserTurns turns = layout.userTurns();
    candidates.append(turnCandidate(layout, Place::NewestUserTurn, turns.newest));
    candidates.append(turnCandidate(layout, Place::PreviousUserTurn, turns.previous));
    return candidates;
}

// Markers in prefix order must not go from a 5m entry to a 1h one: "cache entries with longer
// TTL must appear before shorter TTLs" (Anthropic's prompt-caching guide, "Mixing different
// TTLs").
bool isTtlOrderValid(const QList<PromptLayout::Marker> &markers)
{
    bool seenFiveMinutes = false;
    for (const PromptLayout::Marker &marker : markers) {
        if (marker.isOneHour && seenFiveMinutes)
            return false;
        seenFiveMinutes = seenFiveMinutes || !marker.isOneHour;
    }
    return true;
}

// The markers of the request as it will go out: the client's, the top-level one where
// automatic caching puts it, and Tollgate's as they are placed.
class MarkerSet
{
public:
    explicit MarkerSet(const PromptLayout &layout)
        : m_markers(layout.markers())
    {
        if (layout.hasTopLevelMarker && layout.hasAutomaticTarget())
            add(layout.automaticTarget(), layout.isTopLevelOneHour);
    }

    void add(quint64 order, bool isOneHour)
    {
        const PromptLayout::Marker marker {order, isOneHour};
        const auto at =
            std::upper_bound(m_markers.begin(), m_markers.end(), marker,
                             [](const PromptLayout::Marker &a, const PromptLayout::Marker &b) {
                                 return a.order < b.order;
                             });
        m_markers.insert(at, marker);
    }

    // A 1h marker may not follow a 5m one, and a 5m marker may not precede a 1h one.
    bool allows(quint64 order, Ttl ttl) const
    {
        for (const PromptLayout::Marker &marker : m_markers) {
            if (ttl == Ttl::OneHour && !marker.isOneHour && marker.order < order)
                return false;
            if (ttl == Ttl::FiveMinutes && marker.isOneHour && marker.order > order)
                return false;
        }
        return true;
    }

    const QList<PromptLayout::Marker> &all() const { return m_markers; }

private:
    QList<PromptLayout::Marker> m_markers;
};

QList<CacheInjector::Insertion> insertionsFor(const PromptLayout &layout,
                                              const Candidate &candidate, Ttl ttl)
{
    const Spot &spot = candidate.spot;
    // A member of the top-level object, which has "messages" at least.
    if (candidate.isAutomatic)
        return {{layout.topLevelClose, ',' + markerJson(ttl)}};
    if (spot.wrapsString()) {
        // "text": <the same string token, bytes unchanged>
        return {{spot.offset, QByteArrayLiteral(R"([{"type":"text","text":)")},
                {spot.stringEnd, ',' + markerJson(ttl) + "}]"}};
    }
    const QByteArray separator = spot.isEmptyObject ? QByteArray() : QByteArray(",");
    return {{spot.offset, separator + markerJson(ttl)}};
}

void sortByOffset(QList<CacheInjector::Insertion> &insertions)
{
    std::stable_sort(insertions.begin(), insertions.end(),
                     [](const CacheInjector::Insertion &a, const CacheInjector::Insertion &b) {
                         return a.offset < b.offset;
                     });
}

qsizetype insertedBytes(const QList<CacheInjector::Insertion> &insertions)
{
    qsizetype extra = 0;
    for (const CacheInjector::Insertion &insertion : insertions)
        extra += insertion.bytes.size();
    return extra;
}

QString refusalFor(PromptLayout::Status status)
{
    switch (status) {
    case PromptLayout::Status::Ok:
        return {};
    case PromptLayout::Status::NotJson:
        return QStringLiteral("not JSON");
    case PromptLayout::Status::NotObject:
        return QStringLiteral("top level is not an object");
    case PromptLayout::Status::NoMessages:
        return QStringLiteral("no messages array");
    case PromptLayout::Status::DuplicateKeys:
        return QStringLiteral("duplicate top-level keys");
    }
    return QStringLiteral("not JSON");
}

QString modelName(const PromptLayout &layout)
{
    return layout.model.isEmpty() ? QStringLiteral("an unnamed model")
                                  : QString::fromUtf8(layout.model);
}

// Places candidates one by one while slots remain, or notes why a spot was passed over.
class Planner
{
public:
    Planner(const PromptLayout &layout, const CacheInjector::Policy &policy, int freeSlots)
        : m_layout(layout)
        , m_policy(policy)
        , m_slots(freeSlots)
        , m_markers(layout)
        , m_minimumTokens(CacheMinimum::tokensFor(layout.model))
    {
    }

    void consider(const Candidate &candidate, CacheInjector::Result &result)
    {
        if (m_slots == 0)
            return;
        const QString reason = reasonToPass(candidate);
        if (!reason.isEmpty()) {
            m_reasons.append(reason);
            return;
        }
        Ttl ttl = m_policy.ttl;
        if (!m_markers.allows(candidate.spot.order, ttl))
            ttl = otherTtl(ttl);
        if (!m_markers.allows(candidate.spot.order, ttl)) {
            m_reasons.append(
                QStringLiteral("%1 would break the ttl order").arg(nameOf(candidate.place)));
            return;
        }
        m_markers.add(candidate.spot.order, ttl == Ttl::OneHour);
        m_placed.append(candidate.spot.order);
        result.insertions.append(insertionsFor(m_layout, candidate, ttl));
        result.added.append({candidate.place, ttl});
        result.needsExtendedTtlBeta = result.needsExtendedTtlBeta || ttl == Ttl::OneHour;
        ++result.markersAdded;
        --m_slots;
    }

    QString reasons() const { return m_reasons.join(QStringLiteral("; ")); }

    // See Result::ownsCacheReads. Orders are block positions in prefix order; the high byte
    // is the section, so a client marker in another section never counts as within reach.
    bool reachesBeyondClient() const
    {
        const QList<PromptLayout::Marker> client = MarkerSet(m_layout).all();
        return std::any_of(m_placed.begin(), m_placed.end(), [&client](quint64 placed) {
            return std::none_of(
                client.begin(), client.end(), [placed](const PromptLayout::Marker &marker) {
                    return marker.order >= placed && marker.order - placed < kLookbackBlocks;
                });
        });
    }

private:
    QString reasonToPass(const Candidate &candidate) const
    {
        if (!candidate.spot.isValid())
            return candidate.missing;
        // A top-level cache_control lands on the last cacheable block; an explicit marker
        // there with another ttl is a 400, and with the same ttl it adds nothing.
        if (m_layout.hasTopLevelMarker && m_layout.hasAutomaticTarget()
            && candidate.spot.order == m_layout.automaticTarget())
            return QStringLiteral("automatic caching already covers the %1")
                .arg(nameOf(candidate.place));
        if (m_layout.prefixBytes(candidate.spot) / kBytesPerToken < m_minimumTokens)
            return QStringLiteral("%1 is below the minimum of %2 tokens for %3")
                .arg(nameOf(candidate.place))
                .arg(m_minimumTokens)
                .arg(modelName(m_layout));
        return {};
    }

    const PromptLayout &m_layout;
    const CacheInjector::Policy &m_policy;
    int m_slots;
    MarkerSet m_markers;
    int m_minimumTokens;
    QStringList m_reasons;
    QList<quint64> m_placed;
};

// Why the whole request is left alone, or an empty string when it may get markers.
QString refusalFor(const PromptLayout &layout, int clientMarkers)
{
    if (const QString refusal = refusalFor(layout.status); !refusal.isEmpty())
        return refusal;
    if (!layout.hasMaxTokens)
        return QStringLiteral("no max_tokens (a count_tokens body?)");
    if (clientMarkers >= kMaxBreakpoints)
        return QStringLiteral("%1 markers already").arg(clientMarkers);
    if (!isTtlOrderValid(MarkerSet(layout).all()))
        return QStringLiteral("the client's markers put a 1h entry after a 5m one");
    const int minimum = CacheMinimum::tokensFor(layout.model);
    // Most small requests end here: built without QString::arg's format parsing.
    if (layout.promptBytes() / kBytesPerToken < minimum)
        return QStringLiteral("below the minimum of ") + QString::number(minimum)
            + QStringLiteral(" tokens for ") + modelName(layout);
    return {};
}

} // namespace

CacheInjector::Result CacheInjector::plan(QByteArrayView body, const Policy &policy)
{
    // Disabled: no scan; plan() says so.
    return plan(policy.isEnabled ? PromptLayout::scan(body) : PromptLayout(), policy);
}

CacheInjector::Result CacheInjector::plan(const PromptLayout &layout, const Policy &policy)
{
    Result result;
    if (!policy.isEnabled) {
        result.skipped = QStringLiteral("disabled");
        return result;
    }
    if (layout.status == PromptLayout::Status::Ok) {
        result.clientMarkers = int(layout.blockMarkers.size()) + (layout.hasTopLevelMarker ? 1 : 0);
    }
    result.skipped = refusalFor(layout, result.clientMarkers);
    if (!result.skipped.isEmpty())
        return result;
    Planner planner(layout, policy, kMaxBreakpoints - result.clientMarkers);
    for (const Candidate &candidate : candidatesFor(layout, result.clientMarkers))
        planner.consider(candidate, result);
    if (result.markersAdded == 0) {
        result.skipped = planner.reasons();
        return result;
    }
    result.ownsCacheReads = planner.reachesBeyondClient();
    sortByOffset(result.insertions);
    return result;
}

CacheInjector::Result CacheInjector::inject(QByteArrayView body, const Policy &policy)
{
    Result result = plan(body, policy);
    // With room to spare past the end, the request log's scan of the body needs no copy.
    result.body.reserve(body.size() + insertedBytes(result.insertions) + kScanPadding);
    result.body.append(body);
    spliceInPlace(result.body, result.insertions);
    return result;
}

qsizetype CacheInjector::maxInsertedBytes()
{
    Candidate wrapped {Place::NewestUserTurn, Spot(), QString()};
    wrapped.spot.offset = 0;
    wrapped.spot.stringEnd = 2;
    return kMaxBreakpoints * insertedBytes(insertionsFor(PromptLayout(), wrapped, Ttl::OneHour));
}

void CacheInjector::spliceInPlace(QByteArray &body, const QList<Insertion> &insertions)
{
    const qsizetype extra = insertedBytes(insertions);
    if (extra == 0)
        return;
    const qsizetype oldSize = body.size();
    // Within the room the request's buffer keeps past its end (HttpParser::kBodyPadding)
    // this neither reallocates nor copies the part before the first insertion.
    body.resize(oldSize + extra);
    char *data = body.data();
    // From the last insertion back: each stretch of the input moves once, to where it ends up.
    qsizetype end = oldSize;
    qsizetype shift = extra;
    for (qsizetype i = insertions.size() - 1; i >= 0; --i) {
        const Insertion &insertion = insertions.at(i);
        std::memmove(data + insertion.offset + shift, data + insertion.offset,
                     size_t(end - insertion.offset));
        shift -= insertion.bytes.size();
        std::memcpy(data + insertion.offset + shift, insertion.bytes.constData(),
                    size_t(insertion.bytes.size()));
        end = insertion.offset;
    }
}

} // namespace tollgate
