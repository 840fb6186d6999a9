// Runs the real desktop app against the mock upstream, sends it a working day's worth of
// traffic, and saves a PNG of every page, the tray menu and the whole screen (with the
// tray host) into the folder given as the first argument. Run by screenshots.sh under Xvfb.
#include "DesktopApp.h"
#include "DesktopPages.h"
#include "MainWindow.h"
#include "MockUpstream.h"
#include "RoutesPage.h"
#include "TestClient.h"
#include "TrayController.h"
#include "keys/VirtualKeyFile.h"

#include <QApplication>
#include <QDateTime>
#include <QDir>
#include <QLineEdit>
#include <QMenu>
#include <QScreen>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <cstdio>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QByteArray kVirtualKey = "tg-local-5c1d2b7e9f004a6c8e3b1d2f4a6c8e0b1d3f5a7c9e1b3d5f";
// A named virtual key with a tag, models, limits and a budget, for the Keys page.
const QByteArray kAcmeKey = "tg-acme-7Hq2LmX9pR4tV8wY1zB6nC3dF5gJ0kS";

// The rate limits Anthropic reports with every answer, for the Keys page's headroom.
void addRateLimits(MockResponse &response, int requestsRemaining)
{
    const QByteArray reset =
        QDateTime::currentDateTimeUtc().addSecs(40).toString(Qt::ISODate).toLatin1();
    response.headers.emplaceBack("anthropic-ratelimit-requests-limit", "4000");
    response.headers.emplaceBack("anthropic-ratelimit-requests-remaining",
                                 QByteArray::number(requestsRemaining));
    response.headers.emplaceBack("anthropic-ratelimit-requests-reset", reset);
    response.headers.emplaceBack("anthropic-ratelimit-tokens-limit", "2000000");
    response.headers.emplaceBack("anthropic-ratelimit-tokens-remaining",
                                 QByteArray::number(1'960'000 - requestsRemaining * 10));
    response.headers.emplaceBack("anthropic-ratelimit-tokens-reset", reset);
}

bool save(const QPixmap &pixmap, const QString &path)
{
    const bool ok = pixmap.save(path);
    std::fprintf(stderr, "%s %s\n", ok ? "saved" : "FAILED", qPrintable(path));
    return ok;
}

