#include "LedgerStoreChecks.h"

#include "store/LedgerSchema.h"

#include <QDebug>
#include <QElapsedTimer>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QSysInfo>
#include <QTest>
#include <ctime>
#include <limits>

namespace tollgate::test {

namespace {
using Grouping = LedgerStore::Grouping;

const QStringList kExpectedColumns = {
    QStringLiteral("id"),
    QStringLiteral("time_ms"),
    QStringLiteral("instance"),
    QStringLiteral("request_id"),
    QStringLiteral("session_id"),
    QStringLiteral("project"),
    QStringLiteral("virtual_key"),
    QStringLiteral("billing_tag"),
    QStringLiteral("provider"),
    QStringLiteral("upstream_key"),
    QStringLiteral("method"),
    QStringLiteral("path"),
    QStringLiteral("model"),
    QStringLiteral("stream"),
    QStringLiteral("status"),
    QStringLiteral("error_type"),
    QStringLiteral("error"),
    QStringLiteral("input_tokens"),
    QStringLiteral("output_tokens"),
    QStringLiteral("cache_write_5m_tokens"),
    QStringLiteral("cache_write_1h_tokens"),
    QStringLiteral("cache_read_tokens"),
    QStringLiteral("web_search_requests"),
    QStringLiteral("web_fetch_requests"),
    QStringLiteral("service_tier"),
    QStringLiteral("speed"),
    QStringLiteral("inference_geo"),
    QStringLiteral("stop_reason"),
    QStringLiteral("cost_picousd"),
    QStringLiteral("cost_without_cache_picousd"),
    QStringLiteral("cache_markers_added"),
    QStringLiteral("ttfb_us"),
    QStringLiteral("total_us"),
    QStringLiteral("bytes_in"),
    QStringLiteral("bytes_out"),
    QStringLiteral("user_agent"),
    QStringLiteral("is_batch"),
    QStringLiteral("incomplete"),
    QStringLiteral("request_headers"),
    QStringLiteral("response_headers"),
    QStringLiteral("error_body"),
    QStringLiteral("request_body"),
    QStringLiteral("response_body"),
    // Schema version 2 added these at the end of the table.
    QStringLiteral("cache_markers_client"),
    QStringLiteral("cache_reads_by_tollgate"),
    QStringLiteral("surface"),
};

const QStringList kExpectedIndexes = {
    QStringLiteral("requests_billing_tag"),
    QStringLiteral("requests_model"),
    QStringLiteral("requests_session_time"),
    QStringLiteral("requests_time_ms"),
};

qint64 day14Ms()
{
    return QDateTime(QDate(2025, 3, 14), QTime(0, 0), Qt::UTC).toMSecsSinceEpoch();
}

// One value from SQL run on the store's connection; an invalid QVariant when it failed.
QVariant scalar(const LedgerStore &store, const QString &sql)
{
    QSqlQuery query(LedgerStoreChecks::connectionOf(store));
    if (!query.exec(sql) || !query.next())
        return {};
    return query.value(0);
}

QStringList keysOf(const QList<LedgerStore::Totals> &totals)
{
    QStringList keys;
    for (const LedgerStore::Totals &group : totals)
        keys.append(group.key);
    return keys;
}

QList<qint64> costsOf(const QList<LedgerStore::Totals> &totals)
{
    QList<qint64> costs;
    for (const LedgerStore::Totals &group : totals)
        costs.append(group.costPicoUsd);
    return costs;
}

QStringList indexNames(const LedgerStore &store)
{
    QSqlQuery query(LedgerStoreChecks::connectionOf(store));
    const QString sql = store.backendName() == QLatin1String("sqlite")
        ? QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                         "'requests' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        : QStringLiteral("SELECT indexname FROM pg_indexes WHERE tablename = 'requests' AND "
                         "indexname <> 'requests_pkey' ORDER BY indexname");
    QStringList names;
    if (query.exec(sql)) {
        while (query.next())
            names.append(query.value(0).toString());
    }
    return names;
}

// Makes the database refuse any row whose model is "poison", whichever statement of a
// batch carries it.
bool installPoisonTrigger(const LedgerStore &store)
{
    QSqlQuery query(LedgerStoreChecks::connectionOf(store));
    if (store.backendName() == QLatin1String("sqlite"))
        return query.exec(QStringLiteral(
            "CREATE TEMP TRIGGER refuse_poison BEFORE INSERT ON main.requests "
            "WHEN NEW.model = 'poison' BEGIN SELECT RAISE(ABORT, 'refused poison'); END"));
    return query.exec(QStringLiteral(
               "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
               "IF NEW.model = 'poison' THEN RAISE EXCEPTION 'refused poison'; END IF; "
               "RETURN NEW; END $$ LANGUAGE plpgsql"))
        && query.exec(QStringLiteral("CREATE TRIGGER refuse_poison BEFORE INSERT ON requests "
                                     "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"));
}

RequestRecord grouped(const QString &model, const QString &tag, const QByteArray &session,
                      const QString &key, const QString &project, const QString &provider,
                      std::optional<qint64> cost)
{
    RequestRecord record = LedgerStoreChecks::row(LedgerStoreChecks::baseMs(), model, cost);
    record.billingTag = tag;
    record.sessionId = session;
    record.virtualKeyAlias = key;
    record.project = project;
    record.provider = provider;
    return record;
}
} // namespace

qint64 LedgerStoreChecks::baseMs()
{
    return day14Ms() + 12 * kHourMs;
}

