#include "StopReasons.h"

namespace tollgate {

QString StopReasons::toAnthropic(const QString &finishReason)
{
    if (finishReason == QLatin1StringView("length"))
        return QStringLiteral("max_tokens");
    if (finishReason == QLatin1StringView("tool_calls")
        || finishReason == QLatin1StringView("function_call")) {
        return QStringLiteral("tool_use");
    }
    if (finishReason == QLatin1StringView("content_filter"))
        return QStringLiteral("refusal");
    return QStringLiteral("end_turn");
}

QString StopReasons::toOpenAi(const QString &stopReason)
{
    if (stopReason == QLatin1StringView("max_tokens")
        || stopReason == QLatin1StringView("model_context_window_exceeded")) {
        return QStringLiteral("length");
    }
    if (stopReason == QLatin1StringView("tool_use"))
        return QStringLiteral("tool_calls");
    if (stopReason == QLatin1StringView("refusal"))
        return QStringLiteral("content_filter");
    return QStringLiteral("stop");
}

} // namespace tollgate
