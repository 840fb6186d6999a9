#include "SessionsPage.h"

#include "DashboardModel.h"
#include "Gateway.h"
#include "LedgerReader.h"
#include "LiveFeed.h"
#include "charts/TimeSeriesChart.h"

#include <QComboBox>
#include <QDate>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>

namespace tollgate {

namespace {

constexpr qint64 kPicoPerUsd = 1'000'000'000'000LL;
constexpr qint64 kDayMs = 24LL * 60 * 60 * 1000;
// Rows younger than this are read one by one, so that a request both in the log and in the
// live stream is recognised and counted once.
constexpr qint64 kRecentWindowMs = 60LL * 60 * 1000;
const QString kTimelineSeries = QStringLiteral("timeline");

} // namespace

// What one read of the request log brings back (see load()).
struct SessionsPage::Load
{
    quint64 generation = 0;
    QList<SessionsModel::Session> sessions; // from totals up to the recent window
    QHash<QByteArray, QString> projects; // session -> the project its requests stated
    QList<RequestRecord> recent; // rows of the recent window, in time order
    QSet<QByteArray> recentKeys; // their DashboardModel::requestKey()
};

namespace {

// Runs on the reader thread. Per-session totals carry no project, so the period's rows are
// read too: they name each session's project and give the recent rows one by one.
void readSessions(LedgerStore *store, qint64 fromMs, qint64 cutoffMs,
                  QList<SessionsModel::Session> &sessions, QHash<QByteArray, QString> &projects,
                  QList<RequestRecord> &recent, QSet<QByteArray> &recentKeys)
{
    if (!store)
        return;
    const qint64 stableEndMs = cutoffMs - kRecentWindowMs;
    if (fromMs < stableEndMs) {
        const QList<LedgerStore::Totals> totals =
            store->totals(fromMs, stableEndMs, LedgerStore::Grouping::Session);
        sessions.reserve(totals.size());
        for (const LedgerStore::Totals &group : totals)
            sessions.append(SessionsModel::Session::from(group));
    }
    store->forEachRow(fromMs, cutoffMs, [&](const RequestRecord &row) {
        if (!row.project.isEmpty() && !projects.contains(row.sessionId))
            projects.insert(row.sessionId, row.project);
        if (row.startedAt.toMSecsSinceEpoch() >= stableEndMs) {
            recent.append(row);
            recentKeys.insert(DashboardModel::requestKey(row));
        }
        return true;
    });
}

} // namespace

SessionsPage::SessionsPage(Gateway *gateway, LedgerReader *reader, QWidget *parent)
    : QWidget(parent)
    , m_gateway(gateway)
    , m_reader(reader)
    , m_model(new SessionsModel(this))
    , m_sorted(new QSortFilterProxyModel(this))
{
    setAccessibleName(tr("Sessions"));
    m_sorted->setSourceModel(m_model);
    m_sorted->setSortRole(SessionsModel::SortRole);
    m_sorted->setDynamicSortFilter(true);

    auto *layout = new QVBoxLayout(this);
    auto *spanRow = new QHBoxLayout;
    m_spanBox = new QComboBox;
    m_spanBox->setObjectName(QStringLiteral("span"));
    m_spanBox->addItem(tr("Today"), int(Span::Today));
    m_spanBox->addItem(tr("Last 7 days"), int(Span::Week));
    m_spanBox->addItem(tr("Last 30 days"), int(Span::Month));
    m_spanBox->addItem(tr("All time"), int(Span::All));
    m_spanBox->setCurrentIndex(1);
    m_spanBox->setAccessibleName(tr("Sessions started in"));
    auto *spanLabel = new QLabel(tr("&Sessions with requests in:"));
    spanLabel->setBuddy(m_spanBox);
    spanRow->addWidget(spanLabel);
    spanRow->addWidget(m_spanBox);
    spanRow->addStretch();
    layout->addLayout(spanRow);
    connect(m_spanBox, &QComboBox::currentIndexChanged, this, [this] { reload(); });

    m_status = new QLabel;
    m_status->setObjectName(QStringLiteral("status"));
    m_status->setWordWrap(true);
    m_status->hide();
    layout->addWidget(m_status);

    m_view = new QTableView;
    m_view->setObjectName(QStringLiteral("sessionTable"));
    m_view->setAccessibleName(tr("Sessions"));
    m_view->setModel(m_sorted);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(SessionsModel::StartColumn, Qt::DescendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setSectionResizeMode(SessionsModel::ProjectColumn,
                                                     QHeaderView::Stretch);
    m_view->horizontalHeader()->setSectionsMovable(true);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &SessionsPage::onCurrentRowChanged);

    m_timeline = TimeSeriesChart::create();
    m_timeline->setObjectName(QStringLiteral("timelineChart"));
    m_timeline->setTitle(tr("Cumulative cost of the session"));
    m_timeline->setAccessibleName(tr("Cumulative cost of the selected session"));
    m_timeline->setValueUnit(ValueFormat::Unit::Usd);
    m_timeline->setTimeFormat(QStringLiteral("MMM d HH:mm"));
    m_timeline->setPlaceholderText(tr("Select a session to see its cost over time."));

    auto *splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_view);
    splitter->addWidget(m_timeline);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setChildrenCollapsible(false);
    layout->addWidget(splitter, 1);

