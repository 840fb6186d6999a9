#pragma once

#include "usage/Usage.h"

#include <QJsonObject>

namespace tollgate {

// Token counts between OpenAI's `usage` and Anthropic's (protocol.md 8b, 8d). The two count
// input differently: OpenAI's prompt_tokens includes cached tokens (cached_tokens is a
// subset), Anthropic's input_tokens is only the uncached part after the last breakpoint.
class UsageTranslator
{
public:
    enum class Shape {
        Message, // message_start and whole messages: with the cache_creation TTL split
        Delta, // message_delta: the four counts only (it never carries the split)
    };

    // cache reads from prompt_tokens_details.cached_tokens, or DeepSeek's
    // prompt_cache_hit_tokens; cache writes (counted as 5m: no vendor states a TTL) from
    // prompt_tokens_details.cache_creation_tokens or .cache_write_tokens;
    // input = max(0, prompt_tokens - reads - writes); output = completion_tokens, reasoning
    // included. An empty object gives a Usage without hasUsage.
    static Usage fromOpenAi(const QJsonObject &usage);
    // Anthropic's message usage (message_start, a whole message).
    static Usage fromAnthropic(const QJsonObject &usage);
    // A message_delta's usage: cumulative values that overwrite when present, never add.
    static void applyAnthropicDelta(Usage &usage, const QJsonObject &delta);

    static QJsonObject toAnthropic(const Usage &usage, Shape shape);
    // prompt_tokens = input + cache reads + cache writes, completion_tokens = output,
    // prompt_tokens_details.cached_tokens = cache reads (and cache_creation_tokens = writes
    // when there were any, the spelling fromOpenAi reads back).
    static QJsonObject toOpenAi(const Usage &usage);
};

} // namespace tollgate
