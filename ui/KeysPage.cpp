#include "KeysPage.h"

#include "Gateway.h"
#include "KeychainRunner.h"
#include "LedgerReader.h"
#include "MonotonicClock.h"
#include "NewSecretDialog.h"
#include "UpstreamKeyDialog.h"
#include "VirtualKeyDialog.h"
#include "config/ConfigFile.h"
#include "keys/SecretRedactor.h"

#include <QDate>
#include <QDateTime>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace tollgate {

// The request log's sums for the keys without a budget (see loadLoggedSpend()).
struct KeysPage::LoggedSpend
{
    quint64 generation = 0;
    qint64 dayStartMs = 0;
    qint64 monthStartMs = 0;
    qint64 cutoffMs = 0;
    bool isRead = false;
    QHash<QString, VirtualKeysModel::Spend> spend;
};

// What a keychain job for the virtual keys found: the keys with every secret the keychain
// holds, or why it failed.
struct KeysPage::VirtualResult
{
    QString error;
    QList<VirtualKey> keys;
};

namespace {
qint64 dayStartMs(const QDate &today)
{
    return today.startOfDay().toMSecsSinceEpoch();
}

qint64 monthStartMs(const QDate &today)
{
    return QDate(today.year(), today.month(), 1).startOfDay().toMSecsSinceEpoch();
}

QTableView *createTable(QAbstractItemModel *model, const QString &objectName,
                        const QString &accessibleName, int stretchColumn)
{
    auto *view = new QTableView;
    view->setObjectName(objectName);
    view->setAccessibleName(accessibleName);
    view->setModel(model);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->verticalHeader()->hide();
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    view->horizontalHeader()->setSectionResizeMode(stretchColumn, QHeaderView::Stretch);
    return view;
}

// The alias of the view's selected row; empty when none is selected.
QString selectedAlias(const QTableView *view, int aliasRole)
{
    if (!view)
        return {};
    const QModelIndexList rows = view->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : rows.first().data(aliasRole).toString();
}

bool selectRow(QTableView *view, int row)
{
    if (row < 0)
        return false;
    view->selectionModel()->setCurrentIndex(view->model()->index(row, 0),
                                            QItemSelectionModel::ClearAndSelect
                                                | QItemSelectionModel::Rows);
    return true;
}

// The keys the gateway can use: a key whose secret the keychain did not give cannot
// authenticate anyone.
QList<VirtualKey> withSecrets(const QList<VirtualKey> &keys)
{
    QList<VirtualKey> usable;
    for (const VirtualKey &key : keys) {
        if (!key.secret.isEmpty())
            usable.append(key);
    }
    return usable;
}
} // namespace

