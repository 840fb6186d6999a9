#pragma once

#include <QByteArray>
#include <QJsonObject>

namespace tollgate {

// The bytes of one translated stream event in each format.
class SseFrames
{
public:
    // "event: <type>\ndata: <json>\n\n". The Anthropic SDKs dispatch on the `event:` line and
    // ignore data-only events, so every event names itself (protocol.md section 3).
    static QByteArray anthropicEvent(const QJsonObject &event);
    // "data: <json>\n\n": OpenAI streams are data-only.
    static QByteArray openAiData(const QJsonObject &chunk);
    // "data: [DONE]\n\n", the end of every OpenAI stream.
    static QByteArray openAiDone();
};

} // namespace tollgate
