#include "RequestsModel.h"

#include "DashboardModel.h"
#include "LedgerReader.h"
#include "usage/PriceTable.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QGuiApplication>
#include <QLocale>
#include <QPalette>
#include <limits>

namespace tollgate {

namespace {

// Live rows younger than this are kept across a reload until the log is known to hold
// them: the ledger writes in batches, so a request reported a moment ago may not be
// logged yet when the snapshot is taken.
constexpr qint64 kLiveOverlapMs = 60'000;
constexpr int kMaxRetainedLiveRows = 500;

// A live record without what the list never shows: the raw inputs the ledger consumed.
RequestRecord withoutRawInputs(RequestRecord record)
{
    record.requestBody.clear();
    record.response = ResponseObservation();
    record.rawRequestHeaders.clear();
    record.rawResponseHeaders.clear();
    return record;
}

void stripDetails(RequestRecord &record)
{
    record.requestHeaders.clear();
    record.responseHeaders.clear();
    record.errorBody.clear();
    record.storedRequestBody.clear();
    record.storedResponseBody.clear();
}

bool isNumeric(int column)
{
    return column >= RequestsModel::InputColumn && column <= RequestsModel::TotalColumn;
}

QString tokens(qint64 count)
{
    return QLocale().toString(count);
}

} // namespace

// One read of the log after a reload (see reload()).
struct RequestsModel::Snapshot
{
    quint64 generation = 0;
    quint64 beforeId = 0;
    qint64 count = 0;
    QList<RequestRecord> firstPage;
    QSet<QByteArray> loggedKeys; // live rows the snapshot already holds
    QString error;
};

RequestsModel::RequestsModel(LedgerReader *reader, QObject *parent)
    : QAbstractTableModel(parent)
    , m_reader(reader)
{
    // Pages the view asked for while painting are read once the paint is over, the most
    // recently shown first.
    m_fetchTimer.setSingleShot(true);
    m_fetchTimer.setInterval(0);
    connect(&m_fetchTimer, &QTimer::timeout, this, &RequestsModel::fetchWantedPages);
}

void RequestsModel::setFilter(const RequestQuery::Filter &filter)
{
    m_filter = filter;
    reload();
}

void RequestsModel::reload()
{
    const quint64 generation = ++m_generation;
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    beginResetModel();
    m_pages.clear();
    m_pageUse.clear();
    m_wanted.clear();
    m_inFlight.clear();
    m_loggedCount = 0;
    m_beforeId = 0;
    QList<LiveRow> kept;
    for (const LiveRow &live : std::as_const(m_live)) {
        if (kept.size() >= kMaxRetainedLiveRows || nowMs - live.receivedMs > kLiveOverlapMs)
            break;
        if (m_filter.matches(live.record))
            kept.append(live);
    }
    m_live = kept;
    m_isLoading = m_reader && m_reader->hasStore();
    endResetModel();
    if (!m_isLoading) {
        emit reloaded();
        return;
    }

    QList<RequestRecord> candidates;
    candidates.reserve(m_live.size());
    for (const LiveRow &live : std::as_const(m_live)) {
        RequestRecord lean = live.record;
        stripDetails(lean);
        candidates.append(lean);
    }
    const RequestQuery::Filter filter = m_filter;
    m_reader->run<Snapshot>(
        [generation, filter, candidates](LedgerStore *store) {
            Snapshot snapshot;
            snapshot.generation = generation;
            if (!store) {
                snapshot.error = QStringLiteral("the request log is not open");
                return snapshot;
            }
            const std::optional<quint64> latest = RequestQuery::latestId(store, &snapshot.error);
            if (!latest)
                return snapshot;
            snapshot.beforeId = *latest + 1;
            snapshot.count = RequestQuery::count(store, filter, snapshot.beforeId, &snapshot.error);
            if (snapshot.count < 0)
                return snapshot;
            for (const RequestRecord &candidate : candidates) {
                const std::optional<quint64> id = RequestQuery::findId(store, candidate);
                if (id && *id < snapshot.beforeId)
                    snapshot.loggedKeys.insert(DashboardModel::requestKey(candidate));
            }
            snapshot.firstPage = RequestQuery::page(
                store, filter, {snapshot.beforeId, 0, kPageSize}, &snapshot.error);
            // Requests reported while this read waited may be logged already: they are
            // among the newest rows.
            for (const RequestRecord &row : std::as_const(snapshot.firstPage))
                snapshot.loggedKeys.insert(DashboardModel::requestKey(row));
            return snapshot;
        },
        this, [this](Snapshot snapshot) { applySnapshot(snapshot); });
}

void RequestsModel::applySnapshot(const Snapshot &snapshot)
{
    if (snapshot.generation != m_generation)
        return;
    m_isLoading = false;
    if (!snapshot.error.isEmpty() && snapshot.firstPage.isEmpty()) {
        emit loadFailed(snapshot.error);
        emit reloaded();
        return;
    }
    beginResetModel();
    m_live.removeIf([&](const LiveRow &live) {
        return snapshot.loggedKeys.contains(DashboardModel::requestKey(live.record));
    });
    m_loggedCount = snapshot.count;
    m_beforeId = snapshot.beforeId;
    m_pages.insert(0, snapshot.firstPage);
    m_pageUse.insert(0, ++m_useClock);
    endResetModel();
    emit reloaded();
}

void RequestsModel::addRecord(const RequestRecord &record)
{
    if (!m_filter.matches(record))
        return;
    beginInsertRows(QModelIndex(), 0, 0);
    m_live.prepend({withoutRawInputs(record), QDateTime::currentMSecsSinceEpoch(), true});
    endInsertRows();
    stripOldLiveRows();
}

void RequestsModel::stripOldLiveRows()
{
    for (qsizetype i = kMaxLiveDetails; i < m_live.size() && m_live[i].isFull; ++i) {
        stripDetails(m_live[i].record);
        m_live[i].isFull = false;
    }
}

const RequestRecord *RequestsModel::recordAt(int row) const
{
    if (row < 0)
        return nullptr;
    if (row < m_live.size())
        return &m_live.at(row).record;
    const qint64 logged = qint64(row) - m_live.size();
    if (logged >= m_loggedCount)
        return nullptr;
    const auto page = m_pages.constFind(int(logged / kPageSize));
    const qsizetype offset = logged % kPageSize;
    if (page == m_pages.constEnd() || offset >= page->size())
        return nullptr;
    return &page->at(offset);
}

bool RequestsModel::hasFullRecord(int row) const
{
    return isLiveRow(row) && m_live.at(row).isFull;
}

int RequestsModel::loadedRowCount() const
{
    qsizetype rows = m_live.size();
    for (const QList<RequestRecord> &page : m_pages)
        rows += page.size();
    return int(rows);
}

void RequestsModel::requestPage(int page) const
{
    m_pageUse.insert(page, ++m_useClock);
    if (m_pages.contains(page) || m_inFlight.contains(page) || m_wanted.contains(page))
        return;
    m_wanted.insert(page);
    if (!m_fetchTimer.isActive())
        m_fetchTimer.start();
}

void RequestsModel::fetchWantedPages()
{
    if (!m_reader || m_isLoading)
        return;
    while (m_inFlight.size() < kMaxPagesInFlight && !m_wanted.isEmpty()) {
        // The page shown most recently first: after a fast scroll, the rows on screen.
        int page = *m_wanted.cbegin();
        for (const int candidate : std::as_const(m_wanted)) {
            if (m_pageUse.value(candidate) > m_pageUse.value(page))
                page = candidate;
        }
        m_wanted.remove(page);
        if (m_pages.contains(page))
            continue;
        m_inFlight.insert(page);
        // Continuing after the previous page's last row is cheaper than skipping rows with
        // OFFSET, and gives the same rows: the snapshot bounds both.
        RequestQuery::Page spec;
        spec.beforeId = m_beforeId;
        spec.offset = qint64(page) * kPageSize;
        spec.limit = kPageSize;
        const auto previous = m_pages.constFind(page - 1);
        if (previous != m_pages.constEnd() && previous->size() == kPageSize) {
            spec.offset = 0;
            spec.after = RequestQuery::positionOf(previous->last());
        }
        const quint64 generation = m_generation;
        const RequestQuery::Filter filter = m_filter;
        struct Result
        {
            QList<RequestRecord> rows;
            QString error;
        };
        m_reader->run<Result>(
            [filter, spec](LedgerStore *store) {
                Result result;
                result.rows = RequestQuery::page(store, filter, spec, &result.error);
                return result;
            },
            this,
            [this, generation, page](Result result) {
                applyPage(generation, page, result.rows, result.error);
            });
    }
}

void RequestsModel::applyPage(quint64 generation, int page, const QList<RequestRecord> &rows,
                              const QString &error)
{
    if (generation != m_generation)
        return;
    m_inFlight.remove(page);
    if (!error.isEmpty())
        emit loadFailed(error);
    // A failed page is kept empty rather than asked for again at every repaint; the next
    // reload reads it afresh.
    m_pages.insert(page, rows);
    evictPages();
    const qint64 first = qint64(page) * kPageSize + m_live.size();
    const qint64 last = qMin<qint64>(first + kPageSize, m_live.size() + m_loggedCount) - 1;
    if (m_pages.contains(page) && last >= first) {
        emit dataChanged(index(int(first), 0), index(int(last), ColumnCount - 1));
        emit rowsLoaded(int(first), int(last));
    }
    fetchWantedPages();
}

void RequestsModel::evictPages()
{
    while (m_pages.size() > kMaxCachedPages) {
        int oldest = m_pages.cbegin().key();
        quint64 oldestUse = std::numeric_limits<quint64>::max();
        for (auto it = m_pages.cbegin(); it != m_pages.cend(); ++it) {
            const quint64 use = m_pageUse.value(it.key());
            if (use < oldestUse) {
                oldest = it.key();
                oldestUse = use;
            }
        }
        m_pages.remove(oldest);
    }
}

int RequestsModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    return int(qMin<qint64>(m_live.size() + m_loggedCount, std::numeric_limits<int>::max()));
}

int RequestsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RequestsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const int row = index.row();
    const int column = index.column();
    const RequestRecord *record = recordAt(row);
    if (!isLiveRow(row))
        requestPage(int((qint64(row) - m_live.size()) / kPageSize));
    if (role == IsLoadedRole)
        return record != nullptr;
    if (!record) {
        if (role == Qt::DisplayRole && column == TimeColumn)
            return tr("Loading…");
        return {};
    }
    switch (role) {
    case Qt::DisplayRole:
        return display(*record, column);
    case Qt::ToolTipRole:
        return toolTip(*record, column);
    case Qt::TextAlignmentRole:
        return int(isNumeric(column) ? Qt::AlignRight | Qt::AlignVCenter
                                     : Qt::AlignLeft | Qt::AlignVCenter);
    case Qt::ForegroundRole:
        if (column == StatusColumn && isFailure(*record))
            return QBrush(QColor(0xd0, 0x3b, 0x3b));
        if (column == CostColumn && !record->costPicoUsd)
            return QGuiApplication::palette().brush(QPalette::PlaceholderText);
        return {};
    case Qt::FontRole:
        if (column == CostColumn && !record->costPicoUsd) {
            QFont font;
            font.setItalic(true);
            return font;
        }
        return {};
    case RecordIdRole:
        return QVariant::fromValue<quint64>(record->id);
    default:
        return {};
    }
}