    setTabOrder(m_spanBox, m_view);
    setTabOrder(m_view, m_timeline);

    LiveFeed::Hooks hooks;
    hooks.hasLog = [this] { return m_reader && m_reader->hasStore(); };
    hooks.load = [this] { load(); };
    hooks.refresh = [this](const QList<RequestRecord> &records, bool) { refresh(records); };
    m_feed = new LiveFeed(this, std::move(hooks));
    if (m_gateway)
        connect(m_gateway, &Gateway::requestFinished, m_feed, &LiveFeed::add);
    if (m_reader) {
        connect(m_reader, &LedgerReader::storeUnavailable, this, [this](const QString &error) {
            m_status->setText(tr("The request log cannot be read (%1). Only the sessions "
                                 "since Tollgate started are listed.")
                                  .arg(error));
            m_status->show();
        });
        // The settings moved the request log: the sessions are read from the new one.
        connect(m_reader, &LedgerReader::storeChanged, this, [this] {
            m_feed->storeMoved(m_reader->hasStore(), m_status,
                               tr("The request log is off: new sessions are listed but not "
                                  "kept."));
        });
    }
    if (!m_reader || !m_reader->hasStore()) {
        // Without a request log the live requests are all there is.
        m_feed->markLoaded();
        m_status->setText(tr("The request log is off: only the sessions since Tollgate "
                             "started are listed."));
        m_status->show();
    }
}

SessionsPage::~SessionsPage() = default;

SessionsPage::Span SessionsPage::span() const
{
    return Span(m_spanBox->currentData().toInt());
}

void SessionsPage::setSpan(Span span)
{
    m_spanBox->setCurrentIndex(m_spanBox->findData(int(span)));
}

qint64 SessionsPage::spanStartMs() const
{
    const QDate today = QDate::currentDate();
    switch (span()) {
    case Span::Today:
        return today.startOfDay().toMSecsSinceEpoch();
    case Span::Week:
        return today.startOfDay().toMSecsSinceEpoch() - 6 * kDayMs;
    case Span::Month:
        return today.startOfDay().toMSecsSinceEpoch() - 29 * kDayMs;
    case Span::All:
        break;
    }
    return 0;
}

bool SessionsPage::selectSession(const QByteArray &sessionId)
{
    const int row = m_model->rowOf(sessionId);
    if (row < 0)
        return false;
    const QModelIndex index = m_sorted->mapFromSource(m_model->index(row, 0));
    m_view->selectionModel()->setCurrentIndex(
        index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_view->scrollTo(index);
    return true;
}

void SessionsPage::reload()
{
    m_feed->reload();
}

void SessionsPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    m_feed->pageShown();
}

void SessionsPage::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_feed->pageHidden();
}

void SessionsPage::refresh(const QList<RequestRecord> &records)
{
    if (records.isEmpty())
        return;
    for (const RequestRecord &record : records) {
        m_model->addRecord(record);
        extendTimeline(record);
    }
    emit refreshed();
}

