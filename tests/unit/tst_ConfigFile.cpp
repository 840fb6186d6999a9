// The settings file: every error names its key, and saving merges the changed keys into the
// file as it stands, atomically and privately, or leaves it alone.
#include "TestFiles.h"
#include "config/ConfigFile.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

class tst_ConfigFile final : public QObject
{
    Q_OBJECT

private slots:
    void appliesEveryKey();
    void turnsOnTheBodyLogOnlyWhenAsked();
    void writesVirtualKeysAsItReadsThem();
    void namesTheKeyInEveryError_data();
    void namesTheKeyInEveryError();
    void readsProvidersAndRoutes();
    void refusesAMissingFileOnlyWhenItMustExist();
    void readsAPricesFileOfEitherShape_data();
    void readsAPricesFileOfEitherShape();
    void letsTheConfigPricesWinOverThePricesFile();
    void namesThePricesFileInItsErrors_data();
    void namesThePricesFileInItsErrors();
    void savesIntoAMissingFileAndDirectory();
    void saveKeepsUnchangedAndUnknownKeys();
    void saveRemovesAKeyGivenNull();
    void saveRefusesAnInvalidValueWithoutTouchingTheFile_data();
    void saveRefusesAnInvalidValueWithoutTouchingTheFile();
    void saveRefusesAFileThatIsNotAnObject();
    void saveLeavesNoTemporaryFileBehind();
    void saveKeepsTheFilePrivate();
};

void tst_ConfigFile::appliesEveryKey()
{
    const QByteArray json = R"({
        "listen": "0.0.0.0", "port": 9000, "upstream": "https://example.test/prefix",
        "upstream_ca": "/etc/ca.pem", "passthrough_auth": true, "billing_tag": "team-a",
        "timeouts": {"connect": 2, "first_byte": 30.5, "idle": 40},
        "max_body_mib": 8, "max_batch_body_mib": 64,
        "database": "postgresql://u:secret@db.example/ledger?sslmode=require",
        "retention_days": 30,
        "prices": {"my-model": {"input": "3", "output": "15"}},
        "upstream_keys": ["work", "ci"], "key_strategy": "least-recently-limited",
        "session_affinity": true,
        "limits": {"requests_per_minute": 600, "input_tokens_per_minute": 400000,
                   "output_tokens_per_minute": 80000, "concurrent_streams": 8}
    })";
    GatewayConfig config;
    QString error;
    QVERIFY2(ConfigFile::apply(json, QStringLiteral("test"), &config, &error), qPrintable(error));
    QCOMPARE(config.listenAddress, QHostAddress(QStringLiteral("0.0.0.0")));
    QCOMPARE(config.port, quint16(9000));
    QCOMPARE(config.upstream, QUrl(QStringLiteral("https://example.test/prefix")));
    QCOMPARE(config.upstreamCaFile, QStringLiteral("/etc/ca.pem"));
    QVERIFY(config.passthroughAuth);
    QCOMPARE(config.billingTag, QStringLiteral("team-a"));
    QCOMPARE(config.connectTimeoutMs, 2000);
    QCOMPARE(config.firstByteTimeoutMs, 30500);
    QCOMPARE(config.idleTimeoutMs, 40000);
    QCOMPARE(config.maxBodyBytes, 8LL * 1024 * 1024);
    QCOMPARE(config.maxBatchBodyBytes, 64LL * 1024 * 1024);
    QVERIFY(config.store);
    QCOMPARE(config.store->backend, StoreConfig::Backend::Postgresql);
    QCOMPARE(config.store->password, QStringLiteral("secret"));
    QCOMPARE(config.retentionDays, 30);
    QVERIFY(config.priceOverrides.contains(QStringLiteral("my-model")));
    QCOMPARE(config.keychainKeys, (QStringList {QStringLiteral("work"), QStringLiteral("ci")}));
    QCOMPARE(config.keyStrategy, GatewayConfig::KeyStrategy::LeastRecentlyLimited);
    QVERIFY(config.sessionAffinity);
    QCOMPARE(config.requestsPerMinute, qint64(600));
    QCOMPARE(config.inputTokensPerMinute, qint64(400000));
    QCOMPARE(config.outputTokensPerMinute, qint64(80000));
    QCOMPARE(config.maxConcurrentStreams, 8);
}

