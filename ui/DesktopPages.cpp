#include "DesktopPages.h"

#include "ClaudeCodeSettings.h"
#include "ClaudeCodeSetupDialog.h"
#include "DashboardPage.h"
#include "DesktopApp.h"
#include "DesktopSettings.h"
#include "KeyImportOffer.h"
#include "KeysPage.h"
#include "MainWindow.h"
#include "RequestsPage.h"
#include "RoutesPage.h"
#include "SessionsPage.h"
#include "SettingsPage.h"
#include "config/ConfigFile.h"

#include <QCoreApplication>
#include <QDir>
#include <QPointer>
#include <QTimer>

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

// The settings file holds no secrets: a reloaded config keeps the named virtual keys'
// secrets the running one has, by alias.
void keepVirtualKeySecrets(const GatewayConfig &from, GatewayConfig *to)
{
    for (VirtualKey &key : to->namedVirtualKeys) {
        for (const VirtualKey &known : from.namedVirtualKeys) {
            if (known.alias == key.alias)
                key.secret = known.secret;
        }
    }
}
// The same for providers: a provider's key aliases get the secrets the running config holds
// for them (its own pool, or the built-in pool's before a provider claimed them), and its
// key variable is read again. Returns the aliases no secret was found for: they are read
// from the keychain at the next start.
QStringList keepProviderKeys(const GatewayConfig &from, GatewayConfig *to)
{
    QHash<QString, QByteArray> known;
    for (const UpstreamKey &key : from.upstreamKeys)
        known.insert(key.alias, key.secret);
    for (const Provider &provider : from.providers) {
        for (const UpstreamKey &key : provider.keys)
            known.insert(key.alias, key.secret);
    }
    QStringList missing;
    for (Provider &provider : to->providers) {
        provider.keys.clear();
        for (const QString &alias : std::as_const(provider.keyAliases)) {
            if (known.contains(alias))
                provider.keys.append({alias, known.value(alias)});
            else
                missing.append(alias);
        }
        const QByteArray variable = qgetenv(provider.keyVariable.toLocal8Bit().constData());
        if (!provider.keyVariable.isEmpty() && !variable.trimmed().isEmpty())
            provider.keys.append({provider.keyVariable, variable.trimmed()});
    }
    for (const Provider &provider : std::as_const(to->providers)) {
        to->upstreamKeys.removeIf([&provider](const UpstreamKey &key) {
            return provider.keyAliases.contains(key.alias);
        });
    }
    return missing;
}
} // namespace

void DesktopPages::install(DesktopApp &app, const QString &configPath,
                           const QString &keychainService)
{
    Gateway *gateway = app.gateway();
    LedgerReader *reader = app.ledgerReader();
    app.addPage(QStringLiteral("dashboard"), tr("Dashboard"), new DashboardPage(gateway, reader));
    app.addPage(QStringLiteral("sessions"), tr("Sessions"), new SessionsPage(gateway, reader));
    app.addPage(QStringLiteral("requests"), tr("Requests"), new RequestsPage(gateway, reader));
    auto *keysPage = new KeysPage(gateway, reader, configPath, keychainService);
    keysPage->setConfig(app.config());
    app.addPage(QStringLiteral("keys"), tr("Keys"), keysPage);
    QObject::connect(keysPage, &KeysPage::keysChanged, &app,
                     [&app, keysPage] { app.updateKeys(keysPage->config()); });
    auto *routesPage = new RoutesPage(configPath);
    routesPage->setConfig(app.config());
    app.addPage(QStringLiteral("routes"), tr("Routes"), routesPage);
    // Provider health comes with the key status the Keys page asks for, and every 10 s
    // while the Routes page is open.
    QObject::connect(gateway, &Gateway::providerHealth, routesPage, &RoutesPage::setProviderHealth);
    auto *healthTimer = new QTimer(routesPage);
    healthTimer->setInterval(10'000);
    QObject::connect(healthTimer, &QTimer::timeout, routesPage, [gateway, routesPage] {
        if (routesPage->isVisible() && gateway->isRunning())
            gateway->requestKeyStatus();
    });
    healthTimer->start();
    // A running proxy takes new routes without cutting a request in flight.
    QObject::connect(routesPage, &RoutesPage::routesChanged, &app, [&app, routesPage] {
        GatewayConfig config = app.config();
        config.providers = routesPage->config().providers;
        config.routes = routesPage->config().routes;
        const QStringList missing = keepProviderKeys(app.config(), &config);
        if (!missing.isEmpty())
            app.mainWindow()->showNotice(
                tr("The keys %1 are read from the keychain at the next start of Tollgate.")
                    .arg(missing.join(QStringLiteral(", "))));
        app.applyConfig(config);
        if (app.gateway()->isRunning())
            app.gateway()->requestKeyStatus();
    });

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
    QObject::connect(
        settingsPage, &SettingsPage::promptCacheChanged, &app,
        [&app](const CacheInjector::Policy &policy) { app.updateCacheInjection(policy); });
    QObject::connect(settingsPage, &SettingsPage::settingsSaved, &app,
                     [&app, configPath, keysPage, routesPage] {
                         GatewayConfig config = app.config();
                         QString error;
                         if (!ConfigFile::load(configPath, false, &config, &error)) {
                             app.mainWindow()->showNotice(error);
                             return;
                         }
                         keepVirtualKeySecrets(keysPage->config(), &config);
                         keepProviderKeys(app.config(), &config);
                         keysPage->setConfig(config);
                         routesPage->setConfig(config);
                         // A key without its secret could never be presented, and the
                         // gateway would refuse to start with it.
                         config.namedVirtualKeys.removeIf(
                             [](const VirtualKey &key) { return key.secret.isEmpty(); });
                         app.applyConfig(config);
                     });

    // Once the window is up (start() follows install()): a question before it would have
    // no window to belong to.
    QTimer::singleShot(0, &app, [&app, keysPage = QPointer<KeysPage>(keysPage)] {
        KeyImportOffer::offer(app.config(), app.settings(), keysPage, app.mainWindow());
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
