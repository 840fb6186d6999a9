#pragma once

#include <QByteArray>

namespace tollgate::test {

// Whole-body compressors for the Content-Encodings a vendor may answer with, to build the
// inputs of decoding tests. Each returns empty on failure.
struct Compressors
{
    // zlib's deflate with these window bits: 15 zlib-wrapped ("deflate"), -15 raw,
    // 16 + 15 gzip.
    static QByteArray zlib(const QByteArray &input, int windowBits);
    static QByteArray gzip(const QByteArray &input) { return zlib(input, 16 + 15); }
    static QByteArray brotli(const QByteArray &input);
    static QByteArray zstd(const QByteArray &input);
    // By HTTP coding name: gzip, x-gzip, deflate, br, zstd, and "raw-deflate" for a
    // deflate stream without its zlib wrapper; anything else returns the input.
    static QByteArray byCoding(const QByteArray &coding, const QByteArray &input);
};

} // namespace tollgate::test
