#include "Compressors.h"
#include "usage/ContentDecoder.h"

#include <QRandomGenerator>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {

// About 200 KB of SSE with some incompressible text, so that output spans many pieces.
QByteArray sampleBody()
{
    QRandomGenerator random(42);
    QByteArray body;
    for (int i = 0; i < 1500; ++i) {
        QByteArray text(40, Qt::Uninitialized);
        for (char &c : text)
            c = char('a' + random.bounded(26));
        body += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                "\"delta\":{\"type\":\"text_delta\",\"text\":\""
            + text + "\"}}\n\n";
    }
    return body;
}

struct Decoded
{
    QByteArray output;
    qsizetype largestPiece = 0;
    bool isFed = true;
};

Decoded decodeInPieces(ContentDecoder &decoder, const QByteArray &input, qsizetype piece)
{
    Decoded decoded;
    const ContentDecoder::Sink sink = [&decoded](const char *data, qsizetype size) {
        decoded.output.append(data, size);
        decoded.largestPiece = std::max(decoded.largestPiece, size);
    };
    for (qsizetype at = 0; at < input.size() && decoded.isFed; at += piece)
        decoded.isFed =
            decoder.feed(input.constData() + at, std::min(piece, input.size() - at), sink);
    return decoded;
}

} // namespace

class tst_ContentDecoder final : public QObject
{
    Q_OBJECT

private slots:
    void roundTripsInSmallPieces_data();
    void roundTripsInSmallPieces();
    void treatsIdentityListsAsIdentity_data();
    void treatsIdentityListsAsIdentity();
    void decodesCodingListedWithIdentity();
    void refusesUnknownCoding();
    void refusesTwoRealCodings();
    void reportsCorruptInput_data();
    void reportsCorruptInput();
    void reportsTruncatedInput_data();
    void reportsTruncatedInput();
    void decodesConcatenatedGzipMembers();
    void ignoresBytesAfterGzipStream();
    void stopsDecompressionBombAtCap_data();
    void stopsDecompressionBombAtCap();
    void acceptsBodyEndingExactlyAtCap();
    void acceptsEmptyEncodedBody();
};

void tst_ContentDecoder::roundTripsInSmallPieces_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<QByteArray>("encoder");
    QTest::addColumn<qsizetype>("piece");
    QTest::addColumn<ContentDecoder::Coding>("coding");
    const struct
    {
        const char *header;
        const char *encoder;
        ContentDecoder::Coding coding;
    } codings[] = {
        {"gzip", "gzip", ContentDecoder::Coding::Gzip},
        {"x-gzip", "gzip", ContentDecoder::Coding::Gzip},
        {"deflate", "deflate", ContentDecoder::Coding::Deflate},
        {"deflate", "raw-deflate", ContentDecoder::Coding::Deflate},
        {"br", "br", ContentDecoder::Coding::Brotli},
        {"zstd", "zstd", ContentDecoder::Coding::Zstd},
        {"identity", "identity", ContentDecoder::Coding::Identity},
    };
    for (const auto &c : codings) {
        for (qsizetype piece : {1, 7, 1500, 1 << 20}) {
            QTest::addRow("%s by %s in %lld", c.header, c.encoder, qlonglong(piece))
                << QByteArray(c.header) << QByteArray(c.encoder) << piece << c.coding;
        }
    }
}

void tst_ContentDecoder::roundTripsInSmallPieces()
{
    QFETCH(QByteArray, header);
    QFETCH(QByteArray, encoder);
    QFETCH(qsizetype, piece);
    QFETCH(ContentDecoder::Coding, coding);
    const QByteArray body = sampleBody();
    const QByteArray encoded = Compressors::byCoding(encoder, body);
    QVERIFY(!encoded.isEmpty());
    if (encoder != "identity")
        QVERIFY(encoded.size() < body.size());

    ContentDecoder decoder;
    QVERIFY(decoder.begin(header));
    QCOMPARE(decoder.coding(), coding);
    const Decoded decoded = decodeInPieces(decoder, encoded, piece);
    QVERIFY2(decoded.isFed, qPrintable(decoder.errorString()));
    QVERIFY2(decoder.finish(), qPrintable(decoder.errorString()));
    QCOMPARE(decoded.output.size(), body.size());
    QCOMPARE(decoded.output, body);
    QCOMPARE(decoder.outputBytes(), body.size());
    QVERIFY(!decoder.hasError());
    QVERIFY(!decoder.isOutputCapped());
    if (coding != ContentDecoder::Coding::Identity)
        QVERIFY(decoded.largestPiece <= ContentDecoder::kPieceBytes);
}

void tst_ContentDecoder::treatsIdentityListsAsIdentity_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::newRow("absent") << QByteArray();
    QTest::newRow("identity") << QByteArray("identity");
    QTest::newRow("upper case") << QByteArray(" Identity ");
    QTest::newRow("list") << QByteArray("identity, identity,");
}

