#include "SseFrames.h"

#include <QJsonDocument>

namespace tollgate {

QByteArray SseFrames::anthropicEvent(const QJsonObject &event)
{
    return "event: " + event.value(QLatin1StringView("type")).toString().toUtf8()
        + "\ndata: " + QJsonDocument(event).toJson(QJsonDocument::Compact) + "\n\n";
}

QByteArray SseFrames::openAiData(const QJsonObject &chunk)
{
    return "data: " + QJsonDocument(chunk).toJson(QJsonDocument::Compact) + "\n\n";
}

QByteArray SseFrames::openAiDone()
{
    return QByteArrayLiteral("data: [DONE]\n\n");
}

} // namespace tollgate
