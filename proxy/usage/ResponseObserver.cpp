#include "ResponseObserver.h"

#include <algorithm>
#include <cstring>

namespace tollgate {

namespace {

QByteArray mediaTypeOf(const QByteArray &contentType)
{
    const qsizetype semicolon = contentType.indexOf(';');
    return (semicolon < 0 ? contentType : contentType.left(semicolon)).trimmed().toLower();
}

// An inlined comparison with a literal: this runs for every event of every stream.
template<size_t N>
bool isNamed(QByteArrayView name, const char (&literal)[N])
{
    return size_t(name.size()) == N - 1 && std::memcmp(name.data(), literal, N - 1) == 0;
}

// Whether the JSON text has the member (quoted name) with an object for its value.
bool hasObjectMember(QByteArrayView json, QByteArrayView quotedName)
{
    for (qsizetype at = json.indexOf(quotedName); at >= 0; at = json.indexOf(quotedName, at + 1)) {
        qsizetype i = at + quotedName.size();
        while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == ':'))
            ++i;
        if (i < json.size() && json[i] == '{')
            return true;
    }
    return false;
}

void assign(QByteArray &target, QByteArrayView data)
{
    target.resize(0);
    target.append(data);
}

} // namespace

ResponseObserver::ResponseObserver()
    : m_sse([this](const SseEvent &event) { onEvent(event); },
            [this](QByteArrayView name) { return wantsEventData(name); })
    , m_decodedSink([this](const char *data, qsizetype size) { observe(data, size); })
{
}

bool ResponseObserver::isSseContentType(const QByteArray &contentType)
{
    return mediaTypeOf(contentType) == "text/event-stream";
}

bool ResponseObserver::isJsonContentType(const QByteArray &contentType)
{
    const QByteArray type = mediaTypeOf(contentType);
    return type == "application/json" || type == "application/x-ndjson"
        || type == "application/jsonl" || type == "application/x-jsonlines"
        || type.endsWith("+json");
}

void ResponseObserver::begin(const QByteArray &contentType, const QByteArray &contentEncoding,
                             qint64 bodyCapBytes, qint64 streamCopyCapBytes)
{
    m_streamCopyCapBytes = std::max<qint64>(0, streamCopyCapBytes);
    m_result = ResponseObservation();
    m_sse.reset();
    m_bodyCapBytes = std::max<qint64>(0, bodyCapBytes);
    m_isDecoding = false;
    m_isFinished = false;

    if (isSseContentType(contentType)) {
        m_mode = Mode::Sse;
        m_result.isSse = true;
    } else if (contentType.trimmed().isEmpty() || isJsonContentType(contentType)) {
        m_mode = Mode::Body;
    } else {
        m_mode = Mode::Ignore; // no usage in other media types: not even decoded
        return;
    }

    if (ContentDecoder::isIdentity(contentEncoding))
        return;
    const qint64 maxOutput = m_mode == Mode::Sse ? kMaxDecodedStreamBytes : m_bodyCapBytes;
    if (!m_decoder.begin(contentEncoding, maxOutput)) {
        m_result.decodeError = m_decoder.errorString();
        m_mode = Mode::Ignore;
        return;
    }
    m_isDecoding = true;
}

void ResponseObserver::beginOpenAi(const QByteArray &contentType, const QByteArray &contentEncoding,
                                   qint64 bodyCapBytes, qint64 streamCopyCapBytes)
{
    begin(contentType, contentEncoding, bodyCapBytes, streamCopyCapBytes);
    m_result.isOpenAiDialect = true;
}

void ResponseObserver::feed(const char *data, qsizetype size)
{
    if (m_mode == Mode::Ignore || size <= 0 || m_isFinished)
        return;
    if (!m_isDecoding) {
        observe(data, size);
        return;
    }
    if (m_decoder.feed(data, size, m_decodedSink))
        return;
    if (!m_decoder.isOutputCapped()) {
        m_result.decodeError = m_decoder.errorString();
    } else if (m_mode == Mode::Sse) {
        m_result.decodeError =
            QStringLiteral("the decoded event stream exceeds %1 bytes").arg(kMaxDecodedStreamBytes);
    } else {
        m_result.isBodyTruncated = true;
    }
    m_mode = Mode::Ignore;
}