void tst_ContentDecoder::treatsIdentityListsAsIdentity()
{
    QFETCH(QByteArray, header);
    QVERIFY(ContentDecoder::isIdentity(header));
    ContentDecoder decoder;
    QVERIFY(decoder.begin(header));
    QCOMPARE(decoder.coding(), ContentDecoder::Coding::Identity);
    const Decoded decoded = decodeInPieces(decoder, "plain", 2);
    QCOMPARE(decoded.output, QByteArray("plain"));
    QVERIFY(decoder.finish());
}

void tst_ContentDecoder::decodesCodingListedWithIdentity()
{
    QVERIFY(!ContentDecoder::isIdentity("gzip, identity"));
    ContentDecoder decoder;
    QVERIFY(decoder.begin("identity, GZIP , identity"));
    QCOMPARE(decoder.coding(), ContentDecoder::Coding::Gzip);
    const Decoded decoded = decodeInPieces(decoder, Compressors::gzip("hello"), 3);
    QCOMPARE(decoded.output, QByteArray("hello"));
    QVERIFY(decoder.finish());
}

void tst_ContentDecoder::refusesUnknownCoding()
{
    ContentDecoder decoder;
    QVERIFY(!decoder.begin("compress"));
    QVERIFY(decoder.hasError());
    QCOMPARE(decoder.errorString(), QStringLiteral("unsupported content coding: compress"));
    QVERIFY(!decodeInPieces(decoder, "abc", 1).isFed);
    QVERIFY(!decoder.finish());
}

void tst_ContentDecoder::refusesTwoRealCodings()
{
    ContentDecoder decoder;
    QVERIFY(!decoder.begin("gzip, br"));
    QCOMPARE(decoder.errorString(),
             QStringLiteral("content codings applied in sequence are not supported: gzip, br"));
}

void tst_ContentDecoder::reportsCorruptInput_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("errorPrefix");
    const QByteArray body = sampleBody();
    QByteArray gzip = Compressors::gzip(body);
    gzip[gzip.size() / 2] = char(gzip[gzip.size() / 2] ^ 0x55);
    QByteArray badHeader = Compressors::gzip(body);
    badHeader[0] = 'x';
    QByteArray deflate = Compressors::zlib(body, 15);
    deflate[deflate.size() / 3] = char(deflate[deflate.size() / 3] ^ 0xFF);
    QByteArray brotli = Compressors::brotli(body);
    brotli[brotli.size() / 2] = char(brotli[brotli.size() / 2] ^ 0x55);
    QByteArray zstd = Compressors::zstd(body);
    zstd[1] = char(zstd[1] ^ 0x55); // the frame's magic number
    QTest::newRow("gzip body") << QByteArray("gzip") << gzip << QStringLiteral("gzip: corrupt");
    QTest::newRow("gzip header") << QByteArray("gzip") << badHeader
                                 << QStringLiteral("gzip: corrupt data (incorrect header check)");
    QTest::newRow("deflate") << QByteArray("deflate") << deflate
                             << QStringLiteral("deflate: corrupt");
    QTest::newRow("br") << QByteArray("br") << brotli << QStringLiteral("br: corrupt data");
    QTest::newRow("zstd") << QByteArray("zstd") << zstd
                          << QStringLiteral("zstd: corrupt data (Unknown frame descriptor)");
    QTest::newRow("plain text as gzip")
        << QByteArray("gzip") << QByteArray("{\"type\":\"message\"}") << QStringLiteral("gzip");
}

void tst_ContentDecoder::reportsCorruptInput()
{
    QFETCH(QByteArray, header);
    QFETCH(QByteArray, input);
    QFETCH(QString, errorPrefix);
    for (qsizetype piece : {qsizetype(5), input.size()}) {
        ContentDecoder decoder;
        QVERIFY(decoder.begin(header));
        const Decoded decoded = decodeInPieces(decoder, input, piece);
        QVERIFY(!decoded.isFed);
        QVERIFY(decoder.hasError());
        QVERIFY2(decoder.errorString().startsWith(errorPrefix), qPrintable(decoder.errorString()));
        QVERIFY(!decoder.finish());
        // Later input is ignored, and the first error stays.
        const QString error = decoder.errorString();
        QVERIFY(!decoder.feed("more", 4, {}));
        QCOMPARE(decoder.errorString(), error);
    }
}

void tst_ContentDecoder::reportsTruncatedInput_data()
{
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<QByteArray>("encoder");
    QTest::newRow("gzip") << QByteArray("gzip") << QByteArray("gzip");
    QTest::newRow("deflate") << QByteArray("deflate") << QByteArray("deflate");
    QTest::newRow("raw deflate") << QByteArray("deflate") << QByteArray("raw-deflate");
    QTest::newRow("br") << QByteArray("br") << QByteArray("br");
    QTest::newRow("zstd") << QByteArray("zstd") << QByteArray("zstd");
}

