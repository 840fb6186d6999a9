// Every request becomes one row of the request log with exact tokens and cost: streamed,
// compressed, cut short or refused; written off the forwarding thread, never lost, and
// kept while the disk fails.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "ProxyServer.h"
#include "TestClient.h"
#include "store/LedgerBacklog.h"
#include "store/LedgerExporter.h"
#include "store/LedgerStore.h"

#include <QBuffer>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
constexpr qint64 kFixtureCostPicoUsd = 5'735'000'000; // $0.005735, as Claude Code reports it

TestClient::Headers auth()
{
    return GatewayHarness::clientHeaders();
}

QByteArray fixture(const char *name)
{
    QFile file(QStringLiteral(TOLLGATE_FIXTURES_DIR "/") + QLatin1String(name));
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The fixture stream, as the mock sends it: one event per chunk.
MockResponse fixtureStream()
{
    MockResponse response;
    const QList<QByteArray> blocks = fixture("sample-response.sse").split('\n');
    QByteArray name;
    for (const QByteArray &line : blocks) {
        if (line.startsWith("event: "))
            name = line.mid(7);
        else if (line.startsWith("data: "))
            response.events.append(MockEvent {name, line.mid(6), 0});
    }
    return response;
}

QByteArray streamBody(const QByteArray &model = "claude-opus-4-8")
{
    return "{\"model\":\"" + model
        + "\",\"max_tokens\":64,\"stream\":true,"
          "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
}

constexpr char kFactsSession[] = "4e580bf0-743a-437e-8de0-14e327152c1e";

// A Messages request as Claude Code shapes it, with its facts after a conversation of
// fillerBytes: the session in metadata.user_id, the project in the system prompt.
QByteArray bodyWithFacts(qsizetype fillerBytes)
{
    return "{\"model\":\"claude-opus-4-8\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\","
           "\"content\":\""
        + QByteArray(fillerBytes, 'x')
        + "\"}],\"system\":[{\"type\":\"text\",\"text\":\"You are Claude Code.\\n"
          "Working directory: /home/dev/shop\\n\"}],\"metadata\":{\"user_id\":"
          "\"{\\\"session_id\\\":\\\""
        + QByteArray(kFactsSession) + "\\\"}\"}}";
}

QList<RequestRecord> readRows(const QString &path)
{
    QList<RequestRecord> rows;
    LedgerStore store(StoreConfig::sqlite(path));
    QString error;
    if (!store.open(&error))
        return rows;
    store.forEachRow(0, std::numeric_limits<qint64>::max(), [&](const RequestRecord &row) {
        rows.append(row);
        return true;
    });
    return rows;
}
} // namespace

class tst_Ledger final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void recordsExactUsageAndCostOfAStream();
    void recordsUsageOfACompressedJsonResponse();
    void marksAStreamCutShortIncompleteWithWhatWasSeen();
    void takesSessionFromMetadataWhenTheHeaderIsMissing();
    void recordsBillingTagAndStripsItsHeaderUpstream();
    void leavesAnUnknownModelUnpricedNotFree();
    void recordsEveryRequestIncludingRefusedOnes();
    void keepsServingAndLosesNoRowWhileTheDatabaseIsLocked();
    void keepsServingAndLosesNoRowWhileTheDiskIsFull();
    void exportsTheRowWithAnExactDecimalCost();
    void servesPrometheusMetrics();
    void keepsMaskedHeadersAndTheErrorBodyForTheDetailView();
    void logsRedactedBodiesOnlyWhenAskedTo();
    void removesRowsOlderThanTheRetentionInTheBackground();
    void rowsOnTheWayToTheLogCarryFactsNotBodies_data();
    void rowsOnTheWayToTheLogCarryFactsNotBodies();
    void logsTheFactsOfAMegabyteBody();

private:
    void startGateway(const std::function<void(GatewayConfig &)> &adjust = {});
    TestClient::Response post(const QByteArray &body, const TestClient::Headers &extra = {});
    void checkServingThroughStoreFailure(const std::function<bool()> &breakStore,
                                         const std::function<bool()> &repairStore,
                                         int floodRequests = 0);

    QTemporaryDir *m_dir = nullptr;
    QString m_dbPath;
    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_Ledger::init()
{
    m_dir = new QTemporaryDir;
    QVERIFY(m_dir->isValid());
    m_dbPath = m_dir->filePath(QStringLiteral("requests.sqlite"));
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_gateway = new GatewayHarness(this);
}

