#include "DashboardPage.h"

#include "Gateway.h"
#include "LedgerReader.h"
#include "LiveFeed.h"
#include "charts/BarBreakdownChart.h"
#include "charts/TimeSeriesChart.h"
#include "charts/ValueFormat.h"

#include <QComboBox>
#include <QDate>
#include <QDateTime>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QScrollArea>
#include <QSet>
#include <QVBoxLayout>
#include <algorithm>

namespace tollgate {

namespace {

constexpr qint64 kPicoPerUsd = 1'000'000'000'000LL;
constexpr int kClockIntervalMs = 30 * 1000;
constexpr int kMaxBars = 8; // the rest is summed into one "Other" bar
constexpr int kSessionIdShown = 8;
// Rows younger than this are read one by one, so that a request both in the log and in
// the live stream is recognised; it also covers the tokens-per-minute chart.
constexpr qint64 kRecentWindowMs = DashboardModel::kTokenWindowMinutes * DashboardModel::kMinuteMs;

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

qint64 dayStartMs(const QDate &date)
{
    return date.startOfDay().toMSecsSinceEpoch();
}

qint64 monthStartMs(const QDate &date)
{
    return QDate(date.year(), date.month(), 1).startOfDay().toMSecsSinceEpoch();
}

double usd(qint64 picoUsd)
{
    return double(picoUsd) / double(kPicoPerUsd);
}

QString sessionLabel(const DashboardModel::SessionSeries &series)
{
    const QString id = QString::fromUtf8(series.sessionId.left(kSessionIdShown));
    const QString project = QFileInfo(series.project).fileName();
    return project.isEmpty() ? id : DashboardPage::tr("%1 · %2").arg(project, id);
}

} // namespace

// What one read of the request log brings back (see load()).
struct DashboardPage::Load
{
    DashboardModel::Baseline baseline;
    QList<RequestRecord> recent; // rows of the recent window, in time order
    QSet<QByteArray> recentKeys; // their DashboardModel::requestKey()
};

namespace {

// Runs on the reader thread. Rows older than the recent window are final: they come as
// totals. Younger rows are read one by one, so that live requests can be matched against
// them. Totals and scans use fixed bounds, so rows written meanwhile land in neither.
void readLedger(LedgerStore *store, qint64 cutoffMs, DashboardModel::Baseline &baseline,
                QList<RequestRecord> &recent, QSet<QByteArray> &recentKeys)
{
    if (!store)
        return;
    const qint64 stableEndMs = cutoffMs - kRecentWindowMs;
    const auto sum = [&](qint64 fromMs, LedgerStore::Grouping by) {
        return fromMs < stableEndMs ? store->totals(fromMs, stableEndMs, by)
                                    : QList<LedgerStore::Totals>();
    };
    const auto single = [&](qint64 fromMs) {
        const QList<LedgerStore::Totals> rows = sum(fromMs, LedgerStore::Grouping::None);
        return rows.isEmpty() ? LedgerStore::Totals() : rows.first();
    };
    baseline.today = single(baseline.dayStartMs);
    baseline.month = single(baseline.monthStartMs);
    baseline.todayByModel = sum(baseline.dayStartMs, LedgerStore::Grouping::Model);
    baseline.todayByTag = sum(baseline.dayStartMs, LedgerStore::Grouping::Tag);
    baseline.monthByModel = sum(baseline.monthStartMs, LedgerStore::Grouping::Model);
    baseline.monthByTag = sum(baseline.monthStartMs, LedgerStore::Grouping::Tag);

    // The totals carry Tollgate's share of the savings: only the recent rows are read.
    QHash<QByteArray, qint64> activeSessions; // session -> its latest request
    const qint64 activeSinceMs = cutoffMs - DashboardModel::kActiveWindowMs;
    store->forEachRow(stableEndMs, cutoffMs, [&](const RequestRecord &row) {
        const qint64 startMs = row.startedAt.toMSecsSinceEpoch();
        recent.append(row);
        recentKeys.insert(DashboardModel::requestKey(row));
        if (startMs >= activeSinceMs && !row.sessionId.isEmpty())
            activeSessions[row.sessionId] = startMs;
        return true;
    });

    // The chart's sessions, with what they cost before the recent window.
    QList<std::pair<qint64, QByteArray>> latest;
    for (auto it = activeSessions.cbegin(); it != activeSessions.cend(); ++it)
        latest.append({it.value(), it.key()});
    std::sort(latest.begin(), latest.end(), std::greater<>());
    if (latest.size() > DashboardModel::kMaxActiveSessions)
        latest.resize(DashboardModel::kMaxActiveSessions);
    for (const auto &[lastMs, sessionId] : std::as_const(latest)) {
        QList<LedgerStore::TimelinePoint> history = store->sessionTimeline(sessionId);
        history.removeIf([stableEndMs](const LedgerStore::TimelinePoint &point) {
            return point.timeMs >= stableEndMs;
        });
        baseline.sessionHistories.insert(sessionId, history);
    }
}

} // namespace

DashboardPage::DashboardPage(Gateway *gateway, LedgerReader *reader, QWidget *parent)
    : QWidget(parent)
    , m_gateway(gateway)
    , m_reader(reader)
{
    setAccessibleName(tr("Dashboard"));
    auto *content = new QWidget;
    auto *layout = new QVBoxLayout(content);

    m_status = new QLabel;
    m_status->setObjectName(QStringLiteral("status"));
    m_status->setWordWrap(true);
    m_status->setAccessibleName(tr("Request log status"));
    m_status->hide();
    layout->addWidget(m_status);

    auto *figures = new QHBoxLayout;
    figures->addWidget(createFigures(tr("Today"), QStringLiteral("today"), m_todayLabels));
    figures->addWidget(createFigures(tr("This month"), QStringLiteral("month"), m_monthLabels));
    layout->addLayout(figures);

    m_sessionChart = TimeSeriesChart::create();
    m_sessionChart->setObjectName(QStringLiteral("sessionChart"));
    m_sessionChart->setTitle(tr("Active sessions: cumulative cost"));
    m_sessionChart->setAccessibleName(tr("Cumulative cost of the active sessions"));
    m_sessionChart->setValueUnit(ValueFormat::Unit::Usd);
    m_sessionChart->setPlaceholderText(tr("No session had a request in the last 30 minutes."));
    m_sessionChart->setMinimumHeight(240);
    layout->addWidget(m_sessionChart, 2);

    auto *periodRow = new QHBoxLayout;
    m_breakdownPeriod = new QComboBox;
    m_breakdownPeriod->setObjectName(QStringLiteral("breakdownPeriod"));
    m_breakdownPeriod->addItem(tr("Today"), int(DashboardModel::Period::Today));
    m_breakdownPeriod->addItem(tr("This month"), int(DashboardModel::Period::Month));
    m_breakdownPeriod->setCurrentIndex(1);
    m_breakdownPeriod->setAccessibleName(tr("Period of the cost breakdown"));
    auto *periodLabel = new QLabel(tr("Cost &breakdown for:"));
    periodLabel->setBuddy(m_breakdownPeriod);
    periodRow->addWidget(periodLabel);
    periodRow->addWidget(m_breakdownPeriod);
    periodRow->addStretch();
    layout->addLayout(periodRow);
    connect(m_breakdownPeriod, &QComboBox::currentIndexChanged, this, [this] { showBreakdowns(); });

    auto *breakdowns = new QHBoxLayout;
    m_modelChart = BarBreakdownChart::create();
    m_modelChart->setObjectName(QStringLiteral("modelChart"));
    m_modelChart->setTitle(tr("Cost by model"));
    m_modelChart->setValueUnit(ValueFormat::Unit::Usd);
    m_modelChart->setPlaceholderText(tr("No requests in this period."));
    m_tagChart = BarBreakdownChart::create();
    m_tagChart->setObjectName(QStringLiteral("tagChart"));
    m_tagChart->setTitle(tr("Cost by billing tag"));
    m_tagChart->setValueUnit(ValueFormat::Unit::Usd);
    m_tagChart->setPlaceholderText(tr("No requests in this period."));
    breakdowns->addWidget(m_modelChart);
    breakdowns->addWidget(m_tagChart);
    layout->addLayout(breakdowns, 1);

    m_tokenChart = TimeSeriesChart::create();
    m_tokenChart->setObjectName(QStringLiteral("tokenChart"));
    m_tokenChart->setTitle(tr("Tokens per minute, last hour"));
    m_tokenChart->setValueUnit(ValueFormat::Unit::Tokens);
    m_tokenChart->setPlaceholderText(tr("No tokens in the last hour."));
    layout->addWidget(m_tokenChart, 1);

    auto *scroll = new QScrollArea;
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setFrameShape(QFrame::NoFrame);
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(scroll);

    setTabOrder(m_sessionChart, m_breakdownPeriod);
    setTabOrder(m_breakdownPeriod, m_modelChart);
    setTabOrder(m_modelChart, m_tagChart);
    setTabOrder(m_tagChart, m_tokenChart);

    LiveFeed::Hooks hooks;
    hooks.hasLog = [this] { return m_reader && m_reader->hasStore(); };
    hooks.load = [this] { load(); };
    hooks.refresh = [this](const QList<RequestRecord> &records, bool isVisible) {
        refresh(records, isVisible);
    };
    m_feed = new LiveFeed(this, std::move(hooks));
    m_clockTimer.setInterval(kClockIntervalMs);
    connect(&m_clockTimer, &QTimer::timeout, m_feed, &LiveFeed::schedule);

    if (m_gateway)
        connect(m_gateway, &Gateway::requestFinished, m_feed, &LiveFeed::add);
    if (m_reader) {
        connect(m_reader, &LedgerReader::storeUnavailable, this, [this](const QString &error) {
            m_status->setText(tr("The request log cannot be read (%1). The figures cover "
                                 "only the requests since Tollgate started.")
                                  .arg(error));
            m_status->show();
        });
        // The settings moved the request log: the figures are read from the new one.
        connect(m_reader, &LedgerReader::storeChanged, this, [this] {
            m_feed->storeMoved(m_reader->hasStore(), m_status,
                               tr("The request log is off: new requests are counted but not "
                                  "kept."));
        });
    }
    // Without a request log there is nothing to wait for: live requests count from now on.
    if (!m_reader || !m_reader->hasStore()) {
        const QDate today = QDate::currentDate();
        Load empty;
        empty.baseline.dayStartMs = dayStartMs(today);
        empty.baseline.monthStartMs = monthStartMs(today);
        applyLoad(empty);
        m_status->setText(tr("The request log is off: the figures cover only the requests "
                             "since Tollgate started."));
        m_status->show();
    }
}

DashboardPage::~DashboardPage() = default;

QGroupBox *DashboardPage::createFigures(const QString &title, const QString &prefix,
                                        FigureLabels &labels)
{
    auto *box = new QGroupBox(title);
    box->setAccessibleName(title);
    auto *form = new QFormLayout(box);
    const auto add = [&](const QString &name, const QString &label, const QString &accessible) {
        auto *value = new QLabel;
        value->setObjectName(prefix + name);
        value->setAccessibleName(accessible);
        value->setTextInteractionFlags(Qt::TextSelectableByMouse);
        value->setWordWrap(true);
        form->addRow(label, value);
        return value;
    };
    labels.cost = add(QStringLiteral("Cost"), tr("Cost"), tr("%1: cost").arg(title));
    QFont big = labels.cost->font();
    big.setPointSizeF(big.pointSizeF() * 1.6);
    big.setBold(true);
    labels.cost->setFont(big);
    labels.requests =
        add(QStringLiteral("Requests"), tr("Requests"), tr("%1: requests").arg(title));
    labels.cacheHit = add(QStringLiteral("CacheHit"), tr("Cache hit ratio"),
                          tr("%1: cache hit ratio").arg(title));
    labels.saved =
        add(QStringLiteral("Saved"), tr("Saved by caching"), tr("%1: saved by caching").arg(title));
    labels.savedByClient = add(QStringLiteral("SavedByClient"), tr("  by the client's markers"),
                               tr("%1: saved by the client's own cache markers").arg(title));
    labels.savedByTollgate = add(QStringLiteral("SavedByTollgate"), tr("  by Tollgate's markers"),
                                 tr("%1: saved by Tollgate's cache markers").arg(title));
    labels.unpriced = new QLabel;
    labels.unpriced->setObjectName(prefix + QStringLiteral("Unpriced"));
    labels.unpriced->setWordWrap(true);
    labels.unpriced->setAccessibleName(tr("%1: unpriced requests").arg(title));
    labels.unpriced->setStyleSheet(QStringLiteral("color: #b35900;"));
    labels.unpriced->hide();
    form->addRow(labels.unpriced);
    return box;
}

qsizetype DashboardPage::pendingRecordCount() const
{
    return m_feed->pendingCount();
}

void DashboardPage::reload()
{
    m_feed->reload();
}

void DashboardPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    m_clockTimer.start();
    m_feed->pageShown();
}