void ResponseObserver::finish()
{
    if (m_isFinished)
        return;
    m_isFinished = true;
    if (m_isDecoding && m_mode != Mode::Ignore && !m_decoder.finish())
        m_result.decodeError = m_decoder.errorString();
    m_mode = Mode::Ignore;
}

ResponseObservation ResponseObserver::take()
{
    finish();
    ResponseObservation result = std::move(m_result);
    m_result = ResponseObservation();
    return result;
}

void ResponseObserver::observe(const char *data, qsizetype size)
{
    if (m_mode == Mode::Sse) {
        const qint64 room = m_streamCopyCapBytes - m_result.body.size();
        if (room > 0)
            m_result.body.append(data, qsizetype(std::min<qint64>(room, size)));
        m_sse.feed(data, size);
    } else if (m_mode == Mode::Body)
        keepBody(data, size);
}

void ResponseObserver::keepBody(const char *data, qsizetype size)
{
    const qint64 room = m_bodyCapBytes - m_result.body.size();
    if (size > room) {
        if (room > 0)
            m_result.body.append(data, qsizetype(room));
        m_result.isBodyTruncated = true;
        m_mode = Mode::Ignore;
        return;
    }
    m_result.body.append(data, size);
}

bool ResponseObserver::wantsEventData(QByteArrayView name) const
{
    // Usage is in message_start (with the 5m/1h cache-write split) and in the cumulative
    // message_delta; an error event names what went wrong. Deltas are never copied. OpenAI's
    // chunks have no event name, and any of them may be the one with usage.
    if (m_result.isOpenAiDialect)
        return isNamed(name, "message");
    return isNamed(name, "message_start") || isNamed(name, "message_delta")
        || isNamed(name, "error");
}

void ResponseObserver::onEvent(const SseEvent &event)
{
    ++m_result.eventCount;
    if (m_result.isOpenAiDialect) {
        onOpenAiChunk(event);
        return;
    }
    const QByteArrayView name = event.name;
    if (isNamed(name, "content_block_delta")) // the bulk of every stream, checked first
        return;
    if (isNamed(name, "content_block_start")) {
        ++m_result.openBlocks;
        return;
    }
    if (isNamed(name, "content_block_stop")) {
        --m_result.openBlocks;
        return;
    }
    if (isNamed(name, "message_stop")) {
        m_result.sawMessageStop = true;
        return;
    }
    const bool isMessageStart = isNamed(name, "message_start");
    const bool isMessageDelta = isNamed(name, "message_delta");
    const bool isError = isNamed(name, "error");
    if (!isMessageStart && !isMessageDelta && !isError)
        return; // ping, and event types added later: they pass through, nothing to keep
    if (event.isDataLost) {
        m_result.decodeError =
            QStringLiteral("a %1 event over %2 bytes was not kept")
                .arg(QString::fromLatin1(name), QString::number(m_sse.maxEventBytes()));
        return;
    }
    if (isMessageDelta)
        assign(m_result.lastMessageDelta, event.data); // cumulative: the last one holds all
    else if (isMessageStart && m_result.messageStart.isEmpty())
        assign(m_result.messageStart, event.data);
    else if (isError && m_result.errorEvent.isEmpty())
        assign(m_result.errorEvent, event.data);
}

// An OpenAI chat-completion chunk: the first names the model; usage comes in the chunk
// after the last choice (only when the client asked for stream_options.include_usage).
void ResponseObserver::onOpenAiChunk(const SseEvent &event)
{
    if (!isNamed(event.name, "message"))
        return;
    const QByteArrayView data = event.data;
    if (data.trimmed() == QByteArrayView("[DONE]")) {
        m_result.sawMessageStop = true;
        return;
    }
    if (event.isDataLost) {
        m_result.decodeError = QStringLiteral("a chunk over %1 bytes was not kept")
                                   .arg(QString::number(m_sse.maxEventBytes()));
        return;
    }
    if (m_result.messageStart.isEmpty())
        assign(m_result.messageStart, data);
    // A cheap look for `"usage": {` (chunks before the last say `"usage": null`); the ledger
    // reads the chunk properly.
    if (hasObjectMember(data, "\"usage\""))
        assign(m_result.lastMessageDelta, data);
    else if (QByteArrayView(data).indexOf(QByteArrayView("\"error\"")) >= 0
             && m_result.errorEvent.isEmpty())
        assign(m_result.errorEvent, data);
}

} // namespace tollgate
