#pragma once

#include "routing/Route.h"

#include <QAbstractTableModel>
#include <QList>

namespace tollgate {

// The Routes page's ordered list of rules: one row per rule of the settings' "routes" (the
// first that matches takes the request), then a last row for what no rule takes, which
// reads "otherwise → anthropic" across the row.
class RoutesModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        OrderColumn,
        ModelColumn,
        ConditionsColumn,
        ProvidersColumn,
        RewriteColumn,
        ColumnCount
    };
    enum Role {
        RuleRole = Qt::UserRole + 1, // int: the rule's index; -1 on the last row
    };

    explicit RoutesModel(QObject *parent = nullptr);

    void setRules(const QList<Route> &rules);
    const QList<Route> &rules() const { return m_rules; }
    // The row of "otherwise → anthropic".
    int defaultRow() const { return int(m_rules.size()); }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // "virtual key ci · thinking on · prompts of 100,000 tokens or more"; "any request".
    static QString conditionsText(const Route &route);
    // "openrouter, then anthropic".
    static QString chainText(const QStringList &providers);

private:
    QVariant displayData(int row, int column) const;

    QList<Route> m_rules;
};

} // namespace tollgate
