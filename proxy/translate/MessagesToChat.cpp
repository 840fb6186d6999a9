#include "MessagesToChat.h"

#include "translate/MessageIds.h"
#include "translate/StopReasons.h"
#include "translate/ToolArguments.h"
#include "translate/UsageTranslator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <optional>

namespace tollgate {

namespace {

using namespace Qt::StringLiterals;

// OpenAI accepts at most 4 `stop` strings.
constexpr qsizetype kMaxStopSequences = 4;
// Thinking budgets below these map to "low" and "medium" effort; larger ones to "high".
constexpr qint64 kLowEffortBudget = 4096;
constexpr qint64 kMediumEffortBudget = 16384;
// Claude Code's first system block is an attribution line that the Anthropic API strips by
// position, so the model never reads it (protocol.md sections 5 and 6); another vendor would
// read it as part of the prompt.
constexpr QLatin1StringView kAttributionPrefix("x-anthropic-billing-header:");
// Separate user and system text blocks (written apart, often by different parts of the
// client) stay separate paragraphs when joined into one OpenAI string.
constexpr QLatin1StringView kBlockSeparator("\n\n");
constexpr QLatin1StringView kToolImageNote("[image: attached to the next user message]");

// The members of a Messages request this translation reads; any other is reported dropped.
const QStringList &knownRequestKeys()
{
    static const QStringList keys {
        u"model"_s,       u"messages"_s,      u"system"_s,         u"tools"_s,
        u"tool_choice"_s, u"max_tokens"_s,    u"stop_sequences"_s, u"temperature"_s,
        u"top_p"_s,       u"top_k"_s,         u"metadata"_s,       u"stream"_s,
        u"thinking"_s,    u"output_config"_s, u"output_format"_s,
    };
    return keys;
}

QString typeOf(const QJsonObject &object)
{
    return object.value("type"_L1).toString();
}

// Anthropic effort levels -> OpenAI reasoning_effort; "max" has no OpenAI level above high.
QString effortLevel(const QString &effort)
{
    if (effort == "low"_L1 || effort == "medium"_L1 || effort == "high"_L1)
        return effort;
    if (effort == "max"_L1)
        return u"high"_s;
    return {};
}

// Builds one chat-completions request from a parsed Messages request.
class ChatRequestBuilder
{
public:
    ChatRequestBuilder(const MessagesToChat::Options &options, MessagesToChat::Request &result)
        : m_options(options)
        , m_result(result)
    {
    }

    bool build(const QJsonObject &request, const QString &modelOverride);
    QJsonObject body() const { return m_body; }

private:
    bool fail(const QString &message)
    {
        m_result.error = message;
        return false;
    }
    void drop(const QString &what)
    {
        if (!m_result.dropped.contains(what))
            m_result.dropped.append(what);
    }
    void noteCacheControl(const QJsonObject &object)
    {
        if (object.contains("cache_control"_L1))
            drop(u"cache_control"_s);
    }

    bool addSystem(const QJsonValue &system);
    bool addMessage(const QJsonValue &value, qsizetype i);
    std::optional<QString> joinedText(const QJsonValue &content, const QString &path);
    bool addUserContent(const QJsonArray &content, const QString &path);
    bool addAssistantContent(const QJsonArray &content, const QString &path);
    QJsonObject toolMessage(const QJsonObject &block, QJsonArray &images);
    std::optional<QJsonObject> imagePart(const QJsonObject &block);
    bool addTools(const QJsonValue &tools);
    void addToolChoice(const QJsonObject &choice);
    void addSampling(const QJsonObject &request);
    void addReasoning(const QJsonObject &request);
    void addResponseFormat(const QJsonObject &request);

