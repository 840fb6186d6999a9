// Who can reach the gateway and what it gives away: loopback unless remote access is asked
// for (and then only with virtual keys), only requests that name this listener in Host
// (DNS rebinding), only allowlisted browser origins, private config and data files, and
// never a credential in a log line or a request-log row, whatever fails.
#include "GatewayHarness.h"
#include "LogCapture.h"
#include "MockUpstream.h"
#include "TestClient.h"
#include "config/ConfigFile.h"
#include "keys/VirtualKeyFile.h"

#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
// Recognizable secrets: any 8 characters of them in a log would be a leak.
const QByteArray kUpstreamKey = "sk-ant-api03-Canary7Upstream9QzXwVbN4mLk2JhGf8DsAp0OuIyTrEw6";
const QByteArray kVirtualKey = "tg-local-canary5virtual3b9c1d7e2f8a4b6c0d1e9f7a3b5c7d9e1f";

constexpr QFileDevice::Permissions kGroupAndOthers = QFileDevice::ReadGroup
    | QFileDevice::WriteGroup | QFileDevice::ExeGroup | QFileDevice::ReadOther
    | QFileDevice::WriteOther | QFileDevice::ExeOther;

// The first stretch of at least 8 characters of secret that text holds, past the key's
// kind prefix (which its masked form shows); empty when there is none.
QByteArray leakedPart(const QByteArray &text, const QByteArray &secret, qsizetype shownPrefix)
{
    for (qsizetype i = shownPrefix; i + 8 <= secret.size(); ++i) {
        const QByteArray window = secret.mid(i, 8);
        if (text.contains(window))
            return window;
    }
    return {};
}

TestClient::Headers withHost(const QByteArray &host)
{
    TestClient::Headers headers = GatewayHarness::clientHeaders();
    headers.prepend(qMakePair(QByteArray("Host"), host));
    return headers;
}
} // namespace

class tst_Exposure final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void refusesToExposeWithoutConsent_data();
    void refusesToExposeWithoutConsent();
    void loopbackAnswersOnlyItsOwnNames_data();
    void loopbackAnswersOnlyItsOwnNames();
    void hostAcceptedBeforeLetsNoOtherNameIn();
    void refusesForeignHostBeforeBodyOrKey();
    void remoteListenerAnswersAllowedHosts_data();
    void remoteListenerAnswersAllowedHosts();
    void readsExposureSettings();
    void refusesPagesOfOtherOrigins();
    void keepsConfigAndDataPrivate();
    void neverLogsACredential();

private:
    TestClient::Response send(const TestClient::Headers &headers,
                              const QByteArray &body = "{\"model\":\"claude-opus-4-8\"}");

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_Exposure::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
}

void tst_Exposure::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
}

TestClient::Response tst_Exposure::send(const TestClient::Headers &headers, const QByteArray &body)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages", headers, body);
    if (!client.waitForResponses(1))
        return {};
    return client.responses().first();
}

void tst_Exposure::refusesToExposeWithoutConsent_data()
{
    QTest::addColumn<QString>("listen");
    QTest::addColumn<bool>("allowRemote");
    QTest::addColumn<bool>("passthrough");
    QTest::addColumn<bool>("hasVirtualKey");
    QTest::addColumn<QString>("named"); // in the refusal; empty: it starts

    QTest::newRow("any ipv4") << "0.0.0.0" << false << false << true << "--allow-remote";
    QTest::newRow("any ipv6") << "::" << false << false << true << "--allow-remote";
    QTest::newRow("lan address") << "192.0.2.10" << false << false << true << "allow_remote";
    QTest::newRow("remote with passthrough") << "0.0.0.0" << true << true << true << "passthrough";
    QTest::newRow("remote without keys") << "0.0.0.0" << true << false << false << "no virtual key";
    QTest::newRow("remote, consented, keyed") << "0.0.0.0" << true << false << true << "";
    QTest::newRow("loopback passthrough") << "127.0.0.1" << false << true << true << "";
    QTest::newRow("ipv6 loopback") << "::1" << false << false << true << "";
}

