#include "http/HttpParser.h"

#include <QTest>
#include <cstring>

using namespace tollgate;

class tst_HttpParser final : public QObject
{
    Q_OBJECT

private slots:
    void parsesRequestSplitAtEveryByte_data();
    void parsesRequestSplitAtEveryByte();
    void keepsHeaderNamesAndValuesAsSent();
    void stopsAfterEachPipelinedRequest();
    void decodesChunkedBody();
    void refusesBodyOverLimitFromContentLength();
    void refusesChunkedBodyOverLimit();
    void reportsMalformedRequests_data();
    void reportsMalformedRequests();
    void refusesContentLengthWithChunked();
    void skipsInterimResponses();
    void completesCloseDelimitedResponseAtEof();
    void reportsUpgradeRequests();
    void givesGrowingBodiesTheSameBlock();
};

void tst_HttpParser::parsesRequestSplitAtEveryByte_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("content-length") << QByteArray("POST /v1/messages?beta=true HTTP/1.1\r\n"
                                                  "Host: x\r\nContent-Length: 5\r\n\r\nhello")
                                    << QByteArray("hello");
    QTest::newRow("chunked") << QByteArray("POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\n"
                                           "Transfer-Encoding: chunked\r\n\r\n"
                                           "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n")
                             << QByteArray("hello");
}

void tst_HttpParser::parsesRequestSplitAtEveryByte()
{
    QFETCH(QByteArray, raw);
    QFETCH(QByteArray, body);
    for (qsizetype split = 1; split < raw.size(); ++split) {
        HttpParser parser(HttpParser::Kind::Request);
        QCOMPARE(parser.feed(raw.constData(), split), split);
        QVERIFY(!parser.isMessageComplete());
        parser.feed(raw.constData() + split, raw.size() - split);
        QVERIFY2(parser.isMessageComplete(), qPrintable(QString::number(split)));
        QCOMPARE(parser.method(), QByteArray("POST"));
        QCOMPARE(parser.target(), QByteArray("/v1/messages?beta=true"));
        QCOMPARE(parser.takeBody(), body);
    }
}

void tst_HttpParser::keepsHeaderNamesAndValuesAsSent()
{
    const QByteArray raw = "GET /v1/models HTTP/1.1\r\nHost: a\r\nAnthropic-Beta:  x,y \r\n"
                           "x-stainless-OS: Linux\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n";
    HttpParser parser(HttpParser::Kind::Request);
    parser.feed(raw.constData(), raw.size());
    QVERIFY(parser.isMessageComplete());
    const auto &fields = parser.headers().fields();
    QCOMPARE(fields.size(), 5);
    QCOMPARE(fields[1].name, QByteArray("Anthropic-Beta"));
    // Leading whitespace is syntax; the value itself, trailing bytes included, is kept.
    QCOMPARE(fields[1].value, QByteArray("x,y "));
    QCOMPARE(fields[2].name, QByteArray("x-stainless-OS"));
    QCOMPARE(fields[4].value, QByteArray("2"));
    QCOMPARE(parser.headers().value("anthropic-beta").trimmed(), QByteArray("x,y"));
    // One byte of optional whitespace is not counted.
    QCOMPARE(parser.headBytes(), raw.size() - 1);
}

void tst_HttpParser::stopsAfterEachPipelinedRequest()
{
    const QByteArray one = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    const QByteArray two = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
    const QByteArray both = one + two;
    HttpParser parser(HttpParser::Kind::Request);
    const qsizetype first = parser.feed(both.constData(), both.size());
    QCOMPARE(first, one.size());
    QVERIFY(parser.isMessageComplete());
    QCOMPARE(parser.target(), QByteArray("/a"));
    parser.resume();
    const qsizetype second = parser.feed(both.constData() + first, both.size() - first);
    QCOMPARE(second, two.size());
    QVERIFY(parser.isMessageComplete());
    QCOMPARE(parser.target(), QByteArray("/b"));
    QCOMPARE(parser.takeBody(), QByteArray("hi"));
}

void tst_HttpParser::decodesChunkedBody()
{
    const QByteArray raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "6\r\nevent:\r\n1\r\n \r\n0\r\n\r\n";
    HttpParser parser(HttpParser::Kind::Response);
    parser.feed(raw.constData(), raw.size());
    QVERIFY(parser.isHeadComplete());
    QVERIFY(parser.isChunked());
    QVERIFY(parser.isMessageComplete());
    QCOMPARE(parser.takeBody(), QByteArray("event: "));
    QCOMPARE(parser.status(), 200);
    QCOMPARE(parser.reason(), QByteArray("OK"));
}

