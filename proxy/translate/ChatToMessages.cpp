#include "ChatToMessages.h"

#include "translate/MessageIds.h"
#include "translate/StopReasons.h"
#include "translate/ToolArguments.h"
#include "translate/UsageTranslator.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <optional>

namespace tollgate {

namespace {

using namespace Qt::StringLiterals;

// The members of a chat-completions request this translation reads; any other that is set
// is reported dropped (Anthropic's own compatibility layer ignores them too: logprobs, seed,
// penalties, ...).
const QStringList &knownRequestKeys()
{
    static const QStringList keys {
        u"model"_s,
        u"messages"_s,
        u"max_tokens"_s,
        u"max_completion_tokens"_s,
        u"stop"_s,
        u"temperature"_s,
        u"top_p"_s,
        u"user"_s,
        u"n"_s,
        u"stream"_s,
        u"stream_options"_s,
        u"tools"_s,
        u"tool_choice"_s,
        u"parallel_tool_calls"_s,
        u"response_format"_s,
    };
    return keys;
}

QString typeOf(const QJsonObject &object)
{
    return object.value("type"_L1).toString();
}

QJsonObject textBlock(const QString &text)
{
    return QJsonObject {{u"type"_s, u"text"_s}, {u"text"_s, text}};
}

// A data: URL split into its media type and base64 payload; nothing for other URLs.
struct DataUrl
{
    QString mediaType;
    QString data;
};

std::optional<DataUrl> parseDataUrl(const QString &url)
{
    if (!url.startsWith("data:"_L1))
        return std::nullopt;
    const qsizetype comma = url.indexOf(QLatin1Char(','));
    const QString head = url.mid(5, comma - 5);
    if (comma < 0 || !head.endsWith(";base64"_L1))
        return std::nullopt;
    return DataUrl {head.chopped(7), url.mid(comma + 1)};
}

// One Anthropic turn being built: consecutive OpenAI messages of the same Anthropic role
// (tool results and the user's next words, say) become one turn, as the API would merge them.
struct Turn
{
    QString role;
    QJsonArray blocks;
};

class MessagesRequestBuilder
{
public:
    explicit MessagesRequestBuilder(ChatToMessages::Request &result)
        : m_result(result)
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

    bool addMessage(const QJsonValue &value, qsizetype i);
    std::optional<QJsonArray> contentBlocks(const QJsonValue &content, const QString &path,
                                            bool allowsMedia);
    std::optional<QJsonObject> imageBlock(const QJsonObject &part);
    std::optional<QJsonObject> fileBlock(const QJsonObject &part);
    QJsonArray assistantBlocks(const QJsonObject &message, const QJsonArray &textBlocks);
    void append(const QString &role, const QJsonArray &blocks);
    void addTools(const QJsonValue &tools, const QJsonValue &choice, const QJsonValue &parallel);
    void addSampling(const QJsonObject &request);
    void addResponseFormat(const QJsonObject &request);

