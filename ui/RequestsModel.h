#pragma once

#include "RequestRecord.h"
#include "store/RequestQuery.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>
#include <QPointer>
#include <QSet>
#include <QTimer>

namespace tollgate {

class LedgerReader;

// The request log as a table, newest first, for a filter: virtualised over the store so that
// a log of any size scrolls without being read whole. It knows how many rows match and
// reads the pages of kPageSize rows the view asks for through the LedgerReader (never on
// the GUI thread), keeping at most kMaxCachedPages of them; a row whose page is not read
// yet shows a placeholder. Requests that finish while the table is open and match the
// filter are added at the top.
//
// The rows read from the log are those logged before the last reload (a snapshot by row
// id), so that a page shows the same rows however many requests are logged meanwhile; the
// live rows above them cover the rest.
class RequestsModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    static constexpr int kPageSize = 200;
    static constexpr int kMaxCachedPages = 8;
    // Live rows keep their header blocks, error body and logged bodies for the detail view;
    // older live rows keep what the list shows, and their detail is read from the log.
    static constexpr int kMaxLiveDetails = 200;
    // Pages read at once: the ones the view shows now are read first, the rest waits.
    static constexpr int kMaxPagesInFlight = 2;

    enum Column {
        TimeColumn,
        StatusColumn,
        ModelColumn,
        ProviderColumn, // the provider that served it, and "OpenAI client" for that surface
        SessionColumn,
        TagColumn,
        InputColumn,
        OutputColumn,
        CacheWriteColumn,
        CacheReadColumn,
        CostColumn,
        TtfbColumn,
        TotalColumn,
        ColumnCount
    };
    enum Role {
        RecordIdRole = Qt::UserRole + 1, // the row's id in the log (0: live, not read back)
        IsLoadedRole, // false while the row's page is being read
    };

    explicit RequestsModel(LedgerReader *reader, QObject *parent = nullptr);

    // Shows the rows matching the filter, read afresh.
    void setFilter(const RequestQuery::Filter &filter);
    const RequestQuery::Filter &filter() const { return m_filter; }
    // Reads the log again with the same filter (rows purged, store changed).
    void reload();
    // A finished request: added at the top when it matches the filter.
    void addRecord(const RequestRecord &record);

    bool isLoading() const { return m_isLoading; }
    bool isRowLoaded(int row) const { return recordAt(row) != nullptr; }
    // The row as the list knows it; nullptr while its page is being read. A row read from
    // the log carries no header blocks or bodies (RequestQuery::detail() has them).
    const RequestRecord *recordAt(int row) const;
    // True when recordAt(row) carries everything the detail view shows: a live row that
    // still has its header blocks and bodies.
    bool hasFullRecord(int row) const;
    bool isLiveRow(int row) const { return row >= 0 && row < m_live.size(); }
    int liveRowCount() const { return int(m_live.size()); }
    // Rows held in memory: the cached pages and the live rows.
    int loadedRowCount() const;
    // Rows that matched in the log when it was last read (the live rows come on top).
    qint64 loggedRowCount() const { return m_loggedCount; }

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    static QString formatDuration(qint64 us); // "—" for an unknown (negative) time
    static QString shortSessionId(const QByteArray &sessionId);
    static bool isFailure(const RequestRecord &record);

signals:
    void reloaded(); // the row count for the filter is known
    void rowsLoaded(int first, int last); // these rows' data arrived
    void loadFailed(const QString &error);

private:
    struct LiveRow
    {
        RequestRecord record;
        qint64 receivedMs = 0;
        bool isFull = true;
    };
    struct Snapshot;

    void requestPage(int page) const;
    void fetchWantedPages();
    void applySnapshot(const Snapshot &snapshot);
    void applyPage(quint64 generation, int page, const QList<RequestRecord> &rows,
                   const QString &error);
    void evictPages();
    void stripOldLiveRows();
    QVariant display(const RequestRecord &record, int column) const;
    QVariant toolTip(const RequestRecord &record, int column) const;

    QPointer<LedgerReader> m_reader;
    RequestQuery::Filter m_filter;
    quint64 m_generation = 0; // answers to an older read are dropped
    bool m_isLoading = false;
    qint64 m_loggedCount = 0;
    quint64 m_beforeId = 0; // the snapshot: logged rows with a smaller id
    QList<LiveRow> m_live; // newest first

    QHash<int, QList<RequestRecord>> m_pages;
    // When each page was last shown (a counter, not a time), to evict the least recent.
    mutable QHash<int, quint64> m_pageUse;
    mutable quint64 m_useClock = 0;
    mutable QSet<int> m_wanted;
    QSet<int> m_inFlight;
    mutable QTimer m_fetchTimer;
};

} // namespace tollgate
