// Starting and stopping the gateway as the app and the tray toggle will.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

using namespace tollgate;
using namespace tollgate::test;

class tst_GatewayLifecycle final : public QObject
{
    Q_OBJECT

private slots:
    void reportsPortInUse();
    void refusesInvalidConfig_data();
    void refusesInvalidConfig();
    void stopClosesOpenStreamsAndRestartServesAgain();
    void deliversRecordsOnTheOwnersThread();
    void newSettingsKeepTheStreamsInFlight();
    void newPortListensBeforeTheOldOneCloses();
    void newSettingsThatCannotListenLeaveTheOldOnesRunning();
    void streamSlotsCarryOverToNewSettings();
    void settingsAppliedOverAndOverKeepServing();
    void settingsAppliedUnderLoadLoseNothing();
    void stopWhileNewSettingsTakeOverStopsOnce_data();
    void stopWhileNewSettingsTakeOverStopsOnce();
    void budgetUsedUpStaysUsedUpUnderNewSettings_data();
    void budgetUsedUpStaysUsedUpUnderNewSettings();
};

namespace {

QByteArray streamRequest()
{
    return R"({"model":"claude-opus-4-8","max_tokens":64,"stream":true,)"
           R"("messages":[{"role":"user","content":"hi"}]})";
}

// The status of a Messages request sent on a new connection; 0 when no answer came.
int statusOfPost(quint16 port, const QByteArray &body = "{}")
{
    TestClient client;
    client.connectTo(port);
    client.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), body);
    return client.waitForResponses(1) ? client.responses().first().status : 0;
}

quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

} // namespace

void tst_GatewayLifecycle::reportsPortInUse()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    GatewayConfig config = GatewayHarness::configFor("http://127.0.0.1:9");
    config.port = squatter.serverPort();
    Gateway gateway;
    QSignalSpy failed(&gateway, &Gateway::startFailed);
    gateway.start(config);
    QVERIFY(failed.wait(2000));
    QVERIFY(failed.first().first().toString().contains(QString::number(config.port)));
    QVERIFY(!gateway.isRunning());
    // The port is free again: the same Gateway starts.
    squatter.close();
    QSignalSpy started(&gateway, &Gateway::started);
    gateway.start(config);
    QVERIFY(started.wait(2000));
    QCOMPARE(started.first().first().value<quint16>(), config.port);
}

void tst_GatewayLifecycle::refusesInvalidConfig_data()
{
    QTest::addColumn<QString>("upstream");
    QTest::addColumn<QByteArray>("key");
    QTest::newRow("ftp upstream") << "ftp://example.com" << GatewayHarness::virtualKey();
    QTest::newRow("no host") << "http://" << GatewayHarness::virtualKey();
    QTest::newRow("query") << "https://api.anthropic.com/?x=1" << GatewayHarness::virtualKey();
    QTest::newRow("short key") << "https://api.anthropic.com" << QByteArray("tg-123");
}

void tst_GatewayLifecycle::refusesInvalidConfig()
{
    QFETCH(QString, upstream);
    QFETCH(QByteArray, key);
    GatewayConfig config = GatewayHarness::configFor(upstream.toLatin1());
    config.virtualKeys = {key};
    Gateway gateway;
    QSignalSpy failed(&gateway, &Gateway::startFailed);
    gateway.start(config);
    QCOMPARE(failed.count(), 1);
    QVERIFY(!failed.first().first().toString().isEmpty());
}

