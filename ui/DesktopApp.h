#pragma once

#include "DesktopSettings.h"
#include "Gateway.h"
#include "LedgerReader.h"
#include "TrayState.h"

#include <QIcon>
#include <QMap>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>
#include <memory>

namespace tollgate {

class MainWindow;
class Notifier;
class TrayController;

// The desktop app: owns the Gateway (whose proxy runs on threads of its own), the request
// log reader, the tray, the notifier and the main window, and wires them together. It
// starts the proxy at launch, toggles it from the tray, keeps today's cost for the tray
// (the log's total at start plus each finished request) and tells the user about errors.
// Budgets that reach 80 % or run out are notified once per budget, level and period, and
// turn the tray icon to its warning look while any is at 80 % or more.
// Pages written elsewhere (Dashboard, Sessions, Requests, Keys, Settings) are plugged in
// with addPage().
class DesktopApp : public QObject
{
    Q_OBJECT

public:
    // settings: the desktop preferences (not owned); null: the default file, owned here.
    explicit DesktopApp(const GatewayConfig &config, DesktopSettings *settings = nullptr,
                        QObject *parent = nullptr);
    ~DesktopApp() override;

    // Shows the window (unless it starts minimised to a tray) and starts the proxy (unless
    // the settings say not to).
    void start();

    void addPage(const QString &id, const QString &title, QWidget *page, const QIcon &icon = {});
    void addPlaceholderPage(const QString &id, const QString &title, const QString &text,
                            const QIcon &icon = {});
    bool showPage(const QString &id);

    void startProxy();
    void stopProxy();
    // Start when off or failed, stop when on; nothing while it is changing.
    void toggleProxy();
    // Brings the window forward (also what a second launch asks for).
    void showWindow();
    // Stops the proxy (its last requests reach the log) and quits the application.
    void quit();

    // A budget close to its limit turns the tray icon to warning; empty clears it.
    void setBudgetWarning(const QString &warning);

    // Takes the keys of keys (upstream keys with their secrets, the keychain's aliases, the
    // named virtual keys) without a restart: the Keys page changed them in the running
    // gateway already, and a later restart must keep them.
    void updateKeys(const GatewayConfig &keys);
    // Takes a new prompt-cache policy without a restart: a running gateway uses it for new
    // requests at once, and a later restart keeps it.
    void updateCacheInjection(const CacheInjector::Policy &policy);

    // "export ANTHROPIC_BASE_URL=http://127.0.0.1:8787\nexport ANTHROPIC_API_KEY=tg-local-…"
    QString setupCommands() const;

    const GatewayConfig &config() const { return m_config; }
    // New settings (the Settings page saved, routes changed): a running proxy takes them
    // over without cutting what is in flight (Gateway::reconfigure); the window reads a
    // moved request log at once.
    void applyConfig(const GatewayConfig &config);
    const TrayState &trayState() const { return m_trayState; }
    Gateway *gateway() { return &m_gateway; }
    LedgerReader *ledgerReader() { return &m_reader; }
    MainWindow *mainWindow() const { return m_window.get(); }
    TrayController *tray() const { return m_tray; }
    Notifier *notifier() const { return m_notifier; }
    DesktopSettings *settings() const { return m_settings; }

signals:
    // The user chose "Configure Claude Code…" in the tray.
    void configureClaudeCodeRequested();
    void trayStateChanged(const tollgate::TrayState &state);

private:
    void setTrayState(const TrayState &state);
    void onStarted(quint16 port);
    void onStartFailed(const QString &error);
    void onStopped();
    void onRequestFinished(const RequestRecord &record);
    void onBudgetChanged(const SpendTracker::Status &status);
    void showBudgetWarnings();
    void onTrayAvailabilityChanged(bool isAvailable);
    void showRequestLogStatus();
    void queryToday();
    void rollOverDay();
    void scheduleMidnight();
    QString proxyStatusText() const;

    GatewayConfig m_config;
    QPointer<DesktopSettings> m_settings;
    LedgerReader m_reader;
    Gateway m_gateway;
    Notifier *m_notifier = nullptr;
    TrayController *m_tray = nullptr;
    std::unique_ptr<MainWindow> m_window; // a widget cannot be this QObject's child
    TrayState m_trayState;
    // Budgets at 80 % or more in this run, by kind and name: their messages.
    QMap<QString, SpendTracker::Status> m_budgetWarnings;
    // Budget, level and period already notified: a restart re-reports every level.
    QSet<QString> m_notifiedBudgets;
    QTimer m_midnightTimer;
    QTimer m_quitTimer;
    qint64 m_dayStartMs = 0;
    qint64 m_nextDayStartMs = 0;
    bool m_isQuitting = false;
    bool m_hasToldNoTray = false;
};

} // namespace tollgate