QVariant RequestsModel::display(const RequestRecord &r, int column) const
{
    switch (column) {
    case TimeColumn:
        return QLocale().toString(r.startedAt.toLocalTime(), QStringLiteral("yyyy-MM-dd HH:mm:ss"));
    case StatusColumn:
        if (r.status == 0)
            return tr("none");
        if (!r.errorType.isEmpty() && r.status < 400)
            return tr("%1 (error)").arg(r.status);
        return r.status;
    case ModelColumn:
        return r.model;
    case ProviderColumn:
        return r.surface == QLatin1String("openai") ? tr("%1 · OpenAI client").arg(r.provider)
                                                    : r.provider;
    case SessionColumn:
        return shortSessionId(r.sessionId);
    case TagColumn:
        return r.billingTag;
    case InputColumn:
        return tokens(r.usage.inputTokens);
    case OutputColumn:
        return tokens(r.usage.outputTokens);
    case CacheWriteColumn:
        return tokens(r.usage.cacheWriteTokens());
    case CacheReadColumn:
        return tokens(r.usage.cacheReadTokens);
    case CostColumn:
        return r.costPicoUsd ? QString(u'$' + PriceTable::formatUsd(*r.costPicoUsd))
                             : tr("unpriced");
    case TtfbColumn:
        return formatDuration(r.ttfbUs);
    case TotalColumn:
        return formatDuration(r.totalUs);
    default:
        return {};
    }
}