void tst_GatewayLifecycle::stopClosesOpenStreamsAndRestartServesAgain()
{
    MockUpstream mock;
    QVERIFY(mock.listen());
    mock.enqueue(MockUpstream::messageStream("claude-opus-4-8", 100, 50));
    GatewayHarness gateway;
    QVERIFY(gateway.start(GatewayHarness::configFor(mock.baseUrl())));
    const quint16 port = gateway.port();
    QSignalSpy upstreamGone(&mock, &MockUpstream::clientDisconnected);
    TestClient client;
    client.connectTo(port);
    client.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}},
                "{\"stream\":true}");
    QVERIFY(client.waitUntil([&] { return client.partialResponse() != nullptr; }));
    QVERIFY(gateway.stop());
    QVERIFY(client.waitForClose(2000));
    QVERIFY(upstreamGone.count() > 0 || upstreamGone.wait(2000));
    QVERIFY(gateway.waitForRecords(1));
    QCOMPARE(gateway.records().first().error, QStringLiteral("gateway stopped"));

    // Nothing listens while stopped.
    TestClient refused;
    refused.connectTo(port);
    QVERIFY(refused.waitForClose(2000));
    QVERIFY(!refused.closedByServer() || refused.responses().isEmpty());

    GatewayConfig config = GatewayHarness::configFor(mock.baseUrl());
    config.port = port;
    QVERIFY(gateway.start(config));
    TestClient again;
    again.connectTo(port);
    again.send("POST", "/v1/messages", {{"x-api-key", GatewayHarness::virtualKey()}}, "{}");
    QVERIFY(again.waitForResponses(1));
    QCOMPARE(again.responses().first().status, 200);
}

void tst_GatewayLifecycle::deliversRecordsOnTheOwnersThread()
{
    MockUpstream mock;
    QVERIFY(mock.listen());
    Gateway gateway;
    QThread *recordThread = nullptr;
    connect(&gateway, &Gateway::requestFinished, this,
            [&recordThread] { recordThread = QThread::currentThread(); });
    QSignalSpy started(&gateway, &Gateway::started);
    gateway.start(GatewayHarness::configFor(mock.baseUrl()));
    QVERIFY(started.wait(2000));
    TestClient client;
    client.connectTo(gateway.port());
    client.send("HEAD", "/");
    QVERIFY(client.waitForResponses(1));
    QTRY_VERIFY(recordThread != nullptr);
    QCOMPARE(recordThread, QThread::currentThread());
}

// Saving settings in the window while Claude Code streams: the stream runs to its end, the
// port never refuses a client, no connection is closed on its client (an idle keep-alive
// one, and the stream's once it ended, carry on under the new settings), and every request
// read from then on goes where the new settings say.
void tst_GatewayLifecycle::newSettingsKeepTheStreamsInFlight()
{
    MockUpstream before;
    QVERIFY(before.listen());
    MockUpstream after;
    QVERIFY(after.listen());
    before.enqueue(MockUpstream::messageStream("claude-opus-4-8", 30, 30)); // about 1 s
    GatewayHarness gateway;
    QVERIFY(gateway.start(GatewayHarness::configFor(before.baseUrl())));
    const quint16 port = gateway.port();

    TestClient streaming;
    streaming.connectTo(port);
    streaming.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), streamRequest());
    QVERIFY(streaming.waitUntil([&] { return streaming.partialResponse() != nullptr; }));
    TestClient idle;
    idle.connectTo(port);
    idle.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), "{}");
    QVERIFY(idle.waitForResponses(1));
    QCOMPARE(idle.responses().first().status, 200);
    QCOMPARE(before.requests().size(), 2);

    GatewayConfig config = GatewayHarness::configFor(after.baseUrl());
    config.port = port;
    QSignalSpy reconfigured(&gateway.gateway(), &Gateway::reconfigured);
    QSignalSpy failed(&gateway.gateway(), &Gateway::reconfigureFailed);
    gateway.gateway().reconfigure(config);
    // A client that connects while the socket changes hands.
    TestClient during;
    during.connectTo(port);
    during.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), "{}");
    QVERIFY(reconfigured.wait(3000));
    QCOMPARE(reconfigured.first().first().value<quint16>(), port);
    QCOMPARE(failed.count(), 0);
    QVERIFY(during.waitForResponses(1));
    QCOMPARE(during.responses().first().status, 200);
    QVERIFY(streaming.partialResponse() != nullptr); // still streaming
    // The idle keep-alive connection stays open, now served under the new settings.
    const qsizetype toAfter = after.requests().size();
    idle.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), "{}");
    QVERIFY(idle.waitForResponses(2));
    QCOMPARE(idle.responses().at(1).status, 200);
    QVERIFY(!idle.closedByServer());
    QCOMPARE(after.requests().size(), toAfter + 1);

    // The client during the change went to either; one after it, to the new upstream.
    QCOMPARE(before.requests().size() + after.requests().size(), 4);
    const qsizetype toNewUpstream = after.requests().size();
    QCOMPARE(statusOfPost(port), 200);
    QCOMPARE(after.requests().size(), toNewUpstream + 1);
    QCOMPARE(gateway.gateway().config().upstream, config.upstream);

    // Every event of the stream that began before the change; its connection then serves
    // the next request under the new settings, never closed on the client.
    QVERIFY(streaming.waitForResponses(1, 5000));
    const TestClient::Response stream = streaming.responses().first();
    QVERIFY(stream.complete);
    QCOMPARE(stream.status, 200);
    QCOMPARE(stream.body.count("event: content_block_delta"), 30);
    QVERIFY(stream.body.contains("event: message_stop"));
    QVERIFY(!stream.connectionClosed);
    streaming.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), "{}");
    QVERIFY(streaming.waitForResponses(2));
    QCOMPARE(streaming.responses().at(1).status, 200);
    QCOMPARE(after.requests().last().body, QByteArray("{}"));
    QVERIFY(!streaming.closedByServer());

    QVERIFY(gateway.waitForRecords(6));
    for (const RequestRecord &record : gateway.records()) {
        QCOMPARE(record.status, 200);
        QVERIFY2(record.error.isEmpty(), qPrintable(record.error));
    }
}

