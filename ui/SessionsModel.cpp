#include "SessionsModel.h"

#include "charts/ValueFormat.h"

#include <QDateTime>
#include <QLocale>
#include <algorithm>

namespace tollgate {

namespace {

constexpr int kShortIdLength = 8; // enough to tell sessions apart at a glance

} // namespace

double SessionsModel::Session::cacheHitRatio() const
{
    const qint64 prompt = promptTokens();
    return prompt > 0 ? double(cacheReadTokens) / double(prompt) : 0.0;
}

void SessionsModel::Session::add(const RequestRecord &record)
{
    const qint64 startMs = record.startedAt.toMSecsSinceEpoch();
    if (requests == 0 || startMs < firstMs)
        firstMs = startMs;
    lastMs = std::max(lastMs, startMs);
    ++requests;
    inputTokens += record.usage.inputTokens;
    outputTokens += record.usage.outputTokens;
    cacheWriteTokens += record.usage.cacheWriteTokens();
    cacheReadTokens += record.usage.cacheReadTokens;
    if (record.costPicoUsd)
        costPicoUsd += *record.costPicoUsd;
    else
        ++unpricedRequests;
    if (project.isEmpty())
        project = record.project;
}

SessionsModel::Session SessionsModel::Session::from(const LedgerStore::Totals &totals)
{
    Session session;
    session.id = totals.key.toUtf8();
    session.firstMs = totals.firstMs;
    session.lastMs = totals.lastMs;
    session.requests = totals.requests;
    session.inputTokens = totals.inputTokens;
    session.outputTokens = totals.outputTokens;
    session.cacheWriteTokens = totals.cacheWrite5mTokens + totals.cacheWrite1hTokens;
    session.cacheReadTokens = totals.cacheReadTokens;
    session.costPicoUsd = totals.costPicoUsd;
    session.unpricedRequests = totals.unpricedRequests;
    return session;
}

SessionsModel::SessionsModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void SessionsModel::setSessions(const QList<Session> &sessions)
{
    beginResetModel();
    m_sessions = sessions;
    m_rows.clear();
    for (int row = 0; row < m_sessions.size(); ++row)
        m_rows.insert(m_sessions.at(row).id, row);
    endResetModel();
}

void SessionsModel::addRecord(const RequestRecord &record)
{
    const auto it = m_rows.constFind(record.sessionId);
    if (it != m_rows.cend()) {
        m_sessions[*it].add(record);
        emit dataChanged(index(*it, 0), index(*it, ColumnCount - 1));
        return;
    }
    Session session;
    session.id = record.sessionId;
    session.add(record);
    const int row = int(m_sessions.size());
    beginInsertRows(QModelIndex(), row, row);
    m_sessions.append(session);
    m_rows.insert(session.id, row);
    endInsertRows();
}

void SessionsModel::setProjects(const QHash<QByteArray, QString> &projects)
{
    for (int row = 0; row < m_sessions.size(); ++row) {
        Session &session = m_sessions[row];
        if (!session.project.isEmpty())
            continue;
        const QString project = projects.value(session.id);
        if (project.isEmpty())
            continue;
        session.project = project;
        emit dataChanged(index(row, ProjectColumn), index(row, ProjectColumn));
    }
}

int SessionsModel::rowOf(const QByteArray &sessionId) const
{
    return m_rows.value(sessionId, -1);
}

int SessionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_sessions.size());
}

int SessionsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SessionsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Session &session = m_sessions.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return display(session, index.column());
    case Qt::ToolTipRole:
        return toolTip(session, index.column());
    case Qt::TextAlignmentRole:
        if (index.column() >= DurationColumn)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
    case SortRole:
        return sortValue(session, index.column());
    case SessionIdRole:
        return session.id;
    default:
        return {};
    }
}

