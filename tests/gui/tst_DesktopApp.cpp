// The desktop app around a real Gateway and the mock upstream: the proxy starts at launch,
// the tray toggles it and shows its state at once, today's cost in the tray follows the
// request log and every request, and the user hears once about a rejected key or a port
// that is taken.
#include "DesktopApp.h"
#include "DesktopSettings.h"
#include "GatewayHarness.h"
#include "MainWindow.h"
#include "MockUpstream.h"
#include "Notifier.h"
#include "TestClient.h"
#include "TrayController.h"
#include "store/LedgerStore.h"

#include <QAction>
#include <QClipboard>
#include <QGuiApplication>
#include <QLabel>
#include <QMenu>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
constexpr qint64 kDollar = 1'000'000'000'000; // pico-USD

// 100,000 input and 20,000 output tokens of Sonnet 4.6 ($3 and $15 per million): $0.60.
MockResponse sixtyCentAnswer()
{
    MockResponse response;
    response.headers.emplaceBack("content-type", "application/json");
    response.body = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
                    "\"model\":\"claude-sonnet-4-6\",\"content\":[{\"type\":\"text\","
                    "\"text\":\"hi\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                    "\"usage\":{\"input_tokens\":100000,\"output_tokens\":20000}}";
    return response;
}

MockResponse keyRejected()
{
    return MockUpstream::errorJson(401, "authentication_error", "invalid x-api-key");
}
} // namespace

class tst_DesktopApp final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void startsTheProxyAtLaunchAndTheTrayFollows();
    void trayMenuStopsAndStartsTheProxy();
    void clickTogglesWhereTheTrayDeliversClicks();
    void clickOnAppIndicatorOnlyOpensTheMenu();
    void doubleClickOpensTheWindow();
    void requestThroughTheProxyUpdatesTodaysCost();
    void todaysCostStartsFromTheRequestLog();
    void rejectedUpstreamKeyNotifiesOnceAndTurnsTheIconToError();
    void unwritableRequestLogWarnsInTheTrayUntilItWorksAgain();
    void takenPortNotifiesAndShowsTheError();
    void newSettingsApplyWhileTheProxyStaysOn();
    void budgetNotifiesAtEightyAndAtAHundredPercentOnly();
    void copiesTheSetupCommands();
    void withoutATrayTheWindowStaysAndSaysSo();
    void startsMinimisedOnlyWithATray();
    void keepsTheProxyOffWhenTheSettingsSaySo();
    void pluggedInPagesAppearInTheWindow();
    void notifierDoesNotRepeatWithinAMinute();

private:
    void startApp(const std::function<void(GatewayConfig &)> &adjust = {});
    TestClient::Response post(const QByteArray &body);
    void stopApp();

    QTemporaryDir *m_dir = nullptr;
    MockUpstream *m_mock = nullptr;
    DesktopSettings *m_settings = nullptr;
    DesktopApp *m_app = nullptr;
};

void tst_DesktopApp::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
}

void tst_DesktopApp::init()
{
    m_dir = new QTemporaryDir;
    QVERIFY(m_dir->isValid());
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_settings =
        new DesktopSettings(m_dir->filePath(QStringLiteral("desktop.ini")), std::nullopt, this);
}

void tst_DesktopApp::startApp(const std::function<void(GatewayConfig &)> &adjust)
{
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    config.store = StoreConfig::sqlite(m_dir->filePath(QStringLiteral("requests.sqlite")));
    if (adjust)
        adjust(config);
    m_app = new DesktopApp(config, m_settings, this);
    // Clicks are settled after the double-click interval; tests need not wait that long.
    m_app->tray()->setCoalesceIntervalMs(20);
    m_app->start();
}

void tst_DesktopApp::stopApp()
{
    if (!m_app)
        return;
    if (m_app->trayState().proxy() == TrayState::Proxy::Starting)
        QTRY_VERIFY(m_app->trayState().proxy() != TrayState::Proxy::Starting);
    m_app->stopProxy();
    QTRY_VERIFY(m_app->trayState().proxy() != TrayState::Proxy::Stopping);
    delete m_app;
    m_app = nullptr;
}

void tst_DesktopApp::cleanup()
{
    stopApp();
    delete m_settings;
    m_settings = nullptr;
    delete m_mock;
    m_mock = nullptr;
    delete m_dir;
    m_dir = nullptr;
}