KeysPage::KeysPage(Gateway *gateway, LedgerReader *reader, const QString &configPath,
                   const QString &keychainService, QWidget *parent)
    : QWidget(parent)
    , m_gateway(gateway)
    , m_reader(reader)
    , m_configPath(configPath)
    , m_keychain(new KeychainRunner(keychainService, this))
    , m_tester(new KeyTester(this))
    , m_upstreamModel(new UpstreamKeysModel(this))
    , m_virtualModel(new VirtualKeysModel(this))
{
    setAccessibleName(tr("Keys"));
    auto *layout = new QVBoxLayout(this);
    m_status = new QLabel;
    m_status->setObjectName(QStringLiteral("status"));
    m_status->setAccessibleName(tr("What happened"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->hide();
    layout->addWidget(m_status);

    auto *splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(upstreamGroup());
    splitter->addWidget(virtualGroup());
    splitter->setChildrenCollapsible(false);
    layout->addWidget(splitter, 1);

    m_refreshTimer.setInterval(kRefreshIntervalMs);
    connect(&m_refreshTimer, &QTimer::timeout, this, &KeysPage::refresh);
    if (m_reader) {
        // The settings moved the request log: each key's spend is read from the new one.
        connect(m_reader, &LedgerReader::storeChanged, this, [this] {
            ++m_spendGeneration; // a read of the old log still under way is dropped
            m_isSpendLoading = false;
            m_isSpendUnreadable = false;
            m_loggedSpend.reset();
            m_virtualModel->setLoggedSpend(m_loggedSpend);
            if (isVisible())
                loadLoggedSpend();
        });
    }
    connect(m_keychain, &KeychainRunner::busyChanged, this, [this](bool isBusy) {
        if (isBusy)
            showStatus(tr("Waiting for the system keychain… (it may ask to be unlocked)"));
        updateButtons();
    });
    connect(m_tester, &KeyTester::finished, this, &KeysPage::onKeyTested);
    if (m_gateway) {
        // Queued from the gateway's threads; a hidden page asked for none of these.
        connect(m_gateway, &Gateway::keyStatus, this, &KeysPage::onKeyStatus);
        connect(m_gateway, &Gateway::started, this, &KeysPage::onGatewayStarted);
        connect(m_gateway, &Gateway::stopped, this, &KeysPage::onGatewayStopped);
        connect(m_gateway, &Gateway::requestFinished, this, &KeysPage::onRequestFinished);
        setConfig(m_gateway->config());
    } else {
        setConfig(GatewayConfig());
    }
    onGatewayStopped();
    if (m_gateway && m_gateway->isRunning())
        onGatewayStarted();
}

KeysPage::~KeysPage() = default;

QWidget *KeysPage::upstreamGroup()
{
    auto *group = new QGroupBox(tr("Upstream keys"));
    auto *layout = new QVBoxLayout(group);
    auto *intro = new QLabel(tr("The Anthropic API keys Tollgate sends requests with, pooled "
                                "with failover. They live in the system keychain; the settings "
                                "file only names them."));
    intro->setWordWrap(true);
    layout->addWidget(intro);
    m_upstreamView = createTable(m_upstreamModel, QStringLiteral("upstreamTable"),
                                 tr("Upstream keys"), UpstreamKeysModel::StateColumn);
    layout->addWidget(m_upstreamView, 1);
    m_poolLabel = new QLabel;
    m_poolLabel->setObjectName(QStringLiteral("pool"));
    m_poolLabel->setAccessibleName(tr("Headroom of the pool"));
    m_poolLabel->setWordWrap(true);
    layout->addWidget(m_poolLabel);

    auto *buttons = new QHBoxLayout;
    m_addUpstream =
        addButton(tr("&Add…"), QStringLiteral("addUpstream"), &KeysPage::askToAddUpstreamKey);
    m_testUpstream =
        addButton(tr("&Test"), QStringLiteral("testUpstream"), &KeysPage::testSelectedUpstreamKey);
    m_testUpstream->setToolTip(tr("Asks the upstream to count the tokens of a tiny message "
                                  "with this key: free, and it shows whether the key works"));
    m_toggleUpstream = addButton(tr("Turn &off"), QStringLiteral("toggleUpstream"),
                                 &KeysPage::toggleSelectedUpstreamKey);
    m_removeUpstream = addButton(tr("&Remove…"), QStringLiteral("removeUpstream"),
                                 &KeysPage::askToRemoveSelectedUpstreamKey);
    for (QPushButton *button : {m_addUpstream, m_testUpstream, m_toggleUpstream, m_removeUpstream})
        buttons->addWidget(button);
    buttons->addStretch();
    layout->addLayout(buttons);
    m_testResult = new QLabel;
    m_testResult->setObjectName(QStringLiteral("testResult"));
    m_testResult->setAccessibleName(tr("Test result"));
    m_testResult->setWordWrap(true);
    m_testResult->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_testResult->hide();
    layout->addWidget(m_testResult);
    connect(m_upstreamView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &KeysPage::updateButtons);
    return group;
}

QWidget *KeysPage::virtualGroup()
{
    auto *group = new QGroupBox(tr("Virtual keys"));
    auto *layout = new QVBoxLayout(group);
    auto *intro = new QLabel(tr("The keys Tollgate hands to its clients, each with its own "
                                "billing tag, models, limits and budget. Their secrets live in "
                                "the system keychain and are shown once, when made."));
    intro->setWordWrap(true);
    layout->addWidget(intro);
    m_virtualView = createTable(m_virtualModel, QStringLiteral("virtualTable"), tr("Virtual keys"),
                                VirtualKeysModel::ModelsColumn);
    layout->addWidget(m_virtualView, 1);
    m_tagBudgets = new QLabel;
    m_tagBudgets->setObjectName(QStringLiteral("tagBudgets"));
    m_tagBudgets->setAccessibleName(tr("Budgets of billing tags"));
    m_tagBudgets->setWordWrap(true);
    m_tagBudgets->hide();
    layout->addWidget(m_tagBudgets);

    auto *buttons = new QHBoxLayout;
    m_createVirtual = addButton(tr("&Create…"), QStringLiteral("createVirtual"),
                                &KeysPage::askToCreateVirtualKey);
    m_rotateVirtual = addButton(tr("R&otate…"), QStringLiteral("rotateVirtual"),
                                &KeysPage::askToRotateSelectedVirtualKey);
    m_rotateVirtual->setToolTip(tr("Gives the key a new secret; the old one stops working"));
    m_editVirtual = addButton(tr("&Edit…"), QStringLiteral("editVirtual"),
                              &KeysPage::askToEditSelectedVirtualKey);
    m_removeVirtual = addButton(tr("Re&move…"), QStringLiteral("removeVirtual"),
                                &KeysPage::askToRemoveSelectedVirtualKey);
    for (QPushButton *button : {m_createVirtual, m_rotateVirtual, m_editVirtual, m_removeVirtual})
        buttons->addWidget(button);
    buttons->addStretch();
    layout->addLayout(buttons);
    connect(m_virtualView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &KeysPage::updateButtons);
    connect(m_virtualView, &QTableView::doubleClicked, this, [this] {
        if (m_editVirtual->isEnabled())
            askToEditSelectedVirtualKey();
    });
    return group;
}

QPushButton *KeysPage::addButton(const QString &text, const QString &objectName,
                                 void (KeysPage::*slot)())
{
    auto *button = new QPushButton(text);
    button->setObjectName(objectName);
    connect(button, &QPushButton::clicked, this, slot);
    return button;
}

void KeysPage::setConfig(const GatewayConfig &config)
{
    m_config = config;
    rebuildUpstreamModel();
    rebuildVirtualModel();
}

QString KeysPage::poolText() const
{
    return m_poolLabel->text();
}

QString KeysPage::statusText() const
{
    return m_status->text();
}

QString KeysPage::testResultText() const
{
    return m_testResult->text();
}

bool KeysPage::isBusy() const
{
    return m_keychain->isBusy();
}

bool KeysPage::selectUpstreamKey(const QString &alias)
{
    return selectRow(m_upstreamView, m_upstreamModel->rowOf(alias));
}

bool KeysPage::selectVirtualKey(const QString &alias)
{
    return selectRow(m_virtualView, m_virtualModel->rowOf(alias));
}

void KeysPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    m_isSpendUnreadable = false;
    refresh();
    m_refreshTimer.start();
}

void KeysPage::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_refreshTimer.stop();
}

