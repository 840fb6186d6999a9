#include "TrayController.h"

#include "platform/PlatformTray.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QEvent>
#include <QMenu>
#include <QPalette>
#include <QStyleHints>
#include <QSystemTrayIcon>

namespace tollgate {

namespace {
TrayActivationPolicy::Reason reasonOf(QSystemTrayIcon::ActivationReason reason)
{
    switch (reason) {
    case QSystemTrayIcon::Context:
        return TrayActivationPolicy::Reason::Context;
    case QSystemTrayIcon::DoubleClick:
        return TrayActivationPolicy::Reason::DoubleClick;
    case QSystemTrayIcon::Trigger:
        return TrayActivationPolicy::Reason::Trigger;
    case QSystemTrayIcon::MiddleClick:
        return TrayActivationPolicy::Reason::MiddleClick;
    case QSystemTrayIcon::Unknown:
        break;
    }
    return TrayActivationPolicy::Reason::Unknown;
}

QIcon loadIcon(const QString &path, bool isMask)
{
    QIcon icon(path);
    icon.setIsMask(isMask);
    return icon;
}
} // namespace

TrayController::TrayController(QObject *parent)
    : QObject(parent)
    , m_policy(PlatformTray::currentHost())
{
    buildMenu();
    updatePanel();

    m_icon = new QSystemTrayIcon(this);
    // Always a menu: GNOME's AppIndicator extension shows no icon without one.
    m_icon->setContextMenu(m_menu);
    connect(
        m_icon, &QSystemTrayIcon::activated, this,
        [this](QSystemTrayIcon::ActivationReason reason) { handleActivation(reasonOf(reason)); });
    applyState();
    m_icon->show();

    m_coalesceTimer.setSingleShot(true);
    m_coalesceTimer.setInterval(QGuiApplication::styleHints()->mouseDoubleClickInterval());
    connect(&m_coalesceTimer, &QTimer::timeout, this, &TrayController::settleActivation);

    m_wasAvailable = isAvailable();
    connect(&m_retryTimer, &QTimer::timeout, this, &TrayController::checkAvailability);
    setRetry(kRetryIntervalMs, kRetryCount);

    // The panel's light or dark look follows the desktop's palette.
    qApp->installEventFilter(this);
}

TrayController::~TrayController()
{
    qApp->removeEventFilter(this);
    if (m_icon)
        m_icon->hide();
    delete m_menu;
}

void TrayController::buildMenu()
{
    m_menu = new QMenu;
    m_menu->setAccessibleName(tr("Tollgate"));
    m_toggle = m_menu->addAction(QString());
    connect(m_toggle, &QAction::triggered, this, &TrayController::toggleProxyRequested);
    m_menu->addSeparator();
    m_open = m_menu->addAction(tr("Open Tollgate"));
    connect(m_open, &QAction::triggered, this, &TrayController::openWindowRequested);
    m_copySetup = m_menu->addAction(tr("Copy setup commands"));
    m_copySetup->setToolTip(tr("Copies the two export lines that point Claude Code at Tollgate"));
    connect(m_copySetup, &QAction::triggered, this, &TrayController::copySetupCommands);
    m_configureClaudeCode = m_menu->addAction(tr("Configure Claude Code…"));
    connect(m_configureClaudeCode, &QAction::triggered, this,
            &TrayController::configureClaudeCodeRequested);
    m_menu->addSeparator();
    m_today = m_menu->addAction(QString());
    m_today->setEnabled(false); // information, not a command
    m_menu->addSeparator();
    m_quit = m_menu->addAction(tr("Quit Tollgate"));
    m_quit->setMenuRole(QAction::QuitRole);
    connect(m_quit, &QAction::triggered, this, &TrayController::quitRequested);
}

void TrayController::setState(const TrayState &state)
{
    m_state = state;
    applyState();
}

void TrayController::applyState()
{
    m_toggle->setText(m_state.toggleText());
    m_toggle->setEnabled(m_state.isToggleEnabled());
    m_today->setText(m_state.todayText());
    if (!m_icon)
        return;
    // Live cost updates change the text many times a minute; the icon only with the state.
    const QString iconPath = currentIconPath();
    if (iconPath != m_shownIconPath) {
        m_icon->setIcon(loadIcon(iconPath, m_panel == TrayState::Panel::Template));
        m_shownIconPath = iconPath;
    }
    m_icon->setToolTip(m_state.toolTip());
}

void TrayController::updatePanel()
{
    if (PlatformTray::usesTemplateIcons()) {
        m_panel = TrayState::Panel::Template;
        return;
    }
    // Qt 6.4 has no QStyleHints::colorScheme(); the window colour's lightness tells a dark
    // desktop theme from a light one, and panels follow the theme.
    m_panel = TrayState::panelForLightness(
        QGuiApplication::palette().color(QPalette::Window).lightness());
}

bool TrayController::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == qApp && event->type() == QEvent::ApplicationPaletteChange) {
        const TrayState::Panel before = m_panel;
        updatePanel();
        if (m_panel != before)
            applyState();
    }
    return QObject::eventFilter(watched, event);
}

void TrayController::handleActivation(TrayActivationPolicy::Reason reason)
{
    if (m_policy.record(reason))
        m_coalesceTimer.start();
}

void TrayController::settleActivation()
{
    switch (m_policy.settle()) {
    case TrayActivationPolicy::Action::ToggleProxy:
        if (m_state.isToggleEnabled())
            emit toggleProxyRequested();
        break;
    case TrayActivationPolicy::Action::OpenWindow:
        emit openWindowRequested();
        break;
    case TrayActivationPolicy::Action::None:
        break;
    }
}

bool TrayController::isAvailable() const
{
    return m_icon && QSystemTrayIcon::isSystemTrayAvailable();
}

void TrayController::setRetry(int intervalMs, int count)
{
    m_retryTimer.stop();
    m_retriesLeft = m_wasAvailable ? 0 : count;
    m_retryTimer.setInterval(intervalMs);
    if (m_retriesLeft > 0)
        m_retryTimer.start();
}

void TrayController::checkAvailability()
{
    --m_retriesLeft;
    const bool isNowAvailable = isAvailable();
    if (isNowAvailable || m_retriesLeft <= 0)
        m_retryTimer.stop();
    if (isNowAvailable == m_wasAvailable)
        return;
    m_wasAvailable = isNowAvailable;
    if (isNowAvailable && m_icon) {
        // A tray host that appeared late may not know an icon shown before it existed.
        m_icon->hide();
        m_icon->show();
    }
    emit availabilityChanged(isNowAvailable);
}

void TrayController::copySetupCommands()
{
    QGuiApplication::clipboard()->setText(m_setupCommands);
    emit setupCommandsCopied();
}

} // namespace tollgate
