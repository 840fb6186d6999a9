#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QMetaType>
#include <QString>

namespace tollgate {

// What the gateway knows about one finished request: emitted by Gateway::requestFinished
// and later written to the request log. Never holds a credential.
struct RequestRecord
{
    quint64 id = 0;
    QDateTime startedAt;
    QByteArray method;
    QByteArray target; // path and query as the client sent it
    QByteArray sessionId; // x-claude-code-session-id, when present
    int status = 0; // status the client received (0: no response was sent)
    bool isStreaming = false; // text/event-stream response
    bool isPassthroughAuth = false;
    bool isComplete = false; // the whole response reached the client
    qint64 ttfbUs = -1; // request received -> first response byte from upstream
    qint64 totalUs = 0; // request received -> response finished
    qint64 requestBytes = 0; // body bytes received from the client
    qint64 responseBytes = 0; // body bytes sent to the client
    QString error; // empty when the exchange went through
};

} // namespace tollgate

Q_DECLARE_METATYPE(tollgate::RequestRecord)
