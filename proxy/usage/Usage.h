#pragma once

#include <QString>
#include <QtGlobal>

namespace tollgate {

// Token counts and billing facts of one response, as Anthropic reports them in `usage`.
// Counts are exact integers; nothing here is estimated.
struct Usage
{
    qint64 inputTokens = 0; // input_tokens: the part after the last cache breakpoint
    qint64 outputTokens = 0; // output_tokens (includes thinking tokens)
    // cache_creation_input_tokens split by TTL; a response without a `cache_creation`
    // object counts all of its cache writes as 5m.
    qint64 cacheWrite5mTokens = 0;
    qint64 cacheWrite1hTokens = 0;
    qint64 cacheReadTokens = 0; // cache_read_input_tokens
    qint64 webSearchRequests = 0; // server_tool_use.web_search_requests
    qint64 webFetchRequests = 0; // server_tool_use.web_fetch_requests

    QString serviceTier; // standard | priority | batch
    QString speed; // "fast" for fast mode
    QString inferenceGeo; // where inference ran (data residency)
    QString stopReason;

    bool hasUsage = false; // a usage object was seen at all

    qint64 cacheWriteTokens() const { return cacheWrite5mTokens + cacheWrite1hTokens; }
    bool operator==(const Usage &other) const = default;
};

} // namespace tollgate
