#include "DesktopPages.h"

#include "ClaudeCodeSettings.h"
#include "ClaudeCodeSetupDialog.h"
#include "DashboardPage.h"
#include "DesktopApp.h"
#include "DesktopSettings.h"
#include "MainWindow.h"
#include "RequestsPage.h"
#include "SessionsPage.h"
#include "SettingsPage.h"
#include "config/ConfigFile.h"

#include <QCoreApplication>
#include <QDir>
#include <QPointer>

namespace tollgate {

namespace {
QString tr(const char *text)
{
    return QCoreApplication::translate("tollgate::DesktopPages", text);
}

QString baseUrlOf(DesktopApp &app)
{
    const quint16 port = app.gateway()->port() ? app.gateway()->port() : app.config().port;
    QString host = app.config().listenAddress.toString();
    if (app.config().listenAddress.isEqual(QHostAddress::AnyIPv4)
        || app.config().listenAddress.isEqual(QHostAddress::Any))
        host = QStringLiteral("127.0.0.1");
    return QStringLiteral("http://%1:%2").arg(host).arg(port);
}
} // namespace

void DesktopPages::install(DesktopApp &app, const QString &configPath)
{
    Gateway *gateway = app.gateway();
    LedgerReader *reader = app.ledgerReader();
    app.addPage(QStringLiteral("dashboard"), tr("Dashboard"), new DashboardPage(gateway, reader));
    app.addPage(QStringLiteral("sessions"), tr("Sessions"), new SessionsPage(gateway, reader));
    app.addPage(QStringLiteral("requests"), tr("Requests"), new RequestsPage(gateway, reader));
    app.addPlaceholderPage(QStringLiteral("keys"), tr("Keys"),
                           tr("Upstream keys in the system keychain, the pooled key budget "
                              "with failover, and per-key limits will be managed here."));
    app.addPlaceholderPage(QStringLiteral("routes"), tr("Routes"),
                           tr("Routing by model to other vendors will be configured here."));

    DesktopSettings *settings = app.settings();
    SettingsPage::DesktopOptions options;
    options.startAtLogin = [settings] { return settings->startAtLogin(); };
    options.setStartAtLogin = [settings](bool enabled, QString *error) {
        return settings->setStartAtLogin(enabled, error);
    };
    options.startMinimised = [settings] { return settings->startMinimised(); };
    options.setStartMinimised = [settings](bool enabled) { settings->setStartMinimised(enabled); };
    auto *settingsPage = new SettingsPage(configPath, options);
    app.addPage(QStringLiteral("settings"), tr("Settings"), settingsPage);
    QObject::connect(settingsPage, &SettingsPage::settingsSaved, &app, [&app, configPath] {
        GatewayConfig config = app.config();
        QString error;
        if (ConfigFile::load(configPath, false, &config, &error))
            app.applyConfig(config);
        else
            app.mainWindow()->showNotice(error);
    });

    QObject::connect(&app, &DesktopApp::configureClaudeCodeRequested, &app, [&app] {
        static QPointer<ClaudeCodeSetupDialog> dialog;
        if (!dialog) {
            const QByteArray key = app.config().virtualKeys.isEmpty()
                ? QByteArray()
                : app.config().virtualKeys.first();
            dialog = new ClaudeCodeSetupDialog(baseUrlOf(app), key,
                                               ClaudeCodeSettings::defaultPath(), app.mainWindow());
            dialog->setAttribute(Qt::WA_DeleteOnClose);
        }
        dialog->show();
        dialog->raise();
        dialog->activateWindow();
    });
}

} // namespace tollgate