TestClient::Response tst_DesktopApp::post(const QByteArray &body)
{
    TestClient client;
    client.connectTo(m_app->gateway()->port());
    client.send("POST", "/v1/messages",
                {{"x-api-key", GatewayHarness::virtualKey()},
                 {"anthropic-version", "2023-06-01"},
                 {"content-type", "application/json"}},
                body);
    if (!client.waitForResponses(1))
        return {};
    return client.responses().first();
}

void tst_DesktopApp::startsTheProxyAtLaunchAndTheTrayFollows()
{
    startApp();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    const quint16 port = m_app->gateway()->port();
    QVERIFY(port != 0);
    TrayController *tray = m_app->tray();
    QCOMPARE(tray->menu()->actions().first(), tray->toggleAction());
    QCOMPARE(tray->toggleAction()->text(), QStringLiteral("Stop proxy"));
    QCOMPARE(tray->trayIcon()->toolTip(),
             QStringLiteral("Tollgate: on, port %1, today $0.00").arg(port));
    QVERIFY(tray->currentIconPath().contains(QStringLiteral("tray-on-")));
    QCOMPARE(m_app->mainWindow()->proxyStatus(), QStringLiteral("Proxy: on, port %1").arg(port));
    QVERIFY(m_app->mainWindow()->requestLogStatus().startsWith(QStringLiteral("Request log: ")));
    QCOMPARE(tray->todayAction()->text(), QStringLiteral("Today: $0.00 · 0 requests"));
    QVERIFY(!tray->todayAction()->isEnabled());
    QStringList items;
    for (const QAction *action : tray->menu()->actions()) {
        if (!action->isSeparator())
            items.append(action->text());
    }
    QCOMPARE(items,
             (QStringList {
                 QStringLiteral("Stop proxy"), QStringLiteral("Open Tollgate"),
                 QStringLiteral("Copy setup commands"), QStringLiteral("Configure Claude Code…"),
                 QStringLiteral("Today: $0.00 · 0 requests"), QStringLiteral("Quit Tollgate")}));
}

void tst_DesktopApp::trayMenuStopsAndStartsTheProxy()
{
    startApp();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    TrayController *tray = m_app->tray();
    const quint16 port = m_app->gateway()->port();

    tray->toggleAction()->trigger();
    // At once, before the proxy thread answered: the menu says what is happening.
    QCOMPARE(m_app->trayState().proxy(), TrayState::Proxy::Stopping);
    QVERIFY(!tray->toggleAction()->isEnabled());
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::Off);
    QVERIFY(!m_app->gateway()->isRunning());
    QCOMPARE(tray->toggleAction()->text(), QStringLiteral("Start proxy"));
    QVERIFY(tray->currentIconPath().contains(QStringLiteral("tray-off-")));
    QVERIFY(tray->trayIcon()->toolTip().startsWith(QStringLiteral("Tollgate: off")));
    TestClient refused;
    refused.connectTo(port);
    QVERIFY(!refused.waitForConnected(2000) || refused.waitForClose(2000));

    tray->toggleAction()->trigger();
    QCOMPARE(m_app->trayState().proxy(), TrayState::Proxy::Starting);
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    QVERIFY(m_app->gateway()->isRunning());
    QCOMPARE(tray->toggleAction()->text(), QStringLiteral("Stop proxy"));
    QCOMPARE(post(MockUpstream::messageJson().body).status, 200);
}

void tst_DesktopApp::clickTogglesWhereTheTrayDeliversClicks()
{
    startApp();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    m_app->tray()->setActivationPolicy(TrayActivationPolicy(TrayActivationPolicy::Host::Windows));
    m_app->tray()->handleActivation(TrayActivationPolicy::Reason::Trigger);
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::Off);
    m_app->tray()->handleActivation(TrayActivationPolicy::Reason::Trigger);
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
}

void tst_DesktopApp::clickOnAppIndicatorOnlyOpensTheMenu()
{
    startApp();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    QSignalSpy toggled(m_app->tray(), &TrayController::toggleProxyRequested);
    m_app->tray()->setActivationPolicy(
        TrayActivationPolicy(TrayActivationPolicy::Host::AppIndicator));
    m_app->tray()->handleActivation(TrayActivationPolicy::Reason::Trigger);
    QTest::qWait(100); // longer than the coalescing interval: nothing may follow
    QCOMPARE(toggled.count(), 0);
    QCOMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
}

