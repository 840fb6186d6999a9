#include "UsageExtractor.h"

#include "translate/UsageTranslator.h"

#include "json/JsonScan.h"
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <algorithm>
#include <optional>

namespace tollgate {

namespace {

constexpr qsizetype kMaxSessionIdSize = 128;

QJsonValue field(const QJsonObject &object, const char *name)
{
    return object.value(QLatin1String(name));
}

QJsonObject parseObject(QByteArrayView json)
{
    return QJsonDocument::fromJson(QByteArray::fromRawData(json.data(), json.size())).object();
}

// The object a JSON text holds; none when it is empty, malformed or not an object.
std::optional<QJsonObject> objectOf(const QByteArray &json)
{
    if (json.isEmpty())
        return std::nullopt;
    const QJsonDocument document = QJsonDocument::fromJson(json);
    if (!document.isObject())
        return std::nullopt;
    return document.object();
}

// The members of a usage object the request log reads, taken from a QJsonObject (a stream's
// events) or from a scan (a whole response body) by the same rules: a count is there only
// when its member is a JSON number (absent and null mean "not reported") and is then that
// number if it is a whole, non-negative one, else 0; a label only when it is a string. Of
// members named twice, the last one counts, as in a QJsonObject.
struct UsageFields
{
    std::optional<qint64> inputTokens;
    std::optional<qint64> outputTokens;
    std::optional<qint64> cacheReadTokens;
    std::optional<qint64> cacheCreationTokens;
    bool hasCacheCreationSplit = false; // "cache_creation" is an object
    std::optional<qint64> ephemeral5mTokens; // in "cache_creation"
    std::optional<qint64> ephemeral1hTokens;
    std::optional<qint64> webSearchRequests; // in "server_tool_use"
    std::optional<qint64> webFetchRequests;
    std::optional<QString> serviceTier;
    std::optional<QString> speed;
    std::optional<QString> inferenceGeo;
};

std::optional<qint64> countIn(const QJsonObject &object, const char *name)
{
    const QJsonValue value = field(object, name);
    if (!value.isDouble())
        return std::nullopt;
    return std::max<qint64>(0, value.toInteger(0));
}

std::optional<QString> textIn(const QJsonObject &object, const char *name)
{
    const QJsonValue value = field(object, name);
    if (!value.isString())
        return std::nullopt;
    return value.toString();
}

UsageFields usageFieldsOf(const QJsonObject &object)
{
    UsageFields fields;
    fields.inputTokens = countIn(object, "input_tokens");
    fields.outputTokens = countIn(object, "output_tokens");
    fields.cacheReadTokens = countIn(object, "cache_read_input_tokens");
    fields.cacheCreationTokens = countIn(object, "cache_creation_input_tokens");
    const QJsonValue split = field(object, "cache_creation");
    fields.hasCacheCreationSplit = split.isObject();
    if (fields.hasCacheCreationSplit) {
        const QJsonObject counts = split.toObject();
        fields.ephemeral5mTokens = countIn(counts, "ephemeral_5m_input_tokens");
        fields.ephemeral1hTokens = countIn(counts, "ephemeral_1h_input_tokens");
    }
    const QJsonValue serverToolUse = field(object, "server_tool_use");
    if (serverToolUse.isObject()) {
        const QJsonObject counts = serverToolUse.toObject();
        fields.webSearchRequests = countIn(counts, "web_search_requests");
        fields.webFetchRequests = countIn(counts, "web_fetch_requests");
    }
    fields.serviceTier = textIn(object, "service_tier");
    fields.speed = textIn(object, "speed");
    fields.inferenceGeo = textIn(object, "inference_geo");
    return fields;
}

std::optional<qint64> countIn(json::Member &member)
{
    if (member.type() != json::Member::Type::Number)
        return std::nullopt;
    return std::max<qint64>(0, member.toInteger().value_or(0));
}

std::optional<QString> textIn(json::Member &member)
{
    if (member.type() != json::Member::Type::String)
        return std::nullopt;
    return member.toString();
}

// The two counts a small object inside usage holds (cache_creation's split, server_tool_use's
// requests), each reset first; false when the object is malformed.
bool readCountPair(json::Member &object, std::string_view firstName, std::optional<qint64> &first,
                   std::string_view secondName, std::optional<qint64> &second)
{
    first.reset();
    second.reset();
    if (object.type() != json::Member::Type::Object)
        return true;
    return object.forEachMember([&](std::string_view key, json::Member &count) {
        if (key == firstName)
            first = countIn(count);
        else if (key == secondName)
            second = countIn(count);
        return true;
    });
}

// The same from a scan of the usage object: no tree, no QString per member name. False
// when the object is malformed, which leaves it unread as QJsonDocument would.
bool readUsageFields(json::Member &usage, UsageFields &fields)
{
    if (usage.type() != json::Member::Type::Object)
        return false;
    bool isWellFormed = true; // an inner object's scan failing stops the outer one
    const bool isScanned = usage.forEachMember([&](std::string_view name, json::Member &member) {
        if (name == "input_tokens") {
            fields.inputTokens = countIn(member);
        } else if (name == "output_tokens") {
            fields.outputTokens = countIn(member);
        } else if (name == "cache_read_input_tokens") {
            fields.cacheReadTokens = countIn(member);
        } else if (name == "cache_creation_input_tokens") {
            fields.cacheCreationTokens = countIn(member);
        } else if (name == "cache_creation") {
            fields.hasCacheCreationSplit = member.type() == json::Member::Type::Object;
            isWellFormed =
                readCountPair(member, "ephemeral_5m_input_tokens", fields.ephemeral5mTokens,
                              "ephemeral_1h_input_tokens", fields.ephemeral1hTokens);
        } else if (name == "server_tool_use") {
            isWellFormed = readCountPair(member, "web_search_requests", fields.webSearchRequests,
                                         "web_fetch_requests", fields.webFetchRequests);
        } else if (name == "service_tier") {
            fields.serviceTier = textIn(member);
        } else if (name == "speed") {
            fields.speed = textIn(member);
        } else if (name == "inference_geo") {
            fields.inferenceGeo = textIn(member);
        }
        return isWellFormed;
    });
    return isScanned && isWellFormed;
}

// cache_creation_input_tokens is the 5m plus the 1h cache writes. When the total moves
// without a new split (message_delta has none), the difference goes to the 5m part, and a
// shortfall larger than it comes out of the 1h part.
void reconcileCacheWrites(Usage &usage, qint64 total)
{
    usage.cacheWrite5mTokens += total - usage.cacheWriteTokens();
    if (usage.cacheWrite5mTokens < 0) {
        usage.cacheWrite1hTokens =
            std::max<qint64>(0, usage.cacheWrite1hTokens + usage.cacheWrite5mTokens);
        usage.cacheWrite5mTokens = 0;
    }
}

void overwrite(qint64 &target, const std::optional<qint64> &count)
{
    if (count)
        target = *count;
}

void overwrite(QString &target, const std::optional<QString> &text)
{
    if (text)
        target = *text;
}

void applyServerToolUseAndLabels(Usage &usage, const UsageFields &fields)
{
    overwrite(usage.webSearchRequests, fields.webSearchRequests);
    overwrite(usage.webFetchRequests, fields.webFetchRequests);
    overwrite(usage.serviceTier, fields.serviceTier);
    overwrite(usage.speed, fields.speed);
    overwrite(usage.inferenceGeo, fields.inferenceGeo);
}

// A full usage object: message_start's, or a whole response's.
void applyUsage(Usage &usage, const UsageFields &fields)
{
    usage.hasUsage = true;
    usage.inputTokens = fields.inputTokens.value_or(0);
    usage.outputTokens = fields.outputTokens.value_or(0);
    usage.cacheReadTokens = fields.cacheReadTokens.value_or(0);
    // Only a full usage object has the TTL split of the cache writes; without one, every
    // cache write is a 5m write.
    if (fields.hasCacheCreationSplit) {
        usage.cacheWrite5mTokens = fields.ephemeral5mTokens.value_or(0);
        usage.cacheWrite1hTokens = fields.ephemeral1hTokens.value_or(0);
    } else {
        usage.cacheWrite5mTokens = fields.cacheCreationTokens.value_or(0);
        usage.cacheWrite1hTokens = 0;
    }
    if (fields.cacheCreationTokens)
        reconcileCacheWrites(usage, *fields.cacheCreationTokens);
    applyServerToolUseAndLabels(usage, fields);
}

void applyUsage(Usage &usage, const QJsonObject &object)
{
    applyUsage(usage, usageFieldsOf(object));
}

// message_delta's counts are cumulative: each one present replaces the earlier value,
// nothing is added (as the Anthropic SDKs accumulate them).
void applyDeltaUsage(Usage &usage, const QJsonObject &object)
{
    const UsageFields fields = usageFieldsOf(object);
    usage.hasUsage = true;
    overwrite(usage.inputTokens, fields.inputTokens);
    overwrite(usage.outputTokens, fields.outputTokens);
    overwrite(usage.cacheReadTokens, fields.cacheReadTokens);
    if (fields.cacheCreationTokens)
        reconcileCacheWrites(usage, *fields.cacheCreationTokens);
    applyServerToolUseAndLabels(usage, fields);
}

QString errorTypeOf(const QJsonObject &object)
{
    const QString type = field(field(object, "error").toObject(), "type").toString();
    return type.isEmpty() ? QStringLiteral("error") : type;
}

bool isErrorObject(const QJsonObject &object)
{
    return field(object, "type").toString() == QLatin1String("error");
}

void addUsage(Usage &total, const Usage &part)
{
    total.inputTokens += part.inputTokens;
    total.outputTokens += part.outputTokens;
    total.cacheWrite5mTokens += part.cacheWrite5mTokens;
    total.cacheWrite1hTokens += part.cacheWrite1hTokens;
    total.cacheReadTokens += part.cacheReadTokens;
    total.webSearchRequests += part.webSearchRequests;
    total.webFetchRequests += part.webFetchRequests;
    if (total.speed.isEmpty())
        total.speed = part.speed;
    if (total.inferenceGeo.isEmpty())
        total.inferenceGeo = part.inferenceGeo;
    total.hasUsage = true;
}

bool isSessionIdCharacter(QChar c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || (c >= u'0' && c <= u'9')
        || c == u'-' || c == u'_' || c == u'.';
}

// The id goes to the ledger and the UI: keep it short and plain, whatever the client sent.
QByteArray validSessionId(QStringView id)
{
    if (id.isEmpty() || id.size() > kMaxSessionIdSize
        || !std::all_of(id.begin(), id.end(), isSessionIdCharacter))
        return {};
    return id.toLatin1();
}

// A line of the environment section, "Working directory: /abs/path" (some Claude Code
// versions: "Primary working directory:"), possibly indented or bulleted.
QString projectInText(const QString &text)
{
    static const QLatin1String kKey("orking directory:");
    for (qsizetype at = text.indexOf(kKey); at >= 0; at = text.indexOf(kKey, at + 1)) {
        if (at == 0)
            continue; // no initial "W" or "w"
        const qsizetype lineStart = text.lastIndexOf(u'\n', at) + 1;
        const QChar initial = text.at(at - 1);
        QStringView lead = QStringView(text).mid(lineStart, at - 1 - lineStart);
        if (initial == u'w') {
            if (!lead.endsWith(QLatin1String("Primary ")))
                continue;
            lead.chop(8);
        } else if (initial != u'W') {
            continue;
        }
        lead = lead.trimmed();
        if (!lead.isEmpty() && lead != u"-" && lead != u"*")
            continue;
        const qsizetype valueStart = at + kKey.size();
        qsizetype lineEnd = text.indexOf(u'\n', valueStart);
        if (lineEnd < 0)
            lineEnd = text.size();
        const QString path = text.mid(valueStart, lineEnd - valueStart).trimmed();
        if (!path.isEmpty())
            return path;
    }
    return {};
}

// projectFromSystemPrompt() over a scanned "system": a string, or text blocks.
QString projectInSystem(json::Member &system)
{
    if (system.type() == json::Member::Type::String)
        return projectInText(system.toString());
    QString project;
    system.forEachElement([&project](json::Member &block) {
        QString type;
        QString text;
        block.forEachMember([&](std::string_view key, json::Member &member) {
            if (key == "type")
                type = member.toString();
            else if (key == "text")
                text = member.toString();
            return true;
        });
        if (type == QLatin1String("text"))
            project = projectInText(text);
        return project.isEmpty();
    });
    return project;
}

} // namespace

RequestFacts UsageExtractor::requestFacts(const QByteArray &requestBody)
{
    // A scan, not a tree: Claude Code's request bodies run to megabytes of conversation,
    // of which only these few members matter here.
    RequestFacts facts;
    json::forEachMember(requestBody, [&facts](std::string_view name, json::Member &value) {
        if (name == "model") {
            facts.model = value.toString();
        } else if (name == "stream") {
            facts.isStream = value.toBool();
        } else if (name == "speed") {
            facts.speed = value.toString();
        } else if (name == "metadata") {
            value.forEachMember([&facts](std::string_view key, json::Member &member) {
                if (key == "user_id")
                    facts.sessionId = sessionIdFromUserId(member.toString());
                return true;
            });
        } else if (name == "system") {
            facts.project = projectInSystem(value);
        }
        return true;
    });
    return facts;
}

QByteArray UsageExtractor::sessionIdFromUserId(const QString &userId)
{
    const QString trimmed = userId.trimmed();
    if (trimmed.startsWith(u'{')) {
        const QJsonObject object = QJsonDocument::fromJson(trimmed.toUtf8()).object();
        return validSessionId(field(object, "session_id").toString());
    }
    static const QLatin1String kSessionMarker("_session_");
    const qsizetype marker = trimmed.lastIndexOf(kSessionMarker);
    if (!trimmed.startsWith(QLatin1String("user_")) || marker < 0)
        return {};
    return validSessionId(QStringView(trimmed).mid(marker + kSessionMarker.size()));
}

QString UsageExtractor::projectFromSystemPrompt(const QJsonValue &system)
{
    if (system.isString())
        return projectInText(system.toString());
    const QJsonArray blocks = system.toArray();
    for (const QJsonValue &block : blocks) {
        const QJsonObject object = block.toObject();
        if (field(object, "type").toString() != QLatin1String("text"))
            continue;
        const QString project = projectInText(field(object, "text").toString());
        if (!project.isEmpty())
            return project;
    }
    return {};
}

ResponseUsage UsageExtractor::responseUsage(const ResponseObservation &observation,
                                            bool isBatchResults)
{
    if (observation.isOpenAiDialect)
        return openAiUsage(observation);
    if (observation.isSse)
        return streamUsage(observation);
    if (isBatchResults)
        return batchUsage(observation);
    return bodyUsage(observation);
}

ResponseUsage UsageExtractor::streamUsage(const ResponseObservation &observation)
{
    ResponseUsage result;
    // Each kept event is parsed once (the request log does this for every stream).
    const std::optional<QJsonObject> start = objectOf(observation.messageStart);
    const std::optional<QJsonObject> delta = objectOf(observation.lastMessageDelta);
    if (!observation.decodeError.isEmpty())
        result.unreadable = observation.decodeError;
    else if (!observation.messageStart.isEmpty() && !start)
        result.unreadable = QStringLiteral("the message_start event is not JSON");
    else if (!observation.lastMessageDelta.isEmpty() && !delta)
        result.unreadable = QStringLiteral("the message_delta event is not JSON");
    if (start) {
        const QJsonObject message = field(*start, "message").toObject();
        result.model = field(message, "model").toString();
        const QJsonValue usage = field(message, "usage");
        if (usage.isObject())
            applyUsage(result.usage, usage.toObject());
    }
    bool hasStopReason = false;
    if (delta) {
        const QJsonValue usage = field(*delta, "usage");
        if (usage.isObject())
            applyDeltaUsage(result.usage, usage.toObject());
        const QJsonValue stopReason = field(field(*delta, "delta").toObject(), "stop_reason");
        hasStopReason = stopReason.isString();
        if (hasStopReason)
            result.usage.stopReason = stopReason.toString();
    }
    if (!observation.errorEvent.isEmpty())
        result.errorType = errorTypeOf(parseObject(observation.errorEvent));
    // message_stop ends a complete stream. A stream cut right after a message_delta that
    // carries the stop_reason, with every block closed, has lost nothing that is billed.
    const bool isComplete =
        observation.sawMessageStop || (hasStopReason && observation.openBlocks <= 0);
    result.isIncomplete = !isComplete || !result.unreadable.isEmpty();
    return result;
}

// An OpenAI-compatible provider's answer, passed to an OpenAI client untouched: usage in
// OpenAI's terms (prompt_tokens includes the cached ones), converted as the translators do.
ResponseUsage UsageExtractor::openAiUsage(const ResponseObservation &observation)
{
    ResponseUsage result;
    result.unreadable = observation.decodeError;
    if (!observation.isSse) {
        result.isIncomplete = observation.isBodyTruncated || !observation.decodeError.isEmpty();
        const QJsonObject body = parseObject(observation.body);
        if (field(body, "error").isObject()) {
            result.errorType = errorTypeOf(body);
            return result; // an error is not billed: no usage
        }
        result.model = field(body, "model").toString();
        if (field(body, "usage").isObject())
            result.usage = UsageTranslator::fromOpenAi(field(body, "usage").toObject());
        return result;
    }
    result.isIncomplete = !observation.sawMessageStop;
    result.model = field(parseObject(observation.messageStart), "model").toString();
    if (!observation.errorEvent.isEmpty())
        result.errorType = errorTypeOf(parseObject(observation.errorEvent));
    if (observation.lastMessageDelta.isEmpty()) {
        // OpenAI sends usage in a stream only when the request asks for it; Tollgate does not
        // add that to a client's request, since a client that did not ask may not expect the
        // extra chunk. The tokens are then unknown, never taken for zero.
        if (result.unreadable.isEmpty() && !observation.messageStart.isEmpty()
            && result.errorType.isEmpty())
            result.unreadable =
                QStringLiteral("the stream carried no usage (the client did not set "
                               "stream_options.include_usage)");
        return result;
    }
    const QJsonObject chunk = parseObject(observation.lastMessageDelta);
    if (!field(chunk, "usage").isObject()) {
        result.unreadable = QStringLiteral("the usage chunk is not JSON");
        return result;
    }
    result.usage = UsageTranslator::fromOpenAi(field(chunk, "usage").toObject());
    if (result.model.isEmpty())
        result.model = field(chunk, "model").toString();
    return result;
}

ResponseUsage UsageExtractor::bodyUsage(const ResponseObservation &observation)
{
    ResponseUsage result;
    result.isIncomplete = observation.isBodyTruncated || !observation.decodeError.isEmpty();
    result.unreadable = observation.decodeError;
    // The body holds the whole answer; only "usage" is read in full.
    QString type;
    QString errorType;
    QString stopReason;
    UsageFields usage;
    bool hasUsage = false;
    json::forEachMember(observation.body, [&](std::string_view name, json::Member &value) {
        if (name == "type") {
            type = value.toString();
        } else if (name == "model") {
            result.model = value.toString();
        } else if (name == "stop_reason") {
            stopReason = value.toString();
        } else if (name == "usage") {
            usage = {};
            hasUsage = readUsageFields(value, usage);
        } else if (name == "error") {
            value.forEachMember([&errorType](std::string_view key, json::Member &member) {
                if (key == "type")
                    errorType = member.toString();
                return true;
            });
        }
        return true;
    });
    if (type == QLatin1String("error")) {
        result.model.clear();
        result.errorType = errorType.isEmpty() ? QStringLiteral("error") : errorType;
        return result; // an error is not billed: no usage
    }
    if (hasUsage) {
        applyUsage(result.usage, usage);
        if (!stopReason.isNull())
            result.usage.stopReason = stopReason;
    }
    return result;
}

ResponseUsage UsageExtractor::batchUsage(const ResponseObservation &observation)
{
    ResponseUsage result;
    result.isIncomplete = observation.isBodyTruncated || !observation.decodeError.isEmpty();
    result.unreadable = observation.decodeError;
    const QByteArray &body = observation.body;
    qsizetype lineStart = 0;
    while (lineStart < body.size()) {
        qsizetype lineEnd = body.indexOf('\n', lineStart);
        if (lineEnd < 0)
            lineEnd = body.size();
        const QByteArrayView line(body.constData() + lineStart, lineEnd - lineStart);
        lineStart = lineEnd + 1;
        if (line.trimmed().isEmpty())
            continue;
        const QJsonObject object = parseObject(line);
        if (isErrorObject(object)) {
            result.errorType = errorTypeOf(object);
            continue;
        }
        const QJsonObject batchResult = field(object, "result").toObject();
        const QJsonObject message = field(batchResult, "message").toObject();
        if (result.model.isEmpty())
            result.model = field(message, "model").toString();
        const QJsonValue usage = field(message, "usage");
        if (field(batchResult, "type").toString() != QLatin1String("succeeded")
            || !usage.isObject())
            continue; // errored, canceled and expired requests are not billed
        Usage lineUsage;
        applyUsage(lineUsage, usage.toObject());
        addUsage(result.usage, lineUsage);
    }
    if (result.usage.hasUsage)
        result.usage.serviceTier = QStringLiteral("batch"); // batch results bill at batch rates
    return result;
}

} // namespace tollgate