void KeysPage::refresh()
{
    if (m_gateway && m_gateway->isRunning())
        m_gateway->requestKeyStatus();
    const QDate today = QDate::currentDate();
    // First shown, or a new day began; a log that could not be read is tried again when the
    // page is shown again.
    if (!m_isSpendLoading
        && ((!m_loggedSpend && !m_isSpendUnreadable) || m_spendDayStartMs != dayStartMs(today)))
        loadLoggedSpend();
}

// ---- Status -------------------------------------------------------------------------------

void KeysPage::onKeyStatus(const QList<KeyPool::KeySnapshot> &upstream,
                           const KeyPool::Headroom &headroom,
                           const QList<SpendTracker::Status> &budgets)
{
    m_upstreamModel->setStatus(upstream, monotonicUs(), QDateTime::currentMSecsSinceEpoch());
    m_poolLabel->setText(UpstreamKeysModel::headroomText(headroom));
    QHash<QString, VirtualKeysModel::Spend> keySpend;
    QStringList tagLines;
    for (const SpendTracker::Status &status : budgets) {
        if (status.kind == SpendTracker::Kind::VirtualKey)
            keySpend.insert(status.name, {status.dayPicoUsd, status.monthPicoUsd});
        else if (!status.message.isEmpty())
            tagLines.append(status.message);
    }
    m_virtualModel->setBudgetSpend(keySpend);
    m_tagBudgets->setText(tagLines.join(QLatin1Char('\n')));
    m_tagBudgets->setVisible(!tagLines.isEmpty());
    updateButtons();
    emit statusRefreshed();
}

void KeysPage::onGatewayStarted()
{
    m_poolLabel->setText(tr("Pool: waiting for the proxy's first report…"));
    if (isVisible())
        refresh();
    updateButtons();
}

