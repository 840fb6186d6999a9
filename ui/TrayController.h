#pragma once

#include "TrayActivationPolicy.h"
#include "TrayState.h"

#include <QObject>
#include <QPointer>
#include <QSystemTrayIcon>
#include <QTimer>

class QAction;
class QMenu;

namespace tollgate {

// Owns the tray icon and its menu: Start/Stop proxy (first, since on macOS and GNOME a
// click opens the menu), Open Tollgate, Copy setup commands, Configure Claude Code…, the
// live "Today" line and Quit. It shows a TrayState and turns the user's clicks into
// requests; it decides nothing about the proxy itself.
//
// QSystemTrayIcon::isVisible() reports what was asked for, not whether a tray shows the
// icon, so availability is "the icon exists and a tray is there". A tray host that starts
// after Tollgate at login is picked up by checking again for about 30 s.
class TrayController : public QObject
{
    Q_OBJECT

public:
    static constexpr int kRetryIntervalMs = 5000;
    static constexpr int kRetryCount = 6;

    explicit TrayController(QObject *parent = nullptr);
    ~TrayController() override;

    // Shows the state at once: icon, tooltip, menu labels.
    void setState(const TrayState &state);
    const TrayState &state() const { return m_state; }

    // The two export lines the "Copy setup commands" item puts on the clipboard.
    void setSetupCommands(const QString &commands) { m_setupCommands = commands; }
    QString setupCommands() const { return m_setupCommands; }

    bool isAvailable() const;
    QSystemTrayIcon *trayIcon() const { return m_icon; }
    QMenu *menu() const { return m_menu; }
    QAction *toggleAction() const { return m_toggle; }
    QAction *openAction() const { return m_open; }
    QAction *copySetupAction() const { return m_copySetup; }
    QAction *configureClaudeCodeAction() const { return m_configureClaudeCode; }
    QAction *todayAction() const { return m_today; }
    QAction *quitAction() const { return m_quit; }

    // The icon variant in use, from the panel's palette (or macOS template images).
    TrayState::Panel panel() const { return m_panel; }
    QString currentIconPath() const { return m_state.iconPath(m_panel); }

    // What a click does depends on the tray host; tests set one.
    void setActivationPolicy(const TrayActivationPolicy &policy) { m_policy = policy; }
    // Feeds one activation through the policy, as a click on the icon does.
    void handleActivation(TrayActivationPolicy::Reason reason);
    // How long clicks are gathered into one decision (the double-click interval).
    void setCoalesceIntervalMs(int ms) { m_coalesceTimer.setInterval(ms); }
    // How often and how many times a missing tray is looked for again.
    void setRetry(int intervalMs, int count);

signals:
    void toggleProxyRequested();
    void openWindowRequested();
    void configureClaudeCodeRequested();
    void quitRequested();
    void setupCommandsCopied();
    // The tray appeared (after a late start of the tray host) or went away.
    void availabilityChanged(bool isAvailable);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void buildMenu();
    void applyState();
    void updatePanel();
    void settleActivation();
    void checkAvailability();
    void copySetupCommands();

    TrayState m_state;
    TrayState::Panel m_panel = TrayState::Panel::Light;
    QString m_setupCommands;
    QString m_shownIconPath;
    QPointer<QSystemTrayIcon> m_icon;
    QMenu *m_menu = nullptr; // owned: a QMenu is a widget and cannot have a QObject parent
    QAction *m_toggle = nullptr;
    QAction *m_open = nullptr;
    QAction *m_copySetup = nullptr;
    QAction *m_configureClaudeCode = nullptr;
    QAction *m_today = nullptr;
    QAction *m_quit = nullptr;
    TrayActivationPolicy m_policy;
    QTimer m_coalesceTimer;
    QTimer m_retryTimer;
    int m_retriesLeft = 0;
    bool m_wasAvailable = false;
};

} // namespace tollgate
