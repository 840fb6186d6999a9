#include "UsageTranslator.h"

#include <algorithm>

namespace tollgate {

namespace {

qint64 countOf(const QJsonObject &object, QLatin1StringView key)
{
    return std::max<qint64>(0, object.value(key).toInteger());
}

// The first of the keys the object has, as a count.
qint64 firstCountOf(const QJsonObject &object, std::initializer_list<QLatin1StringView> keys)
{
    for (const QLatin1StringView key : keys) {
        if (object.value(key).isDouble())
            return countOf(object, key);
    }
    return 0;
}

} // namespace

Usage UsageTranslator::fromOpenAi(const QJsonObject &usage)
{
    Usage result;
    if (usage.isEmpty())
        return result;
    result.hasUsage = true;
    const QJsonObject details = usage.value(QLatin1StringView("prompt_tokens_details")).toObject();
    result.cacheReadTokens = details.value(QLatin1StringView("cached_tokens")).isDouble()
        ? countOf(details, QLatin1StringView("cached_tokens"))
        : countOf(usage, QLatin1StringView("prompt_cache_hit_tokens"));
    result.cacheWrite5mTokens = firstCountOf(
        details,
        {QLatin1StringView("cache_creation_tokens"), QLatin1StringView("cache_write_tokens")});
    const qint64 prompt = countOf(usage, QLatin1StringView("prompt_tokens"));
    result.inputTokens =
        std::max<qint64>(0, prompt - result.cacheReadTokens - result.cacheWrite5mTokens);
    result.outputTokens = countOf(usage, QLatin1StringView("completion_tokens"));
    return result;
}

Usage UsageTranslator::fromAnthropic(const QJsonObject &usage)
{
    Usage result;
    if (usage.isEmpty())
        return result;
    result.hasUsage = true;
    result.inputTokens = countOf(usage, QLatin1StringView("input_tokens"));
    result.outputTokens = countOf(usage, QLatin1StringView("output_tokens"));
    result.cacheReadTokens = countOf(usage, QLatin1StringView("cache_read_input_tokens"));
    const QJsonValue split = usage.value(QLatin1StringView("cache_creation"));
    if (split.isObject()) {
        const QJsonObject ttl = split.toObject();
        result.cacheWrite5mTokens = countOf(ttl, QLatin1StringView("ephemeral_5m_input_tokens"));
        result.cacheWrite1hTokens = countOf(ttl, QLatin1StringView("ephemeral_1h_input_tokens"));
    } else {
        result.cacheWrite5mTokens =
            countOf(usage, QLatin1StringView("cache_creation_input_tokens"));
    }
    result.serviceTier = usage.value(QLatin1StringView("service_tier")).toString();
    return result;
}

void UsageTranslator::applyAnthropicDelta(Usage &usage, const QJsonObject &delta)
{
    if (delta.isEmpty())
        return;
    usage.hasUsage = true;
    if (delta.value(QLatin1StringView("input_tokens")).isDouble())
        usage.inputTokens = countOf(delta, QLatin1StringView("input_tokens"));
    if (delta.value(QLatin1StringView("output_tokens")).isDouble())
        usage.outputTokens = countOf(delta, QLatin1StringView("output_tokens"));
    if (delta.value(QLatin1StringView("cache_read_input_tokens")).isDouble())
        usage.cacheReadTokens = countOf(delta, QLatin1StringView("cache_read_input_tokens"));
    if (delta.value(QLatin1StringView("cache_creation_input_tokens")).isDouble()) {
        // The delta has no TTL split: the 1h part from message_start stands, the rest is 5m.
        const qint64 writes = countOf(delta, QLatin1StringView("cache_creation_input_tokens"));
        usage.cacheWrite1hTokens = std::min(usage.cacheWrite1hTokens, writes);
        usage.cacheWrite5mTokens = writes - usage.cacheWrite1hTokens;
    }
}

QJsonObject UsageTranslator::toAnthropic(const Usage &usage, Shape shape)
{
    QJsonObject result {
        {QLatin1StringView("input_tokens"), usage.inputTokens},
        {QLatin1StringView("cache_creation_input_tokens"), usage.cacheWriteTokens()},
        {QLatin1StringView("cache_read_input_tokens"), usage.cacheReadTokens},
        {QLatin1StringView("output_tokens"), usage.outputTokens},
    };
    if (shape == Shape::Message) {
        result.insert(
            QLatin1StringView("cache_creation"),
            QJsonObject {
                {QLatin1StringView("ephemeral_5m_input_tokens"), usage.cacheWrite5mTokens},
                {QLatin1StringView("ephemeral_1h_input_tokens"), usage.cacheWrite1hTokens},
            });
    }
    return result;
}

QJsonObject UsageTranslator::toOpenAi(const Usage &usage)
{
    const qint64 prompt = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens();
    QJsonObject details {{QLatin1StringView("cached_tokens"), usage.cacheReadTokens}};
    if (usage.cacheWriteTokens() > 0)
        details.insert(QLatin1StringView("cache_creation_tokens"), usage.cacheWriteTokens());
    return QJsonObject {
        {QLatin1StringView("prompt_tokens"), prompt},
        {QLatin1StringView("completion_tokens"), usage.outputTokens},
        {QLatin1StringView("total_tokens"), prompt + usage.outputTokens},
        {QLatin1StringView("prompt_tokens_details"), details},
    };
}

} // namespace tollgate