void tst_ConfigFile::namesTheKeyInEveryError_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("expected");

    QTest::newRow("unknown key") << QByteArray(R"({"prot": 1})") << QStringLiteral("\"prot\"");
    QTest::newRow("port type") << QByteArray(R"({"port": "8787"})")
                               << QStringLiteral("\"port\" must be a number from 0 to 65535");
    QTest::newRow("port range") << QByteArray(R"({"port": 70000})") << QStringLiteral("\"port\"");
    QTest::newRow("listen") << QByteArray(R"({"listen": "localhost:1"})")
                            << QStringLiteral("\"listen\" must be an IP address");
    QTest::newRow("boolean") << QByteArray(R"({"passthrough_auth": "yes"})")
                             << QStringLiteral("\"passthrough_auth\" must be true or false");
    QTest::newRow("timeout zero") << QByteArray(R"({"timeouts": {"idle": 0}})")
                                  << QStringLiteral("\"timeouts.idle\"");
    QTest::newRow("timeout unknown") << QByteArray(R"({"timeouts": {"read": 5}})")
                                     << QStringLiteral("\"timeouts.read\" is not a known");
    QTest::newRow("timeouts type")
        << QByteArray(R"({"timeouts": 5})") << QStringLiteral("\"timeouts\" must be an object");
    QTest::newRow("database scheme") << QByteArray(R"({"database": "mysql://h/db"})")
                                     << QStringLiteral("\"database\" supports PostgreSQL");
    QTest::newRow("database empty")
        << QByteArray(R"({"database": " "})") << QStringLiteral("\"database\" must be");
    QTest::newRow("database option")
        << QByteArray(R"({"database": "postgresql://h/db?sslmode=always"})")
        << QStringLiteral("\"database\" PostgreSQL connection string: sslmode");
    QTest::newRow("limit unknown") << QByteArray(R"({"limits": {"requests_per_hour": 5}})")
                                   << QStringLiteral("\"limits.requests_per_hour\" is not a known");
    QTest::newRow("limit negative") << QByteArray(R"({"limits": {"requests_per_minute": -1}})")
                                    << QStringLiteral("\"limits.requests_per_minute\"");
    QTest::newRow("key alias") << QByteArray(R"({"upstream_keys": ["bad alias!"]})")
                               << QStringLiteral("\"upstream_keys\"");
    QTest::newRow("key alias twice") << QByteArray(R"({"upstream_keys": ["a", "a"]})")
                                     << QStringLiteral("\"upstream_keys\" names \"a\" twice");
    QTest::newRow("key strategy") << QByteArray(R"({"key_strategy": "random"})")
                                  << QStringLiteral("\"key_strategy\" must be");
    QTest::newRow("retention") << QByteArray(R"({"retention_days": -1})")
                               << QStringLiteral("\"retention_days\"");
    QTest::newRow("price value") << QByteArray(
        R"({"prices": {"m": {"input": "x", "output": "1"}}})")
                                 << QStringLiteral("\"prices\" model \"m\"");
    QTest::newRow("price type") << QByteArray(R"({"prices": []})")
                                << QStringLiteral("\"prices\" must be an object");
    QTest::newRow("prices file relative") << QByteArray(R"({"prices_file": "prices.json"})")
                                          << QStringLiteral("\"prices_file\" must be the absolute");
    QTest::newRow("prices file type") << QByteArray(R"({"prices_file": 3})")
                                      << QStringLiteral("\"prices_file\" must be a string");
    QTest::newRow("cache ttl") << QByteArray(R"({"prompt_cache": {"ttl": "2h"}})")
                               << QStringLiteral("\"prompt_cache.ttl\" must be \"5m\" or \"1h\"");
    QTest::newRow("cache switch") << QByteArray(R"({"prompt_cache": {"inject": "no"}})")
                                  << QStringLiteral("\"prompt_cache.inject\"");
    QTest::newRow("budget unknown") << QByteArray(R"({"budget": {"weekly_usd": 5}})")
                                    << QStringLiteral("\"budget.weekly_usd\" is not a known");
    QTest::newRow("budget negative")
        << QByteArray(R"({"budget": {"daily_usd": -1}})") << QStringLiteral("\"budget.daily_usd\"");
    QTest::newRow("tag budget") << QByteArray(
        R"({"tag_budgets": {"team-a": {"monthly_usd": "lots"}}})")
                                << QStringLiteral("\"tag_budgets.team-a.monthly_usd\"");
    QTest::newRow("virtual key alias")
        << QByteArray(R"({"virtual_keys": {"default": {}}})") << QStringLiteral("\"virtual_keys\"");
    QTest::newRow("virtual key field")
        << QByteArray(R"({"virtual_keys": {"ci": {"modles": ["x"]}}})")
        << QStringLiteral("\"virtual_keys.ci.modles\" is not a known");
    QTest::newRow("virtual key models")
        << QByteArray(R"({"virtual_keys": {"ci": {"models": "x"}}})")
        << QStringLiteral("\"virtual_keys.ci.models\"");
    QTest::newRow("provider kind")
        << QByteArray(R"({"providers": {"or": {"kind": "gemini", "base_url": "https://x.io"}}})")
        << QStringLiteral("\"providers.or.kind\" must be \"anthropic\" or \"openai\"");
    QTest::newRow("provider url") << QByteArray(
        R"({"providers": {"or": {"kind": "openai", "base_url": "ftp://x.io"}}})")
                                  << QStringLiteral("\"providers.or.base_url\" must be an http");
    QTest::newRow("provider name")
        << QByteArray(R"({"providers": {"my vendor": {"kind": "openai"}}})")
        << QStringLiteral("\"providers\" provider \"my vendor\"");
    QTest::newRow("provider anthropic")
        << QByteArray(R"({"providers": {"anthropic": {"kind": "anthropic"}}})")
        << QStringLiteral("\"anthropic\" is the built-in provider");
    QTest::newRow("provider header") << QByteArray(
        R"({"providers": {"or": {"kind": "openai", "base_url": "https://x.io", "headers": {"X-T": "a\r\nb"}}}})")
                                     << QStringLiteral("\"providers.or.headers\"");
    QTest::newRow("provider field") << QByteArray(
        R"({"providers": {"or": {"kind": "openai", "base_url": "https://x.io", "key": "sk-1"}}})")
                                    << QStringLiteral("\"providers.or.key\" is not a known");
    QTest::newRow("route provider")
        << QByteArray(R"({"routes": [{"model": "gpt-*", "provider": "nowhere"}]})")
        << QStringLiteral("\"routes\" route 1 (gpt-*) names the unknown provider \"nowhere\"");
    QTest::newRow("route without provider") << QByteArray(R"({"routes": [{"model": "gpt-*"}]})")
                                            << QStringLiteral("\"routes[0].provider\" is required");
    QTest::newRow("route field") << QByteArray(
        R"({"routes": [{"modle": "x", "provider": "anthropic"}]})")
                                 << QStringLiteral("\"routes[0].modle\" is not a known");
    QTest::newRow("route twice") << QByteArray(
        R"({"routes": [{"provider": "anthropic", "fallback": ["anthropic"]}]})")
                                 << QStringLiteral("names \"anthropic\" twice");
    QTest::newRow("cors origin") << QByteArray(R"({"cors_origins": ["https://a.io/app"]})")
                                 << QStringLiteral("\"cors_origins\" holds \"https://a.io/app\"");
    QTest::newRow("not json") << QByteArray("{") << QStringLiteral("source is not valid JSON");
    QTest::newRow("not an object")
        << QByteArray("[]") << QStringLiteral("source must hold a JSON object");
}

void tst_ConfigFile::namesTheKeyInEveryError()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, expected);
    GatewayConfig config;
    QString error;
    QVERIFY(!ConfigFile::apply(json, QStringLiteral("source"), &config, &error));
    QVERIFY2(error.contains(expected), qPrintable(error));
    QVERIFY2(error.startsWith(QStringLiteral("source")), qPrintable(error));
}

void tst_ConfigFile::writesVirtualKeysAsItReadsThem()
{
    VirtualKey key;
    key.alias = QStringLiteral("ci");
    key.secret = "tg-never-written-0123456789abcdef";
    key.billingTag = QStringLiteral("builds");
    key.models = {QStringLiteral("claude-haiku-*"), QStringLiteral("claude-sonnet-?-5")};
    key.limits.requestsPerMinute = 60;
    key.limits.inputTokensPerMinute = 200'000;
    key.limits.outputTokensPerMinute = 8'000;
    key.limits.maxConcurrentStreams = 4;
    key.budget.dailyPicoUsd = 1'250'000'000'000; // $1.25
    key.budget.monthlyPicoUsd = 100'000'000'000'000; // $100
    key.isEnabled = false;
    key.injectsCache = false;
    const QJsonObject written = ConfigFile::virtualKeysJson({key});
    const QByteArray json =
        QJsonDocument(QJsonObject {{QStringLiteral("virtual_keys"), written}}).toJson();
    QVERIFY(!json.contains(key.secret));
    GatewayConfig config;
    QString error;
    QVERIFY2(ConfigFile::apply(json, QStringLiteral("source"), &config, &error), qPrintable(error));
    QCOMPARE(config.namedVirtualKeys.size(), 1);
    const VirtualKey &read = config.namedVirtualKeys.first();
    QCOMPARE(read.alias, key.alias);
    QVERIFY(read.secret.isEmpty());
    QCOMPARE(read.billingTag, key.billingTag);
    QCOMPARE(read.models, key.models);
    QCOMPARE(read.limits.requestsPerMinute, 60);
    QCOMPARE(read.limits.inputTokensPerMinute, 200'000);
    QCOMPARE(read.limits.outputTokensPerMinute, 8'000);
    QCOMPARE(read.limits.maxConcurrentStreams, 4);
    QCOMPARE(read.budget.dailyPicoUsd, key.budget.dailyPicoUsd);
    QCOMPARE(read.budget.monthlyPicoUsd, key.budget.monthlyPicoUsd);
    QCOMPARE(read.isEnabled, false);
    QCOMPARE(read.injectsCache, false);
}

void tst_ConfigFile::readsProvidersAndRoutes()
{
    const QByteArray json = R"({
        "providers": {"openrouter": {"kind": "openai", "base_url": "https://openrouter.ai/api/v1",
                                     "keys": ["or-main"], "key_env": "OPENROUTER_API_KEY",
                                     "headers": {"X-Title": "Tollgate"},
                                     "timeouts": {"first_byte": 90},
                                     "prices": {"openai/gpt-5": {"input": "1.25", "output": "10"}}},
                      "local": {"kind": "anthropic", "base_url": "http://127.0.0.1:9000",
                                "auth": "bearer"}},
        "routes": [{"model": "gpt-*", "provider": "openrouter", "fallback": ["anthropic"],
                    "rewrite_model": "openai/gpt-5"},
                   {"model": "claude-*", "provider": "local", "virtual_key": "ci",
                    "thinking": true, "min_prompt_tokens": 100000}],
        "cors_origins": ["https://app.example.com", "http://localhost:3000"]
    })";
    GatewayConfig config;
    QString error;
    QVERIFY2(ConfigFile::apply(json, QStringLiteral("source"), &config, &error), qPrintable(error));
    QCOMPARE(config.providers.size(), 2);
    const Provider &openRouter = config.providers.at(0).name == QLatin1String("openrouter")
        ? config.providers.at(0)
        : config.providers.at(1);
    const Provider &local =
        &openRouter == &config.providers.at(0) ? config.providers.at(1) : config.providers.at(0);
    QCOMPARE(openRouter.kind, Provider::Kind::OpenAi);
    QCOMPARE(openRouter.auth, Provider::Auth::Bearer); // openai's default
    QCOMPARE(openRouter.baseUrl, QUrl(QStringLiteral("https://openrouter.ai/api/v1")));
    QCOMPARE(openRouter.keyAliases, QStringList {QStringLiteral("or-main")});
    QCOMPARE(openRouter.keyVariable, QStringLiteral("OPENROUTER_API_KEY"));
    QCOMPARE(openRouter.headers.size(), 1);
    QCOMPARE(openRouter.headers.first().first, QByteArray("X-Title"));
    QCOMPARE(openRouter.firstByteTimeoutMs, 90'000);
    QCOMPARE(openRouter.connectTimeoutMs, 0); // the gateway's own
    QVERIFY(openRouter.prices.contains(QStringLiteral("openai/gpt-5")));
    QCOMPARE(local.kind, Provider::Kind::Anthropic);
    QCOMPARE(local.auth, Provider::Auth::Bearer);

    QCOMPARE(config.routes.size(), 2);
    QCOMPARE(config.routes.at(0).providers,
             (QStringList {QStringLiteral("openrouter"), QStringLiteral("anthropic")}));
    QCOMPARE(config.routes.at(0).rewriteModel, QStringLiteral("openai/gpt-5"));
    QVERIFY(!config.routes.at(0).thinking.has_value());
    QCOMPARE(config.routes.at(1).virtualKey, QStringLiteral("ci"));
    QCOMPARE(config.routes.at(1).thinking, std::optional<bool>(true));
    QCOMPARE(config.routes.at(1).minPromptTokens, 100000);
    QCOMPARE(config.corsOrigins,
             (QStringList {QStringLiteral("https://app.example.com"),
                           QStringLiteral("http://localhost:3000")}));
}

void tst_ConfigFile::refusesAMissingFileOnlyWhenItMustExist()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("missing.json"));
    GatewayConfig config;
    QString error;
    QVERIFY(ConfigFile::load(path, false, &config, &error));
    QCOMPARE(config.port, GatewayConfig().port);
    QVERIFY(!ConfigFile::load(path, true, &config, &error));
    QVERIFY(error.contains(path));
}

void tst_ConfigFile::readsAPricesFileOfEitherShape_data()
{
    QTest::addColumn<QByteArray>("fileContents");
    QTest::newRow("model entries")
        << QByteArray(R"({"team-model": {"input": "2", "output": "8"}})");
    QTest::newRow("prices.json copy")
        << QByteArray(R"({"format": 1, "models": {"team-model": {"input": "2", "output": "8"}}})");
}

void tst_ConfigFile::readsAPricesFileOfEitherShape()
{
    QFETCH(QByteArray, fileContents);
    QTemporaryDir dir;
    const QString pricesPath = dir.filePath(QStringLiteral("prices.json"));
    writeAll(pricesPath, fileContents);
    const QString configPath = dir.filePath(QStringLiteral("config.json"));
    writeAll(configPath,
             QJsonDocument(QJsonObject {{QStringLiteral("prices_file"), pricesPath}}).toJson());
    GatewayConfig config;
    QString error;
    QVERIFY2(ConfigFile::load(configPath, true, &config, &error), qPrintable(error));
    const QJsonObject entry = config.priceOverrides.value(QStringLiteral("team-model")).toObject();
    QCOMPARE(entry.value(QStringLiteral("input")).toString(), QStringLiteral("2"));
    QCOMPARE(entry.value(QStringLiteral("output")).toString(), QStringLiteral("8"));
}

void tst_ConfigFile::letsTheConfigPricesWinOverThePricesFile()
{
    QTemporaryDir dir;
    const QString pricesPath = dir.filePath(QStringLiteral("prices.json"));
    writeAll(
        pricesPath,
        R"({"team-model": {"input": "2", "output": "8"}, "other": {"input": "1", "output": "2"}})");
    QJsonObject settings {
        {QStringLiteral("prices_file"), pricesPath},
        {QStringLiteral("prices"),
         QJsonObject {{QStringLiteral("team-model"),
                       QJsonObject {{QStringLiteral("output"), QStringLiteral("9")}}}}}};
    GatewayConfig config;
    QString error;
    QVERIFY2(ConfigFile::apply(QJsonDocument(settings).toJson(), QStringLiteral("test"), &config,
                               &error),
             qPrintable(error));
    const QJsonObject entry = config.priceOverrides.value(QStringLiteral("team-model")).toObject();
    QCOMPARE(entry.value(QStringLiteral("input")).toString(), QStringLiteral("2"));
    QCOMPARE(entry.value(QStringLiteral("output")).toString(), QStringLiteral("9"));
    QVERIFY(config.priceOverrides.contains(QStringLiteral("other")));
}

void tst_ConfigFile::namesThePricesFileInItsErrors_data()
{
    QTest::addColumn<QByteArray>("fileContents");
    QTest::addColumn<QString>("expected");
    QTest::newRow("bad price") << QByteArray(R"({"m": {"input": "-1", "output": "1"}})")
                               << QStringLiteral("model \"m\"");
    QTest::newRow("not json") << QByteArray("{") << QStringLiteral("not valid JSON");
    QTest::newRow("models not an object")
        << QByteArray(R"({"models": []})") << QStringLiteral("\"models\" must be an object");
}

void tst_ConfigFile::namesThePricesFileInItsErrors()
{
    QFETCH(QByteArray, fileContents);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString pricesPath = dir.filePath(QStringLiteral("prices.json"));
    writeAll(pricesPath, fileContents);
    GatewayConfig config;
    QString error;
    QVERIFY(!ConfigFile::apply(
        QJsonDocument(QJsonObject {{QStringLiteral("prices_file"), pricesPath}}).toJson(),
        QStringLiteral("test"), &config, &error));
    QVERIFY2(error.contains(QStringLiteral("\"prices_file\"")), qPrintable(error));
    QVERIFY2(error.contains(expected), qPrintable(error));

    QVERIFY(!ConfigFile::apply(QJsonDocument(QJsonObject {{QStringLiteral("prices_file"),
                                                           dir.filePath(QStringLiteral("no"))}})
                                   .toJson(),
                               QStringLiteral("test"), &config, &error));
    QVERIFY2(error.contains(QStringLiteral("\"prices_file\" cannot read")), qPrintable(error));
}

void tst_ConfigFile::savesIntoAMissingFileAndDirectory()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("a/b/config.json"));
    QString error;
    QVERIFY2(ConfigFile::save(path, {{QStringLiteral("port"), 9100}}, &error), qPrintable(error));
    GatewayConfig config;
    QVERIFY2(ConfigFile::load(path, true, &config, &error), qPrintable(error));
    QCOMPARE(config.port, quint16(9100));
}

void tst_ConfigFile::saveKeepsUnchangedAndUnknownKeys()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("config.json"));
    const QJsonObject prices {{QStringLiteral("my-model"),
                               QJsonObject {{QStringLiteral("input"), QStringLiteral("3")},
                                            {QStringLiteral("output"), QStringLiteral("15")}}}};
    const QJsonObject future {{QStringLiteral("enabled"), true},
                              {QStringLiteral("list"), QJsonArray {1, 2}}};
    writeAll(path,
             QJsonDocument(QJsonObject {{QStringLiteral("port"), 8787},
                                        {QStringLiteral("billing_tag"), QStringLiteral("team-a")},
                                        {QStringLiteral("prices"), prices},
                                        {QStringLiteral("a_newer_setting"), future}})
                 .toJson());
    QString error;
    QVERIFY2(ConfigFile::save(path,
                              {{QStringLiteral("port"), 9000},
                               {QStringLiteral("listen"), QStringLiteral("127.0.0.2")}},
                              &error),
             qPrintable(error));
    const QJsonObject saved = objectOfFile(path);
    QCOMPARE(saved.value(QStringLiteral("port")).toInt(), 9000);
    QCOMPARE(saved.value(QStringLiteral("listen")).toString(), QStringLiteral("127.0.0.2"));
    QCOMPARE(saved.value(QStringLiteral("billing_tag")).toString(), QStringLiteral("team-a"));
    QCOMPARE(saved.value(QStringLiteral("prices")).toObject(), prices);
    QCOMPARE(saved.value(QStringLiteral("a_newer_setting")).toObject(), future);
    QCOMPARE(saved.size(), 5);
}

