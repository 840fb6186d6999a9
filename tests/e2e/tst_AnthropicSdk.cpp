// The official TypeScript SDK (npm @anthropic-ai/sdk) through Tollgate to the mock
// upstream: non-streaming, streaming and token counting, and a wrong key.
#include "ClientRun.h"
#include "GatewayHarness.h"
#include "MockUpstream.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <algorithm>

using namespace tollgate;
using namespace tollgate::test;

class tst_AnthropicSdk final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void sdkCallsWorkThroughTollgate();
};

void tst_AnthropicSdk::initTestCase()
{
    QVERIFY2(ClientRun::hasPackage(QStringLiteral("@anthropic-ai/sdk")),
             "Node packages missing: run `npm ci` in tests/e2e (scripts/test.sh does)");
}

void tst_AnthropicSdk::sdkCallsWorkThroughTollgate()
{
    MockUpstream mock;
    QVERIFY(mock.listen());
    GatewayHarness gateway;
    QVERIFY(gateway.start(GatewayHarness::configFor(mock.baseUrl())));

    ClientRun node;
    QVERIFY(node.runNode(QStringLiteral("sdk-client.mjs"),
                         ClientRun::anthropicEnvironment(gateway.port())));
    QVERIFY2(node.hasSucceeded(), node.errors().constData());
    const QJsonObject out = node.lastJsonLine();
    QVERIFY(!out.isEmpty());

    const QJsonObject create = out.value(QLatin1String("create")).toObject();
    QCOMPARE(create.value(QLatin1String("text")).toString(), QStringLiteral("Hello from the mock"));
    QCOMPARE(create.value(QLatin1String("usage"))
                 .toObject()
                 .value(QLatin1String("output_tokens"))
                 .toInt(),
             7);

    const QJsonObject stream = out.value(QLatin1String("stream")).toObject();
    QVERIFY(!stream.value(QLatin1String("text")).toString().isEmpty());
    QCOMPARE(stream.value(QLatin1String("stopReason")).toString(), QStringLiteral("end_turn"));
    const QJsonArray events = stream.value(QLatin1String("events")).toArray();
    QCOMPARE(events.first().toString(), QStringLiteral("message_start"));
    QCOMPARE(events.last().toString(), QStringLiteral("message_stop"));
    QVERIFY(events.contains(QStringLiteral("content_block_delta")));
    QCOMPARE(stream.value(QLatin1String("usage"))
                 .toObject()
                 .value(QLatin1String("cache_read_input_tokens"))
                 .toInt(),
             5000);

    QCOMPARE(out.value(QLatin1String("countTokens"))
                 .toObject()
                 .value(QLatin1String("input_tokens"))
                 .toInt(),
             42);

    const QJsonObject wrong = out.value(QLatin1String("wrongKey")).toObject();
    QCOMPARE(wrong.value(QLatin1String("status")).toInt(), 401);
    QCOMPARE(wrong.value(QLatin1String("name")).toString(), QStringLiteral("AuthenticationError"));
    QCOMPARE(wrong.value(QLatin1String("type")).toString(), QStringLiteral("authentication_error"));

    // The long conversation went upstream while the SDK sent it, with room for markers
    // announced: the vendor got valid JSON of the announced length, Tollgate's markers on
    // the newest and the previous user turn, and the reply streamed back.
    const QJsonObject longTurn = out.value(QLatin1String("long")).toObject();
    QVERIFY(!longTurn.value(QLatin1String("text")).toString().isEmpty());
    QCOMPARE(longTurn.value(QLatin1String("stopReason")).toString(), QStringLiteral("end_turn"));
    const MockRequest &longRequest = mock.requests().at(3);
    QVERIFY(longRequest.body.size() > 1024 * 1024);
    QCOMPARE(longRequest.header("content-length"), QByteArray::number(longRequest.body.size()));
    const QJsonObject longBody = QJsonDocument::fromJson(longRequest.body).object();
    QCOMPARE(longBody.value(QLatin1String("messages")).toArray().size(), 801);
    QCOMPARE(longRequest.body.count("\"cache_control\""), 2);
    QVERIFY(longRequest.body.endsWith(' ')); // the room markers did not take

    // What the upstream saw: four calls with the SDK's own headers and the upstream key.
    QCOMPARE(mock.requests().size(), 4);
    QCOMPARE(mock.requests().at(2).target, QByteArray("/v1/messages/count_tokens"));
    for (const MockRequest &request : mock.requests()) {
        QCOMPARE(request.header("x-api-key"), GatewayHarness::upstreamKey());
        QCOMPARE(request.header("anthropic-version"), QByteArray("2023-06-01"));
        QCOMPARE(request.header("x-stainless-lang"), QByteArray("js"));
        QVERIFY(!request.header("x-stainless-package-version").isEmpty());
    }
    QVERIFY(gateway.waitForRecords(5));
    const auto longRow =
        std::find_if(gateway.records().begin(), gateway.records().end(),
                     [](const RequestRecord &row) { return row.requestBytes > 1024 * 1024; });
    QVERIFY(longRow != gateway.records().end());
    QCOMPARE(longRow->status, 200);
    QCOMPARE(longRow->cacheMarkersAdded, 2);
}

QTEST_GUILESS_MAIN(tst_AnthropicSdk)
#include "tst_AnthropicSdk.moc"
