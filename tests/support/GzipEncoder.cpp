#include "GzipEncoder.h"

#include <zlib.h>

namespace tollgate::test {

GzipEncoder::GzipEncoder()
    : m_stream(std::make_unique<z_stream_s>())
{
    *m_stream = z_stream_s();
    // windowBits 15 + 16: gzip header and trailer instead of zlib's.
    const int rc = deflateInit2(m_stream.get(), Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                                Z_DEFAULT_STRATEGY);
    Q_ASSERT(rc == Z_OK);
    Q_UNUSED(rc);
}

GzipEncoder::~GzipEncoder()
{
    deflateEnd(m_stream.get());
}

QByteArray GzipEncoder::flush(const QByteArray &data)
{
    return run(data, Z_SYNC_FLUSH);
}

QByteArray GzipEncoder::finish(const QByteArray &data)
{
    return run(data, Z_FINISH);
}

QByteArray GzipEncoder::compress(const QByteArray &data)
{
    GzipEncoder encoder;
    return encoder.finish(data);
}

QByteArray GzipEncoder::run(const QByteArray &data, int mode)
{
    QByteArray out;
    if (m_finished)
        return out;
    z_stream_s *strm = m_stream.get();
    strm->next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.constData()));
    strm->avail_in = static_cast<uInt>(data.size());
    char buffer[16384];
    for (;;) {
        strm->next_out = reinterpret_cast<Bytef *>(buffer);
        strm->avail_out = sizeof buffer;
        const int rc = deflate(strm, mode);
        out.append(buffer, qsizetype(sizeof buffer - strm->avail_out));
        if (rc == Z_STREAM_END) {
            m_finished = true;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            break;
        // Z_SYNC_FLUSH is complete once deflate left room in the output buffer.
        if (mode != Z_FINISH && strm->avail_out != 0)
            break;
    }
    strm->next_in = nullptr;
    strm->avail_in = 0;
    return out;
}

} // namespace tollgate::test
