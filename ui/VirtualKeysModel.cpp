#include "VirtualKeysModel.h"

#include "charts/ValueFormat.h"

#include <QLocale>
#include <QStringList>

namespace tollgate {

namespace {
QString count(qint64 value)
{
    return QLocale().toString(value);
}
} // namespace

VirtualKeysModel::VirtualKeysModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void VirtualKeysModel::setKeys(const QList<VirtualKey> &keys)
{
    beginResetModel();
    m_keys = keys;
    for (VirtualKey &key : m_keys)
        key.secret.clear();
    endResetModel();
}

void VirtualKeysModel::setBudgetSpend(const QHash<QString, Spend> &spend)
{
    m_budgetSpend = spend;
    emitSpendChanged();
}

void VirtualKeysModel::setLoggedSpend(const std::optional<QHash<QString, Spend>> &spend)
{
    m_loggedSpend = spend;
    emitSpendChanged();
}

void VirtualKeysModel::emitSpendChanged()
{
    if (!m_keys.isEmpty())
        emit dataChanged(index(0, TodayColumn), index(rowCount() - 1, MonthColumn));
}

int VirtualKeysModel::rowOf(const QString &alias) const
{
    for (int row = 0; row < m_keys.size(); ++row) {
        if (m_keys.at(row).alias == alias)
            return row;
    }
    return -1;
}

std::optional<VirtualKeysModel::Spend> VirtualKeysModel::spend(const QString &alias) const
{
    if (const auto it = m_budgetSpend.constFind(alias); it != m_budgetSpend.constEnd())
        return *it;
    if (!m_loggedSpend)
        return std::nullopt;
    return m_loggedSpend->value(alias);
}

int VirtualKeysModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_keys.size());
}

int VirtualKeysModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant VirtualKeysModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const VirtualKey &key = m_keys.at(index.row());
    const bool isBuiltIn = key.alias == VirtualKey::kDefaultAlias;
    if (role == AliasRole)
        return key.alias;
    if (role == IsBuiltInRole)
        return isBuiltIn;
    if (role == Qt::ToolTipRole) {
        if (index.column() == AliasColumn && isBuiltIn)
            return tr("The built-in key from the virtual-key file (or --virtual-key); its "
                      "limits and budget are in the settings file");
        if (index.column() == TodayColumn || index.column() == MonthColumn)
            return m_budgetSpend.contains(key.alias)
                ? tr("Counted by the proxy against the key's budget")
                : tr("From the request log");
        return {};
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case AliasColumn:
        return isBuiltIn ? tr("%1 (built-in)").arg(key.alias) : key.alias;
    case TagColumn:
        return key.billingTag.isEmpty() ? QStringLiteral("—") : key.billingTag;
    case ModelsColumn:
        return modelsText(key.models);
    case LimitsColumn:
        return limitsText(key.limits);
    case BudgetColumn:
        return budgetText(key.budget);
    case TodayColumn:
        return spendText(key.alias, true, key.budget.dailyPicoUsd);
    case MonthColumn:
        return spendText(key.alias, false, key.budget.monthlyPicoUsd);
    case EnabledColumn:
        return key.isEnabled ? tr("on") : tr("off");
    default:
        return {};
    }
}

QVariant VirtualKeysModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case AliasColumn:
        return tr("Alias");
    case TagColumn:
        return tr("Billing tag");
    case ModelsColumn:
        return tr("Models");
    case LimitsColumn:
        return tr("Limits");
    case BudgetColumn:
        return tr("Budget");
    case TodayColumn:
        return tr("Spent today");
    case MonthColumn:
        return tr("Spent this month");
    case EnabledColumn:
        return tr("Enabled");
    default:
        return {};
    }
}

QString VirtualKeysModel::spendText(const QString &alias, bool isDay, qint64 capPicoUsd) const
{
    const std::optional<Spend> spent = spend(alias);
    if (!spent)
        return QStringLiteral("—");
    const qint64 amount = isDay ? spent->dayPicoUsd : spent->monthPicoUsd;
    if (capPicoUsd <= 0)
        return ValueFormat::usd(amount);
    return tr("%1 of %2 (%3)")
        .arg(ValueFormat::usd(amount), ValueFormat::usd(capPicoUsd),
             ValueFormat::percent(double(amount) / double(capPicoUsd)));
}

QString VirtualKeysModel::limitsText(const RateLimiter::Limits &limits)
{
    QStringList parts;
    if (limits.requestsPerMinute > 0)
        parts.append(tr("%1 requests/min").arg(count(limits.requestsPerMinute)));
    if (limits.inputTokensPerMinute > 0)
        parts.append(tr("%1 input tokens/min").arg(count(limits.inputTokensPerMinute)));
    if (limits.outputTokensPerMinute > 0)
        parts.append(tr("%1 output tokens/min").arg(count(limits.outputTokensPerMinute)));
    if (limits.maxConcurrentStreams > 0)
        parts.append(limits.maxConcurrentStreams == 1
                         ? tr("1 stream")
                         : tr("%1 streams").arg(limits.maxConcurrentStreams));
    return parts.isEmpty() ? tr("none") : parts.join(QStringLiteral(" · "));
}

QString VirtualKeysModel::budgetText(const BudgetGuard::Caps &caps)
{
    QStringList parts;
    if (caps.dailyPicoUsd > 0)
        parts.append(tr("%1 a day").arg(ValueFormat::usd(caps.dailyPicoUsd)));
    if (caps.monthlyPicoUsd > 0)
        parts.append(tr("%1 a month").arg(ValueFormat::usd(caps.monthlyPicoUsd)));
    return parts.isEmpty() ? tr("none") : parts.join(QStringLiteral(" · "));
}

QString VirtualKeysModel::modelsText(const QStringList &models)
{
    return models.isEmpty() ? tr("all models") : models.join(QStringLiteral(", "));
}

} // namespace tollgate
