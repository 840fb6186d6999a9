#include "UpstreamKeysModel.h"

#include <QDateTime>
#include <QLocale>
#include <QStringList>

namespace tollgate {

namespace {
const QString kUnknown = QStringLiteral("—");

QString count(qint64 value)
{
    return QLocale().toString(value);
}

// "requests 95/100" for a family some healthy key reported.
void appendSum(QStringList &parts, const QString &name, const KeyPool::Headroom::Sum &sum)
{
    if (sum.keysReporting == 0)
        return;
    parts.append(
        UpstreamKeysModel::tr("%1 %2/%3").arg(name, count(sum.remaining), count(sum.limit)));
}
} // namespace

UpstreamKeysModel::UpstreamKeysModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void UpstreamKeysModel::setKeys(const QList<Key> &keys)
{
    beginResetModel();
    m_keys = keys;
    endResetModel();
}

void UpstreamKeysModel::setStatus(const QList<KeyPool::KeySnapshot> &snapshots, qint64 nowUs,
                                  qint64 nowMs)
{
    m_snapshots.clear();
    for (const KeyPool::KeySnapshot &snapshot : snapshots)
        m_snapshots.insert(snapshot.alias, snapshot);
    m_nowUs = nowUs;
    m_nowMs = nowMs;
    m_hasStatus = true;
    emitStatusChanged();
}

void UpstreamKeysModel::clearStatus()
{
    m_snapshots.clear();
    m_turnedOff.clear(); // a new run starts with every key on
    m_hasStatus = false;
    emitStatusChanged();
}

void UpstreamKeysModel::setTurnedOff(const QString &alias, bool isTurnedOff)
{
    if (isTurnedOff)
        m_turnedOff.insert(alias);
    else
        m_turnedOff.remove(alias);
    if (const int row = rowOf(alias); row >= 0)
        emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void UpstreamKeysModel::emitStatusChanged()
{
    if (!m_keys.isEmpty())
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

int UpstreamKeysModel::rowOf(const QString &alias) const
{
    for (int row = 0; row < m_keys.size(); ++row) {
        if (m_keys.at(row).alias == alias)
            return row;
    }
    return -1;
}

std::optional<KeyPool::KeySnapshot> UpstreamKeysModel::snapshot(const QString &alias) const
{
    const auto it = m_snapshots.constFind(alias);
    if (it == m_snapshots.constEnd())
        return std::nullopt;
    return *it;
}

int UpstreamKeysModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_keys.size());
}

int UpstreamKeysModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant UpstreamKeysModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Key &key = m_keys.at(index.row());
    const std::optional<KeyPool::KeySnapshot> status = snapshot(key.alias);
    switch (role) {
    case AliasRole:
        return key.alias;
    case IsEnabledRole:
        return key.source != Source::MissingFromKeychain && (!status || status->isEnabled);
    case IsInKeychainRole:
        return key.source == Source::Keychain;
    case Qt::DisplayRole:
        break;
    case Qt::ToolTipRole:
        if (index.column() == StateColumn && status && !status->reason.isEmpty())
            return status->reason;
        if (index.column() == KeyColumn)
            return key.source == Source::Keychain ? tr("Kept in the system keychain")
                : key.source == Source::Environment
                ? tr("From the environment or a key file: change it there")
                : tr("The settings name this key, but the keychain has no entry for it: add it "
                     "again");
        if ((index.column() == RequestsColumn || index.column() == TokensColumn
             || index.column() == ResetColumn)
            && status)
            return limitsToolTip(status->limits);
        return {};
    default:
        return {};
    }
    switch (index.column()) {
    case AliasColumn:
        return key.alias;
    case ProviderColumn:
        return QStringLiteral("anthropic");
    case KeyColumn:
        return key.maskedKey.isEmpty() ? tr("(not in the keychain)")
                                       : QString::fromUtf8(key.maskedKey);
    case StateColumn:
        return stateText(key.alias);
    case LastStatusColumn:
        return lastStatusText(key.alias);
    case RequestsColumn:
        return status ? limitText(status->limits.requests) : kUnknown;
    case TokensColumn:
        return status ? limitText(status->limits.tokens) : kUnknown;
    case ResetColumn:
        return status ? resetText(status->limits) : kUnknown;
    default:
        return {};
    }
}

QVariant UpstreamKeysModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case RequestsColumn:
            return tr("Requests left of the per-minute limit, as the upstream last reported");
        case TokensColumn:
            return tr("Tokens left of the per-minute limit, as the upstream last reported");
        case ResetColumn:
            return tr("When the upstream restores the limit that resets first");
        default:
            return {};
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case AliasColumn:
        return tr("Alias");
    case ProviderColumn:
        return tr("Provider");
    case KeyColumn:
        return tr("Key");
    case StateColumn:
        return tr("State");
    case LastStatusColumn:
        return tr("Last status");
    case RequestsColumn:
        return tr("Requests left");
    case TokensColumn:
        return tr("Tokens left");
    case ResetColumn:
        return tr("Resets");
    default:
        return {};
    }
}