void KeysPage::onGatewayStopped()
{
    m_upstreamModel->clearStatus();
    m_virtualModel->setBudgetSpend({});
    m_poolLabel->setText(tr("The proxy is off: start it to see the keys' health and rate "
                            "limits."));
    m_tagBudgets->hide();
    updateButtons();
}

void KeysPage::onRequestFinished(const RequestRecord &record)
{
    if (record.virtualKeyAlias.isEmpty() || !record.costPicoUsd || *record.costPicoUsd <= 0)
        return;
    const qint64 startedMs = record.startedAt.toMSecsSinceEpoch();
    if (m_isSpendLoading) {
        m_spendWhileLoading.append({record.virtualKeyAlias, startedMs, *record.costPicoUsd});
        return;
    }
    if (m_loggedSpend && startedMs >= m_spendCutoffMs) {
        addSpend(record.virtualKeyAlias, startedMs, *record.costPicoUsd);
        m_virtualModel->setLoggedSpend(m_loggedSpend);
    }
}

void KeysPage::loadLoggedSpend()
{
    const QDate today = QDate::currentDate();
    LoggedSpend request;
    request.generation = ++m_spendGeneration;
    request.dayStartMs = dayStartMs(today);
    request.monthStartMs = monthStartMs(today);
    request.cutoffMs = QDateTime::currentMSecsSinceEpoch() + 1;
    if (!m_reader || !m_reader->hasStore()) {
        // No log: what finished since Tollgate started is all there is.
        request.isRead = true;
        applyLoggedSpend(request);
        return;
    }
    m_isSpendLoading = true;
    m_spendWhileLoading.clear();
    m_reader->run<LoggedSpend>(
        [request](LedgerStore *store) {
            LoggedSpend result = request;
            if (!store)
                return result;
            QString error;
            const auto month = store->totals(request.monthStartMs, request.cutoffMs,
                                             LedgerStore::Grouping::Key, 0, -1, &error);
            const auto day = store->totals(request.dayStartMs, request.cutoffMs,
                                           LedgerStore::Grouping::Key, 0, -1, &error);
            result.isRead = error.isEmpty();
            for (const LedgerStore::Totals &group : month)
                result.spend[group.key].monthPicoUsd = group.costPicoUsd;
            for (const LedgerStore::Totals &group : day)
                result.spend[group.key].dayPicoUsd = group.costPicoUsd;
            return result;
        },
        this, [this](const LoggedSpend &result) { applyLoggedSpend(result); });
}

void KeysPage::applyLoggedSpend(const LoggedSpend &spend)
{
    if (spend.generation != m_spendGeneration)
        return;
    m_isSpendLoading = false;
    m_spendDayStartMs = spend.dayStartMs;
    m_spendMonthStartMs = spend.monthStartMs;
    m_spendCutoffMs = spend.cutoffMs;
    m_isSpendUnreadable = !spend.isRead;
    if (!spend.isRead) {
        m_loggedSpend.reset(); // unknown, rather than a misleading $0.00
    } else {
        m_loggedSpend = spend.spend;
        for (const Cost &cost : std::as_const(m_spendWhileLoading)) {
            if (cost.startedMs >= m_spendCutoffMs)
                addSpend(cost.alias, cost.startedMs, cost.picoUsd);
        }
    }
    m_spendWhileLoading.clear();
    m_virtualModel->setLoggedSpend(m_loggedSpend);
}

void KeysPage::addSpend(const QString &alias, qint64 startedMs, qint64 costPicoUsd)
{
    VirtualKeysModel::Spend &spend = (*m_loggedSpend)[alias];
    if (startedMs >= m_spendDayStartMs)
        spend.dayPicoUsd += costPicoUsd;
    if (startedMs >= m_spendMonthStartMs)
        spend.monthPicoUsd += costPicoUsd;
}

// ---- Upstream keys ------------------------------------------------------------------------

