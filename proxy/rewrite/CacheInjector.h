#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

namespace tollgate {

struct PromptLayout;

// Adds prompt-cache breakpoints (cache_control markers) to a POST /v1/messages request body
// where they pay, without ever breaking a request the API would have accepted: at most 4
// markers in all, the client's own markers kept as they are, 1h entries before 5m ones, and
// the body's bytes otherwise untouched (markers are spliced in; nothing is re-serialised, so
// key order, escapes, numbers and whitespace survive, and with them Claude Code's attribution
// block and thinking signatures). A pure function of the body and the policy: no state, no
// I/O, safe to call from any thread.
class CacheInjector
{
public:
    enum class Ttl { FiveMinutes, OneHour };
    struct Policy
    {
        bool isEnabled = true;
        Ttl ttl = Ttl::FiveMinutes;
    };
    // Where a Tollgate marker went.
    enum class Place {
        LastTool, // the last tool definition: caches the tools prefix
        SystemPrompt, // the last system block: caches tools + system
        // The last block of the newest user message: the moving breakpoint. When that message
        // is a string content too long to wrap (PromptLayout::kLongestWrappedString) and ends
        // the prompt, a top-level cache_control, which automatic caching puts on it.
        NewestUserTurn,
        PreviousUserTurn, // the last block of the user turn before the last assistant reply
    };
    struct Breakpoint
    {
        Place place;
        Ttl ttl;
        bool operator==(const Breakpoint &other) const = default;
    };
    // Bytes inserted before input offset `offset`; the output is the input with these spliced
    // in, in ascending offset order.
    struct Insertion
    {
        qsizetype offset = 0;
        QByteArray bytes;
        bool operator==(const Insertion &other) const = default;
    };
    struct Result
    {
        QByteArray body; // inject(): the input plus inserted markers; a copy of the input when none
        int markersAdded = 0;
        int clientMarkers = 0; // markers the client sent (a top-level one included)
        // Why nothing was added ("disabled", "not JSON", "top level is not an object", "no
        // messages array", "4 markers already", "below the minimum of 1024 tokens for
        // claude-…", or why each spot was passed over, joined by "; "); empty when markers
        // were added. "not JSON" also covers the rare valid body that simdjson refuses: an
        // integer beyond 64 bits or a number out of double range.
        QString skipped;
        // Set when a Tollgate marker asks for the 1h ttl: the caller then appends
        // kExtendedTtlBeta to anthropic-beta if the client did not send it.
        bool needsExtendedTtlBeta = false;
        QList<Insertion> insertions;
        QList<Breakpoint> added; // in the order they were chosen
        // Whether this request's cache reads are owed to Tollgate: it added markers and the
        // client had none, or one of Tollgate's markers sits where none of the client's could
        // find its entry (20 or more blocks before the client's next marker, or in another
        // section). Otherwise the client's own markers would have read the same prefix, and
        // the savings are the client's.
        bool ownsCacheReads = false;
    };

    // The anthropic-beta value for 1h cache entries. Anthropic's prompt-caching guide now
    // documents ttl "1h" with no beta header, while the Claude Code gateway guide still has
    // gateways forward an extended-cache-ttl beta along with ttl; the value is in the API's
    // beta enum, so sending it is harmless and covers an API that still wants it.
    static constexpr char kExtendedTtlBeta[] = "extended-cache-ttl-2025-04-11";

    // body: a POST /v1/messages request body (never a count_tokens one: the caller checks the
    // path, and a body without max_tokens is left alone as well).
    static Result inject(QByteArrayView body, const Policy &policy);
    // The same decisions without building the output: `body` stays empty, `insertions` are
    // in ascending offset order. With spliceInPlace() the proxy gets the output of inject()
    // without a second copy of a body of megabytes.
    static Result plan(QByteArrayView body, const Policy &policy);
    // The decisions for a body whose layout is taken already (PromptLayoutBuilder, as the
    // body arrived); the same as plan(body) for the body it was taken from.
    static Result plan(const PromptLayout &layout, const Policy &policy);
    // Applies plan()'s insertions to the body they were planned on, in its own buffer.
    static void spliceInPlace(QByteArray &body, const QList<Insertion> &insertions);
    // The most bytes a plan can add to any body: every free breakpoint on a string it wraps,
    // with the longer (1h) marker.
    static qsizetype maxInsertedBytes();
};

} // namespace tollgate