void tst_ConfigFile::saveRemovesAKeyGivenNull()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("config.json"));
    writeAll(path, R"({"billing_tag": "team-a", "port": 1})");
    QString error;
    QVERIFY2(ConfigFile::save(path, {{QStringLiteral("billing_tag"), QJsonValue::Null}}, &error),
             qPrintable(error));
    QCOMPARE(objectOfFile(path), (QJsonObject {{QStringLiteral("port"), 1}}));
}

void tst_ConfigFile::saveRefusesAnInvalidValueWithoutTouchingTheFile_data()
{
    QTest::addColumn<QString>("key");
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<QString>("expected");
    QTest::newRow("port") << QStringLiteral("port") << QJsonValue(70000)
                          << QStringLiteral("\"port\"");
    QTest::newRow("listen") << QStringLiteral("listen") << QJsonValue(QStringLiteral("here"))
                            << QStringLiteral("\"listen\"");
    QTest::newRow("database") << QStringLiteral("database")
                              << QJsonValue(QStringLiteral("postgresql://h:99999/db"))
                              << QStringLiteral("\"database\"");
    QTest::newRow("unknown") << QStringLiteral("prot") << QJsonValue(1)
                             << QStringLiteral("\"prot\" is not a known setting");
    QTest::newRow("prices") << QStringLiteral("prices")
                            << QJsonValue(QJsonObject {{QStringLiteral("m"), 1}})
                            << QStringLiteral("\"prices\"");
}