void KeysPage::rebuildUpstreamModel()
{
    const QString selected = selectedUpstreamAlias();
    QList<UpstreamKeysModel::Key> keys;
    const QList<UpstreamKey> all = m_config.allUpstreamKeys();
    const auto find = [&all](const QString &alias) -> const UpstreamKey * {
        for (const UpstreamKey &key : all) {
            if (key.alias == alias)
                return &key;
        }
        return nullptr;
    };
    for (const QString &alias : std::as_const(m_config.keychainKeys)) {
        const UpstreamKey *key = find(alias);
        if (key && !key->secret.isEmpty())
            keys.append(
                {alias, SecretRedactor::mask(key->secret), UpstreamKeysModel::Source::Keychain});
        else
            keys.append({alias, {}, UpstreamKeysModel::Source::MissingFromKeychain});
    }
    for (const UpstreamKey &key : all) {
        if (!m_config.keychainKeys.contains(key.alias))
            keys.append({key.alias, SecretRedactor::mask(key.secret),
                         UpstreamKeysModel::Source::Environment});
    }
    m_upstreamModel->setKeys(keys);
    if (!selected.isEmpty())
        selectUpstreamKey(selected);
    updateButtons();
}

QString KeysPage::selectedUpstreamAlias() const
{
    return selectedAlias(m_upstreamView, UpstreamKeysModel::AliasRole);
}

std::optional<QByteArray> KeysPage::upstreamSecret(const QString &alias) const
{
    for (const UpstreamKey &key : m_config.allUpstreamKeys()) {
        if (key.alias == alias && !key.secret.isEmpty())
            return key.secret;
    }
    return std::nullopt;
}

void KeysPage::askToAddUpstreamKey()
{
    QStringList environment;
    for (const UpstreamKey &key : m_config.allUpstreamKeys()) {
        if (!m_config.keychainKeys.contains(key.alias))
            environment.append(key.alias);
    }
    auto *dialog = new UpstreamKeyDialog(environment, m_config.keychainKeys, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &UpstreamKeyDialog::keyEntered, this, &KeysPage::storeUpstreamKey);
    dialog->open();
}

void KeysPage::storeUpstreamKey(const QString &alias, const QByteArray &secret)
{
    QString problem = KeyStore::aliasProblem(alias);
    if (problem.isEmpty() && upstreamSecret(alias) && !m_config.keychainKeys.contains(alias))
        problem =
            tr("A key from the environment or a key file is already named \"%1\".").arg(alias);
    if (!problem.isEmpty()) {
        showStatus(problem, true);
        emit changeFinished(false);
        return;
    }
    m_keychain->run<QString>(
        [alias, secret](KeyStore &store) {
            QString error;
            store.store(KeyStore::Kind::Upstream, alias, secret, &error);
            return error;
        },
        this,
        [this, alias, secret](const QString &error) {
            if (!error.isEmpty()) {
                showStatus(tr("The key was not stored: %1").arg(error), true);
                emit changeFinished(false);
                return;
            }
            QStringList aliases = m_config.keychainKeys;
            if (!aliases.contains(alias))
                aliases.append(alias);
            if (!saveUpstreamAliases(aliases))
                return;
            m_config.keychainKeys = aliases;
            m_config.upstreamKeys.removeIf(
                [&alias](const UpstreamKey &key) { return key.alias == alias; });
            m_config.upstreamKeys.append({alias, secret});
            if (m_gateway)
                m_gateway->addUpstreamKey(alias, secret);
            m_upstreamModel->setTurnedOff(alias, false);
            rebuildUpstreamModel();
            selectUpstreamKey(alias);
            showStatus(tr("Stored the upstream key \"%1\" (%2) in the system keychain; the "
                          "proxy uses it from now on.")
                           .arg(alias, QString::fromUtf8(SecretRedactor::mask(secret))));
            emit keysChanged();
            emit changeFinished(true);
            refresh();
        });
}

bool KeysPage::saveUpstreamAliases(const QStringList &aliases)
{
    QString error;
    const QJsonObject changes = {
        {QStringLiteral("upstream_keys"),
         aliases.isEmpty() ? QJsonValue() : QJsonValue(QJsonArray::fromStringList(aliases))}};
    if (ConfigFile::save(m_configPath, changes, &error))
        return true;
    showStatus(tr("The settings file was not changed: %1").arg(error), true);
    emit changeFinished(false);
    return false;
}

void KeysPage::testSelectedUpstreamKey()
{
    const QString alias = selectedUpstreamAlias();
    const std::optional<QByteArray> secret = upstreamSecret(alias);
    if (!secret)
        return;
    m_tester->setUpstream(m_config.upstream, m_config.upstreamCaFile);
    m_tester->test(alias, *secret);
    ++m_testsRunning[alias];
    m_testResult->setText(tr("Testing \"%1\" with %2…").arg(alias, m_config.upstream.host()));
    m_testResult->show();
    updateButtons();
}