QString UpstreamKeysModel::stateText(const QString &alias) const
{
    const int row = rowOf(alias);
    if (row >= 0 && m_keys.at(row).source == Source::MissingFromKeychain)
        return tr("missing: add it again");
    const std::optional<KeyPool::KeySnapshot> status = snapshot(alias);
    if (!status)
        return m_hasStatus ? tr("not in use") : tr("proxy off");
    switch (status->state) {
    case KeyPool::State::Healthy:
        return tr("healthy");
    case KeyPool::State::CoolingDown:
        if (!status->coolingUntilUs)
            return tr("cooling down");
        return tr("cooling down until %1")
            .arg(timeText(m_nowMs + (*status->coolingUntilUs - m_nowUs) / 1000));
    case KeyPool::State::Disabled:
        break;
    }
    if (m_turnedOff.contains(alias))
        return tr("turned off");
    return tr("disabled: %1").arg(status->reason);
}

QString UpstreamKeysModel::lastStatusText(const QString &alias) const
{
    const std::optional<KeyPool::KeySnapshot> status = snapshot(alias);
    if (!status || status->lastStatus < 0)
        return kUnknown;
    if (status->lastStatus == KeyPool::kConnectFailure)
        return tr("no connection");
    return QString::number(status->lastStatus);
}

QString UpstreamKeysModel::limitText(const KeyPool::RateLimit &limit)
{
    if (limit.remaining >= 0 && limit.limit >= 0)
        return tr("%1/%2").arg(count(limit.remaining), count(limit.limit));
    if (limit.remaining >= 0)
        return tr("%1 left").arg(count(limit.remaining));
    if (limit.limit >= 0)
        return tr("?/%1").arg(count(limit.limit));
    return kUnknown;
}

QString UpstreamKeysModel::resetText(const KeyPool::RateLimits &limits) const
{
    qint64 earliest = -1;
    for (const KeyPool::RateLimit *limit :
         {&limits.requests, &limits.tokens, &limits.inputTokens, &limits.outputTokens}) {
        if (limit->resetAtMs >= 0 && (earliest < 0 || limit->resetAtMs < earliest))
            earliest = limit->resetAtMs;
    }
    return earliest < 0 ? kUnknown : timeText(earliest);
}

QString UpstreamKeysModel::limitsToolTip(const KeyPool::RateLimits &limits) const
{
    QStringList lines;
    const struct
    {
        QString name;
        const KeyPool::RateLimit &limit;
    } families[] = {{tr("Requests"), limits.requests},
                    {tr("Tokens"), limits.tokens},
                    {tr("Input tokens"), limits.inputTokens},
                    {tr("Output tokens"), limits.outputTokens}};
    for (const auto &family : families) {
        if (!family.limit.isKnown())
            continue;
        QString line = tr("%1: %2").arg(family.name, limitText(family.limit));
        if (family.limit.resetAtMs >= 0)
            line += tr(", resets at %1").arg(timeText(family.limit.resetAtMs));
        lines.append(line);
    }
    if (lines.isEmpty())
        return tr("The upstream has not reported rate limits for this key yet.");
    return lines.join(QLatin1Char('\n'));
}

QString UpstreamKeysModel::timeText(qint64 wallMs) const
{
    const QDateTime time = QDateTime::fromMSecsSinceEpoch(wallMs);
    const QDateTime now =
        m_nowMs > 0 ? QDateTime::fromMSecsSinceEpoch(m_nowMs) : QDateTime::currentDateTime();
    if (time.date() == now.date())
        return time.toString(QStringLiteral("HH:mm:ss"));
    return QLocale().toString(time, QLocale::ShortFormat);
}

QString UpstreamKeysModel::headroomText(const KeyPool::Headroom &headroom)
{
    QStringList parts;
    appendSum(parts, tr("requests"), headroom.requests);
    appendSum(parts, tr("tokens"), headroom.tokens);
    appendSum(parts, tr("input tokens"), headroom.inputTokens);
    appendSum(parts, tr("output tokens"), headroom.outputTokens);
    const QString keys = headroom.healthyKeys == 1 ? tr("1 usable key")
                                                   : tr("%1 usable keys").arg(headroom.healthyKeys);
    if (parts.isEmpty())
        return tr("Pool: %1; the upstream has not reported rate limits yet.").arg(keys);
    return tr("Pool: %1 · %2 left").arg(keys, parts.join(QStringLiteral(" · ")));
}

} // namespace tollgate