void tst_Exposure::refusesToExposeWithoutConsent()
{
    QFETCH(QString, listen);
    QFETCH(bool, allowRemote);
    QFETCH(bool, passthrough);
    QFETCH(bool, hasVirtualKey);
    QFETCH(QString, named);
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.listenAddress = QHostAddress(listen);
    config.allowRemote = allowRemote;
    config.passthroughAuth = passthrough;
    if (!hasVirtualKey)
        config.virtualKeys.clear();
    QSignalSpy failed(&m_gateway->gateway(), &Gateway::startFailed);
    const bool hasStarted = m_gateway->start(config);
    QCOMPARE(hasStarted, named.isEmpty());
    if (!hasStarted) {
        QCOMPARE(failed.count(), 1);
        const QString message = failed.first().first().toString();
        QVERIFY2(message.contains(named), qPrintable(message));
    }
}

void tst_Exposure::loopbackAnswersOnlyItsOwnNames_data()
{
    QTest::addColumn<QByteArray>("host"); // PORT: the listening port
    QTest::addColumn<int>("status");
    QTest::newRow("127.0.0.1:port (Claude Code, SDKs)") << QByteArray("127.0.0.1:PORT") << 200;
    QTest::newRow("localhost:port") << QByteArray("localhost:PORT") << 200;
    QTest::newRow("LocalHost:port") << QByteArray("LocalHost:PORT") << 200;
    QTest::newRow("[::1]:port") << QByteArray("[::1]:PORT") << 200;
    QTest::newRow("127.0.0.1") << QByteArray("127.0.0.1") << 200;
    QTest::newRow("localhost") << QByteArray("localhost") << 200;
    QTest::newRow("[::1]") << QByteArray("[::1]") << 200;
    QTest::newRow("rebinding name") << QByteArray("attacker.example:PORT") << 421;
    QTest::newRow("name resolving to loopback") << QByteArray("127.0.0.1.nip.io:PORT") << 421;
    // A port forward (ssh -L 9000:127.0.0.1:8787, a container's published port) names its
    // own port; the name is what a rebinding attack controls, not the port.
    QTest::newRow("forwarded port") << QByteArray("localhost:9000") << 200;
    QTest::newRow("other loopback address") << QByteArray("127.0.0.2:PORT") << 421;
    QTest::newRow("trailing dot") << QByteArray("localhost.:PORT") << 421;
    QTest::newRow("userinfo") << QByteArray("user@localhost:PORT") << 400;
    QTest::newRow("empty") << QByteArray("") << 400;
    QTest::newRow("port with sign") << QByteArray("localhost:+PORT") << 400;
    QTest::newRow("unclosed bracket") << QByteArray("[::1:PORT") << 400;
}

void tst_Exposure::loopbackAnswersOnlyItsOwnNames()
{
    QFETCH(QByteArray, host);
    QFETCH(int, status);
    LogCapture log;
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
    host.replace("PORT", QByteArray::number(m_gateway->port()));
    const TestClient::Response response = send(withHost(host));
    QCOMPARE(response.status, status);
    if (status == 200) {
        QCOMPARE(m_mock->requests().size(), 1);
        return;
    }
    QVERIFY2(response.isAnthropicError(status), response.body.constData());
    QCOMPARE(m_mock->requests().size(), 0);
    QCOMPARE(log.linesWith({QStringLiteral("refused"), QString::number(status)}).size(), 1);
}

// Host is checked on every request, whatever the last one named: a page that got one
// request through under 127.0.0.1 gets nothing under its own name afterwards.
void tst_Exposure::hostAcceptedBeforeLetsNoOtherNameIn()
{
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
    const QByteArray port = QByteArray::number(m_gateway->port());
    const QList<QPair<QByteArray, int>> sequence = {
        {"127.0.0.1:" + port, 200},        {"attacker.example:" + port, 421},
        {"attacker.example:" + port, 421}, {"127.0.0.1:" + port, 200},
        {"127.0.0.1.nip.io:" + port, 421}, {"127.0.0.1:" + port + "x", 400},
        {"127.0.0.1:" + port + "x", 400},  {"127.0.0.2:" + port, 421},
        {"localhost:" + port, 200},        {"attacker.example:" + port, 421},
    };
    for (const auto &[host, status] : sequence)
        QCOMPARE(send(withHost(host)).status, status);
    QCOMPARE(m_mock->requests().size(), 3);
}