void tst_GatewayLifecycle::newPortListensBeforeTheOldOneCloses()
{
    MockUpstream mock;
    QVERIFY(mock.listen());
    mock.enqueue(MockUpstream::messageStream("claude-opus-4-8", 20, 25));
    GatewayHarness gateway;
    QVERIFY(gateway.start(GatewayHarness::configFor(mock.baseUrl())));
    const quint16 oldPort = gateway.port();
    TestClient streaming;
    streaming.connectTo(oldPort);
    streaming.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), streamRequest());
    QVERIFY(streaming.waitUntil([&] { return streaming.partialResponse() != nullptr; }));

    GatewayConfig config = GatewayHarness::configFor(mock.baseUrl());
    config.port = freePort();
    QVERIFY(config.port != 0);
    QSignalSpy reconfigured(&gateway.gateway(), &Gateway::reconfigured);
    gateway.gateway().reconfigure(config);
    QVERIFY(reconfigured.wait(3000));
    QCOMPARE(reconfigured.first().first().value<quint16>(), config.port);
    QCOMPARE(gateway.port(), config.port);

    QCOMPARE(statusOfPost(config.port), 200);
    // The old port no longer takes clients; its stream still ends whole.
    TestClient refused;
    refused.connectTo(oldPort);
    QVERIFY(refused.waitForClose(2000));
    QVERIFY(refused.responses().isEmpty());
    QVERIFY(streaming.waitForResponses(1, 5000));
    QVERIFY(streaming.responses().first().complete);
    QCOMPARE(streaming.responses().first().body.count("event: content_block_delta"), 20);
}

void tst_GatewayLifecycle::newSettingsThatCannotListenLeaveTheOldOnesRunning()
{
    MockUpstream before;
    QVERIFY(before.listen());
    MockUpstream after;
    QVERIFY(after.listen());
    GatewayHarness gateway;
    QVERIFY(gateway.start(GatewayHarness::configFor(before.baseUrl())));
    const quint16 port = gateway.port();
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));

    GatewayConfig config = GatewayHarness::configFor(after.baseUrl());
    config.port = squatter.serverPort();
    QSignalSpy failed(&gateway.gateway(), &Gateway::reconfigureFailed);
    QSignalSpy reconfigured(&gateway.gateway(), &Gateway::reconfigured);
    gateway.gateway().reconfigure(config);
    QVERIFY(failed.wait(3000));
    QVERIFY(failed.first().first().toString().contains(QString::number(config.port)));
    QCOMPARE(reconfigured.count(), 0);
    QVERIFY(gateway.gateway().isRunning());
    QCOMPARE(gateway.port(), port);
    QCOMPARE(gateway.gateway().config().upstream,
             GatewayHarness::configFor(before.baseUrl()).upstream);

    QCOMPARE(statusOfPost(port), 200);
    QCOMPARE(before.requests().size(), 1);
    QCOMPARE(after.requests().size(), 0);

    // Invalid settings never reach the proxy either.
    GatewayConfig invalid = GatewayHarness::configFor("ftp://example.com");
    gateway.gateway().reconfigure(invalid);
    QCOMPARE(failed.count(), 2);
    QVERIFY(gateway.stop());
}