void tst_ContentDecoder::reportsTruncatedInput()
{
    QFETCH(QByteArray, header);
    QFETCH(QByteArray, encoder);
    const QByteArray body = sampleBody();
    const QByteArray encoded = Compressors::byCoding(encoder, body);
    for (qsizetype keep : {qsizetype(1), encoded.size() / 2, encoded.size() - 1}) {
        ContentDecoder decoder;
        QVERIFY(decoder.begin(header));
        const Decoded decoded = decodeInPieces(decoder, encoded.left(keep), 1000);
        QVERIFY2(decoded.isFed, qPrintable(decoder.errorString()));
        // A cut inside the trailer (gzip's CRC and size, zlib's Adler-32) loses no output.
        QVERIFY(decoded.output.size() <= body.size());
        QVERIFY(body.startsWith(decoded.output));
        QVERIFY(!decoder.finish());
        QCOMPARE(decoder.errorString(),
                 QString::fromLatin1(header) + QStringLiteral(": the encoded body ended early"));
    }
}

void tst_ContentDecoder::decodesConcatenatedGzipMembers()
{
    const QByteArray encoded =
        Compressors::gzip("first member, ") + Compressors::gzip("second member");
    for (qsizetype piece : {qsizetype(1), encoded.size()}) {
        ContentDecoder decoder;
        QVERIFY(decoder.begin("gzip"));
        const Decoded decoded = decodeInPieces(decoder, encoded, piece);
        QVERIFY(decoded.isFed);
        QCOMPARE(decoded.output, QByteArray("first member, second member"));
        QVERIFY(decoder.finish());
    }
    // A second member cut short is a truncated body.
    ContentDecoder decoder;
    QVERIFY(decoder.begin("gzip"));
    decodeInPieces(decoder, encoded.left(encoded.size() - 3), 4);
    QVERIFY(!decoder.finish());
}

void tst_ContentDecoder::ignoresBytesAfterGzipStream()
{
    const QByteArray encoded = Compressors::gzip("payload") + QByteArray("\0\0garbage", 9);
    for (qsizetype piece : {qsizetype(1), encoded.size()}) {
        ContentDecoder decoder;
        QVERIFY(decoder.begin("gzip"));
        const Decoded decoded = decodeInPieces(decoder, encoded, piece);
        QVERIFY(decoded.isFed);
        QCOMPARE(decoded.output, QByteArray("payload"));
        QVERIFY(decoder.finish());
    }
}

void tst_ContentDecoder::stopsDecompressionBombAtCap_data()
{
    QTest::addColumn<QByteArray>("coding");
    QTest::newRow("gzip") << QByteArray("gzip");
    QTest::newRow("deflate") << QByteArray("deflate");
    QTest::newRow("br") << QByteArray("br");
    QTest::newRow("zstd") << QByteArray("zstd");
    QTest::newRow("identity") << QByteArray("identity");
}

void tst_ContentDecoder::stopsDecompressionBombAtCap()
{
    QFETCH(QByteArray, coding);
    constexpr qint64 kCap = 1024 * 1024;
    const QByteArray zeros(32 * 1024 * 1024, '\0');
    const QByteArray bomb = Compressors::byCoding(coding, zeros);
    QVERIFY(!bomb.isEmpty());
    if (coding != "identity")
        QVERIFY(bomb.size() < 512 * 1024);

    ContentDecoder decoder;
    QVERIFY(decoder.begin(coding, kCap));
    const Decoded decoded = decodeInPieces(decoder, bomb, 64 * 1024);
    QVERIFY(!decoded.isFed);
    QVERIFY(decoder.isOutputCapped());
    QVERIFY(!decoder.hasError());
    QCOMPARE(decoded.output.size(), kCap);
    QCOMPARE(decoder.outputBytes(), kCap);
    QVERIFY(!decoder.feed(bomb.constData(), 16, {}));
    QVERIFY(decoder.finish());
}

void tst_ContentDecoder::acceptsBodyEndingExactlyAtCap()
{
    ContentDecoder decoder;
    QVERIFY(decoder.begin("gzip", 5));
    const Decoded decoded = decodeInPieces(decoder, Compressors::gzip("12345"), 2);
    QVERIFY(decoded.isFed);
    QCOMPARE(decoded.output, QByteArray("12345"));
    QVERIFY(!decoder.isOutputCapped());
    QVERIFY(decoder.finish());
}

void tst_ContentDecoder::acceptsEmptyEncodedBody()
{
    // A 204 or a HEAD answer may carry Content-Encoding with no body at all.
    ContentDecoder decoder;
    QVERIFY(decoder.begin("br"));
    QVERIFY(decoder.finish());
    QVERIFY(!decoder.hasError());
}

QTEST_GUILESS_MAIN(tst_ContentDecoder)
#include "tst_ContentDecoder.moc"
