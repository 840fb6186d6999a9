#pragma once

#include "sse/SseParser.h"
#include "usage/ContentDecoder.h"
#include "usage/ResponseObservation.h"

#include <QByteArray>

namespace tollgate {

// The usage tee of one upstream response, on the forwarding thread: it is fed every body
// chunk exactly as it was forwarded and keeps only what usage extraction needs later (see
// ResponseObservation), decoding a compressed body on the way. It never parses JSON: that
// happens on the ledger thread (UsageExtractor). Owns the SSE parser and the decoder.
class ResponseObserver
{
public:
    static constexpr qint64 kDefaultBodyCapBytes = 16 * 1024 * 1024;
    // Decoded SSE is parsed as it comes out of the decoder, so this bounds only CPU time
    // spent on a decompression bomb: real streams stay far below it (a 128k-token stream is
    // tens of MB).
    static constexpr qint64 kMaxDecodedStreamBytes = 1024 * 1024 * 1024;

    ResponseObserver();
    ResponseObserver(const ResponseObserver &) = delete;
    ResponseObserver &operator=(const ResponseObserver &) = delete;

    // From the upstream response head. bodyCapBytes bounds what is kept of a non-SSE body;
    // streamCopyCapBytes > 0 also keeps a copy of a decoded event stream in body, up to
    // that many bytes (the opt-in body log).
    void begin(const QByteArray &contentType, const QByteArray &contentEncoding,
               qint64 bodyCapBytes = kDefaultBodyCapBytes, qint64 streamCopyCapBytes = 0);
    // The response that begins next is in OpenAI's chat-completions dialect (see
    // ResponseObservation::isOpenAiDialect); reset by every begin() to Anthropic's.
    void beginOpenAi(const QByteArray &contentType, const QByteArray &contentEncoding,
                     qint64 bodyCapBytes = kDefaultBodyCapBytes, qint64 streamCopyCapBytes = 0);
    void feed(const char *data, qsizetype size);
    void finish(); // the body ended (completely or cut short)
    ResponseObservation take(); // moves the result out

    // Media types whose bodies carry usage: JSON, JSON lines (batch results), any +json.
    static bool isJsonContentType(const QByteArray &contentType);
    static bool isSseContentType(const QByteArray &contentType);

private:
    enum class Mode { Ignore, Sse, Body };

    void observe(const char *data, qsizetype size);
    void keepBody(const char *data, qsizetype size);
    bool wantsEventData(QByteArrayView name) const;
    void onEvent(const SseEvent &event);
    void onOpenAiChunk(const SseEvent &event);
    void stopOnDecodeError();

    ResponseObservation m_result;
    SseParser m_sse;
    ContentDecoder m_decoder;
    ContentDecoder::Sink m_decodedSink; // forwards decoded bytes to observe()
    Mode m_mode = Mode::Ignore;
    qint64 m_bodyCapBytes = kDefaultBodyCapBytes;
    qint64 m_streamCopyCapBytes = 0;
    bool m_isDecoding = false;
    bool m_isFinished = false;
};

} // namespace tollgate
