#pragma once

#include "RequestRecord.h"
#include "UpstreamKeysModel.h"
#include "VirtualKeysModel.h"
#include "config/GatewayConfig.h"
#include "keys/KeyTester.h"
#include "keys/SpendTracker.h"

#include <QHash>
#include <QPointer>
#include <QTimer>
#include <QWidget>
#include <functional>
#include <optional>

class QLabel;
class QPushButton;
class QTableView;

namespace tollgate {

class Gateway;
class KeychainRunner;
class LedgerReader;

// The Keys page: the upstream keys (health, last status and the rate-limit headroom the
// upstream reported, per key and for the pool) with Add, Test, Turn off/on and Remove; and
// the virtual keys (tag, models, limits, budget, spend) with Create, Rotate, Edit and
// Remove. While visible it asks the running gateway for the keys' status every
// kRefreshIntervalMs; hidden, it asks nothing.
//
// Changes go to the system keychain (secrets), the settings file (aliases and virtual key
// settings) and the running gateway, in that order. Keychain calls may wait for an unlock
// prompt, so they run off the GUI thread (KeychainRunner) and the page stays usable: only
// the buttons that change keys wait. New virtual key secrets are shown once
// (NewSecretDialog); upstream keys are never shown again after entry, only masked.
//
// Owns its models, dialogs and key tester; the gateway and the reader belong to the caller.
class KeysPage : public QWidget
{
    Q_OBJECT

public:
    static constexpr int kRefreshIntervalMs = 2000;

    // configPath: the settings file that lists the keys; keychainService: the keychain's
    // service name (tests pass a throwaway one). The keys start as gateway->config() has
    // them; setConfig() replaces them.
    KeysPage(Gateway *gateway, LedgerReader *reader, const QString &configPath,
             const QString &keychainService = QStringLiteral("Tollgate"),
             QWidget *parent = nullptr);
    ~KeysPage() override;

    // The config the gateway runs (or will run) with; the page shows and changes its keys.
    void setConfig(const GatewayConfig &config);
    // Its keys as the page changed them (upstream keys with secrets, keychain aliases,
    // named virtual keys).
    const GatewayConfig &config() const { return m_config; }

    UpstreamKeysModel *upstreamModel() const { return m_upstreamModel; }
    VirtualKeysModel *virtualModel() const { return m_virtualModel; }
    QTableView *upstreamView() const { return m_upstreamView; }
    QTableView *virtualView() const { return m_virtualView; }
    QString poolText() const;
    QString statusText() const;
    QString testResultText() const;
    // Keychain work is under way (the buttons that change keys wait for it).
    bool isBusy() const;
    bool isRefreshing() const { return m_refreshTimer.isActive(); }

    bool selectUpstreamKey(const QString &alias);
    bool selectVirtualKey(const QString &alias);

public slots:
    // Asks the running gateway for the keys' status now.
    void refresh();
    // Stores an upstream key without a dialog (the dialog and the first-start import use
    // it): keychain, then the settings' "upstream_keys", then the running gateway.
    void storeUpstreamKey(const QString &alias, const QByteArray &secret);

signals:
    // config() changed: a key was added, removed or edited.
    void keysChanged();
    // The tables show a new status from the gateway.
    void statusRefreshed();
    // A Test finished (the result is also on the page).
    void keyTested(const tollgate::KeyTester::Result &result);
    // A change finished; the page says what happened (statusText()).
    void changeFinished(bool isOk);

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    struct LoggedSpend;
    struct VirtualChange
    {
        enum class Kind { None, Store, Remove };
        Kind kind = Kind::None;
        QString alias;
        QByteArray secret;
    };
    struct VirtualResult;
    struct Cost
    {
        QString alias;
        qint64 startedMs = 0;
        qint64 picoUsd = 0;
    };

    QWidget *upstreamGroup();
    QWidget *virtualGroup();
    QPushButton *addButton(const QString &text, const QString &objectName,
                           void (KeysPage::*slot)());

    // Upstream keys.
    void askToAddUpstreamKey();
    void testSelectedUpstreamKey();
    void toggleSelectedUpstreamKey();
    void askToRemoveSelectedUpstreamKey();
    void removeUpstreamKey(const QString &alias);
    bool saveUpstreamAliases(const QStringList &aliases);
    void onKeyTested(const KeyTester::Result &result);
    QString selectedUpstreamAlias() const;
    std::optional<QByteArray> upstreamSecret(const QString &alias) const;

    // Virtual keys.
    void askToCreateVirtualKey();
    void askToEditSelectedVirtualKey();
    void askToRotateSelectedVirtualKey();
    void askToRemoveSelectedVirtualKey();
    void changeVirtualKeys(const QList<VirtualKey> &keys, const VirtualChange &change,
                           std::function<void()> then);
    void applyVirtualResult(const VirtualResult &result, const std::function<void()> &then);
    void showNewSecret(const QString &alias, const QByteArray &secret);
    QString selectedVirtualAlias() const;

    // Status.
    void onKeyStatus(const QList<KeyPool::KeySnapshot> &upstream, const KeyPool::Headroom &headroom,
                     const QList<SpendTracker::Status> &budgets);
    void onGatewayStarted();
    void onGatewayStopped();
    void onRequestFinished(const RequestRecord &record);
    void loadLoggedSpend();
    void applyLoggedSpend(const LoggedSpend &spend);
    void addSpend(const QString &alias, qint64 startedMs, qint64 costPicoUsd);

    void rebuildUpstreamModel();
    void rebuildVirtualModel();
    void updateButtons();
    void showStatus(const QString &text, bool isError = false);
    void ask(const QString &title, const QString &text, const QString &confirm,
             std::function<void()> onYes);
    QString baseUrl() const;

    QPointer<Gateway> m_gateway;
    QPointer<LedgerReader> m_reader;
    QString m_configPath;
    GatewayConfig m_config;
    KeychainRunner *m_keychain = nullptr;
    KeyTester *m_tester = nullptr;
    UpstreamKeysModel *m_upstreamModel = nullptr;
    VirtualKeysModel *m_virtualModel = nullptr;
    QTimer m_refreshTimer;

    QTableView *m_upstreamView = nullptr;
    QLabel *m_poolLabel = nullptr;
    QLabel *m_testResult = nullptr;
    QPushButton *m_addUpstream = nullptr;
    QPushButton *m_testUpstream = nullptr;
    QPushButton *m_toggleUpstream = nullptr;
    QPushButton *m_removeUpstream = nullptr;
    QTableView *m_virtualView = nullptr;
    QLabel *m_tagBudgets = nullptr;
    QPushButton *m_createVirtual = nullptr;
    QPushButton *m_rotateVirtual = nullptr;
    QPushButton *m_editVirtual = nullptr;
    QPushButton *m_removeVirtual = nullptr;
    QLabel *m_status = nullptr;

    QHash<QString, int> m_testsRunning; // by alias
    // Spend of the keys without a budget: the request log's sums of the day and the month,
    // plus what finished since they were read.
    std::optional<QHash<QString, VirtualKeysModel::Spend>> m_loggedSpend;
    QList<Cost> m_spendWhileLoading;
    qint64 m_spendDayStartMs = 0;
    qint64 m_spendMonthStartMs = 0;
    qint64 m_spendCutoffMs = 0;
    bool m_isSpendLoading = false;
    bool m_isSpendUnreadable = false;
    quint64 m_spendGeneration = 0;
};

} // namespace tollgate
