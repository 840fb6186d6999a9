#include "LedgerSchema.h"

namespace tollgate {

namespace {

// Version 1: one row per request. Text columns are never NULL (empty when unknown), so
// that grouping and filtering treat "no tag" as one value; the two cost columns are NULL
// for an unpriced model (never 0), and ttfb_us is NULL when no response byte came.
QStringList version1(StoreConfig::Backend backend)
{
    const bool isSqlite = backend == StoreConfig::Backend::Sqlite;
    // SQLite: AUTOINCREMENT keeps ids of purged rows from being handed out again, so an
    // export that resumes after the last id it saw never skips or repeats a row.
    const QString id = isSqlite ? QStringLiteral("INTEGER PRIMARY KEY AUTOINCREMENT")
                                : QStringLiteral("BIGSERIAL PRIMARY KEY");
    const QString flag = isSqlite ? QStringLiteral("INTEGER NOT NULL DEFAULT 0")
                                  : QStringLiteral("BOOLEAN NOT NULL DEFAULT FALSE");
    const QString text = QStringLiteral("TEXT NOT NULL DEFAULT ''");
    const QString count = QStringLiteral("BIGINT NOT NULL DEFAULT 0");
    // Header blocks and bodies are bytes as they were on the wire, not always UTF-8.
    const QString bytes = isSqlite ? QStringLiteral("BLOB NULL") : QStringLiteral("BYTEA NULL");
    const QString table = QStringLiteral("CREATE TABLE requests ("
                                         "id %1, "
                                         "time_ms BIGINT NOT NULL, "
                                         "instance %3, "
                                         "request_id %3, "
                                         "session_id %3, "
                                         "project %3, "
                                         "virtual_key %3, "
                                         "billing_tag %3, "
                                         "provider %3, "
                                         "upstream_key %3, "
                                         "method %3, "
                                         "path %3, "
                                         "model %3, "
                                         "stream %2, "
                                         "status INTEGER NOT NULL DEFAULT 0, "
                                         "error_type %3, "
                                         "error %3, "
                                         "input_tokens %4, "
                                         "output_tokens %4, "
                                         "cache_write_5m_tokens %4, "
                                         "cache_write_1h_tokens %4, "
                                         "cache_read_tokens %4, "
                                         "web_search_requests %4, "
                                         "web_fetch_requests %4, "
                                         "service_tier %3, "
                                         "speed %3, "
                                         "inference_geo %3, "
                                         "stop_reason %3, "
                                         "cost_picousd BIGINT NULL, "
                                         "cost_without_cache_picousd BIGINT NULL, "
                                         "cache_markers_added %4, "
                                         "ttfb_us BIGINT NULL, "
                                         "total_us %4, "
                                         "bytes_in %4, "
                                         "bytes_out %4, "
                                         "user_agent %3, "
                                         "is_batch %2, "
                                         "incomplete %2, "
                                         "request_headers %5, "
                                         "response_headers %5, "
                                         "error_body %5, "
                                         "request_body %5, "
                                         "response_body %5)")
                              .arg(id, flag, text, count, bytes);
    return {
        table,
        QStringLiteral("CREATE INDEX requests_time_ms ON requests (time_ms)"),
        QStringLiteral("CREATE INDEX requests_session_time ON requests (session_id, time_ms)"),
        QStringLiteral("CREATE INDEX requests_billing_tag ON requests (billing_tag, time_ms)"),
        QStringLiteral("CREATE INDEX requests_model ON requests (model, time_ms)"),
    };
}

// Version 2: whose the cache reads are, and which dialect the client spoke.
// cache_markers_client is the client's own markers as the injector counted them (0 when it
// did not look); cache_reads_by_tollgate says the request's savings are owed to Tollgate's
// markers, not to the client's; surface is "anthropic" (Messages) or "openai" (chat
// completions), and every row before this version was an Anthropic one.
QStringList version2(StoreConfig::Backend backend)
{
    const bool isSqlite = backend == StoreConfig::Backend::Sqlite;
    const QString flag = isSqlite ? QStringLiteral("INTEGER NOT NULL DEFAULT 0")
                                  : QStringLiteral("BOOLEAN NOT NULL DEFAULT FALSE");
    const QString yes = isSqlite ? QStringLiteral("1") : QStringLiteral("TRUE");
    return {
        QStringLiteral("ALTER TABLE requests ADD COLUMN cache_markers_client "
                       "BIGINT NOT NULL DEFAULT 0"),
        QStringLiteral("ALTER TABLE requests ADD COLUMN cache_reads_by_tollgate %1").arg(flag),
        QStringLiteral("ALTER TABLE requests ADD COLUMN surface TEXT NOT NULL DEFAULT 'anthropic'"),
        // Rows written before this version did not record the client's markers, so their
        // reads count as the client's, except where the count of Tollgate's markers proves
        // the client had none: a client that sends its own markers is only ever offered the
        // two user-turn spots (the tools and system spots go to a client without any), so
        // 3 or 4 markers added mean none of the client's, and every read is then Tollgate's.
        QStringLiteral("UPDATE requests SET cache_reads_by_tollgate = %1 "
                       "WHERE cache_markers_added >= 3")
            .arg(yes),
    };
}

} // namespace

QList<LedgerSchema::Migration> LedgerSchema::migrations(StoreConfig::Backend backend)
{
    return {{1, version1(backend)}, {2, version2(backend)}};
}

int LedgerSchema::latestVersion()
{
    return migrations(StoreConfig::Backend::Sqlite).constLast().version;
}

} // namespace tollgate
