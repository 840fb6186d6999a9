#pragma once

// Shared by the tst_Translate* tests: golden files under tests/fixtures/translate, compared
// by meaning (JSON by value, streams event by event), streams fed in hostile pieces, and
// independent checks of the stream grammars of protocol.md sections 3 and 8d.

#include "sse/SseParser.h"
#include "usage/Usage.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QRandomGenerator>
#include <QSet>
#include <QString>
#include <QStringList>
#include <algorithm>
#include <functional>
#include <memory>

namespace translate_golden {

inline QByteArray readGolden(const QString &relativePath)
{
    QFile file(QStringLiteral(TOLLGATE_TRANSLATE_FIXTURES_DIR "/") + relativePath);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

inline QJsonObject goldenObject(const QString &relativePath)
{
    return QJsonDocument::fromJson(readGolden(relativePath)).object();
}

inline QString describe(const QJsonValue &value)
{
    if (value.isUndefined())
        return QStringLiteral("(missing)");
    if (value.isObject())
        return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
    if (value.isArray())
        return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
    return QString::fromUtf8(QJsonDocument(QJsonArray {value}).toJson(QJsonDocument::Compact));
}

// Empty when the values are equal; otherwise where and how they first differ.
inline QString jsonDifference(const QJsonValue &actual, const QJsonValue &expected,
                              const QString &path = QStringLiteral("$"))
{
    if (actual.type() != expected.type())
        return path + QStringLiteral(": got ") + describe(actual) + QStringLiteral(", want ")
            + describe(expected);
    if (actual.isObject()) {
        const QJsonObject a = actual.toObject();
        const QJsonObject e = expected.toObject();
        QStringList keys = a.keys() + e.keys();
        keys.removeDuplicates();
        for (const QString &key : std::as_const(keys)) {
            const QString difference =
                jsonDifference(a.value(key), e.value(key), path + QLatin1Char('.') + key);
            if (!difference.isEmpty())
                return difference;
        }
        return {};
    }
    if (actual.isArray()) {
        const QJsonArray a = actual.toArray();
        const QJsonArray e = expected.toArray();
        for (qsizetype i = 0; i < std::max(a.size(), e.size()); ++i) {
            const QString difference =
                jsonDifference(i < a.size() ? a.at(i) : QJsonValue(QJsonValue::Undefined),
                               i < e.size() ? e.at(i) : QJsonValue(QJsonValue::Undefined),
                               path + QLatin1Char('[') + QString::number(i) + QLatin1Char(']'));
            if (!difference.isEmpty())
                return difference;
        }
        return {};
    }
    return actual == expected ? QString()
                              : path + QStringLiteral(": got ") + describe(actual)
            + QStringLiteral(", want ") + describe(expected);
}

inline QJsonObject objectOf(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

inline QJsonValue parseJson(const QByteArray &json)
{
    // QJsonDocument reads objects and arrays; wrapping reads any value.
    const QJsonDocument document = QJsonDocument::fromJson("[" + json + "]");
    return document.isArray() ? document.array().at(0) : QJsonValue(QJsonValue::Undefined);
}

struct StreamEvent
{
    QByteArray name; // "message" when the event had no `event:` line
    QByteArray data;
};

inline QList<StreamEvent> eventsOf(const QByteArray &stream)
{
    QList<StreamEvent> events;
    tollgate::SseParser parser([&events](const tollgate::SseEvent &event) {
        events.append({event.name.toByteArray(), event.data.toByteArray()});
    });
    parser.feed(stream.constData(), stream.size());
    return events;
}

// Empty when the two streams hold the same events (names equal, data equal as JSON, or as
// text where it is not JSON, such as [DONE]), and nothing after the last event.
inline QString streamDifference(const QByteArray &actual, const QByteArray &expected)
{
    if (!actual.isEmpty() && !actual.endsWith("\n\n"))
        return QStringLiteral("the stream does not end with a complete event");
    const QList<StreamEvent> a = eventsOf(actual);
    const QList<StreamEvent> e = eventsOf(expected);
    for (qsizetype i = 0; i < std::max(a.size(), e.size()); ++i) {
        const QString where = QStringLiteral("event %1: ").arg(i);
        if (i >= a.size())
            return where + QStringLiteral("missing, want ") + QString::fromUtf8(e.at(i).data);
        if (i >= e.size())
            return where + QStringLiteral("unexpected ") + QString::fromUtf8(a.at(i).data);
        if (a.at(i).name != e.at(i).name)
            return where + QStringLiteral("name ") + QString::fromUtf8(a.at(i).name)
                + QStringLiteral(", want ") + QString::fromUtf8(e.at(i).name);
        const QJsonValue actualData = parseJson(a.at(i).data);
        const QJsonValue expectedData = parseJson(e.at(i).data);
        if (expectedData.isUndefined()) {
            if (a.at(i).data != e.at(i).data)
                return where + QString::fromUtf8(a.at(i).data) + QStringLiteral(", want ")
                    + QString::fromUtf8(e.at(i).data);
            continue;
        }
        const QString difference = jsonDifference(actualData, expectedData);
        if (!difference.isEmpty())
            return where + difference;
    }
    return {};
}

// Runs a whole stream through a fresh translator: fed at the given cut points (or whole
// when there are none), then finished.
template<typename Translator>
QByteArray runStream(Translator &translator, const QByteArray &input,
                     const QList<qsizetype> &cuts = {})
{
    QByteArray output;
    qsizetype at = 0;
    for (const qsizetype cut : cuts) {
        output += translator.feed(input.constData() + at, cut - at);
        at = cut;
    }
    output += translator.feed(input.constData() + at, input.size() - at);
    output += translator.finish();
    return output;
}

inline QList<qsizetype> everyByte(qsizetype size)
{
    QList<qsizetype> cuts;
    for (qsizetype at = 1; at < size; ++at)
        cuts.append(at);
    return cuts;
}

// Sorted, distinct cut points drawn from a seeded generator: the same seed, the same cuts.
inline QList<qsizetype> randomCuts(qsizetype size, quint32 seed)
{
    QRandomGenerator random(seed);
    QList<qsizetype> cuts;
    if (size < 2)
        return cuts;
    const int count = random.bounded(1, int(std::min<qsizetype>(size - 1, 64)) + 1);
    for (int i = 0; i < count; ++i)
        cuts.append(1 + random.bounded(int(size - 1)));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    return cuts;
}

inline QJsonObject usageJson(const tollgate::Usage &usage)
{
    return QJsonObject {
        {QStringLiteral("inputTokens"), usage.inputTokens},
        {QStringLiteral("outputTokens"), usage.outputTokens},
        {QStringLiteral("cacheReadTokens"), usage.cacheReadTokens},
        {QStringLiteral("cacheWrite5mTokens"), usage.cacheWrite5mTokens},
        {QStringLiteral("cacheWrite1hTokens"), usage.cacheWrite1hTokens},
        {QStringLiteral("stopReason"), usage.stopReason},
        {QStringLiteral("hasUsage"), usage.hasUsage},
    };
}

inline QStringList sorted(QStringList list)
{
    list.sort();
    return list;
}

inline QStringList stringsOf(const QJsonValue &array)
{
    QStringList strings;
    for (const QJsonValue &value : array.toArray())
        strings.append(value.toString());
    return strings;
}

// ---- Whole-body goldens: {"error": ...} or {"body", "stream", "dropped", "usage", ...} ----

// Empty when a translation ended as its golden says: with the golden's error and no body, or
// without error and with the golden's body.
inline QString bodyDifference(const QJsonObject &expected, const QString &error,
                              const QByteArray &body)
{
    if (expected.contains(QStringLiteral("error"))) {
        if (error != expected.value(QStringLiteral("error")).toString() || !body.isEmpty())
            return QStringLiteral("error: got \"") + error + QStringLiteral("\"");
        return {};
    }
    if (!error.isEmpty())
        return QStringLiteral("unexpected error: ") + error;
    return jsonDifference(objectOf(body), expected.value(QStringLiteral("body")));
}

// Empty when a request translation matches its golden: the same error, or the same body,
// stream flag and dropped items (in any order).
inline QString requestDifference(const QJsonObject &expected, const QString &error,
                                 const QByteArray &body, bool stream, const QStringList &dropped)
{
    const QString difference = bodyDifference(expected, error, body);
    if (!difference.isEmpty() || expected.contains(QStringLiteral("error")))
        return difference;
    if (stream != expected.value(QStringLiteral("stream")).toBool())
        return QStringLiteral("stream: got %1").arg(stream);
    const QStringList wanted = sorted(stringsOf(expected.value(QStringLiteral("dropped"))));
    if (sorted(dropped) != wanted)
        return QStringLiteral("dropped: got [") + sorted(dropped).join(QStringLiteral(", "))
            + QStringLiteral("], want [") + wanted.join(QStringLiteral(", ")) + QLatin1Char(']');
    return {};
}

// Empty when a response translation matches its golden: the same error, or the same body
// and usage.
inline QString responseDifference(const QJsonObject &expected, const QString &error,
                                  const QByteArray &body, const tollgate::Usage &usage)
{
    const QString difference = bodyDifference(expected, error, body);
    if (!difference.isEmpty() || expected.contains(QStringLiteral("error")))
        return difference;
    return jsonDifference(usageJson(usage), expected.value(QStringLiteral("usage")));
}

// ---- Stream goldens ----

// Empty when a stream translator turns the upstream bytes into the expected events, passes
// the grammar check and reports the expected usage, and gives exactly the same bytes and
// usage when the upstream arrives one byte at a time or cut at random points (seeds 1-40).
template<typename Translator>
QString streamGoldenDifference(const std::function<std::unique_ptr<Translator>()> &make,
                               const QByteArray &upstream, const QByteArray &expected,
                               const QJsonObject &expectedUsage,
                               const std::function<QString(const QByteArray &)> &grammarError)
{
    if (upstream.isEmpty() || expected.isEmpty() || expectedUsage.isEmpty())
        return QStringLiteral("a golden file is missing");
    const std::unique_ptr<Translator> whole = make();
    const QByteArray translated = runStream(*whole, upstream);
    QString difference = streamDifference(translated, expected);
    if (difference.isEmpty())
        difference = grammarError(translated);
    if (difference.isEmpty())
        difference = jsonDifference(usageJson(whole->usage()), expectedUsage);
    if (difference.isEmpty() && !whole->isFinished())
        difference = QStringLiteral("not finished");
    if (!difference.isEmpty())
        return difference;

    const std::unique_ptr<Translator> byteByByte = make();
    if (runStream(*byteByByte, upstream, everyByte(upstream.size())) != translated)
        return QStringLiteral("fed one byte at a time, the output differs");
    for (quint32 seed = 1; seed <= 40; ++seed) {
        const std::unique_ptr<Translator> pieces = make();
        if (runStream(*pieces, upstream, randomCuts(upstream.size(), seed)) != translated
            || usageJson(pieces->usage()) != usageJson(whole->usage())) {
            return QStringLiteral("cut at random points (seed %1), the output differs").arg(seed);
        }
    }
    return {};
}

// ---- An independent check of Anthropic's stream grammar (protocol.md section 3) ----

// Empty when the stream follows the grammar: every event named by an `event:` line that
// matches its data's type; message_start first; blocks opened in index order, deltas only
// for the open block and of its kind, each block stopped before the next starts;
// message_delta with a stop_reason after the last block; message_stop last. An `error` event
// may end the stream at any point. Pings may come anywhere.
inline QString anthropicGrammarError(const QByteArray &stream)
{
    enum class Phase { BeforeStart, Blocks, AfterDelta, Stopped };
    Phase phase = Phase::BeforeStart;
    int openIndex = -1;
    int nextIndex = 0;
    QString openType;
    QString toolJson;
    const QList<StreamEvent> events = eventsOf(stream);
    for (qsizetype i = 0; i < events.size(); ++i) {
        const StreamEvent &event = events.at(i);
        const QString where =
            QStringLiteral("event %1 (%2): ").arg(i).arg(QString::fromUtf8(event.name));
        const QJsonObject data = QJsonDocument::fromJson(event.data).object();
        const QString type = data.value(QStringLiteral("type")).toString();
        if (event.name == "message")
            return where + QStringLiteral("no event: line");
        if (type != QString::fromUtf8(event.name))
            return where + QStringLiteral("data type ") + type;
        if (phase == Phase::Stopped)
            return where + QStringLiteral("after the end of the stream");
        if (type == QStringLiteral("error")) {
            if (data.value(QStringLiteral("error"))
                    .toObject()
                    .value(QStringLiteral("type"))
                    .toString()
                    .isEmpty())
                return where + QStringLiteral("error without a type");
            phase = Phase::Stopped;
            continue;
        }
        if (type == QStringLiteral("ping"))
            continue;
        if (phase == Phase::BeforeStart) {
            if (type != QStringLiteral("message_start"))
                return where + QStringLiteral("before message_start");
            const QJsonObject usage = data.value(QStringLiteral("message"))
                                          .toObject()
                                          .value(QStringLiteral("usage"))
                                          .toObject();
            for (const char *key : {"input_tokens", "output_tokens", "cache_read_input_tokens",
                                    "cache_creation_input_tokens", "cache_creation"}) {
                if (!usage.contains(QLatin1String(key)))
                    return where + QStringLiteral("usage without ") + QLatin1String(key);
            }
            phase = Phase::Blocks;
            continue;
        }
        const int index = data.value(QStringLiteral("index")).toInt(-1);
        if (type == QStringLiteral("content_block_start")) {
            if (phase != Phase::Blocks || openIndex != -1 || index != nextIndex)
                return where + QStringLiteral("block %1 started out of order").arg(index);
            openIndex = index;
            ++nextIndex;
            openType = data.value(QStringLiteral("content_block"))
                           .toObject()
                           .value(QStringLiteral("type"))
                           .toString();
            toolJson.clear();
        } else if (type == QStringLiteral("content_block_delta")) {
            if (index != openIndex || openIndex == -1)
                return where + QStringLiteral("delta for block %1, which is not open").arg(index);
            const QJsonObject delta = data.value(QStringLiteral("delta")).toObject();
            const QString deltaType = delta.value(QStringLiteral("type")).toString();
            const QString wanted = openType == QStringLiteral("text") ? QStringLiteral("text_delta")
                : openType == QStringLiteral("tool_use") ? QStringLiteral("input_json_delta")
                                                         : QStringLiteral("thinking_delta");
            if (deltaType != wanted && deltaType != QStringLiteral("signature_delta"))
                return where + deltaType + QStringLiteral(" in a ") + openType
                    + QStringLiteral(" block");
            toolJson += delta.value(QStringLiteral("partial_json")).toString();
        } else if (type == QStringLiteral("content_block_stop")) {
            if (index != openIndex || openIndex == -1)
                return where + QStringLiteral("stop for block %1, which is not open").arg(index);
            if (openType == QStringLiteral("tool_use") && !toolJson.isEmpty()
                && !QJsonDocument::fromJson(toolJson.toUtf8()).isObject())
                return where + QStringLiteral("tool input is not a JSON object: ") + toolJson;
            openIndex = -1;
        } else if (type == QStringLiteral("message_delta")) {
            if (openIndex != -1)
                return where + QStringLiteral("message_delta with block %1 open").arg(openIndex);
            if (data.value(QStringLiteral("delta"))
                    .toObject()
                    .value(QStringLiteral("stop_reason"))
                    .toString()
                    .isEmpty())
                return where + QStringLiteral("message_delta without a stop_reason");
            if (!data.value(QStringLiteral("usage"))
                     .toObject()
                     .contains(QStringLiteral("output_tokens")))
                return where + QStringLiteral("message_delta without output_tokens");
            phase = Phase::AfterDelta;
        } else if (type == QStringLiteral("message_stop")) {
            if (phase != Phase::AfterDelta)
                return where + QStringLiteral("message_stop before message_delta");
            phase = Phase::Stopped;
        } else {
            return where + QStringLiteral("unknown event");
        }
    }
    if (phase != Phase::Stopped)
        return QStringLiteral("the stream ends without message_stop or error");
    return {};
}

// ---- An independent check of OpenAI's chunk stream (protocol.md 8d) ----

// Empty when every event is a data-only line holding a chat.completion.chunk (or an error
// object), the first chunk carries the assistant role, tool_calls indices start at 0 and
// grow by one with an id and name on each call's first chunk, one chunk carries a
// finish_reason, a usage chunk with no choices comes after it exactly when includeUsage,
// and `[DONE]` is the last line.
inline QString openAiGrammarError(const QByteArray &stream, bool includeUsage)
{
    const QList<StreamEvent> events = eventsOf(stream);
    if (events.isEmpty() || events.last().data != "[DONE]")
        return QStringLiteral("the stream does not end with [DONE]");
    bool sawRole = false;
    bool sawFinish = false;
    bool sawUsage = false;
    bool sawError = false;
    int nextTool = 0;
    for (qsizetype i = 0; i + 1 < events.size(); ++i) {
        const QString where = QStringLiteral("event %1: ").arg(i);
        if (events.at(i).name != "message")
            return where + QStringLiteral("has an event: line");
        const QJsonObject chunk = QJsonDocument::fromJson(events.at(i).data).object();
        if (chunk.contains(QStringLiteral("error"))) {
            if (i + 2 != events.size())
                return where + QStringLiteral("error is not the last line before [DONE]");
            sawError = true;
            continue;
        }
        if (chunk.value(QStringLiteral("object")).toString()
            != QStringLiteral("chat.completion.chunk"))
            return where + QStringLiteral("not a chat.completion.chunk");
        if (includeUsage != chunk.contains(QStringLiteral("usage")))
            return where + QStringLiteral("usage member present: %1").arg(!includeUsage);
        const QJsonArray choices = chunk.value(QStringLiteral("choices")).toArray();
        if (choices.isEmpty()) {
            if (!includeUsage || !sawFinish || sawUsage
                || !chunk.value(QStringLiteral("usage")).isObject())
                return where + QStringLiteral("unexpected chunk without choices");
            sawUsage = true;
            continue;
        }
        if (sawFinish)
            return where + QStringLiteral("choice chunk after the finish_reason");
        const QJsonObject choice = choices.at(0).toObject();
        const QJsonObject delta = choice.value(QStringLiteral("delta")).toObject();
        if (!sawRole) {
            if (delta.value(QStringLiteral("role")).toString() != QStringLiteral("assistant"))
                return where + QStringLiteral("the first chunk has no assistant role");
            sawRole = true;
        }
        for (const QJsonValue &value : delta.value(QStringLiteral("tool_calls")).toArray()) {
            const QJsonObject call = value.toObject();
            const int index = call.value(QStringLiteral("index")).toInt(-1);
            if (index == nextTool) {
                if (call.value(QStringLiteral("id")).toString().isEmpty()
                    || call.value(QStringLiteral("function"))
                           .toObject()
                           .value(QStringLiteral("name"))
                           .toString()
                           .isEmpty())
                    return where
                        + QStringLiteral("tool call %1 starts without id or name").arg(index);
                ++nextTool;
            } else if (index < 0 || index >= nextTool) {
                return where + QStringLiteral("tool call index %1 out of order").arg(index);
            }
        }
        if (!choice.value(QStringLiteral("finish_reason")).isNull())
            sawFinish = true;
    }
    if (sawError)
        return {};
    if (!sawFinish)
        return QStringLiteral("no finish_reason");
    if (includeUsage && !sawUsage)
        return QStringLiteral("no usage chunk");
    return {};
}

} // namespace translate_golden
