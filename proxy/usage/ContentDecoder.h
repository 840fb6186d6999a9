#pragma once

#include <QByteArray>
#include <QString>
#include <functional>
#include <memory>

namespace tollgate {

// Incremental decoder of an HTTP Content-Encoding (RFC 9110 section 8.4): identity, gzip
// (and x-gzip), deflate (zlib-wrapped, or raw as browsers tolerate), br and zstd. It owns
// the decompressor state and a fixed output buffer; decoded bytes go to a sink in pieces of
// at most kPieceBytes, so memory stays bounded whatever the compression ratio, and the total
// output stops at a cap (decompression bombs). Corrupt or truncated input and unknown
// codings end in an error string, never a crash.
class ContentDecoder
{
public:
    enum class Coding { Identity, Gzip, Deflate, Brotli, Zstd };

    using Sink = std::function<void(const char *data, qsizetype size)>;

    static constexpr qint64 kDefaultMaxOutputBytes = 64 * 1024 * 1024;
    static constexpr qsizetype kPieceBytes = 16 * 1024;

    ContentDecoder();
    ~ContentDecoder();
    ContentDecoder(const ContentDecoder &) = delete;
    ContentDecoder &operator=(const ContentDecoder &) = delete;

    // Prepares for a body sent with this Content-Encoding value. A list ("gzip, identity")
    // may hold any number of identity codings but one real coding at most. False when the
    // coding is not supported (errorString() says which).
    bool begin(const QByteArray &contentEncoding, qint64 maxOutputBytes = kDefaultMaxOutputBytes);

    // Decodes the next piece of the body into sink. False once decoding has stopped: on an
    // error (hasError()) or when the output reached the cap (isOutputCapped()); later feeds
    // are ignored.
    bool feed(const char *data, qsizetype size, const Sink &sink);
    // The body ended. False when the encoded stream was cut short or decoding had failed.
    bool finish();

    // True for an absent header or one naming only identity codings.
    static bool isIdentity(const QByteArray &contentEncoding);

    Coding coding() const { return m_coding; }
    bool hasError() const { return !m_error.isEmpty(); }
    QString errorString() const { return m_error; }
    bool isOutputCapped() const { return m_isOutputCapped; }
    qint64 outputBytes() const { return m_outputBytes; }

private:
    struct Codec;

    bool parseCoding(const QByteArray &contentEncoding);
    bool deliver(const char *data, qsizetype size, const Sink &sink);
    bool feedZlib(const char *data, qsizetype size, const Sink &sink);
    bool startZlib(int windowBits);
    bool startAfterHead();
    bool inflateSlice(const char *&p, const char *end, const Sink &sink);
    bool feedBrotli(const char *data, qsizetype size, const Sink &sink);
    bool feedZstd(const char *data, qsizetype size, const Sink &sink);
    bool fail(const QString &error);

    std::unique_ptr<Codec> m_codec; // decompressor state, created by begin() when needed
    Coding m_coding = Coding::Identity;
    QString m_error;
    qint64 m_maxOutputBytes = kDefaultMaxOutputBytes;
    qint64 m_inputBytes = 0;
    qint64 m_outputBytes = 0;
    bool m_isOutputCapped = false;
    bool m_isStreamEnded = false; // the encoded stream's end marker was read
};

} // namespace tollgate