    const MessagesToChat::Options &m_options;
    MessagesToChat::Request &m_result;
    QJsonObject m_body;
    QJsonArray m_messages;
};

bool ChatRequestBuilder::build(const QJsonObject &request, const QString &modelOverride)
{
    const QString model =
        modelOverride.isEmpty() ? request.value("model"_L1).toString() : modelOverride;
    if (model.isEmpty())
        return fail(u"model: Field required"_s);
    if (!request.value("messages"_L1).isArray())
        return fail(u"messages: Field required (an array of messages)"_s);
    m_body.insert("model"_L1, model);

    if (!addSystem(request.value("system"_L1)))
        return false;
    const QJsonArray messages = request.value("messages"_L1).toArray();
    for (qsizetype i = 0; i < messages.size(); ++i) {
        if (!addMessage(messages.at(i), i))
            return false;
    }
    m_body.insert("messages"_L1, m_messages);

    if (!addTools(request.value("tools"_L1)))
        return false;
    if (m_body.contains("tools"_L1))
        addToolChoice(request.value("tool_choice"_L1).toObject());
    addSampling(request);
    addReasoning(request);
    addResponseFormat(request);

    m_result.stream = request.value("stream"_L1).toBool();
    if (m_result.stream) {
        m_body.insert("stream"_L1, true);
        // Without it the vendor reports no usage at all in a stream (protocol.md 8a).
        m_body.insert("stream_options"_L1, QJsonObject {{u"include_usage"_s, true}});
    }
    for (auto it = request.begin(); it != request.end(); ++it) {
        if (!knownRequestKeys().contains(it.key()))
            drop(it.key());
    }
    return true;
}

bool ChatRequestBuilder::addSystem(const QJsonValue &system)
{
    if (system.isUndefined() || system.isNull())
        return true;
    QStringList texts;
    if (system.isString()) {
        texts.append(system.toString());
    } else if (system.isArray()) {
        const QJsonArray blocks = system.toArray();
        for (qsizetype i = 0; i < blocks.size(); ++i) {
            const QJsonObject block = blocks.at(i).toObject();
            if (typeOf(block) != "text"_L1)
                return fail(u"system.%1: expected a text block"_s.arg(i));
            noteCacheControl(block);
            const QString text = block.value("text"_L1).toString();
            if (text.startsWith(kAttributionPrefix))
                drop(u"system attribution block"_s);
            else
                texts.append(text);
        }
    } else {
        return fail(u"system: expected a string or an array of text blocks"_s);
    }
    const QString text = texts.join(kBlockSeparator);
    if (!text.isEmpty())
        m_messages.append(QJsonObject {{u"role"_s, u"system"_s}, {u"content"_s, text}});
    return true;
}

bool ChatRequestBuilder::addMessage(const QJsonValue &value, qsizetype i)
{
    const QString path = u"messages.%1"_s.arg(i);
    if (!value.isObject())
        return fail(path + u": expected an object"_s);
    const QJsonObject message = value.toObject();
    const QString role = message.value("role"_L1).toString();
    const QJsonValue content = message.value("content"_L1);
    if (!content.isString() && !content.isArray())
        return fail(path + u".content: expected a string or an array of content blocks"_s);

    if (role == "system"_L1) {
        // Kept in place: it sits where the client put it for a reason (file-change notices
        // of Claude Code), and OpenAI accepts system messages anywhere.
        const std::optional<QString> text = joinedText(content, path + u".content"_s);
        if (!text)
            return false;
        m_messages.append(QJsonObject {{u"role"_s, u"system"_s}, {u"content"_s, *text}});
        return true;
    }
    if (role != "user"_L1 && role != "assistant"_L1)
        return fail(path + u".role: expected \"user\", \"assistant\" or \"system\""_s);
    if (content.isString()) {
        m_messages.append(QJsonObject {{u"role"_s, role}, {u"content"_s, content}});
        return true;
    }
    return role == "user"_L1 ? addUserContent(content.toArray(), path + u".content"_s)
                             : addAssistantContent(content.toArray(), path + u".content"_s);
}

std::optional<QString> ChatRequestBuilder::joinedText(const QJsonValue &content,
                                                      const QString &path)
{
    if (content.isString())
        return content.toString();
    QStringList texts;
    const QJsonArray blocks = content.toArray();
    for (qsizetype j = 0; j < blocks.size(); ++j) {
        const QJsonObject block = blocks.at(j).toObject();
        if (typeOf(block) != "text"_L1) {
            fail(u"%1.%2: expected a text block"_s.arg(path).arg(j));
            return std::nullopt;
        }
        noteCacheControl(block);
        texts.append(block.value("text"_L1).toString());
    }
    return texts.join(kBlockSeparator);
}

bool ChatRequestBuilder::addUserContent(const QJsonArray &content, const QString &path)
{
    QJsonArray toolMessages;
    QJsonArray toolImages; // images a tool returned: a tool message can hold only text
    QJsonArray parts;
    QStringList texts;
    bool isTextOnly = true;
    for (qsizetype j = 0; j < content.size(); ++j) {
        if (!content.at(j).isObject())
            return fail(u"%1.%2: expected an object"_s.arg(path).arg(j));
        const QJsonObject block = content.at(j).toObject();
        const QString type = typeOf(block);
        noteCacheControl(block);
        if (type == "text"_L1) {
            const QString text = block.value("text"_L1).toString();
            parts.append(QJsonObject {{u"type"_s, u"text"_s}, {u"text"_s, text}});
            texts.append(text);
        } else if (type == "image"_L1) {
            if (const std::optional<QJsonObject> part = imagePart(block)) {
                parts.append(*part);
                isTextOnly = false;
            }
        } else if (type == "tool_result"_L1) {
            if (!block.value("tool_use_id"_L1).isString())
                return fail(u"%1.%2.tool_use_id: Field required"_s.arg(path).arg(j));
            toolMessages.append(toolMessage(block, toolImages));
        } else if (type == "document"_L1
                   && typeOf(block.value("source"_L1).toObject()) == "text"_L1) {
            const QString text = block.value("source"_L1).toObject().value("data"_L1).toString();
            parts.append(QJsonObject {{u"type"_s, u"text"_s}, {u"text"_s, text}});
            texts.append(text);
        } else if (type == "thinking"_L1 || type == "redacted_thinking"_L1) {
            drop(u"thinking blocks"_s);
        } else {
            drop(type + u" blocks"_s);
        }
    }
    // OpenAI wants each tool call answered right after the assistant message that made it,
    // so the results go first and the rest of the user's turn follows them.
    for (const QJsonValue &message : std::as_const(toolMessages))
        m_messages.append(message);
    if (!toolImages.isEmpty()) {
        for (const QJsonValue &part : std::as_const(parts))
            toolImages.append(part);
        parts = toolImages;
        isTextOnly = false;
    }
    if (parts.isEmpty() && !toolMessages.isEmpty())
        return true;
    // Plain text goes as a string: several OpenAI-compatible vendors take content parts
    // only for images.
    const QJsonValue userContent = isTextOnly ? QJsonValue(texts.join(kBlockSeparator)) : parts;
    m_messages.append(QJsonObject {{u"role"_s, u"user"_s}, {u"content"_s, userContent}});
    return true;
}

QJsonObject ChatRequestBuilder::toolMessage(const QJsonObject &block, QJsonArray &images)
{
    const QJsonValue content = block.value("content"_L1);
    QStringList pieces;
    if (content.isString()) {
        pieces.append(content.toString());
    } else if (content.isArray()) {
        for (const QJsonValue &value : content.toArray()) {
            const QJsonObject part = value.toObject();
            const QString type = typeOf(part);
            noteCacheControl(part);
            if (type == "text"_L1) {
                pieces.append(part.value("text"_L1).toString());
            } else if (type == "image"_L1) {
                if (const std::optional<QJsonObject> image = imagePart(part)) {
                    images.append(*image);
                    pieces.append(kToolImageNote);
                }
            } else {
                // search results, tool references and blocks yet to come: their JSON is the
                // most faithful text there is.
                pieces.append(
                    QString::fromUtf8(QJsonDocument(part).toJson(QJsonDocument::Compact)));
            }
        }
    }
    QString text = pieces.join(QLatin1Char('\n'));
    if (block.value("is_error"_L1).toBool())
        text = text.isEmpty() ? u"Error"_s : u"Error: "_s + text;
    return QJsonObject {
        {u"role"_s, u"tool"_s},
        {u"tool_call_id"_s, block.value("tool_use_id"_L1)},
        {u"content"_s, text},
    };
}

std::optional<QJsonObject> ChatRequestBuilder::imagePart(const QJsonObject &block)
{
    const QJsonObject source = block.value("source"_L1).toObject();
    const QString sourceType = typeOf(source);
    QString url;
    if (sourceType == "base64"_L1) {
        url = u"data:"_s + source.value("media_type"_L1).toString() + u";base64,"_s
            + source.value("data"_L1).toString();
    } else if (sourceType == "url"_L1) {
        url = source.value("url"_L1).toString();
    } else {
        drop(u"image source "_s + (sourceType.isEmpty() ? u"(none)"_s : sourceType));
        return std::nullopt;
    }
    return QJsonObject {
        {u"type"_s, u"image_url"_s},
        {u"image_url"_s, QJsonObject {{u"url"_s, url}}},
    };
}

bool ChatRequestBuilder::addAssistantContent(const QJsonArray &content, const QString &path)
{
    // Text blocks of one answer are pieces of one text (citations split it mid-sentence),
    // so they join without a separator, as a stream of them would.
    QString text;
    QJsonArray toolCalls;
    for (qsizetype j = 0; j < content.size(); ++j) {
        if (!content.at(j).isObject())
            return fail(u"%1.%2: expected an object"_s.arg(path).arg(j));
        const QJsonObject block = content.at(j).toObject();
        const QString type = typeOf(block);
        noteCacheControl(block);
        if (type == "text"_L1) {
            text += block.value("text"_L1).toString();
        } else if (type == "tool_use"_L1) {
            const QString name = block.value("name"_L1).toString();
            if (name.isEmpty())
                return fail(u"%1.%2.name: Field required"_s.arg(path).arg(j));
            const QString arguments = ToolArguments::serialize(block.value("input"_L1).toObject());
            toolCalls.append(QJsonObject {
                {u"id"_s, block.value("id"_L1)},
                {u"type"_s, u"function"_s},
                {u"function"_s,
                 QJsonObject {{u"name"_s, m_result.toolNames.shorten(name)},
                              {u"arguments"_s, arguments}}},
            });
        } else if (type == "thinking"_L1 || type == "redacted_thinking"_L1) {
            // Signed for Anthropic only; another vendor can do nothing with them.
            drop(u"thinking blocks"_s);
        } else {
            drop(type + u" blocks"_s);
        }
    }
    if (text.isEmpty() && toolCalls.isEmpty())
        return true; // nothing a vendor can read (only thinking, say)
    QJsonObject message {{u"role"_s, u"assistant"_s},
                         {u"content"_s, text.isEmpty() ? QJsonValue() : QJsonValue(text)}};
    if (!toolCalls.isEmpty())
        message.insert("tool_calls"_L1, toolCalls);
    m_messages.append(message);
    return true;
}

bool ChatRequestBuilder::addTools(const QJsonValue &tools)
{
    if (tools.isUndefined() || tools.isNull())
        return true;
    if (!tools.isArray())
        return fail(u"tools: expected an array"_s);
    QJsonArray functions;
    const QJsonArray list = tools.toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QJsonObject tool = list.at(i).toObject();
        const QString type = typeOf(tool);
        const QString name = tool.value("name"_L1).toString();
        if (name.isEmpty())
            return fail(u"tools.%1.name: Field required"_s.arg(i));
        noteCacheControl(tool);
        if (!type.isEmpty() && type != "custom"_L1) {
            // Server tools (web_search_*, code_execution_*, ...) run inside Anthropic's API.
            drop(u"server tool "_s + type);
            continue;
        }
        QJsonObject function {{u"name"_s, m_result.toolNames.shorten(name)}};
        if (tool.contains("description"_L1))
            function.insert("description"_L1, tool.value("description"_L1));
        const QJsonValue schema = tool.value("input_schema"_L1);
        function.insert("parameters"_L1,
                        schema.isObject() ? schema
                                          : QJsonObject {{u"type"_s, u"object"_s},
                                                         {u"properties"_s, QJsonObject()}});
        if (tool.value("strict"_L1).isBool())
            function.insert("strict"_L1, tool.value("strict"_L1));
        functions.append(QJsonObject {{u"type"_s, u"function"_s}, {u"function"_s, function}});
    }
    if (!functions.isEmpty())
        m_body.insert("tools"_L1, functions);
    return true;
}

void ChatRequestBuilder::addToolChoice(const QJsonObject &choice)
{
    const QString type = typeOf(choice);
    if (type == "auto"_L1) {
        m_body.insert("tool_choice"_L1, u"auto"_s);
    } else if (type == "any"_L1) {
        m_body.insert("tool_choice"_L1, u"required"_s); // CCR passes "any" on: a vendor 400
    } else if (type == "none"_L1) {
        m_body.insert("tool_choice"_L1, u"none"_s);
    } else if (type == "tool"_L1) {
        const QString name = m_result.toolNames.shorten(choice.value("name"_L1).toString());
        m_body.insert("tool_choice"_L1,
                      QJsonObject {{u"type"_s, u"function"_s},
                                   {u"function"_s, QJsonObject {{u"name"_s, name}}}});
    }
    if (choice.value("disable_parallel_tool_use"_L1).toBool())
        m_body.insert("parallel_tool_calls"_L1, false);
}

void ChatRequestBuilder::addSampling(const QJsonObject &request)
{
    if (request.value("max_tokens"_L1).isDouble()) {
        m_body.insert(m_options.usesMaxCompletionTokens ? "max_completion_tokens"_L1
                                                        : "max_tokens"_L1,
                      request.value("max_tokens"_L1));
    }
    QJsonArray stop;
    for (const QJsonValue &sequence : request.value("stop_sequences"_L1).toArray()) {
        if (stop.size() == kMaxStopSequences) {
            drop(u"stop_sequences beyond the 4th"_s);
            break;
        }
        stop.append(sequence);
    }
    if (!stop.isEmpty())
        m_body.insert("stop"_L1, stop);
    for (const QLatin1StringView key : {"temperature"_L1, "top_p"_L1}) {
        if (request.value(key).isDouble())
            m_body.insert(key, request.value(key));
    }
    if (request.contains("top_k"_L1))
        drop(u"top_k"_s); // OpenAI has no top_k
    const QJsonValue userId = request.value("metadata"_L1).toObject().value("user_id"_L1);
    if (userId.isString() && !userId.toString().isEmpty())
        m_body.insert("user"_L1, userId);
}

void ChatRequestBuilder::addReasoning(const QJsonObject &request)
{
    const QJsonObject thinking = request.value("thinking"_L1).toObject();
    const QString thinkingType = typeOf(thinking);
    const QString effort =
        request.value("output_config"_L1).toObject().value("effort"_L1).toString();
    QString level;
    if (!effort.isEmpty()) {
        level = effortLevel(effort);
        if (level.isEmpty())
            drop(u"output_config.effort "_s + effort);
    } else if (thinkingType == "enabled"_L1) {
        const qint64 budget = thinking.value("budget_tokens"_L1).toInteger();
        level = budget < kLowEffortBudget  ? u"low"_s
            : budget < kMediumEffortBudget ? u"medium"_s
                                           : u"high"_s;
    } else if (thinkingType == "adaptive"_L1) {
        level = u"high"_s; // Anthropic's default effort
    }
    if (level.isEmpty())
        return;
    if (m_options.sendsReasoningEffort)
        m_body.insert("reasoning_effort"_L1, level);
    else
        drop(u"thinking"_s);
}

void ChatRequestBuilder::addResponseFormat(const QJsonObject &request)
{
    const QJsonObject outputConfig = request.value("output_config"_L1).toObject();
    for (auto it = outputConfig.begin(); it != outputConfig.end(); ++it) {
        if (it.key() != "effort"_L1 && it.key() != "format"_L1)
            drop(u"output_config."_s + it.key());
    }
    // Structured outputs: output_config.format, or output_format from the beta.
    QJsonObject format = outputConfig.value("format"_L1).toObject();
    if (format.isEmpty())
        format = request.value("output_format"_L1).toObject();
    if (format.isEmpty())
        return;
    const QJsonValue schema = format.value("schema"_L1);
    if (typeOf(format) != "json_schema"_L1 || !schema.isObject()) {
        drop(u"output_config.format"_s);
        return;
    }
    m_body.insert("response_format"_L1,
                  QJsonObject {{u"type"_s, u"json_schema"_s},
                               {u"json_schema"_s,
                                QJsonObject {{u"name"_s, u"response"_s}, {u"schema"_s, schema}}}});
}

// ---- response ----

QString reasoningOf(const QJsonObject &message)
{
    for (const QLatin1StringView key : {"reasoning_content"_L1, "reasoning"_L1}) {
        if (message.value(key).isString())
            return message.value(key).toString();
    }
    return {};
}

// message.content is a string, or (some vendors) an array of text parts.
QString contentText(const QJsonValue &content)
{
    if (content.isString())
        return content.toString();
    QString text;
    for (const QJsonValue &part : content.toArray())
        text += part.toObject().value("text"_L1).toString();
    return text;
}

QJsonObject toolUseBlock(const QJsonObject &call, const QString &messageId, int position,
                         const ToolNameMap &toolNames)
{
    const QJsonObject function = call.value("function"_L1).toObject();
    QString id = call.value("id"_L1).toString();
    if (id.isEmpty())
        id = MessageIds::toolUseId(messageId, position);
    return QJsonObject {
        {u"type"_s, u"tool_use"_s},
        {u"id"_s, id},
        {u"name"_s, toolNames.original(function.value("name"_L1).toString())},
        {u"input"_s, ToolArguments::parse(function.value("arguments"_L1).toString())},
    };
}

} // namespace