void tst_ConfigFile::saveRefusesAnInvalidValueWithoutTouchingTheFile()
{
    QFETCH(QString, key);
    QFETCH(QJsonValue, value);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("config.json"));
    const QByteArray before = "{\n  \"port\": 8787, \"billing_tag\": \"x\"\n}\n";
    writeAll(path, before);
    QString error;
    QVERIFY(!ConfigFile::save(path, {{key, value}}, &error));
    QVERIFY2(error.contains(expected), qPrintable(error));
    QCOMPARE(readAll(path), before);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
             QStringList {QStringLiteral("config.json")});
}

void tst_ConfigFile::saveRefusesAFileThatIsNotAnObject()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("config.json"));
    const QByteArray before = "{\"port\": 8787,";
    writeAll(path, before);
    QString error;
    QVERIFY(!ConfigFile::save(path, {{QStringLiteral("port"), 9000}}, &error));
    QVERIFY2(error.contains(QStringLiteral("not valid JSON")), qPrintable(error));
    QCOMPARE(readAll(path), before);
}

void tst_ConfigFile::saveLeavesNoTemporaryFileBehind()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("config.json"));
    writeAll(path, R"({"port": 8787})");
    QString error;
    for (int port = 9000; port < 9005; ++port)
        QVERIFY2(ConfigFile::save(path, {{QStringLiteral("port"), port}}, &error),
                 qPrintable(error));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
             QStringList {QStringLiteral("config.json")});
    QCOMPARE(objectOfFile(path).value(QStringLiteral("port")).toInt(), 9004);

    // A directory in the file's place cannot be replaced: the save fails and leaves it.
    const QString blocked = dir.filePath(QStringLiteral("blocked.json"));
    QVERIFY(QDir().mkpath(blocked));
    QVERIFY(!ConfigFile::save(blocked, {{QStringLiteral("port"), 1}}, &error));
    QVERIFY(QFileInfo(blocked).isDir());
}