void tst_Ledger::startGateway(const std::function<void(GatewayConfig &)> &adjust)
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.store = StoreConfig::sqlite(m_dbPath);
    if (adjust)
        adjust(config);
    QVERIFY(m_gateway->start(config));
}

void tst_Ledger::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
    delete m_dir;
}

TestClient::Response tst_Ledger::post(const QByteArray &body, const TestClient::Headers &extra)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", "/v1/messages?beta=true", auth() + extra, body);
    if (!client.waitForResponses(1))
        return {};
    return client.responses().first();
}

void tst_Ledger::recordsExactUsageAndCostOfAStream()
{
    startGateway();
    m_mock->enqueue(fixtureStream());
    const TestClient::Response response =
        post(streamBody(), {{"x-claude-code-session-id", "4e580bf0-743a-437e-8de0-14e327152c1e"}});
    QCOMPARE(response.status, 200);
    QVERIFY(m_gateway->waitForRecords(1));

    const RequestRecord live = m_gateway->records().first();
    QCOMPARE(live.model, QStringLiteral("claude-opus-4-8"));
    QCOMPARE(live.usage.inputTokens, 12);
    QCOMPARE(live.usage.outputTokens, 7);
    QCOMPARE(live.usage.cacheWrite5mTokens, 0);
    QCOMPARE(live.usage.cacheWrite1hTokens, 300);
    QCOMPARE(live.usage.cacheReadTokens, 5000);
    QCOMPARE(live.usage.stopReason, QStringLiteral("end_turn"));
    QCOMPARE(live.costPicoUsd, std::optional<qint64>(kFixtureCostPicoUsd));
    QVERIFY(!live.isIncomplete);
    QVERIFY(live.requestBody.isEmpty()); // raw buffers are not kept past accounting

    QVERIFY(m_gateway->stop());
    const QList<RequestRecord> rows = readRows(m_dbPath);
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows[0].sessionId, QByteArray("4e580bf0-743a-437e-8de0-14e327152c1e"));
    QCOMPARE(rows[0].costPicoUsd, std::optional<qint64>(kFixtureCostPicoUsd));
    QCOMPARE(rows[0].usage.cacheWrite1hTokens, 300);
    QCOMPARE(rows[0].target, QByteArray("/v1/messages?beta=true"));
    QVERIFY(rows[0].isStreaming);
    // What caching saved: the same 5312 prompt tokens at the $5/MTok input price.
    QCOMPARE(rows[0].costWithoutCachePicoUsd,
             std::optional<qint64>((12 + 300 + 5000) * 5'000'000LL + 7 * 25'000'000LL));
}

void tst_Ledger::recordsUsageOfACompressedJsonResponse()
{
    startGateway();
    MockResponse json = MockUpstream::messageJson("claude-sonnet-4-6");
    json.gzip = true;
    m_mock->enqueue(json);
    const TestClient::Response response =
        post("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":64,\"messages\":[]}",
             {{"accept-encoding", "gzip"}});
    QCOMPARE(response.status, 200);
    QCOMPARE(response.header("content-encoding"), QByteArray("gzip")); // passed through
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &row = m_gateway->records().first();
    QCOMPARE(row.model, QStringLiteral("claude-sonnet-4-6"));
    QCOMPARE(row.usage.inputTokens, 12);
    QCOMPARE(row.usage.outputTokens, 7);
    // Sonnet 4.6: $3 in, $15 out per million tokens.
    QCOMPARE(row.costPicoUsd, std::optional<qint64>(12 * 3'000'000LL + 7 * 15'000'000LL));
    QVERIFY(!row.isStreaming);
}

void tst_Ledger::marksAStreamCutShortIncompleteWithWhatWasSeen()
{
    startGateway();
    MockResponse cut = fixtureStream();
    cut.closeAfterEvents = 3; // message_start, content_block_start, ping
    m_mock->enqueue(cut);
    post(streamBody());
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &row = m_gateway->records().first();
    QVERIFY(row.isIncomplete);
    QCOMPARE(row.usage.inputTokens, 12); // from message_start
    QCOMPARE(row.usage.cacheReadTokens, 5000);
    QCOMPARE(row.usage.outputTokens, 1); // the placeholder message_start carries
    QVERIFY(row.costPicoUsd.has_value());
}