MessagesToChat::Request MessagesToChat::translateRequest(QByteArrayView anthropicBody,
                                                         const QString &modelOverride)
{
    return translateRequest(anthropicBody, modelOverride, Options());
}

MessagesToChat::Request MessagesToChat::translateRequest(QByteArrayView anthropicBody,
                                                         const QString &modelOverride,
                                                         const Options &options)
{
    Request result;
    QJsonParseError parseError;
    const QJsonDocument document =
        QJsonDocument::fromJson(anthropicBody.toByteArray(), &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        result.error = u"The request body is not a JSON object"_s;
        return result;
    }
    ChatRequestBuilder builder(options, result);
    if (builder.build(document.object(), modelOverride))
        result.body = QJsonDocument(builder.body()).toJson(QJsonDocument::Compact);
    else
        result.dropped.clear();
    return result;
}

MessagesToChat::Response MessagesToChat::translateResponse(QByteArrayView openAiBody,
                                                           const QString &requestedModel,
                                                           const ToolNameMap &toolNames,
                                                           VendorReasoning reasoning)
{
    Response result;
    const QJsonObject completion = QJsonDocument::fromJson(openAiBody.toByteArray()).object();
    if (completion.contains("error"_L1)) {
        const QJsonValue error = completion.value("error"_L1);
        result.error =
            error.isString() ? error.toString() : error.toObject().value("message"_L1).toString();
        if (result.error.isEmpty())
            result.error = u"The upstream answered with an error"_s;
        return result;
    }
    const QJsonArray choices = completion.value("choices"_L1).toArray();
    if (choices.isEmpty() || !choices.at(0).isObject()) {
        result.error = u"The upstream response is not a chat completion"_s;
        return result;
    }
    const QJsonObject choice = choices.at(0).toObject();
    const QJsonObject message = choice.value("message"_L1).toObject();
    const QString messageId =
        MessageIds::messageId(completion.value("id"_L1).toString(), openAiBody);

    QJsonArray content;
    const QString reasoningText = reasoningOf(message);
    if (reasoning == VendorReasoning::AsThinking && !reasoningText.isEmpty()) {
        content.append(QJsonObject {{u"type"_s, u"thinking"_s},
                                    {u"thinking"_s, reasoningText},
                                    {u"signature"_s, QString()}});
    }
    QString text = contentText(message.value("content"_L1));
    const QString refusal = message.value("refusal"_L1).toString();
    text += refusal;
    if (!text.isEmpty())
        content.append(QJsonObject {{u"type"_s, u"text"_s}, {u"text"_s, text}});
    int toolCount = 0;
    for (const QJsonValue &call : message.value("tool_calls"_L1).toArray())
        content.append(toolUseBlock(call.toObject(), messageId, toolCount++, toolNames));
    if (message.value("function_call"_L1).isObject()) {
        const QJsonObject legacy {{u"function"_s, message.value("function_call"_L1)}};
        content.append(toolUseBlock(legacy, messageId, toolCount++, toolNames));
    }

    QString stopReason = StopReasons::toAnthropic(choice.value("finish_reason"_L1).toString());
    // Some vendors end a tool call with "stop"; the client runs tools only on tool_use.
    if (toolCount > 0 && stopReason == "end_turn"_L1)
        stopReason = u"tool_use"_s;
    if (!refusal.isEmpty() && stopReason == "end_turn"_L1)
        stopReason = u"refusal"_s;

    result.usage = UsageTranslator::fromOpenAi(completion.value("usage"_L1).toObject());
    result.usage.stopReason = stopReason;
    const QString model =
        requestedModel.isEmpty() ? completion.value("model"_L1).toString() : requestedModel;
    const QJsonObject anthropicMessage {
        {u"id"_s, messageId},
        {u"type"_s, u"message"_s},
        {u"role"_s, u"assistant"_s},
        {u"model"_s, model},
        {u"content"_s, content},
        {u"stop_reason"_s, stopReason},
        {u"stop_sequence"_s, QJsonValue::Null},
        {u"usage"_s, UsageTranslator::toAnthropic(result.usage, UsageTranslator::Shape::Message)},
    };
    result.body = QJsonDocument(anthropicMessage).toJson(QJsonDocument::Compact);
    return result;
}

} // namespace tollgate
