// Starting and stopping the gateway as the app and the tray toggle will.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>

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
};

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

QTEST_GUILESS_MAIN(tst_GatewayLifecycle)
#include "tst_GatewayLifecycle.moc"
