#include "DesktopApp.h"

#include "DesktopSettings.h"
#include "MainWindow.h"
#include "Notifier.h"
#include "TrayController.h"
#include "config/ClientSetup.h"

#include <QApplication>
#include <QDateTime>

namespace tollgate {

namespace {
struct TodayTotals
{
    qint64 costPicoUsd = 0;
    qint64 requests = 0;
    bool isRead = false;
};

qint64 startOfDayMs(const QDateTime &time)
{
    return time.date().startOfDay().toMSecsSinceEpoch();
}

// The upstream itself refused the client's own credential (pass-through; a pooled key the
// upstream refuses arrives as Gateway::upstreamKeyDisabled). Tollgate refusing the client's
// key answers before any upstream byte, so ttfbUs stays -1.
bool isUpstreamKeyRejected(const RequestRecord &record)
{
    return record.status == 401 && record.ttfbUs > 0 && record.upstreamKeyAlias.isEmpty()
        && record.errorType == QLatin1String("authentication_error");
}
} // namespace

DesktopApp::DesktopApp(const GatewayConfig &config, DesktopSettings *settings, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_settings(settings ? settings
                          : new DesktopSettings(DesktopSettings::defaultPath(), Autostart(), this))
    , m_reader(config.store)
{
    m_notifier = new Notifier(this);
    m_tray = new TrayController(this);
    m_window = std::make_unique<MainWindow>(m_settings.data());

    // Gateway signals arrive queued from its threads; handling them here costs the proxy
    // nothing.
    connect(&m_gateway, &Gateway::started, this, &DesktopApp::onStarted);
    connect(&m_gateway, &Gateway::startFailed, this, &DesktopApp::onStartFailed);
    connect(&m_gateway, &Gateway::stopped, this, &DesktopApp::onStopped);
    connect(&m_gateway, &Gateway::reconfigured, this, [this](quint16 port) {
        TrayState state = m_trayState;
        state.setPort(port);
        setTrayState(state);
    });
    connect(&m_gateway, &Gateway::reconfigureFailed, this, [this](const QString &error) {
        m_notifier->notify(Notifier::Kind::Error, tr("The new settings are not in use"),
                           tr("%1. The proxy runs on with the settings it had.").arg(error));
    });
    connect(&m_gateway, &Gateway::requestFinished, this, &DesktopApp::onRequestFinished);
    connect(&m_gateway, &Gateway::upstreamKeyDisabled, this,
            [this](const QString &alias, const QString &reason) {
                const QString problem = tr("The upstream rejected the API key \"%1\"").arg(alias);
                TrayState state = m_trayState;
                state.setUpstreamProblem(problem);
                setTrayState(state);
                m_notifier->notify(Notifier::Kind::Error, problem,
                                   tr("%1. Requests go to the other keys; this one stays unused "
                                      "until it is replaced.")
                                       .arg(reason));
            });
    connect(&m_gateway, &Gateway::budgetChanged, this, &DesktopApp::onBudgetChanged);
    connect(&m_gateway, &Gateway::storeFailed, this, [this](const QString &error) {
        m_window->setRequestLogStatus(tr("Request log: cannot write: %1 (retrying)").arg(error));
        // A tray app's window is mostly closed: the tray tells, once per failure.
        TrayState state = m_trayState;
        state.setStoreProblem(tr("The request log cannot be written; requests are kept and "
                                 "retried"));
        setTrayState(state);
        m_notifier->notify(Notifier::Kind::Warning, tr("The request log cannot be written"),
                           tr("%1. Requests are still served, and their rows are kept and "
                              "written once it works again.")
                               .arg(error));
    });
    connect(&m_gateway, &Gateway::storeRecovered, this, [this] {
        showRequestLogStatus();
        TrayState state = m_trayState;
        state.setStoreProblem({});
        setTrayState(state);
    });
    connect(&m_reader, &LedgerReader::storeUnavailable, this, [this](const QString &error) {
        m_window->setRequestLogStatus(tr("Request log: cannot read: %1").arg(error));
    });

    connect(m_tray, &TrayController::toggleProxyRequested, this, &DesktopApp::toggleProxy);
    connect(m_tray, &TrayController::openWindowRequested, this, &DesktopApp::showWindow);
    connect(m_tray, &TrayController::quitRequested, this, &DesktopApp::quit);
    connect(m_tray, &TrayController::configureClaudeCodeRequested, this,
            &DesktopApp::configureClaudeCodeRequested);
    connect(m_tray, &TrayController::availabilityChanged, this,
            &DesktopApp::onTrayAvailabilityChanged);
    connect(m_tray, &TrayController::setupCommandsCopied, this,
            [this] { m_window->showNotice(tr("The setup commands are on the clipboard.")); });
    connect(m_window.get(), &MainWindow::quitRequested, this, &DesktopApp::quit);

    showRequestLogStatus();
    m_trayState.setPort(m_config.port);
    setTrayState(m_trayState);

    m_midnightTimer.setSingleShot(true);
    connect(&m_midnightTimer, &QTimer::timeout, this, &DesktopApp::rollOverDay);
    m_quitTimer.setSingleShot(true);
    m_quitTimer.setInterval(10'000); // a proxy that cannot stop must not keep the app alive
    connect(&m_quitTimer, &QTimer::timeout, qApp, &QCoreApplication::quit);
}

DesktopApp::~DesktopApp()
{
    // The window first: it saves its geometry through the settings, which may be our child.
    m_window.reset();
}

void DesktopApp::start()
{
    // Asked before the proxy starts, so the answer holds none of the requests that will
    // be counted live.
    queryToday();
    const bool hasTray = m_tray->isAvailable();
    onTrayAvailabilityChanged(hasTray);
    if (!hasTray || !m_settings->startMinimised())
        showWindow();
    // An existing login entry is rewritten so that it starts this program where it is now.
    if (m_settings->startAtLogin())
        m_settings->setStartAtLogin(true);
    if (m_settings->startProxyAtLaunch())
        startProxy();
}

void DesktopApp::addPage(const QString &id, const QString &title, QWidget *page, const QIcon &icon)
{
    m_window->addPage(id, title, page, icon);
}

void DesktopApp::addPlaceholderPage(const QString &id, const QString &title, const QString &text,
                                    const QIcon &icon)
{
    m_window->addPlaceholderPage(id, title, text, icon);
}

bool DesktopApp::showPage(const QString &id)
{
    return m_window->showPage(id);
}

void DesktopApp::startProxy()
{
    const TrayState::Proxy proxy = m_trayState.proxy();
    if (proxy != TrayState::Proxy::Off && proxy != TrayState::Proxy::Failed)
        return;
    TrayState state = m_trayState;
    state.setProxy(TrayState::Proxy::Starting);
    setTrayState(state);
    m_gateway.start(m_config);
}

void DesktopApp::stopProxy()
{
    if (m_trayState.proxy() != TrayState::Proxy::On)
        return;
    TrayState state = m_trayState;
    state.setProxy(TrayState::Proxy::Stopping);
    setTrayState(state);
    m_gateway.stop();
}

void DesktopApp::applyConfig(const GatewayConfig &config)
{
    const bool isStoreMoved = config.store != m_config.store;
    m_config = config;
    if (isStoreMoved) {
        // The window reads the new request log at once; the gateway writes to it once it
        // took the new settings (or from its next start).
        showRequestLogStatus();
        m_reader.setStore(m_config.store);
        TrayState state = m_trayState;
        state.setToday(0, 0);
        setTrayState(state);
        queryToday();
    }
    // A running proxy takes the new settings without cutting a request or a stream in
    // flight (a proxy starting now takes them once it listens); a stopped one at its start.
    m_gateway.reconfigure(m_config);
}

void DesktopApp::toggleProxy()
{
    if (m_trayState.proxy() == TrayState::Proxy::On)
        stopProxy();
    else
        startProxy();
}

void DesktopApp::showWindow()
{
    m_window->bringToFront();
}

void DesktopApp::quit()
{
    if (m_isQuitting)
        return;
    m_isQuitting = true;
    m_window->saveWindowState();
    m_window->hide();
    if (!m_gateway.isRunning() && m_trayState.proxy() != TrayState::Proxy::Starting
        && m_trayState.proxy() != TrayState::Proxy::Stopping) {
        QCoreApplication::quit();
        return;
    }
    m_quitTimer.start();
    if (m_trayState.proxy() == TrayState::Proxy::On)
        stopProxy();
}

void DesktopApp::setBudgetWarning(const QString &warning)
{
    TrayState state = m_trayState;
    state.setBudgetWarning(warning);
    setTrayState(state);
}

void DesktopApp::updateKeys(const GatewayConfig &keys)
{
    m_config.upstreamKeys = keys.upstreamKeys;
    m_config.keychainKeys = keys.keychainKeys;
    // Only keys whose secret is known: one without could never be presented, and the
    // gateway refuses to start with it.
    m_config.namedVirtualKeys.clear();
    for (const VirtualKey &key : keys.namedVirtualKeys) {
        if (!key.secret.isEmpty())
            m_config.namedVirtualKeys.append(key);
    }
}

void DesktopApp::updateCacheInjection(const CacheInjector::Policy &policy)
{
    m_config.cacheInjection = policy;
    m_gateway.setCacheInjection(policy);
}

void DesktopApp::onBudgetChanged(const SpendTracker::Status &status)
{
    const bool isKey = status.kind == SpendTracker::Kind::VirtualKey;
    const QString id = (isKey ? QStringLiteral("key:") : QStringLiteral("tag:")) + status.name;
    const BudgetGuard::Level level = status.verdict.level;
    if (level == BudgetGuard::Level::Ok) {
        // A new day or month: no news, but the warning goes.
        m_budgetWarnings.remove(id);
        showBudgetWarnings();
        return;
    }
    m_budgetWarnings.insert(id, status);
    showBudgetWarnings();
    const QString notice = id + QLatin1Char(' ') + QString::number(int(level)) + QLatin1Char(' ')
        + QString::number(status.verdict.resetsAt.toMSecsSinceEpoch());
    if (m_notifiedBudgets.contains(notice))
        return;
    m_notifiedBudgets.insert(notice);
    const QString subject =
        isKey ? tr("key \"%1\"").arg(status.name) : tr("billing tag \"%1\"").arg(status.name);
    if (level == BudgetGuard::Level::Exhausted)
        m_notifier->notify(Notifier::Kind::Error, tr("Budget used up: %1").arg(subject),
                           status.message + QLatin1Char(' ')
                               + tr("Its requests are refused until then."));
    else
        m_notifier->notify(Notifier::Kind::Warning, tr("Budget almost used up: %1").arg(subject),
                           status.message);
}

void DesktopApp::showBudgetWarnings()
{
    // The budget that ran out first, else the first at 80 %; the Keys page lists them all.
    QString warning;
    for (const SpendTracker::Status &status : std::as_const(m_budgetWarnings)) {
        if (warning.isEmpty() || status.verdict.level == BudgetGuard::Level::Exhausted)
            warning = status.message;
        if (status.verdict.level == BudgetGuard::Level::Exhausted)
            break;
    }
    if (m_budgetWarnings.size() > 1)
        warning +=
            QLatin1Char(' ') + tr("(%1 budgets at 80 % or more)").arg(m_budgetWarnings.size());
    setBudgetWarning(warning);
}

QString DesktopApp::setupCommands() const
{
    const quint16 port = m_gateway.isRunning() ? m_gateway.port() : m_config.port;
    return ClientSetup::lines(ClientSetup::platformShell(), m_config.clientBaseUrl(port),
                              m_config.virtualKeys.isEmpty()
                                  ? QString()
                                  : QString::fromUtf8(m_config.virtualKeys.first()));
}

void DesktopApp::setTrayState(const TrayState &state)
{
    m_trayState = state;
    m_tray->setState(state);
    m_tray->setSetupCommands(setupCommands());
    m_window->setProxyStatus(proxyStatusText());
    emit trayStateChanged(state);
}

QString DesktopApp::proxyStatusText() const
{
    return tr("Proxy: %1").arg(m_trayState.statusText());
}

void DesktopApp::onStarted(quint16 port)
{
    TrayState state = m_trayState;
    state.setProxy(TrayState::Proxy::On);
    state.setPort(port);
    setTrayState(state);
    if (m_isQuitting)
        stopProxy(); // quit was asked while it was starting
}

void DesktopApp::onStartFailed(const QString &error)
{
    TrayState state = m_trayState;
    state.setProxy(TrayState::Proxy::Failed, error);
    setTrayState(state);
    if (m_isQuitting) {
        QCoreApplication::quit();
        return;
    }
    m_notifier->notify(Notifier::Kind::Error, tr("Tollgate's proxy is not running"),
                       tr("It could not start: %1").arg(error));
}

void DesktopApp::onStopped()
{
    // The next run counts afresh from the request log and reports its levels again.
    m_budgetWarnings.clear();
    TrayState state = m_trayState;
    state.setBudgetWarning({});
    state.setProxy(TrayState::Proxy::Off);
    state.setPort(m_config.port);
    setTrayState(state);
    if (m_isQuitting) {
        QCoreApplication::quit();
        return;
    }
}

void DesktopApp::onRequestFinished(const RequestRecord &record)
{
    const qint64 startedMs = record.startedAt.toMSecsSinceEpoch();
    if (m_nextDayStartMs > 0 && startedMs >= m_nextDayStartMs)
        rollOverDay();
    TrayState state = m_trayState;
    // A request that began yesterday belongs to yesterday, as in the request log.
    if (startedMs >= m_dayStartMs)
        state.addRequest(record.costPicoUsd);
    if (isUpstreamKeyRejected(record)) {
        const QString problem = tr("The upstream rejected the API key");
        state.setUpstreamProblem(problem);
        m_notifier->notify(Notifier::Kind::Error, problem,
                           tr("Anthropic answered 401 (authentication_error) to the client's own "
                              "credential: sign in again in Claude Code."));
    } else if (record.ttfbUs > 0 && record.status >= 200 && record.status < 300) {
        state.setUpstreamProblem({}); // the upstream accepts the key again
    }
    setTrayState(state);
}

void DesktopApp::onTrayAvailabilityChanged(bool isAvailable)
{
    m_notifier->setTrayIcon(m_tray->trayIcon(), isAvailable);
    m_window->setHidesToTray(isAvailable);
    // With a tray the app lives on after its window closes; without one, closing the
    // window is the way to quit.
    QGuiApplication::setQuitOnLastWindowClosed(!isAvailable);
    if (isAvailable)
        return;
    if (m_window->isHidden())
        showWindow(); // never leave a hidden window that nothing can bring back
    if (!m_hasToldNoTray) {
        m_hasToldNoTray = true;
        m_window->showNotice(tr("No system tray was found: Tollgate keeps this window, and "
                                "closing it quits Tollgate."));
    }
}

void DesktopApp::showRequestLogStatus()
{
    m_window->setRequestLogStatus(m_config.store
                                      ? tr("Request log: %1").arg(m_config.store->displayName())
                                      : tr("Request log: off"));
}

void DesktopApp::queryToday()
{
    const QDateTime now = QDateTime::currentDateTime();
    m_dayStartMs = startOfDayMs(now);
    m_nextDayStartMs = now.date().addDays(1).startOfDay().toMSecsSinceEpoch();
    scheduleMidnight();
    const qint64 fromMs = m_dayStartMs;
    const qint64 toMs = now.toMSecsSinceEpoch() + 1;
    const qint64 dayStartMs = m_dayStartMs;
    m_reader.run<TodayTotals>(
        [fromMs, toMs](LedgerStore *store) {
            TodayTotals today;
            if (!store)
                return today;
            QString error;
            const QList<LedgerStore::Totals> rows =
                store->totals(fromMs, toMs, LedgerStore::Grouping::None, 0, -1, &error);
            today.isRead = error.isEmpty();
            if (!rows.isEmpty()) {
                // Unpriced requests count as requests; their cost is unknown, never $0.
                today.costPicoUsd = rows.first().costPicoUsd;
                today.requests = rows.first().requests;
            }
            return today;
        },
        this,
        [this, dayStartMs](TodayTotals today) {
            if (!today.isRead || dayStartMs != m_dayStartMs)
                return; // the day ended meanwhile: the answer is yesterday's
            TrayState state = m_trayState;
            state.setToday(state.todayCostPicoUsd() + today.costPicoUsd,
                           state.todayRequests() + today.requests);
            setTrayState(state);
        });
}

void DesktopApp::rollOverDay()
{
    const QDateTime now = QDateTime::currentDateTime();
    m_dayStartMs = startOfDayMs(now);
    m_nextDayStartMs = now.date().addDays(1).startOfDay().toMSecsSinceEpoch();
    scheduleMidnight();
    TrayState state = m_trayState;
    state.setToday(0, 0);
    setTrayState(state);
}

void DesktopApp::scheduleMidnight()
{
    // A second past midnight, so that the new day has surely begun; at most a day away.
    const qint64 untilMs = m_nextDayStartMs - QDateTime::currentMSecsSinceEpoch() + 1000;
    m_midnightTimer.start(int(qBound(qint64(1000), untilMs, qint64(86'400'000))));
}

} // namespace tollgate