void tst_Exposure::refusesForeignHostBeforeBodyOrKey()
{
    LogCapture log;
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
    const QByteArray host = "rebind.attacker.example:" + QByteArray::number(m_gateway->port());
    // A valid key and a 10 MB body announced: the answer comes from the head alone.
    TestClient client;
    client.connectTo(m_gateway->port());
    client.sendRaw("POST /v1/messages HTTP/1.1\r\nHost: " + host + "\r\nx-api-key: "
                   + GatewayHarness::virtualKey() + "\r\nContent-Length: 10000000\r\n\r\n");
    QVERIFY(client.waitForResponses(1, 2000));
    const TestClient::Response &response = client.responses().first();
    QCOMPARE(response.status, 421);
    QVERIFY(response.isAnthropicError(421));
    QVERIFY(response.body.contains("rebind.attacker.example"));
    QVERIFY(client.waitForClose());
    // The key was never looked at: the log names no virtual key.
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 421);
    QVERIFY(m_gateway->records().first().virtualKeyAlias.isEmpty());
    QCOMPARE(log.linesWith({QStringLiteral("refused"), QStringLiteral("421")}).size(), 1);
    // Nor may such a page probe the gateway or ask for CORS permission.
    for (const QByteArray &method :
         {QByteArray("HEAD"), QByteArray("OPTIONS"), QByteArray("GET")}) {
        TestClient probe;
        probe.connectTo(m_gateway->port());
        probe.send(method, method == "GET" ? "/tollgate/health" : "/v1/messages",
                   {{"Host", host}, {"Origin", "http://rebind.attacker.example"}});
        QVERIFY(probe.waitForResponses(1));
        QCOMPARE(probe.responses().first().status, 421);
        QVERIFY(probe.responses().first().header("access-control-allow-origin").isNull());
    }
    QCOMPARE(m_mock->requests().size(), 0);
}

void tst_Exposure::remoteListenerAnswersAllowedHosts_data()
{
    QTest::addColumn<QByteArray>("host");
    QTest::addColumn<int>("status");
    QTest::newRow("allowed name") << QByteArray("tollgate.team.example") << 200;
    QTest::newRow("allowed name, listening port")
        << QByteArray("tollgate.team.example:PORT") << 200;
    QTest::newRow("allowed name, other case") << QByteArray("Tollgate.Team.Example") << 200;
    QTest::newRow("allowed name and port") << QByteArray("gw.team.example:9443") << 200;
    QTest::newRow("that name, other port") << QByteArray("gw.team.example:PORT") << 421;
    QTest::newRow("loopback address") << QByteArray("127.0.0.1:PORT") << 200;
    QTest::newRow("unknown name") << QByteArray("evil.example:PORT") << 421;
    QTest::newRow("allowed name's subdomain") << QByteArray("x.tollgate.team.example") << 421;
}

void tst_Exposure::remoteListenerAnswersAllowedHosts()
{
    QFETCH(QByteArray, host);
    QFETCH(int, status);
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.listenAddress = QHostAddress::AnyIPv4;
    config.allowRemote = true;
    config.allowedHosts = {QStringLiteral("tollgate.team.example"),
                           QStringLiteral("gw.team.example:9443")};
    QVERIFY(m_gateway->start(config));
    host.replace("PORT", QByteArray::number(m_gateway->port()));
    const TestClient::Response response = send(withHost(host));
    QCOMPARE(response.status, status);
    QCOMPARE(m_mock->requests().size(), status == 200 ? 1 : 0);
    // Remote or not, a client without a virtual key gets nowhere.
    if (status == 200) {
        const TestClient::Response keyless =
            send({{"Host", host}, {"x-api-key", "sk-ant-api03-someone-elses-key"}});
        QCOMPARE(keyless.status, 401);
        QCOMPARE(m_mock->requests().size(), 1);
    }
}