// A virtual key allowed one stream at a time keeps that stream's slot across new settings:
// saving settings is no way around a limit.
void tst_GatewayLifecycle::streamSlotsCarryOverToNewSettings()
{
    MockUpstream mock;
    QVERIFY(mock.listen());
    mock.enqueue(MockUpstream::messageStream("claude-opus-4-8", 20, 25));
    GatewayConfig config = GatewayHarness::configFor(mock.baseUrl());
    config.maxConcurrentStreams = 1;
    GatewayHarness gateway;
    QVERIFY(gateway.start(config));
    TestClient first;
    first.connectTo(gateway.port());
    first.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), streamRequest());
    QVERIFY(first.waitUntil([&] { return first.partialResponse() != nullptr; }));

    config.port = gateway.port();
    config.keepAliveTimeoutMs += 1000; // any change
    QSignalSpy reconfigured(&gateway.gateway(), &Gateway::reconfigured);
    gateway.gateway().reconfigure(config);
    QVERIFY(reconfigured.wait(3000));
    QCOMPARE(statusOfPost(gateway.port(), streamRequest()), 429);

    QVERIFY(first.waitForResponses(1, 5000));
    QVERIFY(first.responses().first().complete);
    QCOMPARE(statusOfPost(gateway.port(), streamRequest()), 200);
}

// With nothing in flight the old server is done at once: the gateway stays up however often
// settings are saved, each time sending requests where the settings of the moment say.
void tst_GatewayLifecycle::settingsAppliedOverAndOverKeepServing()
{
    MockUpstream first;
    QVERIFY(first.listen());
    MockUpstream second;
    QVERIFY(second.listen());
    GatewayHarness gateway;
    QVERIFY(gateway.start(GatewayHarness::configFor(first.baseUrl())));
    const quint16 port = gateway.port();
    QSignalSpy stopped(&gateway.gateway(), &Gateway::stopped);
    for (int round = 1; round <= 8; ++round) {
        MockUpstream &target = round % 2 ? second : first;
        GatewayConfig config = GatewayHarness::configFor(target.baseUrl());
        config.port = port;
        QSignalSpy reconfigured(&gateway.gateway(), &Gateway::reconfigured);
        gateway.gateway().reconfigure(config);
        QVERIFY(reconfigured.wait(3000));
        const qsizetype before = target.requests().size();
        QVERIFY2(statusOfPost(port) == 200, qPrintable(QStringLiteral("round %1").arg(round)));
        QCOMPARE(target.requests().size(), before + 1);
        QVERIFY(gateway.gateway().isRunning());
    }
    // Saved twice before the first took effect: the later settings win.
    GatewayConfig toFirst = GatewayHarness::configFor(first.baseUrl());
    toFirst.port = port;
    GatewayConfig toSecond = GatewayHarness::configFor(second.baseUrl());
    toSecond.port = port;
    QSignalSpy reconfigured(&gateway.gateway(), &Gateway::reconfigured);
    QSignalSpy failed(&gateway.gateway(), &Gateway::reconfigureFailed);
    gateway.gateway().reconfigure(toFirst);
    gateway.gateway().reconfigure(toSecond);
    QTRY_COMPARE(reconfigured.count() + failed.count(), 2);
    QCOMPARE(failed.count(), 0);
    QCOMPARE(gateway.gateway().config().upstream, toSecond.upstream);
    QCOMPARE(statusOfPost(port), 200);
    QCOMPARE(second.requests().last().body, QByteArray("{}"));
    QCOMPARE(stopped.count(), 0);
    QVERIFY(gateway.gateway().isRunning());
}