// Requests from a few sessions, models and tags, spread over the last hours' worth of
// calls, so the charts and tables have something to show.
void sendTraffic(quint16 port, MockUpstream &mock)
{
    const QList<QByteArray> models = {"claude-opus-4-8", "claude-sonnet-4-6",
                                      "claude-haiku-4-5-20251001"};
    const QList<QByteArray> tags = {"client-acme", "internal", "client-globex"};
    const QList<QByteArray> sessions = {
        "3f2a9c1e-5b7d-4e0a-9c3b-2d1e0f9a8b7c", "a81c4e2d-9f3b-4c6a-8e1d-7b2c5a9f0e3d",
        "c5d7e9f1-2a4b-4c6d-8e0f-1a3b5c7d9e0f", "e0f1a2b3-c4d5-4e6f-8a9b-0c1d2e3f4a5b"};
    const QList<QByteArray> projects = {"/home/ann/src/acme-api", "/home/ann/src/billing",
                                        "/home/ann/src/acme-web", "/home/ann/src/infra"};
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 36; ++i) {
        const QByteArray model = models[i % models.size()];
        MockResponse response = MockUpstream::messageStream(model, 4);
        addRateLimits(response, 3990 - i);
        mock.enqueue(response);
        auto client = std::make_unique<TestClient>();
        client->connectTo(port);
        client->send("POST", "/v1/messages?beta=true",
                     {{"x-api-key", i % 3 == 1 ? kAcmeKey : kVirtualKey},
                      {"anthropic-version", "2023-06-01"},
                      {"x-claude-code-session-id", sessions[i % sessions.size()]},
                      {"x-tollgate-tag", tags[i % tags.size()]},
                      {"user-agent", "claude-cli/2.1.197 (external, cli)"}},
                     "{\"model\":\"" + model
                         + "\",\"stream\":true,\"max_tokens\":64,\"system\":\"<env>\\nWorking "
                           "directory: "
                         + projects[i % projects.size()] + "\\n</env>\"}");
        client->waitForResponses(1, 5000);
        clients.push_back(std::move(client));
        QTest::qWait(40);
    }
    // One failure, so the request log shows an error row.
    MockResponse overloaded;
    overloaded.status = 529;
    overloaded.headers = {{"content-type", "application/json"}};
    overloaded.body = MockUpstream::errorBody("overloaded_error", "Overloaded");
    mock.enqueue(overloaded);
    TestClient failing;
    failing.connectTo(port);
    failing.send("POST", "/v1/messages", {{"x-api-key", kVirtualKey}},
                 "{\"model\":\"claude-opus-4-8\"}");
    failing.waitForResponses(1, 5000);
}
} // namespace

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("Tollgate"));
    QCoreApplication::setApplicationName(QStringLiteral("tollgate"));
    QGuiApplication::setApplicationDisplayName(QStringLiteral("Tollgate"));
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    const QString outDir = QString::fromLocal8Bit(argv[1]);
    QDir().mkpath(outDir);
    QStandardPaths::setTestModeEnabled(true); // the user's own settings stay untouched

    MockUpstream mock;
    if (!mock.listen())
        return 1;
    QTemporaryDir data;
    GatewayConfig config;
    config.port = 0;
    config.upstream = QUrl(QString::fromLatin1(mock.baseUrl()));
    config.upstreamKeys = {{QStringLiteral("personal"), "sk-ant-api03-screenshot-tour-Ab3x"},
                           {QStringLiteral("team"), "sk-ant-api03-screenshot-tour-Q7mz"}};
    config.virtualKeys = {kVirtualKey};
    VirtualKey acme;
    acme.alias = QStringLiteral("acme-ci");
    acme.secret = kAcmeKey;
    acme.billingTag = QStringLiteral("client-acme");
    acme.models = {QStringLiteral("claude-sonnet-*"), QStringLiteral("claude-haiku-*")};
    acme.limits.maxConcurrentStreams = 4;
    acme.budget.dailyPicoUsd = 20'000'000'000'000; // $20
    config.namedVirtualKeys = {acme};
    config.store = StoreConfig::sqlite(data.filePath(QStringLiteral("requests.sqlite")));
    // Providers and rules for the Routes page; the tour's traffic asks for Claude models only.
    Provider openrouter;
    openrouter.name = QStringLiteral("openrouter");
    openrouter.kind = Provider::Kind::OpenAi;
    openrouter.baseUrl = QUrl(QStringLiteral("https://openrouter.ai/api/v1"));
    openrouter.auth = Provider::Auth::Bearer;
    openrouter.keyAliases = {QStringLiteral("or-main")};
    openrouter.keyVariable = QStringLiteral("OPENROUTER_API_KEY");
    Provider euGateway;
    euGateway.name = QStringLiteral("eu-gateway");
    euGateway.baseUrl = QUrl(QStringLiteral("https://llm.eu.example.com/anthropic"));
    euGateway.keyAliases = {QStringLiteral("eu-team")};
    config.providers = {euGateway, openrouter};
    Route gpt;
    gpt.model = QStringLiteral("gpt-*");
    gpt.providers = {QStringLiteral("openrouter")};
    gpt.rewriteModel = QStringLiteral("openai/gpt-5");
    Route longOpus;
    longOpus.model = QStringLiteral("claude-opus-*");
    longOpus.minPromptTokens = 150'000;
    longOpus.thinking = true;
    longOpus.providers = {QStringLiteral("eu-gateway"), QStringLiteral("anthropic")};
    Route acmeRule;
    acmeRule.model = QStringLiteral("claude-*");
    acmeRule.virtualKey = QStringLiteral("acme-ci");
    acmeRule.providers = {QStringLiteral("eu-gateway")};
    config.routes = {gpt, longOpus, acmeRule};

    DesktopApp desktop(config);
    DesktopPages::install(desktop, data.filePath(QStringLiteral("config.json")));
    desktop.start();
    if (!QTest::qWaitFor([&] { return desktop.gateway()->isRunning(); }, 5000))
        return 1;
    MainWindow *window = desktop.mainWindow();
    window->resize(1280, 800);
    sendTraffic(desktop.gateway()->port(), mock);
    QTest::qWait(1500); // the log is written and the pages' coalesced updates land
    // Provider health comes from the gateway once it reports it; set here so the shot shows
    // each state's colour. The test field shows an explanation.
    if (auto *routes = window->findChild<RoutesPage *>()) {
        routes->setProviderHealth(QStringLiteral("anthropic"), QStringLiteral("ok"),
                                  QStringLiteral("2 of 2 keys healthy"));
        routes->setProviderHealth(QStringLiteral("openrouter"), QStringLiteral("limited"),
                                  QStringLiteral("429 from openrouter.ai, retry after 20 s"));
        routes->setProviderHealth(QStringLiteral("eu-gateway"), QStringLiteral("no keys"),
                                  QStringLiteral("the keychain has no key \"eu-team\""));
        routes->testModelEdit()->setText(QStringLiteral("gpt-5"));
    }

    bool ok = true;
    for (const QString &id : window->pageIds()) {
        window->showPage(id);
        QTest::qWait(900);
        ok = save(window->grab(), QStringLiteral("%1/page-%2.png").arg(outDir, id)) && ok;
    }
    window->showPage(window->pageIds().constFirst());

    QMenu *menu = desktop.tray()->menu();
    const QRect tray = desktop.tray()->trayIcon()->geometry();
    menu->popup(tray.isValid() ? tray.bottomLeft() : QPoint(900, 40));
    QTest::qWait(600);
    ok = save(menu->grab(), outDir + QStringLiteral("/tray-menu.png")) && ok;
    ok = save(QGuiApplication::primaryScreen()->grabWindow(0),
              outDir + QStringLiteral("/desktop.png"))
        && ok;
    menu->hide();
    desktop.quit();
    return ok ? 0 : 1;
}