void tst_Exposure::readsExposureSettings()
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    QString error;
    QVERIFY2(
        ConfigFile::apply("{\"listen\": \"0.0.0.0\"}", QStringLiteral("settings"), &config, &error),
        qPrintable(error));
    QVERIFY2(config.validate().contains(QLatin1String("allow_remote")),
             qPrintable(config.validate()));
    QVERIFY2(ConfigFile::apply("{\"allow_remote\": true, \"allowed_hosts\": "
                               "[\"tollgate.example.com\", \"10.0.0.5\", \"[fd00::5]:8787\"]}",
                               QStringLiteral("settings"), &config, &error),
             qPrintable(error));
    QVERIFY(config.allowRemote);
    QCOMPARE(config.allowedHosts.size(), 3);
    QCOMPARE(config.validate(), QString());
    for (const char *bad :
         {"[\"*\"]", "[\"a b\"]", "[\"http://x.example\"]", "[\"x:99999\"]", "\"x.example\""}) {
        GatewayConfig scratch;
        QVERIFY2(!ConfigFile::apply("{\"allowed_hosts\": " + QByteArray(bad) + "}",
                                    QStringLiteral("settings"), &scratch, &error),
                 bad);
        QVERIFY2(error.contains(QLatin1String("allowed_hosts")), qPrintable(error));
    }
}

void tst_Exposure::refusesPagesOfOtherOrigins()
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.corsOrigins = {QStringLiteral("https://app.example.com")};
    QVERIFY(m_gateway->start(config));
    // A sandboxed frame or a file: page sends "null"; a look-alike origin is another origin.
    for (const QByteArray &origin :
         {QByteArray("null"), QByteArray("https://app.example.com.evil.example"),
          QByteArray("http://app.example.com"), QByteArray("https://app.example.com:8443")}) {
        TestClient::Headers headers = GatewayHarness::clientHeaders();
        headers.append(qMakePair(QByteArray("Origin"), origin));
        const TestClient::Response response = send(headers);
        QVERIFY2(response.status == 403, origin.constData());
        QVERIFY(response.header("access-control-allow-origin").isNull());
    }
    QCOMPARE(m_mock->requests().size(), 0);
    TestClient::Headers allowed = GatewayHarness::clientHeaders();
    allowed.append(qMakePair(QByteArray("Origin"), QByteArray("https://app.example.com")));
    const TestClient::Response response = send(allowed);
    QCOMPARE(response.status, 200);
    QCOMPARE(response.header("access-control-allow-origin"), QByteArray("https://app.example.com"));
}

void tst_Exposure::keepsConfigAndDataPrivate()
{
    QTemporaryDir home;
    // Settings saved into directories that do not exist yet.
    const QString settings = home.filePath(QStringLiteral("config/Tollgate/tollgate/config.json"));
    QString error;
    QVERIFY2(ConfigFile::save(settings, {{QStringLiteral("port"), 8788}}, &error),
             qPrintable(error));
    for (const QString &directory :
         {home.filePath(QStringLiteral("config")), home.filePath(QStringLiteral("config/Tollgate")),
          home.filePath(QStringLiteral("config/Tollgate/tollgate"))})
        QVERIFY2((QFile::permissions(directory) & kGroupAndOthers) == 0, qPrintable(directory));
    QCOMPARE(QFile::permissions(settings) & kGroupAndOthers, QFileDevice::Permissions());
    // The generated virtual key, in a directory of its own.
    VirtualKeyFile keyFile(home.filePath(QStringLiteral("keys/sub/virtual-key")));
    QVERIFY(!keyFile.loadOrCreate().isEmpty());
    QCOMPARE(QFile::permissions(home.filePath(QStringLiteral("keys/sub"))) & kGroupAndOthers,
             QFileDevice::Permissions());
    QCOMPARE(QFile::permissions(home.filePath(QStringLiteral("keys/sub/virtual-key")))
                 & kGroupAndOthers,
             QFileDevice::Permissions());
    // The request log, created by the gateway.
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    const QString database = home.filePath(QStringLiteral("data/log/requests.sqlite"));
    config.store = StoreConfig::sqlite(database);
    QVERIFY(m_gateway->start(config));
    QVERIFY(send(GatewayHarness::clientHeaders()).status == 200);
    // A new request log's first fsyncs take seconds on a busy disk.
    QVERIFY(m_gateway->stop(30000));
    QCOMPARE(QFile::permissions(home.filePath(QStringLiteral("data/log"))) & kGroupAndOthers,
             QFileDevice::Permissions());
    QCOMPARE(QFile::permissions(database) & kGroupAndOthers, QFileDevice::Permissions());
}