void KeysPage::onKeyTested(const KeyTester::Result &result)
{
    if (--m_testsRunning[result.alias] <= 0)
        m_testsRunning.remove(result.alias);
    QString text = result.text();
    if (result.verdict == KeyTester::Result::Verdict::Rejected)
        text += tr(". Replace it: Add a key under the same alias.");
    m_testResult->setText(text);
    m_testResult->show();
    updateButtons();
    emit keyTested(result);
}

void KeysPage::toggleSelectedUpstreamKey()
{
    const QString alias = selectedUpstreamAlias();
    if (alias.isEmpty() || !m_gateway || !m_gateway->isRunning())
        return;
    const int row = m_upstreamModel->rowOf(alias);
    const bool isEnabled =
        m_upstreamModel->index(row, 0).data(UpstreamKeysModel::IsEnabledRole).toBool();
    // Turning a key on also clears a disable after the upstream refused it (401/403).
    m_gateway->setUpstreamKeyEnabled(alias, !isEnabled);
    m_upstreamModel->setTurnedOff(alias, isEnabled);
    showStatus(isEnabled ? tr("Turned \"%1\" off: requests go to the other keys until it is "
                              "turned on again or the proxy restarts.")
                               .arg(alias)
                         : tr("Turned \"%1\" on.").arg(alias));
    refresh();
}

void KeysPage::askToRemoveSelectedUpstreamKey()
{
    const QString alias = selectedUpstreamAlias();
    if (alias.isEmpty())
        return;
    ask(tr("Remove the upstream key?"),
        tr("Remove \"%1\" from the system keychain and the settings? Requests stop using it "
           "at once. The key itself stays valid at Anthropic.")
            .arg(alias),
        tr("Remove"), [this, alias] { removeUpstreamKey(alias); });
}

void KeysPage::removeUpstreamKey(const QString &alias)
{
    m_keychain->run<QString>(
        [alias](KeyStore &store) {
            QString error;
            store.remove(KeyStore::Kind::Upstream, alias, &error);
            return error;
        },
        this,
        [this, alias](const QString &error) {
            if (!error.isEmpty()) {
                showStatus(tr("The key was not removed: %1").arg(error), true);
                emit changeFinished(false);
                return;
            }
            QStringList aliases = m_config.keychainKeys;
            aliases.removeAll(alias);
            if (!saveUpstreamAliases(aliases))
                return;
            m_config.keychainKeys = aliases;
            m_config.upstreamKeys.removeIf(
                [&alias](const UpstreamKey &key) { return key.alias == alias; });
            if (m_gateway)
                m_gateway->removeUpstreamKey(alias);
            m_upstreamModel->setTurnedOff(alias, false);
            rebuildUpstreamModel();
            showStatus(tr("Removed the upstream key \"%1\".").arg(alias));
            emit keysChanged();
            emit changeFinished(true);
            refresh();
        });
}

// ---- Virtual keys -------------------------------------------------------------------------

void KeysPage::rebuildVirtualModel()
{
    const QString selected = selectedVirtualAlias();
    QList<VirtualKey> keys;
    if (!m_config.virtualKeys.isEmpty())
        keys.append(m_config.allVirtualKeys().constFirst()); // the built-in one, once
    keys += m_config.namedVirtualKeys;
    m_virtualModel->setKeys(keys);
    if (!selected.isEmpty())
        selectVirtualKey(selected);
    updateButtons();
}

QString KeysPage::selectedVirtualAlias() const
{
    // The built-in key is the key file's: nothing on this page changes it.
    const QString alias = selectedAlias(m_virtualView, VirtualKeysModel::AliasRole);
    return alias == VirtualKey::kDefaultAlias ? QString() : alias;
}