// Ten saves while 40 streams run and a keep-alive client sends one request after another:
// every stream ends whole, every request is answered, no connection is closed on its
// client, and the request log has a row for each.
void tst_GatewayLifecycle::settingsAppliedUnderLoadLoseNothing()
{
    const MockUpstream::Handler answer = [](const MockRequest &request) {
        return request.body.contains("\"stream\":true")
            ? MockUpstream::messageStream("claude-opus-4-8", 20, 20)
            : MockUpstream::messageJson();
    };
    MockUpstream first;
    QVERIFY(first.listen());
    first.setHandler(answer);
    MockUpstream second;
    QVERIFY(second.listen());
    second.setHandler(answer);
    GatewayHarness gateway;
    QVERIFY(gateway.start(GatewayHarness::configFor(first.baseUrl())));
    const quint16 port = gateway.port();

    constexpr int kStreams = 40;
    std::vector<std::unique_ptr<TestClient>> streams;
    for (int i = 0; i < kStreams; ++i) {
        streams.push_back(std::make_unique<TestClient>());
        streams.back()->connectTo(port);
        streams.back()->send("POST", "/v1/messages", GatewayHarness::clientHeaders(),
                             streamRequest());
    }
    TestClient busy;
    int sent = 0;
    const auto sendNext = [&] {
        ++sent;
        busy.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), "{}");
    };
    connect(&busy, &TestClient::responseFinished, this, sendNext);
    busy.connectTo(port);
    sendNext();

    QSignalSpy reconfigured(&gateway.gateway(), &Gateway::reconfigured);
    QSignalSpy failed(&gateway.gateway(), &Gateway::reconfigureFailed);
    for (int round = 1; round <= 10; ++round) {
        QTest::qWait(40);
        GatewayConfig config = GatewayHarness::configFor((round % 2 ? second : first).baseUrl());
        config.port = port;
        gateway.gateway().reconfigure(config);
    }
    // The last settings saved (round 10: the first upstream) end up in use.
    QTRY_COMPARE_WITH_TIMEOUT(gateway.gateway().config().upstream,
                              GatewayHarness::configFor(first.baseUrl()).upstream, 5000);
    QVERIFY(reconfigured.count() >= 1);
    QCOMPARE(failed.count(), 0);
    for (const auto &stream : streams)
        QVERIFY(stream->waitForResponses(1, 10000));
    disconnect(&busy, &TestClient::responseFinished, this, nullptr);
    QVERIFY(busy.waitForResponses(sent, 5000));
    for (const auto &stream : streams) {
        const TestClient::Response &response = stream->responses().first();
        QVERIFY(response.complete);
        QCOMPARE(response.body.count("event: content_block_delta"), 20);
        QVERIFY(!stream->closedByServer());
    }
    for (const TestClient::Response &response : busy.responses())
        QCOMPARE(response.status, 200);
    QVERIFY(!busy.closedByServer());
    QVERIFY(sent > 10);
    QVERIFY(gateway.waitForRecords(kStreams + sent, 10000));
    for (const RequestRecord &record : gateway.records())
        QVERIFY2(record.error.isEmpty(), qPrintable(record.error));
    QCOMPARE(first.requests().size() + second.requests().size(), kStreams + sent);
}

void tst_GatewayLifecycle::stopWhileNewSettingsTakeOverStopsOnce_data()
{
    QTest::addColumn<int>("pauseMs");
    QTest::addColumn<bool>("withStream");
    // Stop in the same turn as the save; after the new server listens but before this
    // thread heard of it (the old one has drained away, or is draining a stream).
    QTest::newRow("same turn") << 0 << false;
    QTest::newRow("old one drained away") << 200 << false;
    QTest::newRow("old one draining a stream") << 200 << true;
    QTest::newRow("same turn, stream open") << 0 << true;
}