QVariant RequestsModel::toolTip(const RequestRecord &r, int column) const
{
    switch (column) {
    case StatusColumn:
        if (r.status == 0 && r.error.isEmpty())
            return tr("The client got no response.");
        if (!r.error.isEmpty())
            return r.errorType.isEmpty() ? r.error
                                         : QString(r.errorType + QStringLiteral(": ") + r.error);
        return {};
    case SessionColumn:
        return QString::fromUtf8(r.sessionId);
    case CostColumn:
        if (!r.costPicoUsd)
            return tr("No price is known for %1: the cost is not counted.").arg(r.model);
        return {};
    case CacheWriteColumn:
        return tr("5-minute: %1, 1-hour: %2")
            .arg(tokens(r.usage.cacheWrite5mTokens), tokens(r.usage.cacheWrite1hTokens));
    case CacheReadColumn:
        if (r.usage.cacheReadTokens <= 0)
            return {};
        return r.cacheReadsByTollgate ? tr("Owed to Tollgate's cache markers")
                                      : tr("Owed to the client's cache markers");
    default:
        return {};
    }
}

QVariant RequestsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::TextAlignmentRole)
        return int(isNumeric(section) ? Qt::AlignRight | Qt::AlignVCenter
                                      : Qt::AlignLeft | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case TimeColumn:
            return tr("When the request started (local time)");
        case CacheWriteColumn:
            return tr("Input tokens written to the prompt cache (5-minute and 1-hour)");
        case CacheReadColumn:
            return tr("Input tokens read from the prompt cache");
        case TtfbColumn:
            return tr("Time to first byte: from the request to the upstream's first byte");
        case TotalColumn:
            return tr("From the request to the end of the response");
        default:
            return {};
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case StatusColumn:
        return tr("Status");
    case ModelColumn:
        return tr("Model");
    case ProviderColumn:
        return tr("Provider");
    case SessionColumn:
        return tr("Session");
    case TagColumn:
        return tr("Tag");
    case InputColumn:
        return tr("Input");
    case OutputColumn:
        return tr("Output");
    case CacheWriteColumn:
        return tr("Cache write");
    case CacheReadColumn:
        return tr("Cache read");
    case CostColumn:
        return tr("Cost");
    case TtfbColumn:
        return tr("TTFB");
    case TotalColumn:
        return tr("Total");
    default:
        return {};
    }
}

QString RequestsModel::formatDuration(qint64 us)
{
    if (us < 0)
        return QStringLiteral("—");
    const QLocale locale;
    if (us < 10'000)
        return tr("%1 ms").arg(locale.toString(double(us) / 1000.0, 'f', 1));
    if (us < 1'000'000)
        return tr("%1 ms").arg(locale.toString(us / 1000));
    return tr("%1 s").arg(locale.toString(double(us) / 1'000'000.0, 'f', 2));
}

QString RequestsModel::shortSessionId(const QByteArray &sessionId)
{
    // The first block of a UUID tells sessions apart at a glance.
    constexpr qsizetype kShortLength = 8;
    const QString id = QString::fromUtf8(sessionId);
    return id.size() <= kShortLength ? id : id.left(kShortLength) + u'…';
}

bool RequestsModel::isFailure(const RequestRecord &record)
{
    return record.status < 200 || record.status >= 400 || !record.error.isEmpty()
        || !record.errorType.isEmpty();
}

} // namespace tollgate
