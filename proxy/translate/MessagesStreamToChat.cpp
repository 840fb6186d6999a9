#include "MessagesStreamToChat.h"

#include "translate/ErrorTranslator.h"
#include "translate/MessageIds.h"
#include "translate/SseFrames.h"
#include "translate/StopReasons.h"
#include "translate/UsageTranslator.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <utility>

namespace tollgate {

namespace {

using namespace Qt::StringLiterals;

} // namespace

MessagesStreamToChat::MessagesStreamToChat(const QString &requestedModel, bool includeUsage,
                                           qint64 createdAt)
    : m_parser([this](const SseEvent &event) { onEvent(event); })
    , m_model(requestedModel)
    , m_created(createdAt >= 0 ? createdAt : QDateTime::currentSecsSinceEpoch())
    , m_includesUsage(includeUsage)
{
}

QByteArray MessagesStreamToChat::feed(const char *data, qsizetype size)
{
    if (!m_isFinished)
        m_parser.feed(data, size);
    return std::exchange(m_out, QByteArray());
}

QByteArray MessagesStreamToChat::finish()
{
    if (!m_isFinished)
        m_parser.feed("\n\n", 2); // a last event without its blank line still counts
    if (!m_isFinished)
        fail(u"api_error"_s, u"The upstream stream ended before the response was complete"_s);
    return std::exchange(m_out, QByteArray());
}

void MessagesStreamToChat::onEvent(const SseEvent &event)
{
    if (m_isFinished)
        return;
    const QJsonObject data = QJsonDocument::fromJson(event.data.toByteArray()).object();
    // Dispatch on the event name, as Anthropic's SDKs do; the data's type repeats it.
    const QString name =
        event.name == "message" ? data.value("type"_L1).toString() : QString::fromUtf8(event.name);
    if (name == "message_start"_L1) {
        onMessageStart(data.value("message"_L1).toObject());
    } else if (name == "content_block_start"_L1) {
        onBlockStart(data);
    } else if (name == "content_block_delta"_L1) {
        onBlockDelta(data);
    } else if (name == "message_delta"_L1) {
        const QString stopReason =
            data.value("delta"_L1).toObject().value("stop_reason"_L1).toString();
        if (!stopReason.isEmpty())
            m_stopReason = stopReason;
        UsageTranslator::applyAnthropicDelta(m_usage, data.value("usage"_L1).toObject());
    } else if (name == "message_stop"_L1) {
        onMessageStop();
    } else if (name == "error"_L1) {
        const QJsonObject error = data.value("error"_L1).toObject();
        const QString type = error.value("type"_L1).toString();
        const QString message = error.value("message"_L1).toString();
        fail(type.isEmpty() ? u"api_error"_s : type,
             message.isEmpty() ? u"The upstream reported an error"_s : message);
    }
    // ping, content_block_stop, thinking and event types yet to come carry nothing here.
}

void MessagesStreamToChat::onMessageStart(const QJsonObject &message)
{
    if (m_hasStarted)
        return;
    m_id = MessageIds::chatCompletionId(message.value("id"_L1).toString(), {});
    if (m_model.isEmpty())
        m_model = message.value("model"_L1).toString();
    m_usage = UsageTranslator::fromAnthropic(message.value("usage"_L1).toObject());
    ensureStarted();
}

void MessagesStreamToChat::onBlockStart(const QJsonObject &event)
{
    ensureStarted();
    const QJsonObject block = event.value("content_block"_L1).toObject();
    const QString type = block.value("type"_L1).toString();
    if (type == "tool_use"_L1) {
        const int toolIndex = int(m_toolIndexOfBlock.size());
        m_toolIndexOfBlock.insert(event.value("index"_L1).toInt(), toolIndex);
        const QJsonObject call {
            {u"index"_s, toolIndex},
            {u"id"_s, block.value("id"_L1)},
            {u"type"_s, u"function"_s},
            {u"function"_s,
             QJsonObject {{u"name"_s, block.value("name"_L1)}, {u"arguments"_s, QString()}}},
        };
        emitChunk(QJsonObject {{u"tool_calls"_s, QJsonArray {call}}}, QJsonValue::Null);
    } else if (type == "text"_L1 && !block.value("text"_L1).toString().isEmpty()) {
        emitChunk(QJsonObject {{u"content"_s, block.value("text"_L1)}}, QJsonValue::Null);
    }
}

void MessagesStreamToChat::onBlockDelta(const QJsonObject &event)
{
    ensureStarted();
    const QJsonObject delta = event.value("delta"_L1).toObject();
    const QString type = delta.value("type"_L1).toString();
    if (type == "text_delta"_L1) {
        const QString text = delta.value("text"_L1).toString();
        if (!text.isEmpty())
            emitChunk(QJsonObject {{u"content"_s, text}}, QJsonValue::Null);
        return;
    }
    if (type != "input_json_delta"_L1)
        return; // thinking, signatures, citations
    const auto toolIndex = m_toolIndexOfBlock.constFind(event.value("index"_L1).toInt());
    const QString fragment = delta.value("partial_json"_L1).toString();
    if (toolIndex == m_toolIndexOfBlock.cend() || fragment.isEmpty())
        return;
    const QJsonObject call {
        {u"index"_s, *toolIndex},
        {u"function"_s, QJsonObject {{u"arguments"_s, fragment}}},
    };
    emitChunk(QJsonObject {{u"tool_calls"_s, QJsonArray {call}}}, QJsonValue::Null);
}

void MessagesStreamToChat::onMessageStop()
{
    ensureStarted();
    if (m_stopReason.isEmpty())
        m_stopReason = u"end_turn"_s;
    m_usage.stopReason = m_stopReason;
    emitChunk(QJsonObject(), StopReasons::toOpenAi(m_stopReason));
    if (m_includesUsage) {
        QJsonObject chunk = chunkHead();
        chunk.insert("choices"_L1, QJsonArray());
        chunk.insert("usage"_L1, UsageTranslator::toOpenAi(m_usage));
        m_out += SseFrames::openAiData(chunk);
    }
    m_out += SseFrames::openAiDone();
    m_isFinished = true;
}

void MessagesStreamToChat::fail(const QString &anthropicType, const QString &message)
{
    m_out += SseFrames::openAiData(ErrorTranslator::openAiErrorObject(anthropicType, message));
    m_out += SseFrames::openAiDone();
    m_error = message;
    m_isFinished = true;
}

void MessagesStreamToChat::ensureStarted()
{
    if (m_hasStarted)
        return;
    if (m_id.isEmpty())
        m_id = MessageIds::chatCompletionId(QString(), {});
    m_hasStarted = true;
    emitChunk(QJsonObject {{u"role"_s, u"assistant"_s}, {u"content"_s, QString()}},
              QJsonValue::Null);
}

void MessagesStreamToChat::emitChunk(const QJsonObject &delta, const QJsonValue &finishReason)
{
    QJsonObject chunk = chunkHead();
    chunk.insert("choices"_L1,
                 QJsonArray {QJsonObject {
                     {u"index"_s, 0},
                     {u"delta"_s, delta},
                     {u"finish_reason"_s, finishReason},
                 }});
    m_out += SseFrames::openAiData(chunk);
}

QJsonObject MessagesStreamToChat::chunkHead() const
{
    QJsonObject head {
        {u"id"_s, m_id},
        {u"object"_s, u"chat.completion.chunk"_s},
        {u"created"_s, m_created},
        {u"model"_s, m_model},
    };
    // With include_usage every chunk but the last carries "usage": null (OpenAI's spec).
    if (m_includesUsage)
        head.insert("usage"_L1, QJsonValue::Null);
    return head;
}

} // namespace tollgate
