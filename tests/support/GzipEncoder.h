#pragma once

#include <QByteArray>
#include <memory>

struct z_stream_s;

namespace tollgate::test {

// Incremental gzip (RFC 1952) compressor over zlib: one gzip member, fed piece by piece.
// flush() output decodes up to its end (Z_SYNC_FLUSH), so a stream can be sent as it grows.
class GzipEncoder
{
public:
    GzipEncoder();
    ~GzipEncoder();
    GzipEncoder(const GzipEncoder &) = delete;
    GzipEncoder &operator=(const GzipEncoder &) = delete;

    QByteArray flush(const QByteArray &data); // compress data, then Z_SYNC_FLUSH
    QByteArray finish(const QByteArray &data = {}); // compress data and end the member

    static QByteArray compress(const QByteArray &data); // one whole gzip member

private:
    QByteArray run(const QByteArray &data, int mode);

    std::unique_ptr<z_stream_s> m_stream;
    bool m_finished = false;
};

} // namespace tollgate::test