RequestRecord LedgerStoreChecks::fullRecord(int n)
{
    RequestRecord record;
    record.startedAt = QDateTime::fromMSecsSinceEpoch(baseMs() + n * 1000 + 123, Qt::UTC);
    record.method = "POST";
    record.target = "/v1/messages?beta=true&n=" + QByteArray::number(n);
    record.sessionId = "5c0ffee0-aaaa-4bbb-8ccc-" + QByteArray::number(100000 + n);
    record.status = 200 + n;
    record.isStreaming = n % 2 == 1;
    record.ttfbUs = 1234 + n;
    record.totalUs = 9'876'543'210LL + n;
    record.requestBytes = 45'678 + n;
    record.responseBytes = 3'456 + n;
    record.error = QStringLiteral("upstream closed the stream %1").arg(n);
    record.requestId = "req_011CSHoEeqs5C35K2UUqR7F" + QByteArray::number(n);
    record.project = QStringLiteral("/home/ann/src/tollgate-%1").arg(n);
    record.virtualKeyAlias = QStringLiteral("key-%1").arg(n);
    record.billingTag = QStringLiteral("team-%1").arg(n);
    record.provider = QStringLiteral("provider-%1").arg(n);
    record.upstreamKeyAlias = QStringLiteral("upstream-%1").arg(n);
    record.model = QStringLiteral("claude-sonnet-4-5-%1").arg(n);
    record.errorType = QStringLiteral("overloaded_error-%1").arg(n);
    record.userAgent = "claude-cli/2.0." + QByteArray::number(n) + " (external, cli)";
    record.isBatch = n % 2 == 0;
    record.isIncomplete = n % 2 == 1;
    record.requestHeaders = "x-api-key: tg-local-…cdef\r\nx-n: " + QByteArray::number(n) + "\r\n";
    record.responseHeaders = "request-id: req_" + QByteArray::number(n) + "\r\n";
    // Bytes as on the wire, not necessarily UTF-8, and absent on most rows.
    record.errorBody = n % 2 == 1 ? QByteArray("{\"type\":\"error\"}\xff\x00") : QByteArray();
    record.storedRequestBody = n % 3 == 0 ? QByteArray("{\"model\":\"m\"}") : QByteArray();
    record.storedResponseBody = n % 3 == 0 ? QByteArray("event: ping\n\n") : QByteArray();
    record.usage.inputTokens = 3'000'000'001LL + n;
    record.usage.outputTokens = 5'000'000'002LL + n;
    record.usage.cacheWrite5mTokens = 1200 + n;
    record.usage.cacheWrite1hTokens = 3400 + n;
    record.usage.cacheReadTokens = 56'789 + n;
    record.usage.webSearchRequests = 2 + n;
    record.usage.webFetchRequests = 1 + n;
    record.usage.serviceTier = QStringLiteral("priority-%1").arg(n);
    record.usage.speed = QStringLiteral("fast-%1").arg(n);
    record.usage.inferenceGeo = QStringLiteral("us-%1").arg(n);
    record.usage.stopReason = QStringLiteral("end_turn-%1").arg(n);
    record.usage.hasUsage = true;
    record.costPicoUsd = 123'456'789'012'345LL + n;
    record.costWithoutCachePicoUsd = 987'654'321'098'765LL + n;
    record.cacheMarkersAdded = 2 + n;
    record.cacheMarkersClient = 1 + n;
    record.cacheReadsByTollgate = n % 2 == 1;
    record.surface = n % 2 == 1 ? QStringLiteral("openai") : QStringLiteral("anthropic");
    return record;
}

RequestRecord LedgerStoreChecks::row(qint64 timeMs, const QString &model,
                                     std::optional<qint64> costPicoUsd, qint64 inputTokens,
                                     qint64 outputTokens)
{
    RequestRecord record;
    record.startedAt = QDateTime::fromMSecsSinceEpoch(timeMs, Qt::UTC);
    record.method = "POST";
    record.target = "/v1/messages";
    record.status = 200;
    record.model = model;
    record.usage.inputTokens = inputTokens;
    record.usage.outputTokens = outputTokens;
    record.costPicoUsd = costPicoUsd;
    record.costWithoutCachePicoUsd =
        costPicoUsd ? std::optional<qint64>(*costPicoUsd * 2) : std::nullopt;
    return record;
}

QSqlDatabase LedgerStoreChecks::connectionOf(const LedgerStore &store)
{
    return QSqlDatabase::database(store.connectionName(), false);
}

qint64 LedgerStoreChecks::rowCount(const LedgerStore &store)
{
    const QVariant count = scalar(store, QStringLiteral("SELECT COUNT(*) FROM requests"));
    return count.isValid() ? count.toLongLong() : -1;
}

QList<RequestRecord> LedgerStoreChecks::readAll(LedgerStore &store)
{
    QList<RequestRecord> rows;
    QString error;
    const bool isRead = store.forEachRow(
        0, std::numeric_limits<qint64>::max(),
        [&](const RequestRecord &record) {
            rows.append(record);
            return true;
        },
        &error);
    if (!isRead)
        qWarning().noquote() << "reading the request log failed:" << error;
    return rows;
}

