#pragma once

#include <QJsonObject>
#include <QString>

namespace tollgate {

// Tool-call arguments between the two formats: OpenAI carries them as a JSON *string*
// (`function.arguments`), Anthropic as a JSON object (`tool_use.input`).
class ToolArguments
{
public:
    // The input object for an arguments string:
    // - empty or blank -> {} (a call without parameters);
    // - a JSON object -> that object;
    // - a JSON string that itself holds an object (some vendors encode twice) -> that object;
    // - anything else (cut short, not JSON, not an object) -> {"_raw": "<the text>"}.
    // The last case keeps what the model wrote instead of the empty {} other translators use:
    // the client's schema check then names an unexpected `_raw` and the model sees its call
    // was malformed, not silently emptied, and the text stays visible for debugging.
    static QJsonObject parse(const QString &arguments);
    // The arguments string for an input object (compact JSON; a missing input is "{}").
    static QString serialize(const QJsonObject &input);

    static constexpr QLatin1StringView kRawKey {"_raw"};
};

} // namespace tollgate