void tst_DesktopApp::doubleClickOpensTheWindow()
{
    m_settings->setStartMinimised(true);
    startApp();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    m_app->mainWindow()->hide();
    m_app->tray()->setActivationPolicy(TrayActivationPolicy(TrayActivationPolicy::Host::Windows));
    QSignalSpy toggled(m_app->tray(), &TrayController::toggleProxyRequested);
    m_app->tray()->handleActivation(TrayActivationPolicy::Reason::Trigger);
    m_app->tray()->handleActivation(TrayActivationPolicy::Reason::DoubleClick);
    QTRY_VERIFY(m_app->mainWindow()->isVisible());
    QCOMPARE(toggled.count(), 0);
    QCOMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
}

void tst_DesktopApp::requestThroughTheProxyUpdatesTodaysCost()
{
    startApp();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    m_mock->enqueue(sixtyCentAnswer());
    const TestClient::Response response =
        post("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":64,\"messages\":[]}");
    QCOMPARE(response.status, 200);
    TrayController *tray = m_app->tray();
    QTRY_COMPARE(tray->todayAction()->text(), QStringLiteral("Today: $0.60 · 1 request"));
    QCOMPARE(tray->trayIcon()->toolTip(),
             QStringLiteral("Tollgate: on, port %1, today $0.60").arg(m_app->gateway()->port()));
    QCOMPARE(m_app->trayState().todayCostPicoUsd(), 60 * kDollar / 100);
}

void tst_DesktopApp::todaysCostStartsFromTheRequestLog()
{
    // Two requests logged earlier today, e.g. before a restart.
    {
        LedgerStore store(StoreConfig::sqlite(m_dir->filePath(QStringLiteral("requests.sqlite"))));
        QString error;
        QVERIFY2(store.open(&error), qPrintable(error));
        RequestRecord row;
        row.startedAt = QDateTime::currentDateTime().addSecs(-1);
        row.method = "POST";
        row.target = "/v1/messages";
        row.status = 200;
        row.model = QStringLiteral("claude-sonnet-4-6");
        row.costPicoUsd = 2 * kDollar;
        RequestRecord older = row;
        older.costPicoUsd = kDollar / 2;
        QVERIFY2(store.insert({row, older}, &error), qPrintable(error));
    }
    startApp();
    QTRY_COMPARE(m_app->tray()->todayAction()->text(), QStringLiteral("Today: $2.50 · 2 requests"));
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    m_mock->enqueue(sixtyCentAnswer());
    QCOMPARE(post("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":64,\"messages\":[]}").status,
             200);
    QTRY_COMPARE(m_app->tray()->todayAction()->text(), QStringLiteral("Today: $3.10 · 3 requests"));
}

void tst_DesktopApp::rejectedUpstreamKeyNotifiesOnceAndTurnsTheIconToError()
{
    startApp();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    QSignalSpy notified(m_app->notifier(), &Notifier::notified);
    const QByteArray body = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":8,\"messages\":[]}";
    m_mock->enqueue(keyRejected());
    QCOMPARE(post(body).status, 401);
    QTRY_COMPARE(notified.count(), 1);
    QCOMPARE(notified.first().at(0).value<Notifier::Kind>(), Notifier::Kind::Error);
    QCOMPARE(notified.first().at(1).toString(),
             QStringLiteral("The upstream rejected the API key \"default\""));
    QTRY_VERIFY(m_app->tray()->currentIconPath().contains(QStringLiteral("tray-error-")));
    QVERIFY(m_app->tray()->trayIcon()->toolTip().contains(
        QStringLiteral("The upstream rejected the API key")));

    // The refused key stays out of use: Tollgate answers without asking the upstream
    // again, and there is no second notification.
    const qsizetype upstreamRequests = m_mock->requests().size();
    QCOMPARE(post(body).status, 401);
    QCOMPARE(m_mock->requests().size(), upstreamRequests);
    QTRY_COMPARE(m_app->trayState().todayRequests(), 2);
    QCOMPARE(notified.count(), 1);

    // A client presenting a wrong virtual key is Tollgate's refusal, not the upstream's.
    TestClient client;
    client.connectTo(m_app->gateway()->port());
    client.send("POST", "/v1/messages", {{"x-api-key", "tg-wrong"}}, body);
    QVERIFY(client.waitForResponses(1));
    QCOMPARE(client.responses().first().status, 401);
    QTRY_COMPARE(m_app->trayState().todayRequests(), 3);
    QCOMPARE(notified.count(), 1);

    // The key is replaced (the proxy starts again with it): the icon recovers.
    m_app->stopProxy();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::Off);
    m_app->startProxy();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    QCOMPARE(post(body).status, 200);
    QTRY_VERIFY(m_app->tray()->currentIconPath().contains(QStringLiteral("tray-on-")));
}