void DashboardPage::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_clockTimer.stop();
    m_feed->pageHidden();
}

void DashboardPage::refresh(const QList<RequestRecord> &records, bool isVisible)
{
    for (const RequestRecord &record : records)
        m_model.addRecord(record);
    if (!isVisible)
        return; // folded in; drawn when shown
    const qint64 now = nowMs();
    const QDate today = QDate::currentDate();
    m_model.advanceTo(now, dayStartMs(today), monthStartMs(today));
    fetchSessionHistories();

    showFigures(m_model.today(), m_todayLabels);
    showFigures(m_model.month(), m_monthLabels);
    showSessions(now);
    showBreakdowns();
    showTokens(now);
    emit refreshed();
}

void DashboardPage::load()
{
    if (!m_reader || !m_reader->hasStore())
        return;
    m_feed->loadStarted();
    const qint64 cutoffMs = nowMs();
    const QDate today = QDate::currentDate();
    Load request;
    request.baseline.dayStartMs = dayStartMs(today);
    request.baseline.monthStartMs = monthStartMs(today);
    m_reader->run<Load>(
        [request, cutoffMs](LedgerStore *store) {
            Load result = request;
            readLedger(store, cutoffMs, result.baseline, result.recent, result.recentKeys);
            return result;
        },
        this, [this](const Load &result) { applyLoad(result); });
}

