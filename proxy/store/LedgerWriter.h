#pragma once

#include "RequestRecord.h"
#include "keys/SpendTracker.h"
#include "store/StoreConfig.h"
#include "usage/PriceTable.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <memory>
#include <optional>

class QTimer;

namespace tollgate {

class LedgerBacklog;
class LedgerStore;
class UsageMetrics;

// The request log's writer. Lives on the ledger thread: it accounts each finished request
// (tokens, model, cost), hands the rows on at once, and writes them to the store in
// batches, so forwarding never waits on the disk. A store that fails (locked, read-only,
// full) keeps the rows in memory and is retried; the gateway keeps serving.
class LedgerWriter : public QObject
{
    Q_OBJECT

public:
    struct Settings
    {
        std::optional<StoreConfig> store; // none: rows are accounted but not kept
        PriceTable prices;
        // The prices of each provider besides "anthropic" (their own "prices"; for an
        // Anthropic-dialect provider on top of the built-in table): a model served by an
        // OpenAI-dialect provider with no price is unpriced, never billed at Anthropic's rate.
        QHash<QString, PriceTable> providerPrices;
        int retentionDays = 0; // 0 keeps every row
        qint64 bodyLogCapBytes = 0; // the opt-in body log
        QList<QByteArray> secrets; // redacted from anything kept
        std::shared_ptr<UsageMetrics> metrics;
        std::shared_ptr<LedgerBacklog> backlog; // released as rows are written
        // When set (budgets are on), open() sums the spend of the day and the month that
        // start at these instants and answers with spendLoaded().
        std::optional<qint64> spendDayStartMs;
        std::optional<qint64> spendMonthStartMs;
    };

    explicit LedgerWriter(Settings settings, QObject *parent = nullptr);
    ~LedgerWriter() override;

    // Queued calls from other threads.
    void open();
    void account(const QList<tollgate::RequestRecord> &records);
    // Secrets added while running (a new key), redacted from then on.
    void addSecrets(const QList<QByteArray> &secrets);
    // Writes everything pending now; answers with flushed().
    void flush();
    // New settings while running: prices, body log, retention and secrets apply to the
    // rows accounted from now on (secrets already known stay redacted). A new store gets
    // the rows still pending once the old one took what it could; metrics and backlog stay.
    void reconfigure(const tollgate::LedgerWriter::Settings &settings);
    // Writes what is pending, then sums the spend of the day and the month that start at
    // these instants and answers with spendLoaded().
    void reloadSpend(qint64 dayStartMs, qint64 monthStartMs);

    qsizetype pendingCount() const { return m_pending.size(); }

signals:
    void accounted(const QList<tollgate::RequestRecord> &records);
    void storeFailed(const QString &error); // once per run of failures
    void storeRecovered();
    void flushed(qint64 unwrittenRows);
    void spendLoaded(const tollgate::SpendTotals &totals);

private:
    bool ensureOpen();
    void loadSpend();
    bool writePending();
    void scheduleWrite();
    void onWriteTimer();
    void reportFailure(const QString &error);
    void purgeExpired();
    void startRetention();
    void releaseBacklog(qsizetype writtenRows);
    void releaseAllBacklog();

    Settings m_settings;
    std::unique_ptr<LedgerStore> m_store;
    QList<RequestRecord> m_pending;
    QTimer *m_writeTimer = nullptr;
    QTimer *m_retentionTimer = nullptr;
    int m_retryDelayMs = 0; // 0: not failing
    bool m_isFailing = false;
    qint64 m_droppedRows = 0;
    // The first m_uncountedRows of m_pending no longer count in the backlog (they waited
    // out a store failure); the rest do.
    qsizetype m_uncountedRows = 0;
};

} // namespace tollgate