void tst_DesktopApp::unwritableRequestLogWarnsInTheTrayUntilItWorksAgain()
{
    startApp([](GatewayConfig &config) { config.store->sqliteBusyTimeoutMs = 200; });
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    QSignalSpy notified(m_app->notifier(), &Notifier::notified);
    // Another process holds the request log's write lock (a backup tool, say).
    const auto forgetLocker =
        qScopeGuard([] { QSqlDatabase::removeDatabase(QStringLiteral("locker")); });
    QSqlDatabase locker =
        QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("locker"));
    locker.setDatabaseName(m_dir->filePath(QStringLiteral("requests.sqlite")));
    QVERIFY(locker.open());
    QVERIFY(QSqlQuery(QStringLiteral("BEGIN EXCLUSIVE"), locker).isActive());

    const QByteArray body = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":8,\"messages\":[]}";
    QCOMPARE(post(body).status, 200); // requests are served all the same
    TrayController *tray = m_app->tray();
    QTRY_VERIFY_WITH_TIMEOUT(tray->currentIconPath().contains(QStringLiteral("tray-warning-")),
                             10'000);
    QVERIFY(
        tray->trayIcon()->toolTip().contains(QStringLiteral("The request log cannot be written")));
    QVERIFY(m_app->mainWindow()->requestLogStatus().startsWith(
        QStringLiteral("Request log: cannot write")));
    QTRY_COMPARE(notified.count(), 1);
    QCOMPARE(notified.first().at(0).value<Notifier::Kind>(), Notifier::Kind::Warning);
    QCOMPARE(notified.first().at(1).toString(),
             QStringLiteral("The request log cannot be written"));
    QCOMPARE(post(body).status, 200);
    QTRY_COMPARE(m_app->trayState().todayRequests(), 2);
    QCOMPARE(notified.count(), 1); // once per failure, not per request

    // The lock is released: the kept rows are written and the warning goes.
    QVERIFY(QSqlQuery(QStringLiteral("COMMIT"), locker).isActive());
    locker.close();
    locker = QSqlDatabase();
    QTRY_VERIFY_WITH_TIMEOUT(tray->currentIconPath().contains(QStringLiteral("tray-on-")), 15'000);
    QVERIFY(!tray->trayIcon()->toolTip().contains(QStringLiteral("request log")));
    QVERIFY(!m_app->mainWindow()->requestLogStatus().contains(QStringLiteral("cannot")));
}

void tst_DesktopApp::takenPortNotifiesAndShowsTheError()
{
    QTcpServer occupant;
    QVERIFY(occupant.listen(QHostAddress::LocalHost));
    QSignalSpy *notified = nullptr;
    startApp([&](GatewayConfig &config) { config.port = occupant.serverPort(); });
    notified = new QSignalSpy(m_app->notifier(), &Notifier::notified);
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::Failed);
    QTRY_COMPARE(notified->count(), 1);
    QCOMPARE(notified->first().at(1).toString(), QStringLiteral("Tollgate's proxy is not running"));
    QVERIFY(!notified->first().at(2).toString().isEmpty());
    delete notified;
    TrayController *tray = m_app->tray();
    QVERIFY(tray->currentIconPath().contains(QStringLiteral("tray-error-")));
    QCOMPARE(tray->toggleAction()->text(), QStringLiteral("Start proxy"));
    QVERIFY(tray->toggleAction()->isEnabled());
    QVERIFY(tray->trayIcon()->toolTip().startsWith(QStringLiteral("Tollgate: error: ")));
    QVERIFY(m_app->mainWindow()->proxyStatus().startsWith(QStringLiteral("Proxy: error: ")));

    // Once the port is free, Start works.
    occupant.close();
    tray->toggleAction()->trigger();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
}