void tst_Ledger::takesSessionFromMetadataWhenTheHeaderIsMissing()
{
    startGateway();
    m_mock->enqueue(fixtureStream());
    QByteArray body = fixture("tool-loop.turn1.body.json");
    QVERIFY(!body.isEmpty());
    post(body);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().sessionId,
             QByteArray("4e580bf0-743a-437e-8de0-14e327152c1e"));
}

void tst_Ledger::recordsBillingTagAndStripsItsHeaderUpstream()
{
    startGateway([](GatewayConfig &config) { config.billingTag = QStringLiteral("team-a"); });
    m_mock->enqueue(fixtureStream());
    post(streamBody(), {{"x-tollgate-tag", "client-acme"}});
    m_mock->enqueue(fixtureStream());
    post(streamBody());
    QVERIFY(m_gateway->waitForRecords(2));
    QCOMPARE(m_gateway->records()[0].billingTag, QStringLiteral("client-acme"));
    QCOMPARE(m_gateway->records()[1].billingTag, QStringLiteral("team-a"));
    QCOMPARE(m_mock->requests().size(), 2);
    QCOMPARE(m_mock->requests()[0].headerCount("x-tollgate-tag"), 0);
}

void tst_Ledger::leavesAnUnknownModelUnpricedNotFree()
{
    startGateway();
    m_mock->enqueue(MockUpstream::messageStream("vendor-x-large"));
    post(streamBody("vendor-x-large"));
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().model, QStringLiteral("vendor-x-large"));
    QVERIFY(!m_gateway->records().first().costPicoUsd.has_value());
    QVERIFY(m_gateway->stop());

    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("peek"));
    db.setDatabaseName(m_dbPath);
    QVERIFY(db.open());
    {
        QSqlQuery query(QStringLiteral("SELECT cost_picousd IS NULL, input_tokens FROM requests"),
                        db);
        QVERIFY(query.next());
        QCOMPARE(query.value(0).toInt(), 1);
        QCOMPARE(query.value(1).toInt(), 12);
    }
    db.close();
    db = QSqlDatabase();
    QSqlDatabase::removeDatabase(QStringLiteral("peek"));
}

void tst_Ledger::recordsEveryRequestIncludingRefusedOnes()
{
    startGateway();
    constexpr int kGood = 40;
    for (int i = 0; i < kGood; ++i)
        m_mock->enqueue(fixtureStream());
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < kGood; ++i) {
        clients.push_back(std::make_unique<TestClient>());
        clients.back()->connectTo(m_gateway->port());
        clients.back()->send("POST", "/v1/messages", auth(), streamBody());
    }
    TestClient refused;
    refused.connectTo(m_gateway->port());
    refused.send("POST", "/v1/messages", {{"x-api-key", "wrong-key-0123456789"}}, streamBody());
    QVERIFY(refused.waitForResponses(1));
    QCOMPARE(refused.responses().first().status, 401);
    for (auto &client : clients)
        QVERIFY(client->waitForResponses(1));
    // Stopped right away: rows still in the writer's queue must reach the file too.
    QVERIFY(m_gateway->stop());
    const QList<RequestRecord> rows = readRows(m_dbPath);
    QCOMPARE(rows.size(), kGood + 1);
    qint64 total = 0;
    int unauthorized = 0;
    for (const RequestRecord &row : rows) {
        total += row.costPicoUsd.value_or(0);
        unauthorized += row.status == 401 ? 1 : 0;
    }
    QCOMPARE(unauthorized, 1);
    QCOMPARE(total, kGood * kFixtureCostPicoUsd);
}

void tst_Ledger::checkServingThroughStoreFailure(const std::function<bool()> &breakStore,
                                                 const std::function<bool()> &repairStore,
                                                 int floodRequests)
{
    startGateway();
    QSignalSpy failed(&m_gateway->gateway(), &Gateway::storeFailed);
    QSignalSpy recovered(&m_gateway->gateway(), &Gateway::storeRecovered);
    m_mock->enqueue(fixtureStream());
    QCOMPARE(post(streamBody()).status, 200);
    QVERIFY(QTest::qWaitFor([&] { return readRows(m_dbPath).size() == 1; }, 5000));

    QVERIFY(breakStore());
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < 5; ++i) {
        m_mock->enqueue(fixtureStream());
        QCOMPARE(post(streamBody()).status, 200);
    }
    // Forwarding never waits on the disk: five requests take milliseconds, not the
    // store's busy timeout.
    QVERIFY2(timer.elapsed() < 2000, qPrintable(QString::number(timer.elapsed())));
    QVERIFY(m_gateway->waitForRecords(6)); // the live view still sees every request
    QVERIFY(failed.wait(15000));
    QVERIFY(!failed.first().first().toString().isEmpty());

    // More rows than the ledger lets pile up before the proxy holds requests back: rows
    // waiting for a broken store must not hold forwarding back.
    if (floodRequests > 0) {
        m_mock->setHandler([](const MockRequest &) { return MockUpstream::messageJson(); });
        TestClient client;
        client.connectTo(m_gateway->port());
        for (int i = 0; i < floodRequests; ++i)
            client.send("POST", "/v1/messages", auth(), "{\"model\":\"claude-opus-4-8\"}");
        QVERIFY(client.waitForResponses(floodRequests, 60000));
        for (const TestClient::Response &response : client.responses())
            QCOMPARE(response.status, 200);
    }

    QVERIFY(repairStore());
    QVERIFY(recovered.wait(40000));
    QVERIFY(m_gateway->stop());
    QCOMPARE(readRows(m_dbPath).size(), 6 + floodRequests);
}

