#pragma once

#include "keys/VirtualKey.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>
#include <optional>

namespace tollgate {

// The Keys page's table of virtual keys, the keys Tollgate hands to its clients: alias,
// billing tag, allowed models, limits, budget, the spend of today and of this month, and
// whether the key is on. The built-in key ("default", from the virtual-key file) comes
// first when there is one. Spend of a key with a budget is the proxy's own count; of the
// others, the request log's. It never holds a secret.
class VirtualKeysModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        AliasColumn,
        TagColumn,
        ModelsColumn,
        LimitsColumn,
        BudgetColumn,
        TodayColumn,
        MonthColumn,
        EnabledColumn,
        ColumnCount
    };
    enum Role {
        AliasRole = Qt::UserRole + 1,
        IsBuiltInRole, // bool: the virtual-key file's key; it cannot be edited here
    };
    struct Spend
    {
        qint64 dayPicoUsd = 0;
        qint64 monthPicoUsd = 0;
    };

    explicit VirtualKeysModel(QObject *parent = nullptr);

    // The keys as they are configured; their secrets are dropped.
    void setKeys(const QList<VirtualKey> &keys);
    // What the proxy counted for keys with a budget (SpendTracker), by alias.
    void setBudgetSpend(const QHash<QString, Spend> &spend);
    // What the request log holds for the current day and month, by alias; nullopt when
    // there is no log to read.
    void setLoggedSpend(const std::optional<QHash<QString, Spend>> &spend);

    int rowOf(const QString &alias) const;
    const VirtualKey &key(int row) const { return m_keys.at(row); }
    std::optional<Spend> spend(const QString &alias) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // "300 requests/min · 4 streams", "none".
    static QString limitsText(const RateLimiter::Limits &limits);
    // "$5.00 a day · $100.00 a month", "none".
    static QString budgetText(const BudgetGuard::Caps &caps);
    // "claude-*, *haiku*", "all models".
    static QString modelsText(const QStringList &models);

private:
    QString spendText(const QString &alias, bool isDay, qint64 capPicoUsd) const;
    void emitSpendChanged();

    QList<VirtualKey> m_keys;
    QHash<QString, Spend> m_budgetSpend;
    std::optional<QHash<QString, Spend>> m_loggedSpend;
};

} // namespace tollgate