// Saving settings while the proxy runs: the tray never leaves "on" (no stop, no start), a
// stream in flight ends whole, the tooltip shows the new port, and settings that cannot be
// used say so in a notification while the proxy runs on.
void tst_DesktopApp::newSettingsApplyWhileTheProxyStaysOn()
{
    startApp();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    QList<TrayState::Proxy> states;
    QObject watching; // the connection ends with this test
    connect(m_app, &DesktopApp::trayStateChanged, &watching,
            [&states](const TrayState &state) { states.append(state.proxy()); });
    m_mock->enqueue(MockUpstream::messageStream("claude-sonnet-4-6", 20, 25));
    TestClient streaming;
    streaming.connectTo(m_app->gateway()->port());
    streaming.send("POST", "/v1/messages", GatewayHarness::clientHeaders(),
                   R"({"model":"claude-sonnet-4-6","stream":true,"messages":[]})");
    QVERIFY(streaming.waitUntil([&] { return streaming.partialResponse() != nullptr; }));

    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost));
    const quint16 newPort = probe.serverPort();
    probe.close();
    GatewayConfig config = m_app->config();
    config.port = newPort;
    m_app->applyConfig(config);
    QTRY_COMPARE(m_app->gateway()->port(), newPort);
    QTRY_VERIFY(m_app->tray()->trayIcon()->toolTip().contains(QString::number(newPort)));
    QVERIFY(streaming.waitForResponses(1, 5000));
    QVERIFY(streaming.responses().first().complete);
    QCOMPARE(streaming.responses().first().body.count("event: content_block_delta"), 20);
    QCOMPARE(post("{}").status, 200);
    for (TrayState::Proxy state : std::as_const(states))
        QCOMPARE(state, TrayState::Proxy::On);

    QTcpServer occupant;
    QVERIFY(occupant.listen(QHostAddress::LocalHost));
    QSignalSpy notified(m_app->notifier(), &Notifier::notified);
    config.port = occupant.serverPort();
    m_app->applyConfig(config);
    QTRY_COMPARE(notified.count(), 1);
    QCOMPARE(notified.first().at(1).toString(), QStringLiteral("The new settings are not in use"));
    QVERIFY(notified.first().at(2).toString().contains(QString::number(occupant.serverPort())));
    QCOMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    QCOMPARE(m_app->gateway()->port(), newPort);
    QCOMPARE(post("{}").status, 200);
}

void tst_DesktopApp::budgetNotifiesAtEightyAndAtAHundredPercentOnly()
{
    startApp([](GatewayConfig &config) { config.budget.dailyPicoUsd = 70 * kDollar / 100; });
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    QSignalSpy notified(m_app->notifier(), &Notifier::notified);
    const QByteArray body = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":64,\"messages\":[]}";

    // $0.60 of $0.70: past 80 %.
    m_mock->enqueue(sixtyCentAnswer());
    QCOMPARE(post(body).status, 200);
    QTRY_COMPARE(notified.count(), 1);
    QCOMPARE(notified.at(0).at(0).value<Notifier::Kind>(), Notifier::Kind::Warning);
    QCOMPARE(notified.at(0).at(1).toString(),
             QStringLiteral("Budget almost used up: key \"default\""));
    QVERIFY2(notified.at(0).at(2).toString().startsWith(QStringLiteral(
                 "85 % of the daily budget of $0.70 for virtual key \"default\" is spent")),
             qPrintable(notified.at(0).at(2).toString()));
    TrayController *tray = m_app->tray();
    QTRY_VERIFY(tray->currentIconPath().contains(QStringLiteral("tray-warning-")));
    QVERIFY(tray->trayIcon()->toolTip().contains(QStringLiteral("85 % of the daily budget")));

    // $1.20: used up. The next request is refused, with no third notice.
    m_mock->enqueue(sixtyCentAnswer());
    QCOMPARE(post(body).status, 200);
    QTRY_COMPARE(notified.count(), 2);
    QCOMPARE(notified.at(1).at(0).value<Notifier::Kind>(), Notifier::Kind::Error);
    QCOMPARE(notified.at(1).at(1).toString(), QStringLiteral("Budget used up: key \"default\""));
    QVERIFY(notified.at(1).at(2).toString().startsWith(
        QStringLiteral("The daily budget of $0.70 for virtual key \"default\" is used up ($1.20 "
                       "spent)")));
    QTRY_VERIFY(tray->trayIcon()->toolTip().contains(QStringLiteral("is used up")));
    QCOMPARE(post(body).status, 429);
    QVERIFY(tray->currentIconPath().contains(QStringLiteral("tray-warning-")));

    // A restart reads the spend back from the log: the look comes back, the notice does not.
    m_app->stopProxy();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::Off);
    m_app->startProxy();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    QTRY_VERIFY(tray->currentIconPath().contains(QStringLiteral("tray-warning-")));
    QCOMPARE(post(body).status, 429);
    QCOMPARE(notified.count(), 2);
}

