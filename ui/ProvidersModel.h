#pragma once

#include "routing/Provider.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>
#include <QStringList>
#include <QUrl>

namespace tollgate {

// The Routes page's table of providers: the built-in "anthropic" one first (the gateway's
// upstream and key pool), then those of the settings file, each with its kind, base URL,
// the keys it uses (aliases and $VARIABLE, never a secret) and the health the gateway last
// reported for it ("—" until it reports).
class ProvidersModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { NameColumn, KindColumn, BaseUrlColumn, KeysColumn, HealthColumn, ColumnCount };
    enum Role {
        NameRole = Qt::UserRole + 1,
        IsBuiltInRole, // bool: the "anthropic" row, which this page neither edits nor removes
        HealthStateRole, // "ok", "limited", "failing", "no keys"; empty until reported
    };

    explicit ProvidersModel(QObject *parent = nullptr);

    // upstream and upstreamKeys: the built-in provider's base URL and key aliases.
    void setProviders(const QUrl &upstream, const QStringList &upstreamKeys,
                      const QList<Provider> &providers);
    // What the gateway last said of a provider; kept by name across setProviders().
    void setHealth(const QString &provider, const QString &state, const QString &detail);

    int rowOf(const QString &name) const;
    QString name(int row) const;
    bool isBuiltIn(int row) const { return row == 0; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // "ok" -> "ok", "no keys" -> "no keys", translated; "—" for an empty state.
    static QString healthText(const QString &state);

private:
    struct Health
    {
        QString state;
        QString detail;
    };
    struct Row
    {
        QString name;
        QString kind;
        QString baseUrl;
        QString keys;
    };

    QVariant displayData(const Row &row, int column) const;
    QVariant toolTipData(const Row &row, int column) const;

    QList<Row> m_rows;
    QHash<QString, Health> m_health;
};

} // namespace tollgate
