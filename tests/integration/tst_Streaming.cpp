// Streams flow through as they arrive: no buffering of SSE or JSONL, compression passed
// through untouched, and many concurrent streams on one HTTP/1.1 upstream.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QTcpSocket>
#include <QTest>
#include <algorithm>
#include <memory>
#include <vector>

using namespace tollgate;
using namespace tollgate::test;

namespace {
TestClient::Headers auth()
{
    return {{"x-api-key", GatewayHarness::virtualKey()}, {"anthropic-version", "2023-06-01"}};
}
} // namespace

class tst_Streaming final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void forwardsEachEventTheMomentItArrives();
    void forwardsPingAndUnknownEventsUnchanged();
    void streamsBatchResultsWithoutBuffering();
    void passesGzipThroughUntouched_data();
    void passesGzipThroughUntouched();
    void runsFiveHundredConcurrentStreams();
    void deliversLargeBodyToSlowReaderCompletely();

private:
    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_Streaming::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
}

void tst_Streaming::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

void tst_Streaming::forwardsEachEventTheMomentItArrives()
{
    // Five deltas 80 ms apart: each must reach the client in its own read, spaced like
    // the upstream sent them, not bunched at the end.
    const int gapMs = 80;
    m_mock->enqueue(MockUpstream::messageStream("claude-opus-4-8", 5, gapMs));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages?beta=true", auth(), "{\"stream\":true}");
    QVERIFY(client.waitForResponses(1, 10000));
    const TestClient::Response &r = client.responses().first();
    QCOMPARE(r.status, 200);
    QVERIFY(r.chunked);
    QVERIFY(r.complete);
    QCOMPARE(r.header("content-type"), QByteArray("text/event-stream"));
    QVERIFY(r.bodyReads.size() >= 8);
    // The head came before the first event, and the reads are spread over the stream.
    const qint64 span = r.bodyReads.last().atUs - r.bodyReads.first().atUs;
    QVERIFY2(span >= qint64(gapMs) * 8 * 1000 * 9 / 10, qPrintable(QString::number(span)));
    int spacedReads = 0;
    for (int i = 1; i < r.bodyReads.size(); ++i) {
        if (r.bodyReads.at(i).atUs - r.bodyReads.at(i - 1).atUs >= gapMs * 1000 / 2)
            ++spacedReads;
    }
    QVERIFY2(spacedReads >= 7, qPrintable(QString::number(spacedReads)));
    QVERIFY(r.body.endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
}

void tst_Streaming::forwardsPingAndUnknownEventsUnchanged()
{
    MockResponse response;
    response.events = {{"message_start", "{\"type\":\"message_start\",\"message\":{}}", 0},
                       {"ping", "{\"type\":\"ping\"}", 5},
                       {"", ": a comment line has no event name", 5},
                       {"future_event", "{\"type\":\"future_event\",\"x\":\"é\"}", 5},
                       {"error",
                        "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                        "\"message\":\"Overloaded\"}}",
                        5}};
    m_mock->enqueue(response);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", auth(), "{\"stream\":true}");
    QVERIFY(client.waitForResponses(1));
    QByteArray expected;
    for (const MockEvent &e : response.events) {
        if (!e.name.isEmpty())
            expected += "event: " + e.name + "\n";
        expected += "data: " + e.data + "\n\n";
    }
    QCOMPARE(client.responses().first().body, expected);
}

void tst_Streaming::streamsBatchResultsWithoutBuffering()
{
    // JSONL results in a close-delimited body of several pieces, the last one late.
    MockResponse response;
    response.headers = {{"content-type", "application/binary"}};
    response.events = {{"", "{\"custom_id\":\"a\",\"result\":{\"type\":\"succeeded\"}}", 0},
                       {"", "{\"custom_id\":\"b\",\"result\":{\"type\":\"succeeded\"}}", 300}};
    m_mock->enqueue(response);
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("GET", "/v1/messages/batches/msgbatch_01/results", auth());
    // The first line arrives long before the stream ends.
    QVERIFY(client.waitUntil(
        [&] {
            const TestClient::Response *p = client.partialResponse();
            return p && p->body.contains("\"custom_id\":\"a\"");
        },
        250));
    QVERIFY(client.responses().isEmpty());
    QVERIFY(client.waitForResponses(1));
    QVERIFY(client.responses().first().body.contains("\"custom_id\":\"b\""));
}

void tst_Streaming::passesGzipThroughUntouched_data()
{
    QTest::addColumn<bool>("isStream");
    QTest::addColumn<bool>("isGzip");
    QTest::newRow("plain json") << false << false;
    QTest::newRow("gzip json") << false << true;
    QTest::newRow("plain sse") << true << false;
    QTest::newRow("gzip sse") << true << true;
}

void tst_Streaming::passesGzipThroughUntouched()
{
    QFETCH(bool, isStream);
    QFETCH(bool, isGzip);
    MockResponse response = isStream ? MockUpstream::messageStream("claude-opus-4-8", 4, 10)
                                     : MockUpstream::messageJson();
    response.gzip = isGzip;
    m_mock->enqueue(response);
    TestClient client;
    client.connectTo(m_gateway->port());
    TestClient::Headers headers = auth();
    headers.append(qMakePair(QByteArray("accept-encoding"), QByteArray("gzip, deflate, br, zstd")));
    client.send("POST", "/v1/messages", headers, isStream ? "{\"stream\":true}" : "{}");
    QVERIFY(client.waitForResponses(1));
    const TestClient::Response &r = client.responses().first();
    // The client's accept-encoding reached the upstream unchanged.
    QCOMPARE(m_mock->requests().first().header("accept-encoding"),
             QByteArray("gzip, deflate, br, zstd"));
    QCOMPARE(r.header("content-encoding"), isGzip ? QByteArray("gzip") : QByteArray());
    bool ok = true;
    const QByteArray decoded = isGzip ? TestClient::gunzip(r.body, &ok) : r.body;
    QVERIFY(ok);
    QVERIFY(decoded.contains(isStream ? "event: message_stop" : "\"type\":\"message\""));
}

void tst_Streaming::runsFiveHundredConcurrentStreams()
{
    // Qt 6.4's QNetworkAccessManager would run 6 of these and queue the rest.
    const int streams = 500;
    // Each stream lasts 4 s, so that all of them overlap even when a loaded machine takes
    // seconds to open 500 connections.
    m_mock->setHandler(
        [](const MockRequest &) { return MockUpstream::messageStream("claude-opus-4-8", 8, 500); });
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < streams; ++i) {
        clients.push_back(std::make_unique<TestClient>());
        clients.back()->connectTo(m_gateway->port());
        clients.back()->send("POST", "/v1/messages", auth(), "{\"stream\":true}");
    }
    // All streams are open upstream at the same time.
    int mostOpen = 0;
    QVERIFY2(QTest::qWaitFor(
                 [&] {
                     mostOpen = std::max(mostOpen, m_mock->openConnections());
                     return mostOpen >= streams;
                 },
                 15000),
             qPrintable(QStringLiteral("at most %1 of %2 streams were open upstream at once")
                            .arg(mostOpen)
                            .arg(streams)));
    QVERIFY(QTest::qWaitFor(
        [&] {
            for (const auto &c : clients) {
                if (c->responses().isEmpty())
                    return false;
            }
            return true;
        },
        30000));
    for (const auto &c : clients) {
        QCOMPARE(c->responses().first().status, 200);
        QVERIFY(c->responses().first().complete);
        QVERIFY(c->responses().first().body.contains("message_stop"));
    }
    QVERIFY(m_gateway->waitForRecords(streams, 10000));
}