void KeysPage::askToCreateVirtualKey()
{
    QStringList taken;
    for (const VirtualKey &key : std::as_const(m_config.namedVirtualKeys))
        taken.append(key.alias);
    auto *dialog = new VirtualKeyDialog(VirtualKeyDialog::Mode::Create, VirtualKey(), taken, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &VirtualKeyDialog::keyEntered, this, [this](VirtualKey key) {
        key.secret = VirtualKey::generateSecret();
        QList<VirtualKey> keys = m_config.namedVirtualKeys;
        keys.append(key);
        VirtualChange change {VirtualChange::Kind::Store, key.alias, key.secret};
        changeVirtualKeys(keys, change, [this, key] {
            showStatus(tr("Created the virtual key \"%1\".").arg(key.alias));
            showNewSecret(key.alias, key.secret);
        });
    });
    dialog->open();
}

void KeysPage::askToEditSelectedVirtualKey()
{
    const QString alias = selectedVirtualAlias();
    const int row = m_virtualModel->rowOf(alias);
    if (alias.isEmpty() || row < 0)
        return;
    auto *dialog =
        new VirtualKeyDialog(VirtualKeyDialog::Mode::Edit, m_virtualModel->key(row), {}, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &VirtualKeyDialog::keyEntered, this, [this, alias](const VirtualKey &edited) {
        QList<VirtualKey> keys = m_config.namedVirtualKeys;
        for (VirtualKey &key : keys) {
            if (key.alias != alias)
                continue;
            const QByteArray secret = key.secret;
            key = edited;
            key.alias = alias;
            key.secret = secret;
        }
        changeVirtualKeys(keys, {}, [this, alias] {
            showStatus(tr("Saved the virtual key \"%1\"; the proxy uses the new settings now.")
                           .arg(alias));
        });
    });
    dialog->open();
}

void KeysPage::askToRotateSelectedVirtualKey()
{
    const QString alias = selectedVirtualAlias();
    if (alias.isEmpty())
        return;
    ask(tr("Rotate the virtual key?"),
        tr("Give \"%1\" a new secret? The current one stops working at once: every client "
           "using it needs the new one.")
            .arg(alias),
        tr("Rotate"), [this, alias] {
            const QByteArray secret = VirtualKey::generateSecret();
            QList<VirtualKey> keys = m_config.namedVirtualKeys;
            for (VirtualKey &key : keys) {
                if (key.alias == alias)
                    key.secret = secret;
            }
            changeVirtualKeys(keys, {VirtualChange::Kind::Store, alias, secret},
                              [this, alias, secret] {
                                  showStatus(tr("Rotated the virtual key \"%1\": the old secret "
                                                "no longer works.")
                                                 .arg(alias));
                                  showNewSecret(alias, secret);
                              });
        });
}

void KeysPage::askToRemoveSelectedVirtualKey()
{
    const QString alias = selectedVirtualAlias();
    if (alias.isEmpty())
        return;
    ask(tr("Remove the virtual key?"),
        tr("Remove \"%1\"? Clients using it are refused from now on. Its requests stay in the "
           "request log.")
            .arg(alias),
        tr("Remove"), [this, alias] {
            QList<VirtualKey> keys = m_config.namedVirtualKeys;
            keys.removeIf([&alias](const VirtualKey &key) { return key.alias == alias; });
            changeVirtualKeys(keys, {VirtualChange::Kind::Remove, alias, {}}, [this, alias] {
                showStatus(tr("Removed the virtual key \"%1\".").arg(alias));
            });
        });
}

void KeysPage::changeVirtualKeys(const QList<VirtualKey> &keys, const VirtualChange &change,
                                 std::function<void()> then)
{
    m_keychain->run<VirtualResult>(
        [keys, change](KeyStore &store) {
            VirtualResult result;
            result.keys = keys;
            QString error;
            if ((change.kind == VirtualChange::Kind::Store
                 && !store.store(KeyStore::Kind::Virtual, change.alias, change.secret, &error))
                || (change.kind == VirtualChange::Kind::Remove
                    && !store.remove(KeyStore::Kind::Virtual, change.alias, &error))) {
                result.error = error;
                return result;
            }
            // The gateway needs every key's secret; the app may not have read them all.
            for (VirtualKey &key : result.keys) {
                if (!key.secret.isEmpty())
                    continue;
                const std::optional<QByteArray> secret =
                    store.load(KeyStore::Kind::Virtual, key.alias, &error);
                if (!error.isEmpty()) {
                    result.error = error;
                    return result;
                }
                key.secret = secret.value_or(QByteArray());
            }
            return result;
        },
        this, [this, then](const VirtualResult &result) { applyVirtualResult(result, then); });
}

