#pragma once

#include "sse/SseParser.h"
#include "usage/Usage.h"

#include <QByteArray>
#include <QHash>
#include <QString>

class QJsonObject;
class QJsonValue;

namespace tollgate {

// One streamed Anthropic response rewritten, as it arrives, into the chat.completion.chunk
// stream an OpenAI client expects (protocol.md 8d): a first chunk with the assistant role,
// content deltas, tool_calls deltas (index counting tool_use blocks from 0; id, type and
// function name on a call's first chunk, argument fragments after it), a chunk with the
// finish_reason, a usage chunk (choices: []) when the client asked for
// stream_options.include_usage, then `data: [DONE]`. An Anthropic `error` event, or an
// upstream that ends before message_stop, becomes an OpenAI-shaped error line and [DONE];
// pings and thinking are dropped. Owns the SSE parser and the state of the one stream; one
// instance per response, used from one thread.
class MessagesStreamToChat
{
public:
    // requestedModel is each chunk's `model` (empty takes the upstream's); includeUsage comes
    // from ChatToMessages::translateRequest; createdAt is the chunks' `created` (Unix
    // seconds), now when negative.
    MessagesStreamToChat(const QString &requestedModel, bool includeUsage, qint64 createdAt = -1);
    Q_DISABLE_COPY_MOVE(MessagesStreamToChat)

    // The upstream's bytes, split anywhere; returns the OpenAI bytes to send now.
    QByteArray feed(const char *data, qsizetype size);
    // The upstream body ended: nothing more when message_stop came, otherwise an error line
    // and [DONE]. Later calls return nothing.
    QByteArray finish();

    bool hasStarted() const { return m_hasStarted; }
    bool isFinished() const { return m_isFinished; }
    // As Anthropic reported it (message_start, overwritten by message_delta), with
    // stopReason: for the request log.
    const Usage &usage() const { return m_usage; }
    // The message of the error line sent, if any.
    const QString &error() const { return m_error; }

private:
    void onEvent(const SseEvent &event);
    void onMessageStart(const QJsonObject &message);
    void onBlockStart(const QJsonObject &event);
    void onBlockDelta(const QJsonObject &event);
    void onMessageStop();
    void fail(const QString &anthropicType, const QString &message);
    void ensureStarted();
    void emitChunk(const QJsonObject &delta, const QJsonValue &finishReason);
    QJsonObject chunkHead() const;

    SseParser m_parser;
    QByteArray m_out;
    QString m_model;
    QString m_id;
    qint64 m_created = 0;
    bool m_includesUsage = false;
    bool m_hasStarted = false;
    bool m_isFinished = false;
    QHash<int, int> m_toolIndexOfBlock; // Anthropic block index -> tool_calls index
    QString m_stopReason;
    Usage m_usage;
    QString m_error;
};

} // namespace tollgate