// The tray's toggle right after Settings were saved: the proxy goes off once, whichever of
// the two servers is then alive, and comes back on.
void tst_GatewayLifecycle::stopWhileNewSettingsTakeOverStopsOnce()
{
    QFETCH(int, pauseMs);
    QFETCH(bool, withStream);
    MockUpstream mock;
    QVERIFY(mock.listen());
    GatewayHarness gateway;
    QVERIFY(gateway.start(GatewayHarness::configFor(mock.baseUrl())));
    const quint16 port = gateway.port();
    TestClient stream;
    if (withStream) {
        mock.enqueue(MockUpstream::messageStream("claude-opus-4-8", 200, 50));
        stream.connectTo(port);
        stream.send("POST", "/v1/messages", GatewayHarness::clientHeaders(), streamRequest());
        QVERIFY(stream.waitUntil([&] { return stream.partialResponse() != nullptr; }));
    }
    QSignalSpy stopped(&gateway.gateway(), &Gateway::stopped);
    QSignalSpy reconfigured(&gateway.gateway(), &Gateway::reconfigured);
    GatewayConfig config = GatewayHarness::configFor(mock.baseUrl());
    config.port = port;
    gateway.gateway().reconfigure(config);
    // This thread does not look at its events meanwhile: the takeover runs on the proxy
    // thread alone.
    if (pauseMs > 0)
        QThread::msleep(pauseMs);
    gateway.gateway().stop();
    QVERIFY(stopped.wait(3000));
    QTest::qWait(100);
    QCOMPARE(stopped.count(), 1);
    QVERIFY(!gateway.gateway().isRunning());
    if (withStream)
        QVERIFY(stream.waitForClose(2000));
    TestClient refused;
    refused.connectTo(port);
    QVERIFY(refused.waitForClose(2000));
    QVERIFY(refused.responses().isEmpty());

    GatewayConfig again = GatewayHarness::configFor(mock.baseUrl());
    again.port = port;
    QVERIFY(gateway.start(again));
    QCOMPARE(statusOfPost(port), 200);
    QVERIFY(gateway.stop());
}

void tst_GatewayLifecycle::budgetUsedUpStaysUsedUpUnderNewSettings_data()
{
    QTest::addColumn<bool>("hasRequestLog");
    QTest::newRow("spend read back from the request log") << true;
    QTest::newRow("spend carried over without a request log") << false;
}

// A budget spent today stays spent when settings are saved: saving is no way around it,
// whether the new server reads the spend back from the request log or, without one, takes
// it from the old server.
void tst_GatewayLifecycle::budgetUsedUpStaysUsedUpUnderNewSettings()
{
    QFETCH(bool, hasRequestLog);
    MockUpstream mock;
    QVERIFY(mock.listen());
    QTemporaryDir dir;
    GatewayConfig config = GatewayHarness::configFor(mock.baseUrl());
    config.budget.dailyPicoUsd = 1; // the first request uses it up
    if (hasRequestLog)
        config.store = StoreConfig::sqlite(dir.filePath(QStringLiteral("requests.sqlite")));
    GatewayHarness gateway;
    QVERIFY(gateway.start(config));
    const QByteArray body = R"({"model":"claude-sonnet-4-5","max_tokens":10,"messages":[]})";
    const auto post = [&gateway, &body] { return statusOfPost(gateway.port(), body); };
    QCOMPARE(post(), 200);
    // Refused once the first request's cost is booked (those before that go through).
    QTRY_COMPARE(post(), 429);
    const qsizetype forwarded = mock.requests().size();

    config.port = gateway.port();
    config.keepAliveTimeoutMs += 1000; // any change
    QSignalSpy reconfigured(&gateway.gateway(), &Gateway::reconfigured);
    gateway.gateway().reconfigure(config);
    QVERIFY(reconfigured.wait(3000));
    QCOMPARE(post(), 429);
    QCOMPARE(mock.requests().size(), forwarded);
}

QTEST_GUILESS_MAIN(tst_GatewayLifecycle)
#include "tst_GatewayLifecycle.moc"