void tst_Streaming::deliversLargeBodyToSlowReaderCompletely()
{
    // 8 MiB of results to a client that first reads nothing: upstream reads pause and
    // resume with the client, and every byte still arrives in order.
    MockResponse response;
    response.headers = {{"content-type", "application/binary"}};
    response.body = QByteArray(8 * 1024 * 1024, 'x');
    response.chunked = true;
    response.chunkSize = 64 * 1024;
    m_mock->enqueue(response);
    QTcpSocket reader;
    reader.setReadBufferSize(1); // take almost nothing from the kernel
    reader.connectToHost(QHostAddress::LocalHost, m_gateway->port());
    QVERIFY(reader.waitForConnected(2000));
    reader.write(TestClient::request("GET", "/v1/messages/batches/b/results", auth()));
    QVERIFY(QTest::qWaitFor([&] { return m_mock->requests().size() == 1; }, 2000));
    QTest::qWait(500);
    // Now read everything: it all arrives, and the stream completes.
    reader.setReadBufferSize(0);
    QByteArray all;
    QVERIFY(QTest::qWaitFor(
        [&] {
            all += reader.readAll();
            return all.endsWith("0\r\n\r\n") && all.size() > 8 * 1024 * 1024;
        },
        15000));
    const QByteArray body = all.mid(all.indexOf("\r\n\r\n") + 4);
    QCOMPARE(body.count('x'), qsizetype(8 * 1024 * 1024));
}

QTEST_GUILESS_MAIN(tst_Streaming)
#include "tst_Streaming.moc"
