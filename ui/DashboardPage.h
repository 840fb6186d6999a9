#pragma once

#include "DashboardModel.h"
#include "RequestRecord.h"

#include <QElapsedTimer>
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
class LedgerReader;
class TimeSeriesChart;

// The Dashboard: today's and this month's cost, requests, cache hit ratio and savings
// (the client's cache markers and Tollgate's apart), the running cost of the active
// sessions, cost by model and by billing tag, and tokens per minute over the last hour.
// It reads the request log through the LedgerReader when first shown, then follows
// Gateway::requestFinished. Redraws are coalesced to at most kMaxRefreshesPerSecond, and a
// hidden page only keeps the finished requests for later: it catches up when shown.
// Owns its DashboardModel; the gateway and the reader belong to the caller.
class DashboardPage : public QWidget
{
    Q_OBJECT

public:
    static constexpr int kMaxRefreshesPerSecond = 5;
    // Requests kept while hidden; past this the page reads the request log again when shown
    // (or, without a log, folds them in without drawing).
    static constexpr int kMaxPendingWhileHidden = 10000;

    explicit DashboardPage(Gateway *gateway, LedgerReader *reader, QWidget *parent = nullptr);
    ~DashboardPage() override;

    const DashboardModel &model() const { return m_model; }
    // Finished requests not yet in the figures (kept while hidden or between redraws).
    qsizetype pendingRecordCount() const { return m_pending.size(); }
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
    void onRequestFinished(const RequestRecord &record);
    void scheduleRefresh();
    void refresh();
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
    QList<RequestRecord> m_pending;
    bool m_isLoaded = false;
    bool m_isLoading = false;
    // Requests were dropped while hidden: the request log has them, read it again.
    bool m_needsReload = false;

    QTimer m_refreshTimer; // single shot: the next coalesced redraw
    QTimer m_clockTimer; // time moves on (windows slide, days end) with no request at all
    QElapsedTimer m_sinceRefresh;

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
