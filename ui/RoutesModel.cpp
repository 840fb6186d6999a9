#include "RoutesModel.h"

#include "routing/Provider.h"

#include <QLocale>

namespace tollgate {

RoutesModel::RoutesModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void RoutesModel::setRules(const QList<Route> &rules)
{
    beginResetModel();
    m_rules = rules;
    endResetModel();
}

int RoutesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rules.size()) + 1;
}

int RoutesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RoutesModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const bool isDefault = index.row() == defaultRow();
    switch (role) {
    case RuleRole:
        return isDefault ? -1 : index.row();
    case Qt::DisplayRole:
        return displayData(index.row(), index.column());
    case Qt::ToolTipRole:
        if (isDefault)
            return tr("A request no rule takes goes to the built-in provider with its own "
                      "model name");
        if (index.column() == ProvidersColumn && m_rules.at(index.row()).providers.size() > 1)
            return tr("The next one is tried when one answers 429 or 5xx before its first "
                      "byte");
        return {};
    default:
        return {};
    }
}

QVariant RoutesModel::displayData(int row, int column) const
{
    if (row == defaultRow()) {
        // The view spans this cell over the row.
        return column == ModelColumn ? tr("otherwise → %1").arg(Provider::kAnthropic) : QVariant();
    }
    const Route &route = m_rules.at(row);
    switch (column) {
    case OrderColumn:
        return row + 1;
    case ModelColumn:
        return route.model;
    case ConditionsColumn:
        return conditionsText(route);
    case ProvidersColumn:
        return chainText(route.providers);
    case RewriteColumn:
        return route.rewriteModel.isEmpty() ? tr("as requested") : route.rewriteModel;
    default:
        return {};
    }
}

QVariant RoutesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case ModelColumn:
            return tr("A pattern over the request's model: * is any text, ? one character");
        case ProvidersColumn:
            return tr("Where the requests go: the first provider, then each next one when it "
                      "answers 429 or 5xx before its first byte");
        case RewriteColumn:
            return tr("The model name the provider gets");
        default:
            return {};
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case OrderColumn:
        return tr("#");
    case ModelColumn:
        return tr("Model");
    case ConditionsColumn:
        return tr("Only when");
    case ProvidersColumn:
        return tr("Providers");
    case RewriteColumn:
        return tr("Model sent");
    default:
        return {};
    }
}

QString RoutesModel::conditionsText(const Route &route)
{
    QStringList conditions;
    if (!route.virtualKey.isEmpty())
        conditions.append(tr("virtual key %1").arg(route.virtualKey));
    if (route.thinking)
        conditions.append(*route.thinking ? tr("thinking on") : tr("thinking off"));
    if (route.minPromptTokens > 0)
        conditions.append(
            tr("prompts of %1 tokens or more").arg(QLocale().toString(route.minPromptTokens)));
    return conditions.isEmpty() ? tr("any request") : conditions.join(QStringLiteral(" · "));
}

QString RoutesModel::chainText(const QStringList &providers)
{
    return providers.join(tr(", then "));
}

} // namespace tollgate