void tst_ConfigFile::saveKeepsTheFilePrivate()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("config.json"));
    writeAll(path, R"({"port": 8787})");
    QVERIFY(QFile::setPermissions(path,
                                  QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                      | QFileDevice::ReadGroup | QFileDevice::ReadOther));
    QString error;
    QVERIFY2(ConfigFile::save(path,
                              {{QStringLiteral("database"),
                                QStringLiteral("postgresql://u:secret@localhost/ledger")}},
                              &error),
             qPrintable(error));
    QCOMPARE(QFile::permissions(path) & ~(QFileDevice::ReadUser | QFileDevice::WriteUser),
             QFileDevice::ReadOwner | QFileDevice::WriteOwner);
}

void tst_ConfigFile::turnsOnTheBodyLogOnlyWhenAsked()
{
    GatewayConfig config;
    QString error;
    QVERIFY(ConfigFile::apply("{}", QStringLiteral("test"), &config, &error));
    QCOMPARE(config.bodyLogCapBytes, 0);
    QVERIFY2(ConfigFile::apply("{\"body_log_kib\": 64}", QStringLiteral("test"), &config, &error),
             qPrintable(error));
    QCOMPARE(config.bodyLogCapBytes, 64 * 1024);
    QVERIFY(!ConfigFile::apply("{\"body_log_kib\": -1}", QStringLiteral("test"), &config, &error));
    QVERIFY(error.contains(QLatin1String("\"body_log_kib\"")));
}

QTEST_GUILESS_MAIN(tst_ConfigFile)
#include "tst_ConfigFile.moc"
