#pragma once

#include "RequestRecord.h"
#include "store/LedgerStore.h"

#include <QAbstractTableModel>
#include <QByteArray>
#include <QHash>
#include <QList>

namespace tollgate {

// One row per session (Claude Code's session id) with its project, start, duration,
// requests, tokens, cost and cache hit ratio: filled from the request log's per-session
// totals, then kept current from finished requests. Display text is formatted for people;
// SortRole gives the raw value of a cell for sorting through a QSortFilterProxyModel.
class SessionsModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        ProjectColumn,
        SessionColumn,
        StartColumn,
        DurationColumn,
        RequestsColumn,
        TokensColumn,
        CostColumn,
        CacheHitColumn,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole + 1,
        SessionIdRole, // the session id as QByteArray
    };

    struct Session
    {
        QByteArray id; // empty: requests that carried no session id
        QString project;
        qint64 firstMs = 0;
        qint64 lastMs = 0;
        qint64 requests = 0;
        qint64 inputTokens = 0;
        qint64 outputTokens = 0;
        qint64 cacheWriteTokens = 0;
        qint64 cacheReadTokens = 0;
        qint64 costPicoUsd = 0; // priced requests only
        qint64 unpricedRequests = 0;

        qint64 tokens() const
        {
            return inputTokens + outputTokens + cacheWriteTokens + cacheReadTokens;
        }
        qint64 promptTokens() const { return inputTokens + cacheWriteTokens + cacheReadTokens; }
        double cacheHitRatio() const;
        void add(const RequestRecord &record);
        static Session from(const LedgerStore::Totals &totals); // key is the session id
    };

    explicit SessionsModel(QObject *parent = nullptr);

    // Replaces every row.
    void setSessions(const QList<Session> &sessions);
    // Adds the request to its session's row, or appends a row for a new session.
    void addRecord(const RequestRecord &record);
    // Names the project of sessions that have none yet (the log's totals carry no project).
    void setProjects(const QHash<QByteArray, QString> &projects);

    const Session &session(int row) const { return m_sessions.at(row); }
    int rowOf(const QByteArray &sessionId) const; // -1 when there is no such row

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    static QString formatDuration(qint64 ms);

private:
    QVariant display(const Session &session, int column) const;
    QVariant sortValue(const Session &session, int column) const;
    QString toolTip(const Session &session, int column) const;

    QList<Session> m_sessions;
    QHash<QByteArray, int> m_rows; // session id -> row
};

} // namespace tollgate