void DashboardPage::applyLoad(const Load &load)
{
    m_model.reset(load.baseline);
    for (const RequestRecord &record : load.recent)
        m_model.addRecord(record);
    // Live requests the read already found in the log are in the figures now.
    m_feed->loadFinished([&load](const RequestRecord &record) {
        return load.recentKeys.contains(DashboardModel::requestKey(record));
    });
}

void DashboardPage::fetchSessionHistories()
{
    const QList<QByteArray> sessions = m_model.takeSessionsWithoutHistory();
    if (!m_reader || !m_reader->hasStore())
        return;
    for (const QByteArray &sessionId : sessions) {
        m_reader->run<QList<LedgerStore::TimelinePoint>>(
            [sessionId](LedgerStore *store) {
                return store ? store->sessionTimeline(sessionId)
                             : QList<LedgerStore::TimelinePoint>();
            },
            this,
            [this, sessionId](const QList<LedgerStore::TimelinePoint> &history) {
                m_model.addSessionHistory(sessionId, history);
                m_feed->schedule();
            });
    }
}

void DashboardPage::showFigures(const DashboardModel::Figures &figures, const FigureLabels &labels)
{
    labels.cost->setText(ValueFormat::usd(figures.costPicoUsd));
    labels.cost->setToolTip(ValueFormat::usdExact(figures.costPicoUsd));
    labels.requests->setText(figures.errors > 0 ? tr("%1 (%2 failed)")
                                                      .arg(QLocale().toString(figures.requests),
                                                           QLocale().toString(figures.errors))
                                                : QLocale().toString(figures.requests));
    labels.cacheHit->setText(ValueFormat::percent(figures.cacheHitRatio(), figures.hasHitRatio()));
    labels.cacheHit->setToolTip(tr("Cache reads: %1 of %2 prompt tokens")
                                    .arg(QLocale().toString(figures.cacheReadTokens),
                                         QLocale().toString(figures.promptTokens())));
    labels.saved->setText(ValueFormat::usd(figures.savedPicoUsd()));
    labels.saved->setToolTip(tr("%1 without caching, %2 with it")
                                 .arg(ValueFormat::usdExact(figures.costWithoutCachePicoUsd),
                                      ValueFormat::usdExact(figures.costPicoUsd)));
    labels.savedByClient->setText(ValueFormat::usd(figures.savedByClientPicoUsd()));
    labels.savedByClient->setToolTip(ValueFormat::usdExact(figures.savedByClientPicoUsd()));
    if (figures.requestsWithTollgateMarkers == 0) {
        labels.savedByTollgate->setText(
            tr("%1 (Tollgate added no cache markers)").arg(ValueFormat::usd(0)));
    } else {
        labels.savedByTollgate->setText(
            tr("%1 (Tollgate's markers on %n request(s); %2 owed their cache reads to them)",
               nullptr, int(figures.requestsWithTollgateMarkers))
                .arg(ValueFormat::usd(figures.savedByTollgatePicoUsd),
                     QLocale().toString(figures.requestsWithTollgateReads)));
    }
    labels.savedByTollgate->setToolTip(
        tr("%1\nCounted only for requests that read the cache through Tollgate's markers: "
           "the client sent none, or Tollgate's reach further back than the client's could. "
           "Where the client's own markers would have read the same prefix, the savings are "
           "the client's.")
            .arg(ValueFormat::usdExact(figures.savedByTollgatePicoUsd)));
    labels.unpriced->setVisible(figures.unpricedRequests > 0);
    labels.unpriced->setText(tr("⚠ %n request(s) of a model without a price: not in the cost.",
                                nullptr, int(figures.unpricedRequests)));
}