void tst_DesktopApp::copiesTheSetupCommands()
{
    startApp();
    QTRY_COMPARE(m_app->trayState().proxy(), TrayState::Proxy::On);
    const QString expected = QStringLiteral("export ANTHROPIC_BASE_URL=http://127.0.0.1:%1\n"
                                            "export ANTHROPIC_API_KEY=%2")
                                 .arg(m_app->gateway()->port())
                                 .arg(QString::fromLatin1(GatewayHarness::virtualKey()));
    QCOMPARE(m_app->setupCommands(), expected);
    m_app->tray()->copySetupAction()->trigger();
    QCOMPARE(QGuiApplication::clipboard()->text(), expected);
}

void tst_DesktopApp::withoutATrayTheWindowStaysAndSaysSo()
{
    startApp();
    // Offscreen there is no system tray, like GNOME without the AppIndicator extension.
    QVERIFY(!m_app->tray()->isAvailable());
    MainWindow *window = m_app->mainWindow();
    QVERIFY(window->isVisible());
    QVERIFY(!window->hidesToTray());
    QVERIFY(window->statusBar()->currentMessage().contains(QStringLiteral("No system tray")));
    QVERIFY(QGuiApplication::quitOnLastWindowClosed());
}

void tst_DesktopApp::startsMinimisedOnlyWithATray()
{
    // Minimised to a tray that does not exist would be a window nobody can reach.
    m_settings->setStartMinimised(true);
    startApp();
    QVERIFY(m_app->mainWindow()->isVisible());
}

void tst_DesktopApp::keepsTheProxyOffWhenTheSettingsSaySo()
{
    m_settings->setStartProxyAtLaunch(false);
    startApp();
    QTest::qWait(100);
    QCOMPARE(m_app->trayState().proxy(), TrayState::Proxy::Off);
    QVERIFY(!m_app->gateway()->isRunning());
    QCOMPARE(m_app->tray()->toggleAction()->text(), QStringLiteral("Start proxy"));
}

void tst_DesktopApp::pluggedInPagesAppearInTheWindow()
{
    startApp();
    m_app->addPage(QStringLiteral("dashboard"), QStringLiteral("Dashboard"),
                   new QLabel(QStringLiteral("charts")));
    m_app->addPlaceholderPage(QStringLiteral("keys"), QStringLiteral("Keys"),
                              QStringLiteral("Keys come with the key management work."));
    QCOMPARE(m_app->mainWindow()->pageIds(),
             (QStringList {QStringLiteral("dashboard"), QStringLiteral("keys")}));
    QVERIFY(m_app->showPage(QStringLiteral("keys")));
    QCOMPARE(m_app->mainWindow()->currentPageId(), QStringLiteral("keys"));
}

void tst_DesktopApp::notifierDoesNotRepeatWithinAMinute()
{
    Notifier notifier;
    qint64 now = 1'000'000;
    notifier.setClock([&now] { return now; });
    QSignalSpy notified(&notifier, &Notifier::notified);
    const QString title = QStringLiteral("Tollgate's proxy is not running");
    const QString message = QStringLiteral("address in use");
    QVERIFY(notifier.notify(Notifier::Kind::Error, title, message) != Notifier::Channel::None);
    now += 59'000;
    QCOMPARE(notifier.notify(Notifier::Kind::Error, title, message), Notifier::Channel::None);
    // A different message is news.
    QVERIFY(notifier.notify(Notifier::Kind::Error, title, QStringLiteral("permission denied"))
            != Notifier::Channel::None);
    now += 1'000; // a minute after the first
    QVERIFY(notifier.notify(Notifier::Kind::Error, title, message) != Notifier::Channel::None);
    QCOMPARE(notified.count(), 3);
}

QTEST_MAIN(tst_DesktopApp)
#include "tst_DesktopApp.moc"