    ChatToMessages::Request &m_result;
    QJsonObject m_body;
    QJsonArray m_system;
    QList<Turn> m_turns;
};

bool MessagesRequestBuilder::build(const QJsonObject &request, const QString &modelOverride)
{
    const QString model =
        modelOverride.isEmpty() ? request.value("model"_L1).toString() : modelOverride;
    if (model.isEmpty())
        return fail(u"model: a model is required"_s);
    if (!request.value("messages"_L1).isArray())
        return fail(u"messages: an array of messages is required"_s);
    const QJsonValue n = request.value("n"_L1);
    if (!n.isUndefined() && !n.isNull() && n.toInteger(0) != 1)
        return fail(u"n: only 1 is supported"_s);
    m_body.insert("model"_L1, model);

    const QJsonArray messages = request.value("messages"_L1).toArray();
    for (qsizetype i = 0; i < messages.size(); ++i) {
        if (!addMessage(messages.at(i), i))
            return false;
    }
    if (!m_system.isEmpty())
        m_body.insert("system"_L1, m_system);
    QJsonArray turns;
    for (const Turn &turn : std::as_const(m_turns))
        turns.append(QJsonObject {{u"role"_s, turn.role}, {u"content"_s, turn.blocks}});
    m_body.insert("messages"_L1, turns);

    addTools(request.value("tools"_L1), request.value("tool_choice"_L1),
             request.value("parallel_tool_calls"_L1));
    addSampling(request);
    addResponseFormat(request);

    m_result.stream = request.value("stream"_L1).toBool();
    if (m_result.stream) {
        m_body.insert("stream"_L1, true);
        m_result.includeUsage =
            request.value("stream_options"_L1).toObject().value("include_usage"_L1).toBool();
    }
    for (auto it = request.begin(); it != request.end(); ++it) {
        if (!it.value().isNull() && !knownRequestKeys().contains(it.key()))
            drop(it.key());
    }
    return true;
}

bool MessagesRequestBuilder::addMessage(const QJsonValue &value, qsizetype i)
{
    const QString path = u"messages.%1"_s.arg(i);
    if (!value.isObject())
        return fail(path + u": expected an object"_s);
    const QJsonObject message = value.toObject();
    const QString role = message.value("role"_L1).toString();
    const QJsonValue content = message.value("content"_L1);

    if (role == "system"_L1 || role == "developer"_L1) {
        // Hoisted into the top-level system, as Anthropic's own compatibility layer does.
        const std::optional<QJsonArray> blocks = contentBlocks(content, path, false);
        if (!blocks)
            return false;
        for (const QJsonValue &block : *blocks)
            m_system.append(block);
        return true;
    }
    if (role == "user"_L1) {
        const std::optional<QJsonArray> blocks = contentBlocks(content, path, true);
        if (!blocks)
            return false;
        append(u"user"_s, *blocks);
        return true;
    }
    if (role == "assistant"_L1) {
        const std::optional<QJsonArray> blocks = contentBlocks(content, path, false);
        if (!blocks)
            return false;
        append(u"assistant"_s, assistantBlocks(message, *blocks));
        return true;
    }
    if (role == "tool"_L1) {
        const QJsonValue id = message.value("tool_call_id"_L1);
        if (!id.isString() || id.toString().isEmpty())
            return fail(path + u".tool_call_id: required for a tool message"_s);
        const std::optional<QJsonArray> blocks = contentBlocks(content, path, false);
        if (!blocks)
            return false;
        QStringList texts;
        for (const QJsonValue &block : *blocks)
            texts.append(block.toObject().value("text"_L1).toString());
        QJsonObject result {{u"type"_s, u"tool_result"_s}, {u"tool_use_id"_s, id}};
        if (!texts.isEmpty())
            result.insert("content"_L1, texts.join(QLatin1Char('\n')));
        append(u"user"_s, QJsonArray {result});
        return true;
    }
    if (role == "function"_L1) {
        drop(u"function messages"_s);
        return true;
    }
    return fail(path + u".role: expected system, developer, user, assistant or tool"_s);
}

// Text blocks for a string, or the blocks of content parts. Empty texts are left out:
// Anthropic refuses empty text blocks.
std::optional<QJsonArray> MessagesRequestBuilder::contentBlocks(const QJsonValue &content,
                                                                const QString &path,
                                                                bool allowsMedia)
{
    QJsonArray blocks;
    if (content.isUndefined() || content.isNull())
        return blocks;
    if (content.isString()) {
        if (!content.toString().isEmpty())
            blocks.append(textBlock(content.toString()));
        return blocks;
    }
    if (!content.isArray()) {
        fail(path + u".content: expected a string or an array of content parts"_s);
        return std::nullopt;
    }
    for (const QJsonValue &value : content.toArray()) {
        const QJsonObject part = value.toObject();
        const QString type = typeOf(part);
        std::optional<QJsonObject> block;
        if (type == "text"_L1 || type == "refusal"_L1) {
            const QString text = part.value(type).toString();
            if (!text.isEmpty())
                block = textBlock(text);
        } else if (allowsMedia && type == "image_url"_L1) {
            block = imageBlock(part);
        } else if (allowsMedia && type == "file"_L1) {
            block = fileBlock(part);
        } else {
            drop(type + u" content parts"_s);
        }
        if (block)
            blocks.append(*block);
    }
    return blocks;
}

std::optional<QJsonObject> MessagesRequestBuilder::imageBlock(const QJsonObject &part)
{
    const QJsonValue imageUrl = part.value("image_url"_L1);
    // The spec's {"url": ...}; a bare string is a common shorthand.
    const QString url =
        imageUrl.isString() ? imageUrl.toString() : imageUrl.toObject().value("url"_L1).toString();
    QJsonObject source;
    if (const std::optional<DataUrl> data = parseDataUrl(url)) {
        source = QJsonObject {
            {u"type"_s, u"base64"_s}, {u"media_type"_s, data->mediaType}, {u"data"_s, data->data}};
    } else if (url.startsWith("https://"_L1) || url.startsWith("http://"_L1)) {
        source = QJsonObject {{u"type"_s, u"url"_s}, {u"url"_s, url}};
    } else {
        drop(u"image_url that is neither a base64 data: URL nor an http(s) URL"_s);
        return std::nullopt;
    }
    return QJsonObject {{u"type"_s, u"image"_s}, {u"source"_s, source}};
}

std::optional<QJsonObject> MessagesRequestBuilder::fileBlock(const QJsonObject &part)
{
    // Only inline PDFs: a file_id points into OpenAI's own file store.
    const std::optional<DataUrl> data =
        parseDataUrl(part.value("file"_L1).toObject().value("file_data"_L1).toString());
    if (!data || data->mediaType != "application/pdf"_L1) {
        drop(u"file content parts other than inline PDFs"_s);
        return std::nullopt;
    }
    return QJsonObject {
        {u"type"_s, u"document"_s},
        {u"source"_s,
         QJsonObject {{u"type"_s, u"base64"_s},
                      {u"media_type"_s, data->mediaType},
                      {u"data"_s, data->data}}},
    };
}

QJsonArray MessagesRequestBuilder::assistantBlocks(const QJsonObject &message,
                                                   const QJsonArray &textBlocks)
{
    QJsonArray blocks = textBlocks;
    for (const QJsonValue &value : message.value("tool_calls"_L1).toArray()) {
        const QJsonObject call = value.toObject();
        const QJsonObject function = call.value("function"_L1).toObject();
        blocks.append(QJsonObject {
            {u"type"_s, u"tool_use"_s},
            {u"id"_s, call.value("id"_L1)},
            {u"name"_s, function.value("name"_L1)},
            {u"input"_s, ToolArguments::parse(function.value("arguments"_L1).toString())},
        });
    }
    if (message.value("function_call"_L1).isObject())
        drop(u"function_call"_s);
    return blocks;
}

void MessagesRequestBuilder::append(const QString &role, const QJsonArray &blocks)
{
    if (blocks.isEmpty()) {
        // Anthropic refuses empty turns (an assistant message that said nothing, say).
        drop(u"empty messages"_s);
        return;
    }
    if (!m_turns.isEmpty() && m_turns.last().role == role) {
        for (const QJsonValue &block : blocks)
            m_turns.last().blocks.append(block);
        return;
    }
    m_turns.append({role, blocks});
}

void MessagesRequestBuilder::addTools(const QJsonValue &tools, const QJsonValue &choice,
                                      const QJsonValue &parallel)
{
    QJsonArray definitions;
    for (const QJsonValue &value : tools.toArray()) {
        const QJsonObject tool = value.toObject();
        if (typeOf(tool) != "function"_L1) {
            drop(u"tools of type "_s + typeOf(tool));
            continue;
        }
        const QJsonObject function = tool.value("function"_L1).toObject();
        QJsonObject definition {{u"name"_s, function.value("name"_L1)}};
        if (function.contains("description"_L1))
            definition.insert("description"_L1, function.value("description"_L1));
        const QJsonValue parameters = function.value("parameters"_L1);
        definition.insert("input_schema"_L1,
                          parameters.isObject() ? parameters
                                                : QJsonObject {{u"type"_s, u"object"_s},
                                                               {u"properties"_s, QJsonObject()}});
        if (function.value("strict"_L1).isBool())
            definition.insert("strict"_L1, function.value("strict"_L1));
        definitions.append(definition);
    }
    if (definitions.isEmpty())
        return; // Anthropic refuses a tool_choice without tools
    m_body.insert("tools"_L1, definitions);

    QJsonObject toolChoice;
    const QString mode = choice.toString();
    if (mode == "auto"_L1 || mode == "none"_L1)
        toolChoice.insert("type"_L1, mode);
    else if (mode == "required"_L1)
        toolChoice.insert("type"_L1, u"any"_s);
    else if (choice.isObject())
        toolChoice = QJsonObject {
            {u"type"_s, u"tool"_s},
            {u"name"_s, choice.toObject().value("function"_L1).toObject().value("name"_L1)},
        };
    if (parallel.isBool() && !parallel.toBool()) {
        if (toolChoice.isEmpty())
            toolChoice.insert("type"_L1, u"auto"_s);
        toolChoice.insert("disable_parallel_tool_use"_L1, true);
    }
    if (!toolChoice.isEmpty())
        m_body.insert("tool_choice"_L1, toolChoice);
}

void MessagesRequestBuilder::addSampling(const QJsonObject &request)
{
    QJsonValue maxTokens = request.value("max_completion_tokens"_L1);
    if (!maxTokens.isDouble())
        maxTokens = request.value("max_tokens"_L1);
    m_body.insert("max_tokens"_L1,
                  maxTokens.isDouble() ? maxTokens : QJsonValue(ChatToMessages::kDefaultMaxTokens));

    const QJsonValue stop = request.value("stop"_L1);
    QJsonArray stopSequences;
    for (const QJsonValue &sequence : stop.isString() ? QJsonArray {stop} : stop.toArray()) {
        // Anthropic refuses a stop sequence of only whitespace ("\n", say).
        if (sequence.toString().trimmed().isEmpty())
            drop(u"whitespace-only stop sequences"_s);
        else
            stopSequences.append(sequence);
    }
    if (!stopSequences.isEmpty())
        m_body.insert("stop_sequences"_L1, stopSequences);

    const QJsonValue temperature = request.value("temperature"_L1);
    if (temperature.isDouble()) {
        // OpenAI's range is 0..2, Anthropic's 0..1.
        if (temperature.toDouble() > 1.0)
            drop(u"temperature above 1 (clamped to 1)"_s);
        m_body.insert("temperature"_L1, qBound(0.0, temperature.toDouble(), 1.0));
    }
    if (request.value("top_p"_L1).isDouble())
        m_body.insert("top_p"_L1, request.value("top_p"_L1));
    const QString user = request.value("user"_L1).toString();
    if (!user.isEmpty())
        m_body.insert("metadata"_L1, QJsonObject {{u"user_id"_s, user}});
}

void MessagesRequestBuilder::addResponseFormat(const QJsonObject &request)
{
    const QJsonObject format = request.value("response_format"_L1).toObject();
    const QString type = typeOf(format);
    if (type.isEmpty() || type == "text"_L1)
        return;
    const QJsonValue schema = format.value("json_schema"_L1).toObject().value("schema"_L1);
    if (type != "json_schema"_L1 || !schema.isObject()) {
        drop(u"response_format "_s + type); // json_object has no schema to enforce
        return;
    }
    // Anthropic's structured outputs (output_config.format).
    m_body.insert(
        "output_config"_L1,
        QJsonObject {
            {u"format"_s, QJsonObject {{u"type"_s, u"json_schema"_s}, {u"schema"_s, schema}}}});
}

} // namespace

ChatToMessages::Request ChatToMessages::translateRequest(QByteArrayView openAiBody,
                                                         const QString &modelOverride)
{
    Request result;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(openAiBody.toByteArray(), &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
        result.error = u"The request body is not a JSON object"_s;
        return result;
    }
    MessagesRequestBuilder builder(result);
    if (builder.build(document.object(), modelOverride))
        result.body = QJsonDocument(builder.body()).toJson(QJsonDocument::Compact);
    else
        result.dropped.clear();
    return result;
}

ChatToMessages::Response ChatToMessages::translateResponse(QByteArrayView anthropicBody,
                                                           const QString &requestedModel,
                                                           qint64 createdAt)
{
    Response result;
    const QJsonObject message = QJsonDocument::fromJson(anthropicBody.toByteArray()).object();
    if (typeOf(message) == "error"_L1) {
        result.error = message.value("error"_L1).toObject().value("message"_L1).toString();
        if (result.error.isEmpty())
            result.error = u"The upstream answered with an error"_s;
        return result;
    }
    if (typeOf(message) != "message"_L1 || !message.value("content"_L1).isArray()) {
        result.error = u"The upstream response is not a message"_s;
        return result;
    }
    // Text blocks concatenate as their deltas would in a stream; thinking is not carried.
    QString text;
    QJsonArray toolCalls;
    for (const QJsonValue &value : message.value("content"_L1).toArray()) {
        const QJsonObject block = value.toObject();
        if (typeOf(block) == "text"_L1) {
            text += block.value("text"_L1).toString();
        } else if (typeOf(block) == "tool_use"_L1) {
            toolCalls.append(QJsonObject {
                {u"id"_s, block.value("id"_L1)},
                {u"type"_s, u"function"_s},
                {u"function"_s,
                 QJsonObject {
                     {u"name"_s, block.value("name"_L1)},
                     {u"arguments"_s, ToolArguments::serialize(block.value("input"_L1).toObject())},
                 }},
            });
        }
    }
    const QString stopReason = message.value("stop_reason"_L1).toString();
    result.usage = UsageTranslator::fromAnthropic(message.value("usage"_L1).toObject());
    result.usage.stopReason = stopReason;

    QJsonObject chatMessage {
        {u"role"_s, u"assistant"_s},
        {u"content"_s, text.isEmpty() && !toolCalls.isEmpty() ? QJsonValue() : QJsonValue(text)},
        {u"refusal"_s, QJsonValue::Null},
    };
    if (!toolCalls.isEmpty())
        chatMessage.insert("tool_calls"_L1, toolCalls);
    const QString model =
        requestedModel.isEmpty() ? message.value("model"_L1).toString() : requestedModel;
    const QJsonObject completion {
        {u"id"_s, MessageIds::chatCompletionId(message.value("id"_L1).toString(), anthropicBody)},
        {u"object"_s, u"chat.completion"_s},
        {u"created"_s, createdAt >= 0 ? createdAt : QDateTime::currentSecsSinceEpoch()},
        {u"model"_s, model},
        {u"choices"_s,
         QJsonArray {QJsonObject {
             {u"index"_s, 0},
             {u"message"_s, chatMessage},
             {u"finish_reason"_s, StopReasons::toOpenAi(stopReason)},
             {u"logprobs"_s, QJsonValue::Null},
         }}},
        {u"usage"_s, UsageTranslator::toOpenAi(result.usage)},
    };
    result.body = QJsonDocument(completion).toJson(QJsonDocument::Compact);
    return result;
}

} // namespace tollgate