void tst_Exposure::neverLogsACredential()
{
    LogCapture log; // every category, debug included
    QTemporaryDir home;
    const QString database = home.filePath(QStringLiteral("requests.sqlite"));
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.upstreamKey.clear();
    config.upstreamKeys = {{QStringLiteral("main"), kUpstreamKey}};
    config.virtualKeys = {kVirtualKey};
    config.store = StoreConfig::sqlite(database);
    config.bodyLogCapBytes = 64 * 1024; // bodies too, where a pasted key could hide
    Provider unreachable;
    unreachable.name = QStringLiteral("deadend");
    unreachable.kind = Provider::Kind::OpenAi;
    unreachable.baseUrl = QUrl(QStringLiteral("http://127.0.0.1:1/v1"));
    unreachable.auth = Provider::Auth::Bearer;
    unreachable.keys = {{QStringLiteral("deadend-key"), kUpstreamKey}};
    config.providers = {unreachable};
    Route route;
    route.model = QStringLiteral("gpt-*");
    route.providers = {unreachable.name};
    config.routes = {route};
    QVERIFY(m_gateway->start(config));

    const auto answer = [](int status, const QByteArray &type) {
        return [status, type](const MockRequest &) {
            MockResponse response;
            response.status = status;
            response.headers = {{"content-type", "application/json"}};
            if (status == 429)
                response.headers.append(qMakePair(QByteArray("retry-after"), QByteArray("30")));
            response.body = MockUpstream::errorBody(type, "upstream says no");
            return response;
        };
    };
    const TestClient::Headers good = {{"x-api-key", kVirtualKey},
                                      {"anthropic-version", "2023-06-01"}};
    const QByteArray pasted = "{\"model\":\"claude-opus-4-8\",\"messages\":[{\"role\":\"user\","
                              "\"content\":\"my keys: "
        + kVirtualKey + " and " + kUpstreamKey + "\"}]}";
    QList<int> statuses;
    const auto run = [&](const TestClient::Headers &headers, const QByteArray &body) {
        statuses.append(send(headers, body).status);
    };
    run(good, pasted); // 200, keys in the body
    run({{"x-api-key", kVirtualKey + "x"}}, "{}"); // a near miss of the virtual key
    run({{"authorization", "Bearer " + kUpstreamKey}}, "{}"); // the upstream key itself
    run({{"x-api-key", kUpstreamKey}}, "{}");
    // Routed to a provider that is not there.
    run(good,
        "{\"model\":\"gpt-5\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\","
        "\"content\":\"hi\"}]}");
    m_mock->setHandler(answer(429, "rate_limit_error"));
    run(good, pasted);
    m_mock->setHandler(answer(500, "api_error"));
    run(good, pasted);
    m_mock->setHandler(answer(401, "authentication_error")); // the key gets disabled
    run(good, pasted);
    run(good, pasted); // no key left
    QCOMPARE(statuses.first(), 200);
    QCOMPARE(statuses.at(1), 401);
    QCOMPARE(statuses.at(2), 401);
    QVERIFY2(statuses.at(4) >= 500, qPrintable(QString::number(statuses.at(4))));
    QCOMPARE(statuses.at(5), 429);
    QVERIFY(m_gateway->waitForRecords(statuses.size()));
    QVERIFY(m_gateway->stop(30000)); // the request log is written whole

    QByteArray everything = log.lines().join(u'\n').toUtf8();
    for (const RequestRecord &r : m_gateway->records())
        everything += r.target + r.error.toUtf8() + r.requestHeaders + r.responseHeaders
            + r.errorBody + r.storedRequestBody + r.storedResponseBody + r.userAgent;
    for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")}) {
        QFile file(database + suffix);
        if (file.open(QIODevice::ReadOnly))
            everything += file.readAll();
    }
    QVERIFY2(everything.size() > 10'000, "too little was captured to judge");
    QVERIFY2(log.linesWith({QStringLiteral("refused"), QStringLiteral("401")}).size() >= 1,
             "the wrong keys were not logged as refused");
    // "sk-ant-api03-" and "tg-local-" are what the masked forms show.
    const QByteArray upstreamLeak = leakedPart(everything, kUpstreamKey, 13);
    QVERIFY2(upstreamLeak.isEmpty(), upstreamLeak.constData());
    const QByteArray virtualLeak = leakedPart(everything, kVirtualKey, 9);
    QVERIFY2(virtualLeak.isEmpty(), virtualLeak.constData());
}

QTEST_GUILESS_MAIN(tst_Exposure)
#include "tst_Exposure.moc"