void SessionsPage::load()
{
    if (!m_reader || !m_reader->hasStore())
        return;
    m_feed->loadStarted();
    const qint64 fromMs = spanStartMs();
    const qint64 cutoffMs = QDateTime::currentMSecsSinceEpoch();
    const quint64 generation = ++m_loadGeneration;
    m_reader->run<Load>(
        [fromMs, cutoffMs, generation](LedgerStore *store) {
            Load result;
            result.generation = generation;
            readSessions(store, fromMs, cutoffMs, result.sessions, result.projects, result.recent,
                         result.recentKeys);
            return result;
        },
        this, [this](const Load &result) { applyLoad(result); });
}

void SessionsPage::applyLoad(const Load &load)
{
    if (load.generation != m_loadGeneration)
        return; // a newer read (another period) is on its way
    const QByteArray selected = m_selected;
    m_model->setSessions(load.sessions);
    for (const RequestRecord &record : load.recent)
        m_model->addRecord(record);
    m_model->setProjects(load.projects);
    if (!selected.isEmpty() && !selectSession(selected)) {
        m_selected.clear();
        m_timeline->clear();
    }
    if (!m_hasSizedColumns && m_model->rowCount() > 0) {
        // Once, from the first rows read: later the user's widths stay as they are.
        m_view->resizeColumnsToContents();
        m_hasSizedColumns = true;
    }
    // Live requests the read already found in the log are in the table now.
    m_feed->loadFinished([&load](const RequestRecord &record) {
        return load.recentKeys.contains(DashboardModel::requestKey(record));
    });
    emit refreshed();
}

void SessionsPage::onCurrentRowChanged()
{
    const QModelIndex current = m_view->selectionModel()->currentIndex();
    if (!current.isValid())
        return;
    const QByteArray sessionId = current.data(SessionsModel::SessionIdRole).toByteArray();
    if (sessionId == m_selected && m_isTimelineLoaded)
        return;
    m_selected = sessionId;
    m_isTimelineLoaded = false;
    if (!m_reader || !m_reader->hasStore()) {
        showTimeline(sessionId, {});
        return;
    }
    m_reader->run<QList<LedgerStore::TimelinePoint>>(
        [sessionId](LedgerStore *store) {
            return store ? store->sessionTimeline(sessionId) : QList<LedgerStore::TimelinePoint>();
        },
        this,
        [this, sessionId](const QList<LedgerStore::TimelinePoint> &points) {
            if (sessionId == m_selected)
                showTimeline(sessionId, points);
        });
}

void SessionsPage::showTimeline(const QByteArray &sessionId,
                                const QList<LedgerStore::TimelinePoint> &points)
{
    QList<TimeSeriesChart::Point> chartPoints;
    chartPoints.reserve(points.size());
    for (const LedgerStore::TimelinePoint &point : points)
        chartPoints.append(
            {point.timeMs, double(point.cumulativeCostPicoUsd) / double(kPicoPerUsd)});
    m_isTimelineLoaded = true;
    m_timelineLastMs = points.isEmpty() ? 0 : points.constLast().timeMs;
    m_timelineCostPicoUsd = points.isEmpty() ? 0 : points.constLast().cumulativeCostPicoUsd;
    const int row = m_model->rowOf(sessionId);
    const QString project = row >= 0 ? m_model->session(row).project : QString();
    const QString label = project.isEmpty() ? QString::fromUtf8(sessionId) : project;
    m_timeline->setSeries(kTimelineSeries, label, chartPoints, TimeSeriesChart::Style::Step);
    emit timelineShown(sessionId);
}

void SessionsPage::extendTimeline(const RequestRecord &record)
{
    // The chart follows the selected session's new requests; ones the read already had
    // (not later than its last point) are on it.
    if (!m_isTimelineLoaded || record.sessionId != m_selected)
        return;
    const qint64 startMs = record.startedAt.toMSecsSinceEpoch();
    if (startMs <= m_timelineLastMs)
        return;
    m_timelineLastMs = startMs;
    m_timelineCostPicoUsd += record.costPicoUsd.value_or(0);
    const TimeSeriesChart::Point point {startMs,
                                        double(m_timelineCostPicoUsd) / double(kPicoPerUsd)};
    if (m_timeline->seriesIds().contains(kTimelineSeries))
        m_timeline->appendPoints(kTimelineSeries, {point});
    else
        m_timeline->setSeries(kTimelineSeries, QString::fromUtf8(m_selected), {point},
                              TimeSeriesChart::Style::Step);
}

} // namespace tollgate
