#pragma once

#include "RequestRecord.h"
#include "SessionsModel.h"

#include <QList>
#include <QPointer>
#include <QWidget>

class QComboBox;
class QLabel;
class QSortFilterProxyModel;
class QTableView;

namespace tollgate {

class Gateway;
class LedgerReader;
class LiveFeed;
class TimeSeriesChart;

// The Sessions page: a sortable table with one row per session (project, start, duration,
// requests, tokens, cost, cache hit ratio) over a chosen period, and the selected session's
// cumulative cost over time. Read through the LedgerReader when shown, then kept current from
// Gateway::requestFinished through a LiveFeed (redraws coalesced, a hidden page only keeps
// the requests for later). Owns its model and widgets; the gateway and
// the reader belong to the caller.
class SessionsPage : public QWidget
{
    Q_OBJECT

public:
    enum class Span { Today, Week, Month, All };

    explicit SessionsPage(Gateway *gateway, LedgerReader *reader, QWidget *parent = nullptr);
    ~SessionsPage() override;

    SessionsModel *model() const { return m_model; }
    // The model as the table shows it: sorted by the column the user chose.
    QSortFilterProxyModel *sortedModel() const { return m_sorted; }
    QTableView *view() const { return m_view; }
    TimeSeriesChart *timelineChart() const { return m_timeline; }
    Span span() const;
    void setSpan(Span span);
    // Selects the session's row and shows its timeline; false when it has no row.
    bool selectSession(const QByteArray &sessionId);
    QByteArray selectedSessionId() const { return m_selected; }
    // Reads the request log again, e.g. after its location changed or rows were purged.
    void reload();

signals:
    void refreshed(); // the table took in the pending requests
    void timelineShown(const QByteArray &sessionId); // the timeline chart shows this session

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    struct Load;

    void refresh(const QList<RequestRecord> &records);
    void load();
    void applyLoad(const Load &load);
    void onCurrentRowChanged();
    void showTimeline(const QByteArray &sessionId, const QList<LedgerStore::TimelinePoint> &points);
    void extendTimeline(const RequestRecord &record);
    qint64 spanStartMs() const;

    QPointer<Gateway> m_gateway;
    QPointer<LedgerReader> m_reader;
    SessionsModel *m_model = nullptr;
    QSortFilterProxyModel *m_sorted = nullptr;
    QComboBox *m_spanBox = nullptr;
    QLabel *m_status = nullptr;
    QTableView *m_view = nullptr;
    TimeSeriesChart *m_timeline = nullptr;

    LiveFeed *m_feed = nullptr;
    bool m_hasSizedColumns = false;
    quint64 m_loadGeneration = 0; // answers to an older read are dropped

    QByteArray m_selected; // the session on the timeline chart
    bool m_isTimelineLoaded = false;
    qint64 m_timelineLastMs = 0;
    qint64 m_timelineCostPicoUsd = 0;
};

} // namespace tollgate