void tst_HttpParser::refusesBodyOverLimitFromContentLength()
{
    const QByteArray raw = "POST /v1/messages HTTP/1.1\r\nContent-Length: 2000\r\n\r\n";
    HttpParser parser(HttpParser::Kind::Request);
    parser.setMaxBodyBytes(1000);
    parser.feed(raw.constData(), raw.size());
    QVERIFY(parser.hasError());
    QVERIFY(parser.isBodyOverflow());
}

void tst_HttpParser::refusesChunkedBodyOverLimit()
{
    QByteArray raw = "POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    raw += "400\r\n" + QByteArray(1024, 'a') + "\r\n";
    HttpParser parser(HttpParser::Kind::Request);
    parser.setMaxBodyBytes(1000);
    parser.feed(raw.constData(), raw.size());
    QVERIFY(parser.hasError());
    QVERIFY(parser.isBodyOverflow());
}

void tst_HttpParser::reportsMalformedRequests_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::newRow("garbage") << QByteArray("\x01\x02\x03 nonsense\r\n\r\n");
    QTest::newRow("bad version") << QByteArray("GET / HTTP/9\r\n\r\n");
    QTest::newRow("bad header") << QByteArray("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    QTest::newRow("bad content-length")
        << QByteArray("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n");
    QTest::newRow("bad chunk size")
        << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    QTest::newRow("two content-lengths")
        << QByteArray("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
    // http-parser takes CR and any byte for the CRLF that ends the head (found by fuzzing).
    QTest::newRow("bare CR ending the head") << QByteArray("GET / HTTP/1.1\r\nHost: a\r\n\rX");
    QTest::newRow("bare CR in a header line")
        << QByteArray("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n");
}

void tst_HttpParser::reportsMalformedRequests()
{
    QFETCH(QByteArray, raw);
    HttpParser parser(HttpParser::Kind::Request);
    parser.feed(raw.constData(), raw.size());
    QVERIFY(parser.hasError());
    QVERIFY(!parser.errorString().isEmpty());
    QVERIFY(!parser.isMessageComplete());
}

void tst_HttpParser::refusesContentLengthWithChunked()
{
    // Both framings at once is the classic request-smuggling shape.
    const QByteArray raw =
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n";
    HttpParser parser(HttpParser::Kind::Request);
    parser.feed(raw.constData(), raw.size());
    QVERIFY(parser.hasError());
}

void tst_HttpParser::skipsInterimResponses()
{
    const QByteArray raw =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    HttpParser parser(HttpParser::Kind::Response);
    parser.feed(raw.constData(), raw.size());
    QVERIFY(parser.isMessageComplete());
    QCOMPARE(parser.status(), 201);
    QCOMPARE(parser.takeBody(), QByteArray("ok"));
}

void tst_HttpParser::completesCloseDelimitedResponseAtEof()
{
    const QByteArray raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial";
    HttpParser parser(HttpParser::Kind::Response);
    parser.feed(raw.constData(), raw.size());
    QVERIFY(parser.isHeadComplete());
    QVERIFY(!parser.isMessageComplete());
    QCOMPARE(parser.takeBody(), QByteArray("partial"));
    parser.feedEof();
    QVERIFY(parser.isMessageComplete());
    QVERIFY(!parser.shouldKeepAlive());
}

void tst_HttpParser::reportsUpgradeRequests()
{
    const QByteArray raw =
        "GET /v1/x HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    HttpParser parser(HttpParser::Kind::Request);
    parser.feed(raw.constData(), raw.size());
    QVERIFY(parser.isUpgrade());
}

void tst_HttpParser::givesGrowingBodiesTheSameBlock()
{
    // Two turns of one conversation, the second a few KiB longer, read in place: both get a
    // buffer of the same size, so the second fits where the first was freed.
    const auto capacityFor = [](qsizetype bodyBytes) {
        HttpParser parser(HttpParser::Kind::Request);
        const QByteArray head = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: "
            + QByteArray::number(bodyBytes) + "\r\n\r\n";
        parser.feed(head.constData(), head.size());
        parser.reserveBody();
        char *tail = parser.bodyTail(64 * 1024);
        std::memset(tail, ' ', 64 * 1024);
        parser.feed(tail, 64 * 1024);
        return parser.takeBody().capacity();
    };
    const qsizetype turn = capacityFor(1'100'000);
    QCOMPARE(capacityFor(1'103'500), turn);
    QCOMPARE(capacityFor(1'150'000), turn);
    QVERIFY(turn >= 1'100'000 + HttpParser::kBodyPadding && turn <= 1'100'000 + 256 * 1024);
    // Small bodies take what they need.
    QVERIFY(capacityFor(70'000) < 72'000);
}

QTEST_APPLESS_MAIN(tst_HttpParser)
#include "tst_HttpParser.moc"
