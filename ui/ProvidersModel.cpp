#include "ProvidersModel.h"

#include <QBrush>
#include <QColor>

namespace tollgate {

namespace {
const QString kUnknown = QStringLiteral("—");

QString keysText(const QStringList &aliases, const QString &variable)
{
    QStringList keys = aliases;
    if (!variable.isEmpty())
        keys.append(QStringLiteral("$%1").arg(variable));
    return keys.isEmpty() ? ProvidersModel::tr("none") : keys.join(QStringLiteral(", "));
}

// The health cell's colour; failing is the red the request log shows errors in.
QVariant healthBrush(const QString &state)
{
    if (state == QLatin1String("ok"))
        return QBrush(QColor(0x2e, 0x8b, 0x57));
    if (state == QLatin1String("limited"))
        return QBrush(QColor(0xc0, 0x7a, 0x00));
    if (state == QLatin1String("failing") || state == QLatin1String("no keys"))
        return QBrush(QColor(0xd0, 0x3b, 0x3b));
    return {};
}
} // namespace

ProvidersModel::ProvidersModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void ProvidersModel::setProviders(const QUrl &upstream, const QStringList &upstreamKeys,
                                  const QList<Provider> &providers)
{
    beginResetModel();
    m_rows.clear();
    m_rows.append({QString(Provider::kAnthropic), Provider::kindName(Provider::Kind::Anthropic),
                   upstream.toString(QUrl::RemoveUserInfo), keysText(upstreamKeys, QString())});
    for (const Provider &provider : providers)
        m_rows.append({provider.name, Provider::kindName(provider.kind),
                       provider.baseUrl.toString(QUrl::RemoveUserInfo),
                       keysText(provider.keyAliases, provider.keyVariable)});
    endResetModel();
}

void ProvidersModel::setHealth(const QString &provider, const QString &state, const QString &detail)
{
    m_health.insert(provider, {state, detail});
    if (const int row = rowOf(provider); row >= 0)
        emit dataChanged(index(row, HealthColumn), index(row, HealthColumn));
}

int ProvidersModel::rowOf(const QString &name) const
{
    for (int row = 0; row < m_rows.size(); ++row) {
        if (m_rows.at(row).name == name)
            return row;
    }
    return -1;
}

QString ProvidersModel::name(int row) const
{
    return row >= 0 && row < m_rows.size() ? m_rows.at(row).name : QString();
}

int ProvidersModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ProvidersModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ProvidersModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows.at(index.row());
    switch (role) {
    case NameRole:
        return row.name;
    case IsBuiltInRole:
        return isBuiltIn(index.row());
    case HealthStateRole:
        return m_health.value(row.name).state;
    case Qt::DisplayRole:
        return displayData(row, index.column());
    case Qt::ToolTipRole:
        return toolTipData(row, index.column());
    case Qt::ForegroundRole:
        if (index.column() == HealthColumn)
            return healthBrush(m_health.value(row.name).state);
        return {};
    default:
        return {};
    }
}

QVariant ProvidersModel::displayData(const Row &row, int column) const
{
    switch (column) {
    case NameColumn:
        return row.name;
    case KindColumn:
        return row.kind;
    case BaseUrlColumn:
        return row.baseUrl;
    case KeysColumn:
        return row.keys;
    case HealthColumn:
        return healthText(m_health.value(row.name).state);
    default:
        return {};
    }
}

QVariant ProvidersModel::toolTipData(const Row &row, int column) const
{
    switch (column) {
    case NameColumn:
        return row.name == Provider::kAnthropic
            ? tr("Built in: the upstream of the Settings page with the keys of the Keys page. "
                 "Every request no rule takes goes here.")
            : QVariant();
    case HealthColumn: {
        const auto it = m_health.constFind(row.name);
        if (it == m_health.constEnd())
            return tr("Nothing reported yet");
        return it->detail.isEmpty() ? healthText(it->state) : it->detail;
    }
    default:
        return {};
    }
}

QVariant ProvidersModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case KindColumn:
            return tr("anthropic: the Messages API, requests pass as they are; openai: chat "
                      "completions, requests and answers are translated");
        case KeysColumn:
            return tr("Aliases of upstream keys (the secrets stay in the keychain, the "
                      "environment or the key file) and $VARIABLE for a key in the "
                      "environment");
        case HealthColumn:
            return tr("What the running proxy last saw of this provider");
        default:
            return {};
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Provider");
    case KindColumn:
        return tr("Kind");
    case BaseUrlColumn:
        return tr("Base URL");
    case KeysColumn:
        return tr("Keys");
    case HealthColumn:
        return tr("Health");
    default:
        return {};
    }
}

QString ProvidersModel::healthText(const QString &state)
{
    if (state.isEmpty())
        return kUnknown;
    if (state == QLatin1String("ok"))
        return tr("ok");
    if (state == QLatin1String("limited"))
        return tr("limited");
    if (state == QLatin1String("failing"))
        return tr("failing");
    if (state == QLatin1String("no keys"))
        return tr("no keys");
    return state;
}

} // namespace tollgate
