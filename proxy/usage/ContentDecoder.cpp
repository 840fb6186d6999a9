#include "ContentDecoder.h"

#include <QByteArrayList>
#include <algorithm>
#include <array>
#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

namespace tollgate {

namespace {

constexpr int kZlibWindowBits = 15;
constexpr int kGzipWindowBits = 16 + kZlibWindowBits; // zlib's flag for the gzip wrapper
// RFC 9659: HTTP zstd decoders need not accept windows above 8 MiB, which keeps a hostile
// frame from making the decoder allocate up to 128 MiB (libzstd's own default limit).
constexpr int kZstdWindowLogMax = 23;
// zlib counts input in uInt: larger pieces are decoded in slices.
constexpr qsizetype kMaxZlibSlice = qsizetype(1) << 30;

QString codingName(ContentDecoder::Coding coding)
{
    switch (coding) {
    case ContentDecoder::Coding::Identity:
        return QStringLiteral("identity");
    case ContentDecoder::Coding::Gzip:
        return QStringLiteral("gzip");
    case ContentDecoder::Coding::Deflate:
        return QStringLiteral("deflate");
    case ContentDecoder::Coding::Brotli:
        return QStringLiteral("br");
    case ContentDecoder::Coding::Zstd:
        return QStringLiteral("zstd");
    }
    return {};
}

QByteArrayList realCodings(const QByteArray &contentEncoding)
{
    QByteArrayList codings;
    for (const QByteArray &token : contentEncoding.split(',')) {
        const QByteArray coding = token.trimmed().toLower();
        if (!coding.isEmpty() && coding != "identity")
            codings.append(coding);
    }
    return codings;
}

// RFC 1950: a zlib header is CMF FLG with compression method 8, a window of at most 32 KiB,
// and CMF*256+FLG a multiple of 31. Anything else is taken as raw deflate (RFC 1951), which
// some servers send for "deflate" and which browsers accept.
bool isZlibHeader(unsigned char cmf, unsigned char flg)
{
    return (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

} // namespace

struct ContentDecoder::Codec
{
    // zlib (gzip, deflate) reads through these phases. Before a deflate body starts, the first
    // two bytes decide between zlib-wrapped and raw. After a gzip member ends, two more bytes
    // decide whether another member follows (RFC 1952 allows several); bytes after the end of
    // the encoded stream are ignored, as browsers and gunzip do.
    enum class ZlibPhase { Head, Inflating, Trailing };

    ~Codec()
    {
        if (isZlibStarted)
            inflateEnd(&zlib);
        if (brotli)
            BrotliDecoderDestroyInstance(brotli);
        if (zstd)
            ZSTD_freeDCtx(zstd);
    }

    z_stream zlib {};
    bool isZlibStarted = false;
    ZlibPhase zlibPhase = ZlibPhase::Inflating;
    std::array<char, 2> head {};
    int headSize = 0;

    BrotliDecoderState *brotli = nullptr;

    ZSTD_DCtx *zstd = nullptr;
    size_t zstdHint = 0; // the last ZSTD_decompressStream result: 0 at a frame boundary

    std::array<char, kPieceBytes> out {};
};

ContentDecoder::ContentDecoder() = default;
ContentDecoder::~ContentDecoder() = default;

bool ContentDecoder::isIdentity(const QByteArray &contentEncoding)
{
    if (contentEncoding.isEmpty())
        return true; // the usual answer: no Content-Encoding
    return realCodings(contentEncoding).isEmpty();
}

bool ContentDecoder::begin(const QByteArray &contentEncoding, qint64 maxOutputBytes)
{
    m_codec.reset();
    m_coding = Coding::Identity;
    m_error.clear();
    m_maxOutputBytes = std::max<qint64>(0, maxOutputBytes);
    m_inputBytes = 0;
    m_outputBytes = 0;
    m_isOutputCapped = false;
    m_isStreamEnded = false;
    if (!parseCoding(contentEncoding))
        return false;

    switch (m_coding) {
    case Coding::Identity:
        return true;
    case Coding::Gzip:
        m_codec = std::make_unique<Codec>();
        return startZlib(kGzipWindowBits);
    case Coding::Deflate:
        m_codec = std::make_unique<Codec>();
        m_codec->zlibPhase = Codec::ZlibPhase::Head;
        return true;
    case Coding::Brotli:
        m_codec = std::make_unique<Codec>();
        m_codec->brotli = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
        return m_codec->brotli ? true : fail(QStringLiteral("br: out of memory"));
    case Coding::Zstd:
        m_codec = std::make_unique<Codec>();
        m_codec->zstd = ZSTD_createDCtx();
        if (!m_codec->zstd)
            return fail(QStringLiteral("zstd: out of memory"));
        ZSTD_DCtx_setParameter(m_codec->zstd, ZSTD_d_windowLogMax, kZstdWindowLogMax);
        return true;
    }
    return false;
}

bool ContentDecoder::parseCoding(const QByteArray &contentEncoding)
{
    const QByteArrayList codings = realCodings(contentEncoding);
    if (codings.size() > 1) {
        return fail(QStringLiteral("content codings applied in sequence are not supported: %1")
                        .arg(QString::fromLatin1(contentEncoding.trimmed().left(100))));
    }
    if (codings.isEmpty()) {
        m_coding = Coding::Identity;
    } else if (codings.first() == "gzip" || codings.first() == "x-gzip") {
        m_coding = Coding::Gzip;
    } else if (codings.first() == "deflate") {
        m_coding = Coding::Deflate;
    } else if (codings.first() == "br") {
        m_coding = Coding::Brotli;
    } else if (codings.first() == "zstd") {
        m_coding = Coding::Zstd;
    } else {
        return fail(QStringLiteral("unsupported content coding: %1")
                        .arg(QString::fromLatin1(codings.first().left(100))));
    }
    return true;
}

bool ContentDecoder::feed(const char *data, qsizetype size, const Sink &sink)
{
    if (hasError() || m_isOutputCapped)
        return false;
    if (size <= 0)
        return true;
    m_inputBytes += size;
    switch (m_coding) {
    case Coding::Identity:
        return deliver(data, size, sink);
    case Coding::Gzip:
    case Coding::Deflate:
        return feedZlib(data, size, sink);
    case Coding::Brotli:
        return m_isStreamEnded || feedBrotli(data, size, sink);
    case Coding::Zstd:
        return feedZstd(data, size, sink);
    }
    return false;
}

bool ContentDecoder::finish()
{
    if (hasError())
        return false;
    if (m_coding == Coding::Identity || m_isOutputCapped || m_inputBytes == 0)
        return true;
    bool isComplete = m_isStreamEnded;
    if (m_coding == Coding::Zstd)
        isComplete = m_codec->zstdHint == 0;
    if (!isComplete)
        return fail(QStringLiteral("%1: the encoded body ended early").arg(codingName(m_coding)));
    return true;
}

bool ContentDecoder::deliver(const char *data, qsizetype size, const Sink &sink)
{
    const qint64 room = m_maxOutputBytes - m_outputBytes;
    if (size > room) {
        // A decompression bomb, or just a body over the caller's cap: stop here.
        if (room > 0 && sink)
            sink(data, qsizetype(room));
        m_outputBytes += room;
        m_isOutputCapped = true;
        return false;
    }
    m_outputBytes += size;
    if (sink)
        sink(data, size);
    return true;
}

bool ContentDecoder::startZlib(int windowBits)
{
    Codec &codec = *m_codec;
    if (inflateInit2(&codec.zlib, windowBits) != Z_OK)
        return fail(QStringLiteral("%1: out of memory").arg(codingName(m_coding)));
    codec.isZlibStarted = true;
    codec.zlibPhase = Codec::ZlibPhase::Inflating;
    return true;
}

bool ContentDecoder::feedZlib(const char *data, qsizetype size, const Sink &sink)
{
    Codec &codec = *m_codec;
    const char *p = data;
    const char *end = data + size;
    while (p < end) {
        switch (codec.zlibPhase) {
        case Codec::ZlibPhase::Trailing:
            return true;
        case Codec::ZlibPhase::Head: {
            while (codec.headSize < 2 && p < end)
                codec.head[size_t(codec.headSize++)] = *p++;
            if (codec.headSize < 2)
                return true;
            if (!startAfterHead())
                return false;
            const char *headBytes = codec.head.data();
            codec.headSize = 0;
            if (codec.zlibPhase == Codec::ZlibPhase::Inflating
                && !inflateSlice(headBytes, headBytes + 2, sink))
                return false;
            break;
        }
        case Codec::ZlibPhase::Inflating:
            if (!inflateSlice(p, std::min(end, p + kMaxZlibSlice), sink))
                return false;
            break;
        }
    }
    return true;
}

bool ContentDecoder::startAfterHead()
{
    Codec &codec = *m_codec;
    const auto cmf = static_cast<unsigned char>(codec.head[0]);
    const auto flg = static_cast<unsigned char>(codec.head[1]);
    if (m_coding == Coding::Deflate)
        return startZlib(isZlibHeader(cmf, flg) ? kZlibWindowBits : -kZlibWindowBits);
    // After a gzip member: another one starts with the magic bytes 1f 8b (RFC 1952).
    if (cmf == 0x1f && flg == 0x8b) {
        inflateReset(&codec.zlib);
        m_isStreamEnded = false;
        codec.zlibPhase = Codec::ZlibPhase::Inflating;
    } else {
        codec.zlibPhase = Codec::ZlibPhase::Trailing;
    }
    return true;
}

bool ContentDecoder::inflateSlice(const char *&p, const char *end, const Sink &sink)
{
    Codec &codec = *m_codec;
    z_stream &zs = codec.zlib;
    zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(p));
    zs.avail_in = uInt(end - p);
    for (;;) {
        zs.next_out = reinterpret_cast<Bytef *>(codec.out.data());
        zs.avail_out = uInt(codec.out.size());
        const int result = inflate(&zs, Z_NO_FLUSH);
        const qsizetype produced = qsizetype(codec.out.size() - zs.avail_out);
        p = end - zs.avail_in;
        if (result == Z_STREAM_END) {
            m_isStreamEnded = true;
            codec.zlibPhase =
                m_coding == Coding::Gzip ? Codec::ZlibPhase::Head : Codec::ZlibPhase::Trailing;
            return produced == 0 || deliver(codec.out.data(), produced, sink);
        }
        if (result != Z_OK && !(result == Z_BUF_ERROR && zs.avail_in == 0)) {
            const QString detail =
                zs.msg ? QString::fromLatin1(zs.msg) : QStringLiteral("error %1").arg(result);
            return fail(QStringLiteral("%1: corrupt data (%2)").arg(codingName(m_coding), detail));
        }
        if (produced > 0 && !deliver(codec.out.data(), produced, sink))
            return false;
        if (zs.avail_in == 0 && zs.avail_out != 0)
            return true;
    }
}

bool ContentDecoder::feedBrotli(const char *data, qsizetype size, const Sink &sink)
{
    Codec &codec = *m_codec;
    size_t availableIn = size_t(size);
    const auto *nextIn = reinterpret_cast<const uint8_t *>(data);
    for (;;) {
        size_t availableOut = codec.out.size();
        auto *nextOut = reinterpret_cast<uint8_t *>(codec.out.data());
        const BrotliDecoderResult result = BrotliDecoderDecompressStream(
            codec.brotli, &availableIn, &nextIn, &availableOut, &nextOut, nullptr);
        const qsizetype produced = qsizetype(codec.out.size() - availableOut);
        if (result == BROTLI_DECODER_RESULT_ERROR) {
            const char *detail = BrotliDecoderErrorString(BrotliDecoderGetErrorCode(codec.brotli));
            return fail(QStringLiteral("br: corrupt data (%1)").arg(QString::fromLatin1(detail)));
        }
        if (produced > 0 && !deliver(codec.out.data(), produced, sink))
            return false;
        if (result == BROTLI_DECODER_RESULT_SUCCESS) {
            m_isStreamEnded = true; // bytes after the end are ignored
            return true;
        }
        if (result == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
            return true;
    }
}

bool ContentDecoder::feedZstd(const char *data, qsizetype size, const Sink &sink)
{
    Codec &codec = *m_codec;
    ZSTD_inBuffer in {data, size_t(size), 0};
    for (;;) {
        ZSTD_outBuffer out {codec.out.data(), codec.out.size(), 0};
        const size_t result = ZSTD_decompressStream(codec.zstd, &out, &in);
        if (ZSTD_isError(result)) {
            return fail(QStringLiteral("zstd: corrupt data (%1)")
                            .arg(QString::fromLatin1(ZSTD_getErrorName(result))));
        }
        codec.zstdHint = result;
        if (out.pos > 0 && !deliver(codec.out.data(), qsizetype(out.pos), sink))
            return false;
        // Several frames may follow each other (RFC 8878); the decoder moves on by itself.
        if (in.pos == in.size && out.pos < out.size)
            return true;
    }
}

bool ContentDecoder::fail(const QString &error)
{
    if (m_error.isEmpty())
        m_error = error;
    return false;
}

} // namespace tollgate
