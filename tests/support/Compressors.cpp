#include "Compressors.h"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

namespace tollgate::test {

QByteArray Compressors::zlib(const QByteArray &input, int windowBits)
{
    z_stream zs {};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
        return {};
    QByteArray out(qsizetype(deflateBound(&zs, uLong(input.size()))) + 64, Qt::Uninitialized);
    zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(input.constData()));
    zs.avail_in = uInt(input.size());
    zs.next_out = reinterpret_cast<Bytef *>(out.data());
    zs.avail_out = uInt(out.size());
    const int result = deflate(&zs, Z_FINISH);
    out.resize(qsizetype(zs.total_out));
    deflateEnd(&zs);
    return result == Z_STREAM_END ? out : QByteArray();
}

QByteArray Compressors::brotli(const QByteArray &input)
{
    size_t size = BrotliEncoderMaxCompressedSize(size_t(input.size()));
    QByteArray out(qsizetype(size), Qt::Uninitialized);
    if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, size_t(input.size()),
                               reinterpret_cast<const uint8_t *>(input.constData()), &size,
                               reinterpret_cast<uint8_t *>(out.data())))
        return {};
    out.resize(qsizetype(size));
    return out;
}

QByteArray Compressors::zstd(const QByteArray &input)
{
    QByteArray out(qsizetype(ZSTD_compressBound(size_t(input.size()))), Qt::Uninitialized);
    const size_t size =
        ZSTD_compress(out.data(), size_t(out.size()), input.constData(), size_t(input.size()), 3);
    if (ZSTD_isError(size))
        return {};
    out.resize(qsizetype(size));
    return out;
}

QByteArray Compressors::byCoding(const QByteArray &coding, const QByteArray &input)
{
    if (coding == "gzip" || coding == "x-gzip")
        return gzip(input);
    if (coding == "deflate")
        return zlib(input, 15);
    if (coding == "raw-deflate")
        return zlib(input, -15);
    if (coding == "br")
        return brotli(input);
    if (coding == "zstd")
        return zstd(input);
    return input;
}

} // namespace tollgate::test
