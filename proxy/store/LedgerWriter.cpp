#include "LedgerWriter.h"

#include "store/LedgerBacklog.h"
#include "store/LedgerStore.h"
#include "usage/UsageAccountant.h"
#include "usage/UsageMetrics.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QTimer>
#include <limits>

namespace tollgate {

namespace {
Q_LOGGING_CATEGORY(lcLedger, "tollgate.ledger")

// Rows reach the disk at most this late, so a crash loses at most this much.
constexpr int kWriteIntervalMs = 250;
// A full batch is written at once.
constexpr qsizetype kBatchRows = 500;
// While the store fails, retries back off to this.
constexpr int kMinRetryMs = 500;
constexpr int kMaxRetryMs = 30'000;
// Rows kept in memory while the store fails (about 100 MB); beyond it the oldest go.
constexpr qsizetype kMaxPendingRows = 200'000;
constexpr int kRetentionCheckMs = 60 * 60 * 1000;
constexpr qint64 kDayMs = 24LL * 60 * 60 * 1000;
} // namespace

LedgerWriter::LedgerWriter(Settings settings, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
{
}

LedgerWriter::~LedgerWriter() = default;

void LedgerWriter::open()
{
    m_writeTimer = new QTimer(this);
    m_writeTimer->setSingleShot(true);
    connect(m_writeTimer, &QTimer::timeout, this, &LedgerWriter::onWriteTimer);
    if (!m_settings.store) {
        loadSpend();
        return;
    }
    m_store = std::make_unique<LedgerStore>(*m_settings.store);
    ensureOpen();
    loadSpend();
    startRetention();
}

void LedgerWriter::startRetention()
{
    if (m_settings.retentionDays <= 0 || !m_store) {
        if (m_retentionTimer)
            m_retentionTimer->stop();
        return;
    }
    if (!m_retentionTimer) {
        m_retentionTimer = new QTimer(this);
        m_retentionTimer->setInterval(kRetentionCheckMs);
        connect(m_retentionTimer, &QTimer::timeout, this, &LedgerWriter::purgeExpired);
    }
    m_retentionTimer->start();
    // Cleanup runs in the background of this thread, after start-up has settled.
    QTimer::singleShot(2'000, this, &LedgerWriter::purgeExpired);
}

void LedgerWriter::reconfigure(const Settings &settings)
{
    QList<QByteArray> secrets = m_settings.secrets;
    for (const QByteArray &secret : settings.secrets) {
        if (!secrets.contains(secret))
            secrets.append(secret);
    }
    const bool isStoreMoved = settings.store != m_settings.store;
    const bool isRetentionChanged = settings.retentionDays != m_settings.retentionDays;
    if (isStoreMoved) {
        writePending(); // what the old store does not take goes to the new one
        if (m_writeTimer)
            m_writeTimer->stop();
        m_isFailing = false;
        m_retryDelayMs = 0;
        m_store.reset();
    }
    m_settings.store = settings.store;
    m_settings.prices = settings.prices;
    m_settings.providerPrices = settings.providerPrices;
    m_settings.retentionDays = settings.retentionDays;
    m_settings.bodyLogCapBytes = settings.bodyLogCapBytes;
    m_settings.secrets = secrets;
    if (isStoreMoved) {
        if (m_settings.store) {
            m_store = std::make_unique<LedgerStore>(*m_settings.store);
            ensureOpen();
            if (!m_pending.isEmpty())
                scheduleWrite();
        } else {
            // No request log any more: nothing is kept, and nothing holds forwarding back.
            releaseAllBacklog();
            m_pending.clear();
            m_uncountedRows = 0;
        }
    }
    if (isStoreMoved || isRetentionChanged)
        startRetention();
}

void LedgerWriter::reloadSpend(qint64 dayStartMs, qint64 monthStartMs)
{
    writePending(); // the sums must hold every request accounted so far
    m_settings.spendDayStartMs = dayStartMs;
    m_settings.spendMonthStartMs = monthStartMs;
    loadSpend();
}

void LedgerWriter::addSecrets(const QList<QByteArray> &secrets)
{
    m_settings.secrets.append(secrets);
}

void LedgerWriter::loadSpend()
{
    if (!m_settings.spendDayStartMs || !m_settings.spendMonthStartMs)
        return;
    SpendTotals totals;
    totals.dayStartMs = *m_settings.spendDayStartMs;
    totals.monthStartMs = *m_settings.spendMonthStartMs;
    if (!m_store) {
        emit spendLoaded(totals);
        return;
    }
    if (!m_store->isOpen()) {
        totals.error = QStringLiteral("the request log is not open");
        emit spendLoaded(totals);
        return;
    }
    // The month starts on or before the day; a row in both counts in both sums.
    const qint64 end = std::numeric_limits<qint64>::max();
    const struct
    {
        LedgerStore::Grouping by;
        qint64 fromMs;
        QHash<QString, SpendTotals::Spend> *sums;
        bool isDay;
    } queries[] = {
        {LedgerStore::Grouping::Key, totals.monthStartMs, &totals.keys, false},
        {LedgerStore::Grouping::Key, totals.dayStartMs, &totals.keys, true},
        {LedgerStore::Grouping::Tag, totals.monthStartMs, &totals.tags, false},
        {LedgerStore::Grouping::Tag, totals.dayStartMs, &totals.tags, true},
    };
    for (const auto &q : queries) {
        QString error;
        const QList<LedgerStore::Totals> rows = m_store->totals(q.fromMs, end, q.by, 0, -1, &error);
        if (!error.isEmpty()) {
            totals.error = error;
            break;
        }
        for (const LedgerStore::Totals &row : rows) {
            SpendTotals::Spend &spend = (*q.sums)[row.key];
            (q.isDay ? spend.dayPicoUsd : spend.monthPicoUsd) = row.costPicoUsd;
        }
    }
    emit spendLoaded(totals);
}

bool LedgerWriter::ensureOpen()
{
    if (m_store->isOpen())
        return true;
    QString error;
    if (m_store->open(&error))
        return true;
    reportFailure(QStringLiteral("cannot open the request log (%1): %2")
                      .arg(m_settings.store->displayName(), error));
    return false;
}

void LedgerWriter::account(const QList<RequestRecord> &records)
{
    const SecretRedactor redactor(m_settings.secrets);
    const UsageAccountant accountant(m_settings.prices, redactor, m_settings.bodyLogCapBytes,
                                     &m_settings.providerPrices);
    // The rows travel in the queued call's own copy of the list. Once the proxy has let go of
    // its reference (it does as it sends them) nothing else can see them: they are accounted in
    // place, not copied row by row and then freed twice over.
    QList<RequestRecord> rows =
        records.isDetached() ? std::move(const_cast<QList<RequestRecord> &>(records)) : records;
    for (RequestRecord &row : rows)
        accountant.account(row);
    if (m_settings.metrics)
        m_settings.metrics->add(rows);
    emit accounted(rows);
    if (!m_store) {
        if (m_settings.backlog)
            m_settings.backlog->release(rows.size());
        return;
    }
    m_pending.append(rows);
    if (m_isFailing)
        releaseAllBacklog(); // a failing store must not hold forwarding back
    if (m_pending.size() > kMaxPendingRows) {
        const qsizetype excess = m_pending.size() - kMaxPendingRows;
        releaseBacklog(excess);
        m_pending.remove(0, excess);
        m_droppedRows += excess;
        qCCritical(lcLedger).noquote()
            << QStringLiteral("request log: %1 rows dropped while the store was failing")
                   .arg(m_droppedRows);
    }
    scheduleWrite();
}

// The oldest writtenRows of m_pending are leaving it: those still counted leave the
// backlog too.
void LedgerWriter::releaseBacklog(qsizetype writtenRows)
{
    const qsizetype uncounted = qMin(writtenRows, m_uncountedRows);
    m_uncountedRows -= uncounted;
    if (m_settings.backlog)
        m_settings.backlog->release(writtenRows - uncounted);
}

void LedgerWriter::releaseAllBacklog()
{
    if (m_settings.backlog)
        m_settings.backlog->release(m_pending.size() - m_uncountedRows);
    m_uncountedRows = m_pending.size();
}

void LedgerWriter::scheduleWrite()
{
    if (m_isFailing) {
        // A store that could not be opened at start has no retry running yet.
        if (!m_writeTimer->isActive())
            m_writeTimer->start(qMax(m_retryDelayMs, kMinRetryMs));
        return; // the retry timer is running
    }
    if (m_pending.size() >= kBatchRows) {
        m_writeTimer->stop();
        onWriteTimer();
        return;
    }
    if (!m_writeTimer->isActive())
        m_writeTimer->start(kWriteIntervalMs);
}

void LedgerWriter::onWriteTimer()
{
    if (writePending()) {
        if (!m_pending.isEmpty())
            scheduleWrite();
        return;
    }
    m_retryDelayMs = m_retryDelayMs == 0 ? kMinRetryMs : qMin(m_retryDelayMs * 2, kMaxRetryMs);
    m_writeTimer->start(m_retryDelayMs);
}

bool LedgerWriter::writePending()
{
    if (!m_store)
        return true;
    while (!m_pending.isEmpty()) {
        if (!ensureOpen())
            return false;
        const qsizetype count = qMin(m_pending.size(), kBatchRows);
        QString error;
        if (!m_store->insert(m_pending.first(count), &error)) {
            reportFailure(QStringLiteral("cannot write to the request log (%1): %2")
                              .arg(m_settings.store->displayName(), error));
            releaseAllBacklog();
            // The next try opens it afresh: SQLite opens a file it may not write read-only
            // and keeps it so after the file becomes writable again; a server connection
            // may be the thing that broke.
            m_store->close();
            return false;
        }
        releaseBacklog(count);
        m_pending.remove(0, count);
    }
    if (m_isFailing) {
        m_isFailing = false;
        m_retryDelayMs = 0;
        qCInfo(lcLedger) << "request log: writing again, nothing lost";
        emit storeRecovered();
    }
    return true;
}

void LedgerWriter::reportFailure(const QString &error)
{
    if (m_isFailing)
        return;
    m_isFailing = true;
    qCWarning(lcLedger).noquote() << error << "(rows are kept and retried)";
    emit storeFailed(error);
}

void LedgerWriter::flush()
{
    if (m_writeTimer)
        m_writeTimer->stop();
    writePending();
    emit flushed(m_pending.size());
}

void LedgerWriter::purgeExpired()
{
    if (!m_store || m_settings.retentionDays <= 0 || !m_store->isOpen())
        return;
    const qint64 cutoff =
        QDateTime::currentMSecsSinceEpoch() - qint64(m_settings.retentionDays) * kDayMs;
    QString error;
    const qint64 removed = m_store->purgeOlderThan(cutoff, &error);
    if (removed < 0)
        qCWarning(lcLedger).noquote() << "request log cleanup failed:" << error;
    else if (removed > 0) {
        qCInfo(lcLedger).noquote()
            << QStringLiteral("request log: removed %1 rows older than %2 days")
                   .arg(removed)
                   .arg(m_settings.retentionDays);
        if (!m_store->reclaimSpace(&error))
            qCWarning(lcLedger).noquote() << error;
    }
}

} // namespace tollgate
