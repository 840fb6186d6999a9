#include "ChatStreamToMessages.h"

#include "http/ErrorResponse.h"
#include "translate/ErrorTranslator.h"
#include "translate/MessageIds.h"
#include "translate/SseFrames.h"
#include "translate/StopReasons.h"
#include "translate/UsageTranslator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <utility>

namespace tollgate {

namespace {

using namespace Qt::StringLiterals;

QString firstStringOf(const QJsonObject &object, std::initializer_list<QLatin1StringView> keys)
{
    for (const QLatin1StringView key : keys) {
        const QJsonValue value = object.value(key);
        if (value.isString() && !value.toString().isEmpty())
            return value.toString();
    }
    return {};
}

// The choice with index 0 (n is always 1 on this path); other choices are ignored.
QJsonObject firstChoice(const QJsonArray &choices)
{
    for (const QJsonValue &value : choices) {
        const QJsonObject choice = value.toObject();
        if (choice.value("index"_L1).toInt() == 0)
            return choice;
    }
    return {};
}

} // namespace

ChatStreamToMessages::ChatStreamToMessages(const QString &requestedModel,
                                           const ToolNameMap &toolNames, VendorReasoning reasoning)
    : m_parser([this](const SseEvent &event) { onEvent(event); })
    , m_model(requestedModel)
    , m_toolNames(toolNames)
    , m_reasoning(reasoning)
{
}

QByteArray ChatStreamToMessages::feed(const char *data, qsizetype size)
{
    if (m_state != State::Done)
        m_parser.feed(data, size);
    return takeOutput();
}

QByteArray ChatStreamToMessages::finish()
{
    // A last event the vendor did not end with a blank line still counts; a line cut short
    // gives JSON that does not parse and is ignored.
    if (m_state != State::Done)
        m_parser.feed("\n\n", 2);
    if (m_state == State::Finishing)
        close();
    else if (m_state != State::Done)
        fail(u"api_error"_s, u"The upstream stream ended before the response was complete"_s);
    return takeOutput();
}

QByteArray ChatStreamToMessages::ping()
{
    if (m_state == State::Done)
        return {};
    if (m_state == State::Waiting)
        start({});
    emitEvent(QJsonObject {{u"type"_s, u"ping"_s}});
    return takeOutput();
}

void ChatStreamToMessages::onEvent(const SseEvent &event)
{
    if (m_state == State::Done)
        return;
    const QByteArrayView data = event.data.trimmed();
    if (data.isEmpty())
        return;
    if (data == "[DONE]") {
        onDone();
        return;
    }
    // A line that is not a JSON object (a vendor's keep-alive text) carries nothing.
    const QJsonDocument document = QJsonDocument::fromJson(data.toByteArray());
    if (document.isObject())
        onChunk(document.object());
}

void ChatStreamToMessages::onChunk(const QJsonObject &chunk)
{
    const QJsonValue error = chunk.value("error"_L1);
    if (!error.isUndefined() && !error.isNull()) {
        const QJsonObject errorObject = error.toObject();
        QString message = ErrorTranslator::openAiMessage(chunk);
        if (message.isEmpty())
            message = u"The upstream reported an error"_s;
        fail(ErrorTranslator::anthropicTypeForStreamError(errorObject), message);
        return;
    }
    const QJsonValue usage = chunk.value("usage"_L1);
    if (usage.isObject()) // cumulative where a vendor repeats it: the latest wins
        m_usage = UsageTranslator::fromOpenAi(usage.toObject());
    const QJsonArray choices = chunk.value("choices"_L1).toArray();
    if (m_state == State::Waiting) {
        if (!chunk.contains("choices"_L1) && !usage.isObject())
            return;
        start(chunk);
    }
    if (m_state == State::Finishing) {
        // The usage chunk that include_usage adds after the finish_reason chunk.
        if (choices.isEmpty() && usage.isObject())
            close();
        return;
    }
    const QJsonObject choice = firstChoice(choices);
    if (choice.isEmpty())
        return;
    onDelta(choice.value("delta"_L1).toObject());
    const QString finishReason = choice.value("finish_reason"_L1).toString();
    if (!finishReason.isEmpty())
        onFinishReason(finishReason);
}

void ChatStreamToMessages::onDelta(const QJsonObject &delta)
{
    if (m_reasoning == VendorReasoning::AsThinking) {
        const QString reasoning = firstStringOf(delta, {"reasoning_content"_L1, "reasoning"_L1});
        if (!reasoning.isEmpty())
            appendThinking(reasoning);
    }
    const QString text = delta.value("content"_L1).toString();
    if (!text.isEmpty())
        appendText(text);
    const QString refusal = delta.value("refusal"_L1).toString();
    if (!refusal.isEmpty()) {
        m_hasRefusal = true;
        appendText(refusal);
    }
    for (const QJsonValue &call : delta.value("tool_calls"_L1).toArray())
        onToolCallDelta(call.toObject());
}

void ChatStreamToMessages::appendText(const QString &text)
{
    if (m_openKind != BlockKind::Text) {
        closeOpenBlock();
        openBlock(BlockKind::Text, QJsonObject {{u"type"_s, u"text"_s}, {u"text"_s, QString()}});
    }
    emitEvent(QJsonObject {
        {u"type"_s, u"content_block_delta"_s},
        {u"index"_s, m_nextBlockIndex - 1},
        {u"delta"_s, QJsonObject {{u"type"_s, u"text_delta"_s}, {u"text"_s, text}}},
    });
}

void ChatStreamToMessages::appendThinking(const QString &text)
{
    if (m_openKind != BlockKind::Thinking) {
        closeOpenBlock();
        openBlock(BlockKind::Thinking,
                  QJsonObject {{u"type"_s, u"thinking"_s},
                               {u"thinking"_s, QString()},
                               {u"signature"_s, QString()}});
    }
    emitEvent(QJsonObject {
        {u"type"_s, u"content_block_delta"_s},
        {u"index"_s, m_nextBlockIndex - 1},
        {u"delta"_s, QJsonObject {{u"type"_s, u"thinking_delta"_s}, {u"thinking"_s, text}}},
    });
}

int ChatStreamToMessages::toolIndexOf(const QJsonObject &call)
{
    if (call.value("index"_L1).isDouble())
        return call.value("index"_L1).toInt();
    // A vendor that numbers nothing: a known id is that call, a new id a new one; a delta
    // with neither continues the latest call, unless it names a tool after the latest
    // call's arguments are already whole (Gemini sends each call whole, without an id).
    if (m_tools.empty())
        return 0;
    const int next = m_tools.rbegin()->first + 1;
    const QString id = call.value("id"_L1).toString();
    if (id.isEmpty()) {
        const bool isNamed =
            !call.value("function"_L1).toObject().value("name"_L1).toString().isEmpty();
        return isNamed && isComplete(m_tools.at(m_lastToolIndex)) ? next : m_lastToolIndex;
    }
    for (const auto &[index, tool] : m_tools) {
        if (tool.id == id)
            return index;
    }
    return next;
}

void ChatStreamToMessages::onToolCallDelta(const QJsonObject &call)
{
    const int index = toolIndexOf(call);
    m_lastToolIndex = index;
    const auto [it, isNew] = m_tools.try_emplace(index);
    ToolCall &tool = it->second;
    if (isNew)
        tool.position = int(m_tools.size()) - 1;
    const QJsonObject function = call.value("function"_L1).toObject();
    if (tool.id.isEmpty())
        tool.id = call.value("id"_L1).toString();
    if (tool.name.isEmpty())
        tool.name = function.value("name"_L1).toString();
    tool.arguments += function.value("arguments"_L1).toString();

    if (m_openKind == BlockKind::Tool && m_openToolIndex == index) {
        sendArguments(tool);
        return;
    }
    if (tool.isStarted)
        return; // closed: only whitespace can validly follow a whole JSON object
    // Another call is open: this one waits until that one's arguments are whole.
    if (m_openKind == BlockKind::Tool && !isComplete(m_tools.at(m_openToolIndex)))
        return;
    startWaitingTools();
}

void ChatStreamToMessages::startWaitingTools()
{
    // In the vendor's order; a call whose arguments are whole is closed at once, the first
    // one still incomplete stays open for the deltas to come.
    for (auto &[index, tool] : m_tools) {
        if (tool.isStarted || tool.name.isEmpty())
            continue; // a tool_use block cannot start without its name
        closeOpenBlock();
        startTool(index);
        if (!isComplete(tool))
            return;
    }
}

bool ChatStreamToMessages::isComplete(ToolCall &tool)
{
    if (tool.checkedSize != tool.arguments.size()) {
        tool.checkedSize = tool.arguments.size();
        QJsonParseError error;
        const QJsonDocument document = QJsonDocument::fromJson(tool.arguments.toUtf8(), &error);
        tool.isComplete = error.error == QJsonParseError::NoError && document.isObject();
    }
    return tool.isComplete;
}

void ChatStreamToMessages::startTool(int index)
{
    ToolCall &tool = m_tools.at(index);
    tool.isStarted = true;
    if (tool.id.isEmpty())
        tool.id = MessageIds::toolUseId(m_messageId, tool.position);
    openBlock(BlockKind::Tool,
              QJsonObject {{u"type"_s, u"tool_use"_s},
                           {u"id"_s, tool.id},
                           {u"name"_s, m_toolNames.original(tool.name)},
                           {u"input"_s, QJsonObject()}});
    m_openToolIndex = index;
    sendArguments(tool);
}

void ChatStreamToMessages::sendArguments(ToolCall &tool)
{
    if (tool.sentSize == tool.arguments.size())
        return;
    emitEvent(QJsonObject {
        {u"type"_s, u"content_block_delta"_s},
        {u"index"_s, m_nextBlockIndex - 1},
        {u"delta"_s,
         QJsonObject {{u"type"_s, u"input_json_delta"_s},
                      {u"partial_json"_s, tool.arguments.mid(tool.sentSize)}}},
    });
    tool.sentSize = tool.arguments.size();
}

void ChatStreamToMessages::onFinishReason(const QString &finishReason)
{
    closeOpenBlock();
    // Calls held back behind an unfinished one go out now, one whole block each.
    for (auto &[index, tool] : m_tools) {
        if (!tool.isStarted) {
            startTool(index);
            closeOpenBlock();
        }
    }
    m_stopReason = StopReasons::toAnthropic(finishReason);
    // Some vendors end a tool call with "stop"; the client runs tools only on tool_use.
    if (!m_tools.empty() && m_stopReason == "end_turn"_L1)
        m_stopReason = u"tool_use"_s;
    if (m_hasRefusal && m_stopReason == "end_turn"_L1)
        m_stopReason = u"refusal"_s;
    m_state = State::Finishing;
}

void ChatStreamToMessages::onDone()
{
    // [DONE] is the vendor saying the response is whole, even without a finish_reason.
    if (m_state == State::Waiting)
        start({});
    if (m_state == State::Streaming)
        onFinishReason(u"stop"_s);
    close();
}

void ChatStreamToMessages::start(const QJsonObject &chunk)
{
    m_messageId = MessageIds::messageId(chunk.value("id"_L1).toString(), {});
    if (m_model.isEmpty())
        m_model = chunk.value("model"_L1).toString();
    // Zero counts unless the vendor already sent some; the real ones go in message_delta,
    // which SDKs let overwrite them (protocol.md 8c point 1). All the fields Anthropic sends
    // are there: newer Claude Code versions refuse a message_start without them.
    emitEvent(QJsonObject {
        {u"type"_s, u"message_start"_s},
        {u"message"_s,
         QJsonObject {
             {u"id"_s, m_messageId},
             {u"type"_s, u"message"_s},
             {u"role"_s, u"assistant"_s},
             {u"model"_s, m_model},
             {u"content"_s, QJsonArray()},
             {u"stop_reason"_s, QJsonValue::Null},
             {u"stop_sequence"_s, QJsonValue::Null},
             {u"usage"_s, UsageTranslator::toAnthropic(m_usage, UsageTranslator::Shape::Message)},
         }},
    });
    m_state = State::Streaming;
    m_hasStarted = true;
}

void ChatStreamToMessages::openBlock(BlockKind kind, const QJsonObject &contentBlock)
{
    emitEvent(QJsonObject {
        {u"type"_s, u"content_block_start"_s},
        {u"index"_s, m_nextBlockIndex},
        {u"content_block"_s, contentBlock},
    });
    ++m_nextBlockIndex;
    m_openKind = kind;
}

void ChatStreamToMessages::closeOpenBlock()
{
    if (m_openKind == BlockKind::None)
        return;
    emitEvent(
        QJsonObject {{u"type"_s, u"content_block_stop"_s}, {u"index"_s, m_nextBlockIndex - 1}});
    m_openKind = BlockKind::None;
    m_openToolIndex = -1;
}

void ChatStreamToMessages::close()
{
    m_usage.stopReason = m_stopReason;
    emitEvent(QJsonObject {
        {u"type"_s, u"message_delta"_s},
        {u"delta"_s,
         QJsonObject {{u"stop_reason"_s, m_stopReason}, {u"stop_sequence"_s, QJsonValue::Null}}},
        {u"usage"_s, UsageTranslator::toAnthropic(m_usage, UsageTranslator::Shape::Delta)},
    });
    emitEvent(QJsonObject {{u"type"_s, u"message_stop"_s}});
    m_state = State::Done;
}

void ChatStreamToMessages::fail(const QString &type, const QString &message)
{
    m_out += ErrorResponse::sseEvent(type.toLatin1(), message);
    m_error = message;
    m_state = State::Done;
}

void ChatStreamToMessages::emitEvent(const QJsonObject &event)
{
    m_out += SseFrames::anthropicEvent(event);
}

QByteArray ChatStreamToMessages::takeOutput()
{
    return std::exchange(m_out, QByteArray());
}

} // namespace tollgate
