#pragma once

#include "upstream/KeyPool.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>
#include <QSet>
#include <optional>

namespace tollgate {

// The Keys page's table of upstream keys: one row per key the gateway sends upstream (alias,
// provider, the key masked, where it comes from), with what the running proxy last said
// about it: health, the last status, and the rate-limit headroom the upstream reported in
// its anthropic-ratelimit-* headers. It never holds a secret, only the masked form.
class UpstreamKeysModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        AliasColumn,
        ProviderColumn,
        KeyColumn,
        StateColumn,
        LastStatusColumn,
        RequestsColumn,
        TokensColumn,
        ResetColumn,
        ColumnCount
    };
    enum Role {
        AliasRole = Qt::UserRole + 1,
        IsEnabledRole, // bool: the proxy sends requests with it (or would, once started)
        IsInKeychainRole, // bool: the settings name it and the keychain holds it
    };
    enum class Source {
        Keychain, // the settings' "upstream_keys"
        Environment, // TOLLGATE_UPSTREAM_KEY(S), a key file or --upstream-key
        MissingFromKeychain, // named in the settings, but the keychain has no entry
    };
    struct Key
    {
        QString alias;
        QByteArray maskedKey; // SecretRedactor::mask(); empty when missing
        Source source = Source::Keychain;
    };

    explicit UpstreamKeysModel(QObject *parent = nullptr);

    void setKeys(const QList<Key> &keys);
    // The proxy's snapshot of the pool, taken at nowUs (monotonic) = nowMs (wall clock).
    void setStatus(const QList<KeyPool::KeySnapshot> &snapshots, qint64 nowUs, qint64 nowMs);
    // The proxy is not running: nothing is known about the keys' health.
    void clearStatus();
    // Keys the user turned off (rather than ones the upstream refused).
    void setTurnedOff(const QString &alias, bool isTurnedOff);
    bool hasStatus() const { return m_hasStatus; }

    int rowOf(const QString &alias) const;
    const Key &key(int row) const { return m_keys.at(row); }
    std::optional<KeyPool::KeySnapshot> snapshot(const QString &alias) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // "healthy", "cooling down until 14:03:10", "disabled: …", "turned off".
    QString stateText(const QString &alias) const;
    // "45/50": remaining of the limit; "—" when the upstream has not said.
    static QString limitText(const KeyPool::RateLimit &limit);
    // "Pool: 2 usable keys · requests 95/100 · tokens 79,000/80,000"
    static QString headroomText(const KeyPool::Headroom &headroom);

private:
    QString lastStatusText(const QString &alias) const;
    QString resetText(const KeyPool::RateLimits &limits) const;
    QString limitsToolTip(const KeyPool::RateLimits &limits) const;
    QString timeText(qint64 wallMs) const;
    void emitStatusChanged();

    QList<Key> m_keys;
    QHash<QString, KeyPool::KeySnapshot> m_snapshots;
    QSet<QString> m_turnedOff;
    qint64 m_nowUs = 0;
    qint64 m_nowMs = 0;
    bool m_hasStatus = false;
};

} // namespace tollgate