QVariant SessionsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case ProjectColumn:
        return tr("Project");
    case SessionColumn:
        return tr("Session");
    case StartColumn:
        return tr("Started");
    case DurationColumn:
        return tr("Duration");
    case RequestsColumn:
        return tr("Requests");
    case TokensColumn:
        return tr("Tokens");
    case CostColumn:
        return tr("Cost");
    case CacheHitColumn:
        return tr("Cache hit");
    default:
        return {};
    }
}

QVariant SessionsModel::display(const Session &session, int column) const
{
    switch (column) {
    case ProjectColumn:
        return session.project.isEmpty() ? tr("(unknown)") : session.project;
    case SessionColumn:
        return session.id.isEmpty() ? tr("(no session id)")
                                    : QString::fromUtf8(session.id.left(kShortIdLength));
    case StartColumn:
        return QLocale().toString(QDateTime::fromMSecsSinceEpoch(session.firstMs),
                                  QLocale::ShortFormat);
    case DurationColumn:
        return formatDuration(session.lastMs - session.firstMs);
    case RequestsColumn:
        return QLocale().toString(session.requests);
    case TokensColumn:
        return ValueFormat::tokens(double(session.tokens()));
    case CostColumn:
        if (session.unpricedRequests > 0)
            return tr("%1 + %n unpriced", nullptr, int(session.unpricedRequests))
                .arg(ValueFormat::usd(session.costPicoUsd));
        return ValueFormat::usd(session.costPicoUsd);
    case CacheHitColumn:
        return ValueFormat::percent(session.cacheHitRatio(), session.promptTokens() > 0);
    default:
        return {};
    }
}

QVariant SessionsModel::sortValue(const Session &session, int column) const
{
    switch (column) {
    case ProjectColumn:
        return session.project;
    case SessionColumn:
        return QString::fromUtf8(session.id);
    case StartColumn:
        return session.firstMs;
    case DurationColumn:
        return session.lastMs - session.firstMs;
    case RequestsColumn:
        return session.requests;
    case TokensColumn:
        return session.tokens();
    case CostColumn:
        return session.costPicoUsd;
    case CacheHitColumn:
        return session.cacheHitRatio();
    default:
        return {};
    }
}

QString SessionsModel::toolTip(const Session &session, int column) const
{
    switch (column) {
    case SessionColumn:
        return QString::fromUtf8(session.id);
    case StartColumn:
        return QLocale().toString(QDateTime::fromMSecsSinceEpoch(session.firstMs),
                                  QLocale::LongFormat);
    case DurationColumn:
        return tr("Last request %1")
            .arg(QLocale().toString(QDateTime::fromMSecsSinceEpoch(session.lastMs),
                                    QLocale::ShortFormat));
    case TokensColumn:
        return tr("Input %1, output %2, cache writes %3, cache reads %4")
            .arg(QLocale().toString(session.inputTokens), QLocale().toString(session.outputTokens),
                 QLocale().toString(session.cacheWriteTokens),
                 QLocale().toString(session.cacheReadTokens));
    case CostColumn:
        if (session.unpricedRequests > 0)
            return tr("%1; %n request(s) of a model without a price are not included", nullptr,
                      int(session.unpricedRequests))
                .arg(ValueFormat::usdExact(session.costPicoUsd));
        return ValueFormat::usdExact(session.costPicoUsd);
    case CacheHitColumn:
        return tr("Cache reads: %1 of %2 prompt tokens")
            .arg(QLocale().toString(session.cacheReadTokens),
                 QLocale().toString(session.promptTokens()));
    default:
        return {};
    }
}

QString SessionsModel::formatDuration(qint64 ms)
{
    const qint64 seconds = std::max<qint64>(0, ms) / 1000;
    if (seconds < 60)
        return tr("%1 s").arg(seconds);
    const qint64 minutes = seconds / 60;
    if (minutes < 60)
        return tr("%1 min").arg(minutes);
    const qint64 hours = minutes / 60;
    return tr("%1 h %2 min").arg(hours).arg(minutes % 60, 2, 10, QLatin1Char('0'));
}

} // namespace tollgate