void tst_Ledger::keepsServingAndLosesNoRowWhileTheDatabaseIsLocked()
{
    // Another process holds the write lock (a backup tool, a second instance).
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("lock"));
    db.setDatabaseName(m_dbPath);
    checkServingThroughStoreFailure(
        [&] { return db.open() && QSqlQuery(QStringLiteral("BEGIN EXCLUSIVE"), db).isActive(); },
        [&] {
            const bool ok = QSqlQuery(QStringLiteral("COMMIT"), db).isActive();
            db.close();
            return ok;
        },
        int(LedgerBacklog::kHighWater) + 500);
    db = QSqlDatabase();
    QSqlDatabase::removeDatabase(QStringLiteral("lock"));
}

void tst_Ledger::keepsServingAndLosesNoRowWhileTheDiskIsFull()
{
    // A small tmpfs of its own, filled up mid-run.
    const QString mountPoint = m_dir->filePath(QStringLiteral("disk"));
    QVERIFY(QDir().mkpath(mountPoint));
    if (QProcess::execute(QStringLiteral("mount"),
                          {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                           QStringLiteral("size=4m"), QStringLiteral("tmpfs"), mountPoint})
        != 0)
        QSKIP("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
    const auto unmount = qScopeGuard([&] {
        QProcess::execute(QStringLiteral("umount"), {QStringLiteral("-l"), mountPoint});
    });
    m_dbPath = mountPoint + QStringLiteral("/requests.sqlite");
    const QString filler = mountPoint + QStringLiteral("/filler");
    checkServingThroughStoreFailure(
        [&] {
            QFile file(filler);
            if (!file.open(QIODevice::WriteOnly))
                return false;
            const QByteArray block(64 * 1024, 'x');
            while (file.write(block) == block.size() && file.flush()) { }
            return true;
        },
        [&] { return QFile::remove(filler); });
}

void tst_Ledger::exportsTheRowWithAnExactDecimalCost()
{
    startGateway();
    m_mock->enqueue(fixtureStream());
    post(streamBody(), {{"x-tollgate-tag", "=HYPERLINK(\"http://x\")"}});
    QVERIFY(m_gateway->stop());
    const QList<RequestRecord> rows = readRows(m_dbPath);
    QCOMPARE(rows.size(), 1);

    QBuffer csv;
    csv.open(QIODevice::WriteOnly);
    LedgerExporter exporter(&csv, LedgerExporter::Format::Csv);
    QVERIFY(exporter.writeHeader());
    QVERIFY(exporter.writeRow(rows[0]));
    const QList<QByteArray> lines = csv.data().split('\n');
    QVERIFY(lines.size() >= 2);
    const QList<QByteArray> names = lines[0].trimmed().split(',');
    for (const char *column :
         {"time", "session_id", "model", "status", "input_tokens", "output_tokens",
          "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens", "cost_usd",
          "cost_usd_without_cache", "cache_markers_added", "cache_markers_client",
          "cache_reads_by_tollgate"})
        QVERIFY2(names.contains(column), column);
    QVERIFY(lines[1].contains(",0.005735,"));
    // A tag that a spreadsheet would run as a formula is exported as text.
    QVERIFY(lines[1].contains("\"'=HYPERLINK(\"\"http://x\"\")\""));

    QBuffer jsonl;
    jsonl.open(QIODevice::WriteOnly);
    LedgerExporter lineExporter(&jsonl, LedgerExporter::Format::JsonLines);
    QVERIFY(lineExporter.writeRow(rows[0]));
    QVERIFY(jsonl.data().contains("\"cost_usd\":0.005735,"));
    QVERIFY(jsonl.data().contains("\"model\":\"claude-opus-4-8\""));
}

void tst_Ledger::servesPrometheusMetrics()
{
    startGateway();
    m_mock->enqueue(fixtureStream());
    post(streamBody());
    QVERIFY(m_gateway->waitForRecords(1));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("GET", "/tollgate/metrics");
    QVERIFY(client.waitForResponses(1));
    const TestClient::Response &metrics = client.responses().first();
    QCOMPARE(metrics.status, 200);
    QVERIFY(metrics.header("content-type").startsWith("text/plain; version=0.0.4"));
    const QByteArray text = metrics.body;
    QVERIFY(text.contains("tollgate_requests_total{model=\"claude-opus-4-8\",status=\"200\"} 1\n"));
    QVERIFY(text.contains(
        "tollgate_tokens_total{model=\"claude-opus-4-8\",type=\"cache_read\"} 5000\n"));
    QVERIFY(text.contains("tollgate_cost_usd_total{model=\"claude-opus-4-8\"} 0.005735\n"));
    QVERIFY(text.contains("tollgate_request_duration_seconds_count 1\n"));
    // Scrapes are not API traffic: they add no row.
    QVERIFY(m_gateway->stop());
    QCOMPARE(readRows(m_dbPath).size(), 1);
}

void tst_Ledger::keepsMaskedHeadersAndTheErrorBodyForTheDetailView()
{
    startGateway();
    MockResponse limited;
    limited.status = 429;
    limited.headers = {{"content-type", "application/json"},
                       {"request-id", "req_upstream_429"},
                       {"retry-after", "7"}};
    limited.body = MockUpstream::errorBody("rate_limit_error", "Number of requests exceeded");
    m_mock->enqueue(limited);
    QCOMPARE(post(streamBody()).status, 429);
    QVERIFY(m_gateway->stop());
    const QList<RequestRecord> rows = readRows(m_dbPath);
    QCOMPARE(rows.size(), 1);
    const RequestRecord &row = rows[0];
    QCOMPARE(row.errorType, QStringLiteral("rate_limit_error"));
    QCOMPARE(row.requestId, QByteArray("req_upstream_429"));
    QCOMPARE(row.errorBody, limited.body);
    QVERIFY(row.responseHeaders.contains("retry-after: 7\r\n"));
    QVERIFY(row.requestHeaders.contains("anthropic-version: 2023-06-01\r\n"));
    QVERIFY(row.requestHeaders.contains("x-api-key: tg-test-…0123\r\n"));
    QVERIFY(!row.requestHeaders.contains(GatewayHarness::virtualKey()));
    QVERIFY(row.storedRequestBody.isEmpty()); // bodies are not logged unless asked for
    QVERIFY(row.storedResponseBody.isEmpty());
}

void tst_Ledger::logsRedactedBodiesOnlyWhenAskedTo()
{
    startGateway([](GatewayConfig &config) { config.bodyLogCapBytes = 4096; });
    m_mock->enqueue(fixtureStream());
    const QByteArray body = "{\"model\":\"claude-opus-4-8\",\"stream\":true,\"messages\":[{"
                            "\"role\":\"user\",\"content\":\"use sk-ant-api03-"
                            "PastedByMistake0123456789 please\"}]}";
    QCOMPARE(post(body).status, 200);
    QVERIFY(m_gateway->stop());
    const QList<RequestRecord> rows = readRows(m_dbPath);
    QCOMPARE(rows.size(), 1);
    QVERIFY(rows[0].storedRequestBody.contains("\"model\":\"claude-opus-4-8\""));
    QVERIFY(!rows[0].storedRequestBody.contains("PastedByMistake"));
    QVERIFY(rows[0].storedRequestBody.contains("sk-ant-api03-…6789"));
    QVERIFY(rows[0].storedResponseBody.startsWith("event: message_start\n"));
    QVERIFY(rows[0].storedResponseBody.contains("event: message_stop"));
    // The upstream key never reaches the database, whatever was logged.
    QFile file(m_dbPath);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(!file.readAll().contains(GatewayHarness::upstreamKey()));
}

void tst_Ledger::removesRowsOlderThanTheRetentionInTheBackground()
{
    {
        LedgerStore store(StoreConfig::sqlite(m_dbPath));
        QVERIFY(store.open());
        RequestRecord old;
        old.startedAt = QDateTime::currentDateTimeUtc().addDays(-40);
        old.method = "POST";
        old.target = "/v1/messages";
        old.status = 200;
        RequestRecord recent = old;
        recent.startedAt = QDateTime::currentDateTimeUtc().addDays(-3);
        QVERIFY(store.insert({old, recent}));
    }
    startGateway([](GatewayConfig &config) { config.retentionDays = 30; });
    m_mock->enqueue(fixtureStream());
    QCOMPARE(post(streamBody()).status, 200);
    const QDateTime cutoff = QDateTime::currentDateTimeUtc().addDays(-30);
    const auto isPurged = [&] {
        const QList<RequestRecord> rows = readRows(m_dbPath);
        return rows.size() == 2 && rows[0].startedAt > cutoff && rows[1].startedAt > cutoff;
    };
    // The recent row and the new one stay; the 40-day-old one goes, without a restart.
    QVERIFY(QTest::qWaitFor(isPurged, 10000));
}

void tst_Ledger::rowsOnTheWayToTheLogCarryFactsNotBodies_data()
{
    QTest::addColumn<qsizetype>("fillerBytes");
    QTest::addColumn<qint64>("bodyLogCap");
    QTest::newRow("small body, read at once") << qsizetype(1024) << qint64(0);
    QTest::newRow("3 MiB body, read on a worker") << qsizetype(3 << 20) << qint64(0);
    QTest::newRow("3 MiB body, body log on") << qsizetype(3 << 20) << qint64(200);
}

// The request log's thread runs at idle priority and falls behind on a busy machine: a row
// waiting for it must not hold its request body (100 requests of 8 MiB once queued 854 MiB).
// The proxy hands over the body's facts instead, and no more of the body than the opt-in
// body log keeps.
void tst_Ledger::rowsOnTheWayToTheLogCarryFactsNotBodies()
{
    QFETCH(qsizetype, fillerBytes);
    QFETCH(qint64, bodyLogCap);
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.bodyLogCapBytes = bodyLogCap;
    ProxyServer server(config);
    QSignalSpy started(&server, &ProxyServer::started);
    QSignalSpy finished(&server, &ProxyServer::requestsFinished);
    server.start();
    QCOMPARE(started.count(), 1);
    m_mock->enqueue(MockUpstream::messageJson("claude-opus-4-8"));
    const QByteArray body = bodyWithFacts(fillerBytes);
    TestClient client;
    client.connectTo(started.first().first().value<quint16>());
    client.send("POST", "/v1/messages", auth(), body);
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 200);
    QTRY_COMPARE(finished.count(), 1);

    const auto records = finished.first().first().value<QList<RequestRecord>>();
    QCOMPARE(records.size(), 1);
    const RequestRecord &record = records.first();
    // As much of the body as the body log keeps: the body as forwarded (cache markers in).
    QCOMPARE(m_mock->requests().size(), 1);
    QCOMPARE(record.requestBody, m_mock->requests().first().body.left(qsizetype(bodyLogCap)));
    QVERIFY(record.requestFacts.isValid());
    QVERIFY(record.requestFacts.waitFor(std::chrono::seconds(5)));
    const RequestFacts &facts = record.requestFacts.get();
    QCOMPARE(facts.model, QStringLiteral("claude-opus-4-8"));
    QCOMPARE(facts.sessionId, QByteArray(kFactsSession));
    QCOMPARE(facts.project, QStringLiteral("/home/dev/shop"));
    server.stop();
}

// The same facts reach the log's row when they were read on a worker.
void tst_Ledger::logsTheFactsOfAMegabyteBody()
{
    startGateway();
    m_mock->enqueue(MockUpstream::messageJson("claude-opus-4-8"));
    QCOMPARE(post(bodyWithFacts(3 << 20)).status, 200);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().project, QStringLiteral("/home/dev/shop"));
    QVERIFY(m_gateway->stop());
    const QList<RequestRecord> rows = readRows(m_dbPath);
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows[0].model, QStringLiteral("claude-opus-4-8"));
    QCOMPARE(rows[0].sessionId, QByteArray(kFactsSession));
    QCOMPARE(rows[0].project, QStringLiteral("/home/dev/shop"));
    QCOMPARE(rows[0].requestBytes, qint64(bodyWithFacts(3 << 20).size()));
}

QTEST_GUILESS_MAIN(tst_Ledger)
#include "tst_Ledger.moc"