void LedgerStoreChecks::compareStoredFields(const RequestRecord &actual,
                                            const RequestRecord &expected)
{
    QCOMPARE(actual.startedAt.toMSecsSinceEpoch(), expected.startedAt.toMSecsSinceEpoch());
    QCOMPARE(actual.method, expected.method);
    QCOMPARE(actual.target, expected.target);
    QCOMPARE(actual.sessionId, expected.sessionId);
    QCOMPARE(actual.status, expected.status);
    QCOMPARE(actual.isStreaming, expected.isStreaming);
    QCOMPARE(actual.ttfbUs, expected.ttfbUs);
    QCOMPARE(actual.totalUs, expected.totalUs);
    QCOMPARE(actual.requestBytes, expected.requestBytes);
    QCOMPARE(actual.responseBytes, expected.responseBytes);
    QCOMPARE(actual.error, expected.error);
    QCOMPARE(actual.requestId, expected.requestId);
    QCOMPARE(actual.project, expected.project);
    QCOMPARE(actual.virtualKeyAlias, expected.virtualKeyAlias);
    QCOMPARE(actual.billingTag, expected.billingTag);
    QCOMPARE(actual.provider, expected.provider);
    QCOMPARE(actual.upstreamKeyAlias, expected.upstreamKeyAlias);
    QCOMPARE(actual.model, expected.model);
    QCOMPARE(actual.errorType, expected.errorType);
    QCOMPARE(actual.userAgent, expected.userAgent);
    QCOMPARE(actual.isBatch, expected.isBatch);
    QCOMPARE(actual.isIncomplete, expected.isIncomplete);
    QCOMPARE(actual.requestHeaders, expected.requestHeaders);
    QCOMPARE(actual.responseHeaders, expected.responseHeaders);
    QCOMPARE(actual.errorBody, expected.errorBody);
    QCOMPARE(actual.storedRequestBody, expected.storedRequestBody);
    QCOMPARE(actual.storedResponseBody, expected.storedResponseBody);
    QCOMPARE(actual.usage.inputTokens, expected.usage.inputTokens);
    QCOMPARE(actual.usage.outputTokens, expected.usage.outputTokens);
    QCOMPARE(actual.usage.cacheWrite5mTokens, expected.usage.cacheWrite5mTokens);
    QCOMPARE(actual.usage.cacheWrite1hTokens, expected.usage.cacheWrite1hTokens);
    QCOMPARE(actual.usage.cacheReadTokens, expected.usage.cacheReadTokens);
    QCOMPARE(actual.usage.webSearchRequests, expected.usage.webSearchRequests);
    QCOMPARE(actual.usage.webFetchRequests, expected.usage.webFetchRequests);
    QCOMPARE(actual.usage.serviceTier, expected.usage.serviceTier);
    QCOMPARE(actual.usage.speed, expected.usage.speed);
    QCOMPARE(actual.usage.inferenceGeo, expected.usage.inferenceGeo);
    QCOMPARE(actual.usage.stopReason, expected.usage.stopReason);
    QCOMPARE(actual.costPicoUsd.has_value(), expected.costPicoUsd.has_value());
    QCOMPARE(actual.costPicoUsd.value_or(-1), expected.costPicoUsd.value_or(-1));
    QCOMPARE(actual.costWithoutCachePicoUsd.has_value(),
             expected.costWithoutCachePicoUsd.has_value());
    QCOMPARE(actual.costWithoutCachePicoUsd.value_or(-1),
             expected.costWithoutCachePicoUsd.value_or(-1));
    QCOMPARE(actual.cacheMarkersAdded, expected.cacheMarkersAdded);
    QCOMPARE(actual.cacheMarkersClient, expected.cacheMarkersClient);
    QCOMPARE(actual.cacheReadsByTollgate, expected.cacheReadsByTollgate);
    QCOMPARE(actual.surface, expected.surface);
    // Never stored.
    QVERIFY(actual.requestBody.isEmpty());
    QVERIFY(actual.response.body.isEmpty());
}