void DashboardPage::showSessions(qint64 nowMs)
{
    const QList<DashboardModel::SessionSeries> sessions = m_model.activeSessions(nowMs);
    QStringList shown;
    for (const DashboardModel::SessionSeries &session : sessions) {
        QList<TimeSeriesChart::Point> points;
        points.reserve(session.points.size() + 1);
        for (const DashboardModel::CostPoint &point : session.points)
            points.append({point.timeMs, usd(point.cumulativeCostPicoUsd)});
        // The running total holds until now: every line reaches the right edge.
        if (!points.isEmpty() && points.constLast().timeMs < nowMs)
            points.append({nowMs, points.constLast().value});
        const QString id = QString::fromUtf8(session.sessionId);
        shown.append(id);
        m_sessionChart->setSeries(id, sessionLabel(session), points, TimeSeriesChart::Style::Step);
    }
    const QStringList ids = m_sessionChart->seriesIds();
    for (const QString &id : ids) {
        if (!shown.contains(id))
            m_sessionChart->removeSeries(id);
    }
}

void DashboardPage::showBreakdowns()
{
    const auto period = DashboardModel::Period(m_breakdownPeriod->currentData().toInt());
    const auto toBars = [](const QList<DashboardModel::Share> &shares, const QString &noKey) {
        QList<BarBreakdownChart::Bar> bars;
        DashboardModel::Share other;
        for (qsizetype i = 0; i < shares.size(); ++i) {
            const DashboardModel::Share &share = shares.at(i);
            if (i >= kMaxBars - 1 && shares.size() > kMaxBars) {
                other.costPicoUsd += share.costPicoUsd;
                other.requests += share.requests;
                other.unpricedRequests += share.unpricedRequests;
                continue;
            }
            QString toolTip = tr("%1\n%n request(s)", nullptr, int(share.requests))
                                  .arg(ValueFormat::usdExact(share.costPicoUsd));
            if (share.unpricedRequests > 0)
                toolTip += u'\n'
                    + tr("%n unpriced, not in the cost", nullptr, int(share.unpricedRequests));
            bars.append({share.key.isEmpty() ? noKey : share.key, usd(share.costPicoUsd), toolTip});
        }
        if (other.requests > 0) {
            bars.append({tr("Other"), usd(other.costPicoUsd),
                         tr("%1\n%n request(s)", nullptr, int(other.requests))
                             .arg(ValueFormat::usdExact(other.costPicoUsd))});
        }
        return bars;
    };
    m_modelChart->setBars(toBars(m_model.costByModel(period), tr("(no model)")));
    m_tagChart->setBars(toBars(m_model.costByTag(period), tr("(untagged)")));
}

void DashboardPage::showTokens(qint64 nowMs)
{
    const QList<DashboardModel::TokenBucket> buckets = m_model.tokensPerMinute(nowMs);
    QList<TimeSeriesChart::Point> points;
    points.reserve(buckets.size());
    bool hasTokens = false;
    for (const DashboardModel::TokenBucket &bucket : buckets) {
        points.append({bucket.minuteStartMs, double(bucket.tokens)});
        hasTokens = hasTokens || bucket.tokens > 0;
    }
    if (!hasTokens) {
        m_tokenChart->clear();
        return;
    }
    m_tokenChart->setTimeRange(points.constFirst().timeMs, nowMs);
    m_tokenChart->setSeries(QStringLiteral("tokens"), tr("Tokens"), points,
                            TimeSeriesChart::Style::Step);
}

} // namespace tollgate