void KeysPage::applyVirtualResult(const VirtualResult &result, const std::function<void()> &then)
{
    if (!result.error.isEmpty()) {
        showStatus(tr("The virtual keys were not changed: %1").arg(result.error), true);
        emit changeFinished(false);
        return;
    }
    QString error;
    const QJsonObject changes = {{QStringLiteral("virtual_keys"),
                                  result.keys.isEmpty()
                                      ? QJsonValue()
                                      : QJsonValue(ConfigFile::virtualKeysJson(result.keys))}};
    if (!ConfigFile::save(m_configPath, changes, &error)) {
        showStatus(tr("The settings file was not changed: %1").arg(error), true);
        emit changeFinished(false);
        return;
    }
    m_config.namedVirtualKeys = result.keys;
    if (m_gateway)
        m_gateway->setVirtualKeys(withSecrets(result.keys));
    rebuildVirtualModel();
    then();
    emit keysChanged();
    emit changeFinished(true);
    refresh();
}

void KeysPage::showNewSecret(const QString &alias, const QByteArray &secret)
{
    selectVirtualKey(alias);
    auto *dialog = new NewSecretDialog(alias, secret, baseUrl(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

QString KeysPage::baseUrl() const
{
    const quint16 port = m_gateway && m_gateway->isRunning() ? m_gateway->port() : m_config.port;
    return m_config.clientBaseUrl(port);
}

// ---- Shared -------------------------------------------------------------------------------

void KeysPage::updateButtons()
{
    if (!m_removeVirtual)
        return; // still building
    const bool isBusy = m_keychain->isBusy();
    const bool isRunning = m_gateway && m_gateway->isRunning();

    const QString upstream = selectedUpstreamAlias();
    const int upstreamRow = m_upstreamModel->rowOf(upstream);
    const bool hasUpstream = upstreamRow >= 0;
    const UpstreamKeysModel::Source source = hasUpstream ? m_upstreamModel->key(upstreamRow).source
                                                         : UpstreamKeysModel::Source::Keychain;
    const bool isEnabled = hasUpstream
        && m_upstreamModel->index(upstreamRow, 0).data(UpstreamKeysModel::IsEnabledRole).toBool();
    m_addUpstream->setEnabled(!isBusy);
    m_testUpstream->setEnabled(hasUpstream && upstreamSecret(upstream).has_value()
                               && !m_testsRunning.contains(upstream));
    m_toggleUpstream->setText(hasUpstream && !isEnabled ? tr("Turn &on") : tr("Turn &off"));
    m_toggleUpstream->setEnabled(hasUpstream && isRunning
                                 && source != UpstreamKeysModel::Source::MissingFromKeychain);
    m_toggleUpstream->setToolTip(isRunning ? tr("Requests skip a key that is off, until it is "
                                                "turned on again or the proxy restarts")
                                           : tr("Start the proxy to turn keys off and on"));
    m_removeUpstream->setEnabled(hasUpstream && !isBusy
                                 && source != UpstreamKeysModel::Source::Environment);
    m_removeUpstream->setToolTip(source == UpstreamKeysModel::Source::Environment
                                     ? tr("This key comes from the environment or a key file: "
                                          "remove it there")
                                     : QString());

    const bool hasVirtual = !selectedVirtualAlias().isEmpty();
    m_createVirtual->setEnabled(!isBusy);
    m_rotateVirtual->setEnabled(hasVirtual && !isBusy);
    m_editVirtual->setEnabled(hasVirtual && !isBusy);
    m_removeVirtual->setEnabled(hasVirtual && !isBusy);
}

void KeysPage::showStatus(const QString &text, bool isError)
{
    m_status->setText(text);
    m_status->setAccessibleDescription(isError ? tr("Error") : QString());
    m_status->setVisible(!text.isEmpty());
}

void KeysPage::ask(const QString &title, const QString &text, const QString &confirm,
                   std::function<void()> onYes)
{
    auto *box = new QMessageBox(QMessageBox::Question, title, text, QMessageBox::Cancel, this);
    QPushButton *yes = box->addButton(confirm, QMessageBox::AcceptRole);
    box->setDefaultButton(QMessageBox::Cancel);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::buttonClicked, this,
            [yes, onYes = std::move(onYes)](QAbstractButton *clicked) {
                if (clicked == yes)
                    onYes();
            });
    box->open();
}

} // namespace tollgate