void LedgerStoreChecks::createsSchemaOnce(const StoreFactory &makeStore)
{
    qint64 appliedMs = 0;
    {
        const std::unique_ptr<LedgerStore> store = makeStore();
        QString error;
        QVERIFY2(store->open(&error), qPrintable(error));
        QCOMPARE(store->schemaVersion(), LedgerSchema::latestVersion());
        QCOMPARE(store->migrationsApplied(), LedgerSchema::latestVersion());
        QVERIFY(store->isOpen());
        // A second open() of an open store is a no-op.
        QVERIFY(store->open(&error));
        QCOMPARE(store->migrationsApplied(), LedgerSchema::latestVersion());

        const QSqlRecord columns = connectionOf(*store).record(QStringLiteral("requests"));
        QStringList names;
        for (int i = 0; i < columns.count(); ++i)
            names.append(columns.fieldName(i));
        QCOMPARE(names, kExpectedColumns);
        QCOMPARE(indexNames(*store), kExpectedIndexes);

        QSqlQuery migrations(connectionOf(*store));
        QVERIFY(migrations.exec(
            QStringLiteral("SELECT version, applied_ms FROM schema_migrations ORDER BY version")));
        for (int version = 1; version <= LedgerSchema::latestVersion(); ++version) {
            QVERIFY(migrations.next());
            QCOMPARE(migrations.value(0).toInt(), version);
            const qint64 ms = migrations.value(1).toLongLong();
            QVERIFY(qAbs(ms - QDateTime::currentMSecsSinceEpoch()) < 60'000);
            if (version == 1)
                appliedMs = ms;
        }
        QVERIFY(!migrations.next());
        migrations.finish();
        QVERIFY2(store->insert({fullRecord(1)}, &error), qPrintable(error));
    }
    const std::unique_ptr<LedgerStore> reopened = makeStore();
    QString error;
    QVERIFY2(reopened->open(&error), qPrintable(error));
    QCOMPARE(reopened->schemaVersion(), LedgerSchema::latestVersion());
    QCOMPARE(reopened->migrationsApplied(), 0);
    QCOMPARE(scalar(*reopened, QStringLiteral("SELECT COUNT(*) FROM schema_migrations")).toInt(),
             LedgerSchema::latestVersion());
    QCOMPARE(scalar(*reopened,
                    QStringLiteral("SELECT applied_ms FROM schema_migrations WHERE version = 1"))
                 .toLongLong(),
             appliedMs);
    QCOMPARE(rowCount(*reopened), 1);
}

void LedgerStoreChecks::refusesNewerSchema(const StoreFactory &makeStore)
{
    {
        const std::unique_ptr<LedgerStore> store = makeStore();
        QString error;
        QVERIFY2(store->open(&error), qPrintable(error));
        QSqlQuery query(connectionOf(*store));
        QVERIFY2(query.exec(QStringLiteral(
                     "INSERT INTO schema_migrations (version, applied_ms) VALUES (99, 0)")),
                 qPrintable(query.lastError().text()));
    }
    const std::unique_ptr<LedgerStore> store = makeStore();
    QString error;
    QVERIFY(!store->open(&error));
    QVERIFY(!store->isOpen());
    QVERIFY2(error.contains(QLatin1String("schema version 99 is newer")), qPrintable(error));
    QCOMPARE(store->schemaVersion(), 0);
    QVERIFY(!store->insert({fullRecord(1)}, &error));
    QVERIFY2(error.contains(QLatin1String("not open")), qPrintable(error));
}

void LedgerStoreChecks::migratesFromVersion1(const StoreFactory &makeStore)
{
    // The database as a build of schema version 1 left it: that version's tables (released
    // migrations never change) and rows written by it.
    {
        const std::unique_ptr<LedgerStore> store = makeStore();
        QString error;
        QVERIFY2(store->open(&error), qPrintable(error));
        QStringList statements = {
            QStringLiteral("DROP TABLE requests"),
            QStringLiteral("DROP TABLE schema_migrations"),
            QStringLiteral("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                           "applied_ms BIGINT NOT NULL)"),
            QStringLiteral("INSERT INTO schema_migrations (version, applied_ms) VALUES (1, 7)"),
        };
        const QList<LedgerSchema::Migration> migrations =
            LedgerSchema::migrations(store->config().backend);
        QCOMPARE(migrations.first().version, 1);
        statements += migrations.first().statements;
        // Old rows: no markers of Tollgate's; Claude Code's (1 added to its own 3); a plain
        // SDK conversation (3 added: the client had none); 4 added; and one unpriced.
        const QString insert = QStringLiteral(
            "INSERT INTO requests (time_ms, session_id, model, cache_read_tokens, cost_picousd, "
            "cost_without_cache_picousd, cache_markers_added) VALUES (%1, 'old-%2', "
            "'claude-sonnet-4-5', %3, %4, %5, %6)");
        const QList<QList<qint64>> rows = {
            {5000, 100, 400, 0}, {9000, 200, 900, 1}, {7000, 300, 1000, 3}, {8000, 50, 850, 4}};
        for (int i = 0; i < rows.size(); ++i) {
            const QList<qint64> &r = rows.at(i);
            statements.append(
                insert.arg(baseMs() + i).arg(i).arg(r[0]).arg(r[1]).arg(r[2]).arg(r[3]));
        }
        statements.append(
            QStringLiteral("INSERT INTO requests (time_ms, session_id, model, cache_markers_added) "
                           "VALUES (%1, 'old-unpriced', 'mystery-model', 3)")
                .arg(baseMs() + rows.size()));
        QSqlQuery query(connectionOf(*store));
        for (const QString &statement : std::as_const(statements))
            QVERIFY2(query.exec(statement),
                     qPrintable(statement + QStringLiteral(": ") + query.lastError().text()));
    }

    const std::unique_ptr<LedgerStore> store = makeStore();
    QString error;
    QVERIFY2(store->open(&error), qPrintable(error));
    QCOMPARE(store->schemaVersion(), LedgerSchema::latestVersion());
    QCOMPARE(store->migrationsApplied(), LedgerSchema::latestVersion() - 1);
    const QSqlRecord columns = connectionOf(*store).record(QStringLiteral("requests"));
    QStringList names;
    for (int i = 0; i < columns.count(); ++i)
        names.append(columns.fieldName(i));
    QCOMPARE(names, kExpectedColumns);
    QCOMPARE(indexNames(*store), kExpectedIndexes);
    QCOMPARE(
        scalar(*store, QStringLiteral("SELECT applied_ms FROM schema_migrations WHERE version = 1"))
            .toLongLong(),
        7);

    const QList<RequestRecord> old = readAll(*store);
    QCOMPARE(old.size(), 5);
    const QList<qint64> added = {0, 1, 3, 4, 3};
    const QList<bool> byTollgate = {false, false, true, true, true};
    for (int i = 0; i < old.size(); ++i) {
        QCOMPARE(old[i].sessionId,
                 i < 4 ? "old-" + QByteArray::number(i) : QByteArray("old-unpriced"));
        QCOMPARE(old[i].cacheMarkersAdded, added[i]);
        QCOMPARE(old[i].cacheMarkersClient, 0); // not known for old rows
        QCOMPARE(old[i].cacheReadsByTollgate, byTollgate[i]);
        QCOMPARE(old[i].surface, QStringLiteral("anthropic")); // every old row was
    }
    QCOMPARE(old[1].usage.cacheReadTokens, 9000);
    QCOMPARE(old[1].costPicoUsd, std::optional<qint64>(200));
    QCOMPARE(old[1].costWithoutCachePicoUsd, std::optional<qint64>(900));
    QVERIFY(!old[4].costPicoUsd.has_value());

    // Claude Code's row keeps its savings with the client: Tollgate gets 700 + 800.
    const QList<LedgerStore::Totals> totals =
        store->totals(0, baseMs() + kDayMs, Grouping::None, 0, -1, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(totals.size(), 1);
    QCOMPARE(totals[0].requestsWithTollgateMarkers, 4);
    QCOMPARE(totals[0].requestsWithTollgateReads, 3);
    QCOMPARE(totals[0].savedByTollgatePicoUsd, 700 + 800);
    QCOMPARE(totals[0].costWithoutCachePicoUsd - totals[0].costPicoUsd, 300 + 700 + 700 + 800);

    // New rows carry the new columns in the migrated table.
    const RequestRecord fresh = fullRecord(1);
    QVERIFY2(store->insert({fresh}, &error), qPrintable(error));
    const QList<RequestRecord> all = readAll(*store);
    QCOMPARE(all.size(), 6);
    compareStoredFields(all.last(), fresh);
}

void LedgerStoreChecks::readsBackEveryField(LedgerStore &store)
{
    // 19 rows: SQLite writes a block of 16 in one statement and the rest one by one.
    QList<RequestRecord> written;
    for (int n = 1; n <= 19; ++n)
        written.append(fullRecord(n));
    QString error;
    QVERIFY2(store.insert(written, &error), qPrintable(error));
    const QList<RequestRecord> rows = readAll(store);
    QCOMPARE(rows.size(), written.size());
    for (int i = 0; i < rows.size(); ++i) {
        compareStoredFields(rows[i], written[i]);
        if (QTest::currentTestFailed())
            return;
    }
    QVERIFY(rows[0].id > 0);
    QCOMPARE(rows[1].id, rows[0].id + 1);
    QCOMPARE(
        scalar(store, QStringLiteral("SELECT instance FROM requests WHERE id = %1").arg(rows[0].id))
            .toString(),
        store.config().instance.isEmpty() ? QSysInfo::machineHostName() : store.config().instance);
}

void LedgerStoreChecks::storesEmptyAndDefaultRecord(LedgerStore &store)
{
    RequestRecord empty; // null strings, no cost, no first byte
    empty.startedAt = QDateTime::fromMSecsSinceEpoch(baseMs(), Qt::UTC);
    empty.provider = QString();
    RequestRecord undated = row(0, QStringLiteral("m"), 1);
    undated.startedAt = QDateTime();
    undated.ttfbUs = 0; // a first byte at once is a time, unlike none at all
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    QString error;
    QVERIFY2(store.insert({empty, undated}, &error), qPrintable(error));
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    const QList<RequestRecord> rows = readAll(store);
    QCOMPARE(rows.size(), 2);
    compareStoredFields(rows[0], empty);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(rows[0].ttfbUs, -1);
    QVERIFY(rows[0].model.isEmpty());
    QCOMPARE(scalar(store, QStringLiteral("SELECT COUNT(*) FROM requests WHERE ttfb_us IS NULL"))
                 .toInt(),
             1);
    QCOMPARE(
        scalar(store, QStringLiteral("SELECT COUNT(*) FROM requests WHERE model = ''")).toInt(), 1);
    // A record without a start time is filed under the time it was written.
    QVERIFY(rows[1].startedAt.toMSecsSinceEpoch() >= before);
    QVERIFY(rows[1].startedAt.toMSecsSinceEpoch() <= after);
    QCOMPARE(rows[1].ttfbUs, 0);
}

void LedgerStoreChecks::keepsUnpricedCostNull(LedgerStore &store)
{
    RequestRecord priced = row(baseMs(), QStringLiteral("claude-opus-4-1"), 1000);
    priced.cacheReadsByTollgate = true;
    RequestRecord unpriced = row(baseMs() + 1, QStringLiteral("mystery-model"), std::nullopt);
    unpriced.cacheReadsByTollgate = true; // counted, but its savings are unknown: none
    const RequestRecord free = row(baseMs() + 2, QStringLiteral("claude-free"), 0);
    QString error;
    QVERIFY2(store.insert({priced, unpriced, free}, &error), qPrintable(error));

    const QList<RequestRecord> rows = readAll(store);
    QCOMPARE(rows.size(), 3);
    QCOMPARE(rows[0].costPicoUsd, std::optional<qint64>(1000));
    QCOMPARE(rows[0].costWithoutCachePicoUsd, std::optional<qint64>(2000));
    QVERIFY(!rows[1].costPicoUsd.has_value());
    QVERIFY(!rows[1].costWithoutCachePicoUsd.has_value());
    QCOMPARE(rows[2].costPicoUsd, std::optional<qint64>(0));
    QCOMPARE(scalar(store,
                    QStringLiteral("SELECT COUNT(*) FROM requests WHERE cost_picousd IS "
                                   "NULL AND cost_without_cache_picousd IS NULL"))
                 .toInt(),
             1);
    QCOMPARE(scalar(store, QStringLiteral("SELECT COUNT(*) FROM requests WHERE cost_picousd = 0"))
                 .toInt(),
             1);

    const QList<LedgerStore::Totals> totals =
        store.totals(0, baseMs() + kDayMs, Grouping::None, 0, -1, &error);
    QCOMPARE(totals.size(), 1);
    QCOMPARE(totals[0].requests, 3);
    QCOMPARE(totals[0].costPicoUsd, 1000);
    QCOMPARE(totals[0].costWithoutCachePicoUsd, 2000);
    QCOMPARE(totals[0].unpricedRequests, 1);
    QCOMPARE(totals[0].requestsWithTollgateReads, 2);
    QCOMPARE(totals[0].savedByTollgatePicoUsd, 1000);
}

void LedgerStoreChecks::insertsAllOrNothing(LedgerStore &store)
{
    QVERIFY(installPoisonTrigger(store));
    QList<RequestRecord> batch;
    for (int i = 0; i < 150; ++i)
        batch.append(row(baseMs() + i, QStringLiteral("claude-haiku-4-5"), i));
    batch[120].model = QStringLiteral("poison");
    QString error;
    QVERIFY(!store.insert(batch, &error));
    QVERIFY2(error.contains(QLatin1String("refused poison")), qPrintable(error));
    QCOMPARE(rowCount(store), 0);
    QVERIFY(store.isOpen());

    // The caller retries the same rows once the cause is gone.
    batch[120].model = QStringLiteral("claude-haiku-4-5");
    QVERIFY2(store.insert(batch, &error), qPrintable(error));
    QCOMPARE(rowCount(store), 150);
    const QList<RequestRecord> rows = readAll(store);
    QCOMPARE(rows.size(), 150);
    QCOMPARE(rows[120].costPicoUsd, std::optional<qint64>(120));
    QCOMPARE(rows[149].startedAt.toMSecsSinceEpoch(), baseMs() + 149);
}

void LedgerStoreChecks::countsTotalsWithinRange(LedgerStore &store)
{
    QList<RequestRecord> rows;
    rows.append(row(baseMs() - 1, QStringLiteral("before"), 1'000'000));
    for (int i = 0; i < 6; ++i)
        rows.append(row(baseMs() + i * 1000, QStringLiteral("inside"), 100 + i, 10 + i, 20 + i));
    rows.append(row(baseMs() + 6000, QStringLiteral("after"), 2'000'000));
    rows[1].usage.cacheWrite5mTokens = 500;
    rows[1].usage.cacheWrite1hTokens = 600;
    rows[1].usage.cacheReadTokens = 7000;
    // Prompt-cache attribution: Tollgate's reads on rows[1] (saved 100) and rows[5] (saved
    // 104); on rows[2] Tollgate added a marker but the reads are the client's (Claude Code's
    // 3 markers); the row before the range is Tollgate's and must not count.
    rows[0].cacheMarkersAdded = 4;
    rows[0].cacheReadsByTollgate = true;
    rows[1].cacheMarkersAdded = 3;
    rows[1].cacheReadsByTollgate = true;
    rows[2].cacheMarkersAdded = 1;
    rows[2].cacheMarkersClient = 3;
    rows[5].cacheMarkersAdded = 1;
    rows[5].cacheMarkersClient = 1;
    rows[5].cacheReadsByTollgate = true;
    rows[2].status = 529; // failed
    rows[3].errorType = QStringLiteral("overloaded_error"); // error event in a 200 stream
    rows[4].status = 0; // the client went away before any response
    rows[5].status = 302;
    rows[6].error = QStringLiteral("client disconnected");
    QString error;
    QVERIFY2(store.insert(rows, &error), qPrintable(error));

    const QList<LedgerStore::Totals> totals =
        store.totals(baseMs(), baseMs() + 6000, Grouping::None, 0, -1, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(totals.size(), 1);
    const LedgerStore::Totals &all = totals[0];
    QCOMPARE(all.key, QString());
    QCOMPARE(all.requests, 6);
    QCOMPARE(all.errors, 4);
    QCOMPARE(all.inputTokens, 10 + 11 + 12 + 13 + 14 + 15);
    QCOMPARE(all.outputTokens, 20 + 21 + 22 + 23 + 24 + 25);
    QCOMPARE(all.cacheWrite5mTokens, 500);
    QCOMPARE(all.cacheWrite1hTokens, 600);
    QCOMPARE(all.cacheReadTokens, 7000);
    QCOMPARE(all.costPicoUsd, 100 + 101 + 102 + 103 + 104 + 105);
    QCOMPARE(all.costWithoutCachePicoUsd, 2 * (100 + 101 + 102 + 103 + 104 + 105));
    QCOMPARE(all.unpricedRequests, 0);
    QCOMPARE(all.firstMs, baseMs());
    QCOMPARE(all.lastMs, baseMs() + 5000);
    QCOMPARE(all.requestsWithTollgateMarkers, 3);
    QCOMPARE(all.requestsWithTollgateReads, 2);
    QCOMPARE(all.savedByTollgatePicoUsd, 100 + 104);

    // No request in the range: no group at all.
    QVERIFY(store.totals(baseMs() + kDayMs, baseMs() + 2 * kDayMs, Grouping::None).isEmpty());
    QVERIFY(store.totals(baseMs() + kDayMs, baseMs() + 2 * kDayMs, Grouping::Model).isEmpty());
}

void LedgerStoreChecks::groupsDaysByLocalMidnight(LedgerStore &store)
{
    QString error;
    QVERIFY2(store.insert({row(day14Ms() + 21 * kHourMs, QStringLiteral("m"), 1),
                           row(day14Ms() + 23 * kHourMs, QStringLiteral("m"), 2),
                           row(day14Ms() + 25 * kHourMs, QStringLiteral("m"), 4),
                           row(day14Ms() + 47 * kHourMs + 30 * 60'000, QStringLiteral("m"), 8)},
                          &error),
             qPrintable(error));
    struct Case
    {
        int offsetSeconds;
        QStringList days;
        QList<qint64> requests;
        QList<qint64> costs;
    };
    const QList<Case> cases = {
        {0, {QStringLiteral("2025-03-14"), QStringLiteral("2025-03-15")}, {2, 2}, {3, 12}},
        // UTC+2: 23:00 on the 14th, 01:00 and 03:00 on the 15th, 01:30 on the 16th.
        {2 * 3600,
         {QStringLiteral("2025-03-14"), QStringLiteral("2025-03-15"), QStringLiteral("2025-03-16")},
         {1, 2, 1},
         {1, 6, 8}},
        // UTC-3: 18:00, 20:00, 22:00 on the 14th; 20:30 on the 15th.
        {-3 * 3600, {QStringLiteral("2025-03-14"), QStringLiteral("2025-03-15")}, {3, 1}, {7, 8}},
        // UTC+5:30: 02:30, 04:30, 06:30 on the 15th; 05:00 on the 16th.
        {5 * 3600 + 1800,
         {QStringLiteral("2025-03-15"), QStringLiteral("2025-03-16")},
         {3, 1},
         {7, 8}},
    };
    for (const Case &expected : cases) {
        const QList<LedgerStore::Totals> days =
            store.totals(day14Ms() - kDayMs, day14Ms() + 3 * kDayMs, Grouping::Day,
                         expected.offsetSeconds, -1, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(keysOf(days), expected.days);
        QList<qint64> requests;
        for (const LedgerStore::Totals &day : days)
            requests.append(day.requests);
        QCOMPARE(requests, expected.requests);
        QCOMPARE(costsOf(days), expected.costs);
    }
    const QList<LedgerStore::Totals> utc =
        store.totals(day14Ms(), day14Ms() + 3 * kDayMs, Grouping::Day);
    QCOMPARE(utc.size(), 2);
    QCOMPARE(utc[1].firstMs, day14Ms() + 25 * kHourMs);
    QCOMPARE(utc[1].lastMs, day14Ms() + 47 * kHourMs + 30 * 60'000);
    // A limit keeps the first days.
    QCOMPARE(keysOf(store.totals(day14Ms(), day14Ms() + 3 * kDayMs, Grouping::Day, 0, 1)),
             QStringList {QStringLiteral("2025-03-14")});
}

void LedgerStoreChecks::ordersGroupsByCost(LedgerStore &store)
{
    const QString p1 = QStringLiteral("/p/one");
    const QString p2 = QStringLiteral("/p/two");
    const QString p3 = QStringLiteral("/p/three");
    const QString anthropic = QStringLiteral("anthropic");
    const QString openrouter = QStringLiteral("openrouter");
    const QString alpha = QStringLiteral("alpha");
    const QString beta = QStringLiteral("beta");
    const QString def = QStringLiteral("default");
    const QString ci = QStringLiteral("ci");
    QString error;
    QVERIFY2(store.insert({grouped(QStringLiteral("haiku"), alpha, "s-4", def, p1, anthropic, 100),
                           grouped(QStringLiteral("sonnet"), beta, "s-3", ci, p2, anthropic, 250),
                           grouped(QStringLiteral("mystery"), QString(), "s-5", def, p3, openrouter,
                                   std::nullopt),
                           grouped(QStringLiteral("opus"), alpha, "s-1", def, p1, anthropic, 300),
                           grouped(QStringLiteral("sonnet"), beta, "s-2", ci, p2, anthropic, 250),
                           grouped(QStringLiteral("mystery"), QString(), "s-5", def, p3, openrouter,
                                   std::nullopt)},
                          &error),
             qPrintable(error));
    const qint64 from = baseMs() - kDayMs;
    const qint64 to = baseMs() + kDayMs;

    const QList<LedgerStore::Totals> models =
        store.totals(from, to, Grouping::Model, 0, -1, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(keysOf(models),
             (QStringList {QStringLiteral("sonnet"), QStringLiteral("opus"),
                           QStringLiteral("haiku"), QStringLiteral("mystery")}));
    QCOMPARE(costsOf(models), (QList<qint64> {500, 300, 100, 0}));
    QCOMPARE(models[0].requests, 2);
    QCOMPARE(models[3].requests, 2);
    QCOMPARE(models[3].unpricedRequests, 2);
    QCOMPARE(models[0].unpricedRequests, 0);

    const QList<LedgerStore::Totals> tags = store.totals(from, to, Grouping::Tag);
    QCOMPARE(keysOf(tags), (QStringList {beta, alpha, QString()}));
    QCOMPARE(costsOf(tags), (QList<qint64> {500, 400, 0}));

    // Equal cost and count: by key.
    const QList<LedgerStore::Totals> sessions = store.totals(from, to, Grouping::Session);
    QCOMPARE(keysOf(sessions),
             (QStringList {QStringLiteral("s-1"), QStringLiteral("s-2"), QStringLiteral("s-3"),
                           QStringLiteral("s-4"), QStringLiteral("s-5")}));
    QCOMPARE(keysOf(store.totals(from, to, Grouping::Session, 0, 2)),
             (QStringList {QStringLiteral("s-1"), QStringLiteral("s-2")}));

    const QList<LedgerStore::Totals> keys = store.totals(from, to, Grouping::Key);
    QCOMPARE(keysOf(keys), (QStringList {ci, def}));
    QCOMPARE(costsOf(keys), (QList<qint64> {500, 400}));
    QCOMPARE(keys[1].requests, 4);
    QCOMPARE(keys[1].unpricedRequests, 2);

    QCOMPARE(keysOf(store.totals(from, to, Grouping::Project)), (QStringList {p2, p1, p3}));
    const QList<LedgerStore::Totals> providers = store.totals(from, to, Grouping::Provider);
    QCOMPARE(keysOf(providers), (QStringList {anthropic, openrouter}));
    QCOMPARE(costsOf(providers), (QList<qint64> {900, 0}));
    QCOMPARE(providers[1].requests, 2);

    const QList<LedgerStore::Totals> instances = store.totals(from, to, Grouping::Instance);
    QCOMPARE(instances.size(), 1);
    QCOMPARE(instances[0].requests, 6);
}

void LedgerStoreChecks::accumulatesSessionTimeline(LedgerStore &store)
{
    const qint64 t = baseMs();
    RequestRecord third = row(t + 2000, QStringLiteral("m"), 250, 5, 7);
    third.usage.cacheWrite5mTokens = 100;
    third.usage.cacheWrite1hTokens = 30;
    third.usage.cacheReadTokens = 1000;
    RequestRecord first = row(t, QStringLiteral("m"), 100, 1, 2);
    RequestRecord second = row(t + 1000, QStringLiteral("unpriced"), std::nullopt, 3, 4);
    RequestRecord other = row(t + 500, QStringLiteral("m"), 9999, 50, 50);
    for (RequestRecord *record : {&first, &second, &third})
        record->sessionId = "timeline";
    other.sessionId = "another";
    QString error;
    // Written out of time order: the timeline follows the requests' start times.
    QVERIFY2(store.insert({third, other, first, second}, &error), qPrintable(error));

    const QList<LedgerStore::TimelinePoint> points = store.sessionTimeline("timeline", &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(points.size(), 3);
    QCOMPARE(points[0].timeMs, t);
    QCOMPARE(points[0].cumulativeCostPicoUsd, 100);
    QCOMPARE(points[0].cumulativeTokens, 3);
    QCOMPARE(points[1].timeMs, t + 1000);
    QCOMPARE(points[1].cumulativeCostPicoUsd, 100);
    QCOMPARE(points[1].cumulativeTokens, 3 + 7);
    QCOMPARE(points[2].timeMs, t + 2000);
    QCOMPARE(points[2].cumulativeCostPicoUsd, 350);
    QCOMPARE(points[2].cumulativeTokens, 3 + 7 + 5 + 7 + 100 + 30 + 1000);
    QVERIFY(store.sessionTimeline("no-such-session", &error).isEmpty());
}

void LedgerStoreChecks::purgesOlderRows(LedgerStore &store)
{
    QString error;
    QVERIFY2(store.insert({row(baseMs() - 3 * kDayMs, QStringLiteral("m"), 1),
                           row(baseMs() - 2 * kDayMs, QStringLiteral("m"), 2),
                           row(baseMs() - kDayMs, QStringLiteral("m"), 3),
                           row(baseMs(), QStringLiteral("m"), 4)},
                          &error),
             qPrintable(error));
    QCOMPARE(store.purgeOlderThan(baseMs() - kDayMs - kDayMs / 2, &error), 2);
    QCOMPARE(rowCount(store), 2);
    QCOMPARE(store.purgeOlderThan(baseMs() - kDayMs - kDayMs / 2, &error), 0);
    // The cutoff itself is kept.
    QCOMPARE(store.purgeOlderThan(baseMs() - kDayMs, &error), 0);
    const QList<RequestRecord> rows = readAll(store);
    QCOMPARE(rows.size(), 2);
    QCOMPARE(rows[0].costPicoUsd, std::optional<qint64>(3));

    // More rows than one delete statement takes (5000).
    QList<RequestRecord> old;
    for (int i = 0; i < 6'000; ++i)
        old.append(row(baseMs() - 10 * kDayMs + i, QStringLiteral("old"), i));
    QVERIFY2(store.insert(old, &error), qPrintable(error));
    QCOMPARE(store.purgeOlderThan(baseMs() - 5 * kDayMs, &error), 6'000);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(rowCount(store), 2);
}

void LedgerStoreChecks::storesHostileTextVerbatim(LedgerStore &store)
{
    const QByteArray session = "x'); DROP TABLE requests;--";
    RequestRecord hostile =
        row(baseMs(), QStringLiteral("claude\\'\"; DELETE FROM requests; --"), 42);
    hostile.sessionId = session;
    hostile.billingTag = QStringLiteral("'; DELETE FROM requests WHERE ''='");
    hostile.project = QStringLiteral("C:\\Users\\Zoë\\Проект 🚀");
    hostile.error = QStringLiteral("? $1 :name @p %s %n \\0 E'\\x41'");
    hostile.userAgent = "ua\\\\'--";
    RequestRecord withNul = row(baseMs() + 1, QStringLiteral("m"), 1);
    withNul.sessionId = QByteArray("abc\0def", 7);
    QString error;
    QVERIFY2(store.insert({hostile, withNul}, &error), qPrintable(error));

    QCOMPARE(rowCount(store), 2);
    const QList<RequestRecord> rows = readAll(store);
    QCOMPARE(rows.size(), 2);
    compareStoredFields(rows[0], hostile);
    if (QTest::currentTestFailed())
        return;
    // PostgreSQL's text cannot hold U+0000: it is kept as U+FFFD instead of failing the batch.
    QCOMPARE(rows[1].sessionId,
             QByteArray("abc\xEF\xBF\xBD"
                        "def"));

    const QList<LedgerStore::Totals> sessions =
        store.totals(0, baseMs() + kDayMs, Grouping::Session, 0, -1, &error);
    QCOMPARE(sessions.size(), 2);
    QCOMPARE(sessions[0].key, QString::fromUtf8(session));
    QCOMPARE(sessions[0].costPicoUsd, 42);
    QCOMPARE(store.sessionTimeline(session, &error).size(), 1);
    QCOMPARE(store.sessionTimeline(QByteArray("abc\0def", 7), &error).size(), 1);
    QCOMPARE(keysOf(store.totals(0, baseMs() + kDayMs, Grouping::Tag)).first(), hostile.billingTag);
}

void LedgerStoreChecks::streamsRowsInTimeOrderAndStops(LedgerStore &store)
{
    const qint64 t = baseMs();
    QList<RequestRecord> rows;
    for (const qint64 offset : {4, 1, 3, 0, 2, 2})
        rows.append(row(t + offset, QStringLiteral("m"), 100 + rows.size()));
    QString error;
    QVERIFY2(store.insert(rows, &error), qPrintable(error));

    QList<qint64> times;
    QList<qint64> costs;
    QVERIFY(store.forEachRow(
        t, t + 5,
        [&](const RequestRecord &record) {
            times.append(record.startedAt.toMSecsSinceEpoch() - t);
            costs.append(record.costPicoUsd.value_or(-1));
            return true;
        },
        &error));
    QCOMPARE(times, (QList<qint64> {0, 1, 2, 2, 3, 4}));
    // Equal start times keep the order they were written in.
    QCOMPARE(costs, (QList<qint64> {103, 101, 104, 105, 102, 100}));

    times.clear();
    QVERIFY(store.forEachRow(t + 1, t + 3, [&](const RequestRecord &record) {
        times.append(record.startedAt.toMSecsSinceEpoch() - t);
        return true;
    }));
    QCOMPARE(times, (QList<qint64> {1, 2, 2}));

    int visited = 0;
    QVERIFY(store.forEachRow(t, t + 5, [&](const RequestRecord &) { return ++visited < 2; }));
    QCOMPARE(visited, 2);
    // The abandoned read leaves the connection usable.
    QVERIFY2(store.insert({row(t + 10, QStringLiteral("m"), 1)}, &error), qPrintable(error));
    QCOMPARE(store.totals(t, t + 11, Grouping::None).constFirst().requests, 7);
}

void LedgerStoreChecks::measuresInsertRate(LedgerStore &store, int batches, int batchRows)
{
    // A busy team gateway's traffic: full rows in time order, from 64 sessions over a few
    // models, tags and projects (the indexed columns).
    QList<QList<RequestRecord>> batchList;
    for (int b = 0; b < batches; ++b) {
        QList<RequestRecord> batch;
        for (int i = 0; i < batchRows; ++i) {
            const int n = b * batchRows + i;
            RequestRecord record = fullRecord(i % 7);
            record.startedAt = QDateTime::fromMSecsSinceEpoch(baseMs() + n, Qt::UTC);
            record.sessionId = "5c0ffee0-aaaa-4bbb-8ccc-" + QByteArray::number(100000 + n % 64);
            record.model = QStringLiteral("claude-model-%1").arg(n % 5);
            record.billingTag = QStringLiteral("team-%1").arg(n % 8);
            batch.append(record);
        }
        batchList.append(batch);
    }
    QString error;
    QElapsedTimer timer;
    timer.start();
    const std::clock_t cpuStart = std::clock();
    for (const QList<RequestRecord> &batch : std::as_const(batchList))
        QVERIFY2(store.insert(batch, &error), qPrintable(error));
    const double cpuSeconds = qMax(1e-9, double(std::clock() - cpuStart) / CLOCKS_PER_SEC);
    const qint64 elapsedNs = qMax<qint64>(1, timer.nsecsElapsed());
    const qint64 rows = qint64(batches) * batchRows;
    QCOMPARE(rowCount(store), rows);
    // The CPU figure is this process's share: on a busy machine the wall-clock rate drops
    // while it stays; for PostgreSQL the server's own work is not in it.
    qInfo().noquote() << QStringLiteral("%1 insert: %2 rows in batches of %3 in %4 ms: %5 rows/s "
                                        "(%6 rows per CPU second of this process)")
                             .arg(store.backendName())
                             .arg(rows)
                             .arg(batchRows)
                             .arg(elapsedNs / 1'000'000)
                             .arg(qRound64(double(rows) * 1e9 / double(elapsedNs)))
                             .arg(qRound64(double(rows) / cpuSeconds));
}

} // namespace tollgate::test
