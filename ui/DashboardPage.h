#pragma once

#include "DashboardModel.h"
#include "RequestRecord.h"

#include <QHash>
#include <QList>
#include <QPointer>
#include <QTimer>
#include <QWidget>

class QComboBox;
class QGroupBox;
class QLabel;

namespace tollgate {

class BarBreakdownChart;
class Gateway;
class LiveFeed;
class LedgerReader;
class TimeSeriesChart;

// The Dashboard: today's and this month's cost, requests, cache hit ratio and savings
// (the client's cache markers and Tollgate's apart), the running cost of the active
// sessions, cost by model and by billing tag, and tokens per minute over the last hour.
// It reads the request log through the LedgerReader when first shown, then follows
// Gateway::requestFinished through a LiveFeed: redraws are coalesced to at most
// LiveFeed::kMaxRefreshesPerSecond, and a hidden page only keeps the finished requests for
// later: it catches up when shown.
// Owns its DashboardModel; the gateway and the reader belong to the caller.
class DashboardPage : public QWidget
{
    Q_OBJECT

public:
    explicit DashboardPage(Gateway *gateway, LedgerReader *reader, QWidget *parent = nullptr);
    ~DashboardPage() override;

    const DashboardModel &model() const { return m_model; }
    // Finished requests not yet in the figures (kept while hidden or between redraws).
    qsizetype pendingRecordCount() const;
    // Reads the request log again, e.g. after its location changed or rows were purged.
    void reload();

signals:
    // After each redraw with the model's current figures.
    void refreshed();

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    struct Load;
    struct FigureLabels
    {
        QLabel *cost = nullptr;
        QLabel *requests = nullptr;
        QLabel *cacheHit = nullptr;
        QLabel *saved = nullptr;
        QLabel *savedByClient = nullptr;
        QLabel *savedByTollgate = nullptr;
        QLabel *unpriced = nullptr;
    };

    QGroupBox *createFigures(const QString &title, const QString &prefix, FigureLabels &labels);
    void refresh(const QList<RequestRecord> &records, bool isVisible);
    void load();
    void applyLoad(const Load &load);
    void fetchSessionHistories();
    void showFigures(const DashboardModel::Figures &figures, const FigureLabels &labels);
    void showSessions(qint64 nowMs);
    void showBreakdowns();
    void showTokens(qint64 nowMs);

    QPointer<Gateway> m_gateway;
    QPointer<LedgerReader> m_reader;
    DashboardModel m_model;
    LiveFeed *m_feed = nullptr;
    QTimer m_clockTimer; // time moves on (windows slide, days end) with no request at all

    FigureLabels m_todayLabels;
    FigureLabels m_monthLabels;
    QLabel *m_status = nullptr;
    TimeSeriesChart *m_sessionChart = nullptr;
    QComboBox *m_breakdownPeriod = nullptr;
    BarBreakdownChart *m_modelChart = nullptr;
    BarBreakdownChart *m_tagChart = nullptr;
    TimeSeriesChart *m_tokenChart = nullptr;
};

} // namespace tollgate
