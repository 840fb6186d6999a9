#include "usage/PriceTable.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <limits>

using namespace tollgate;

namespace {

// Token counts in the order Anthropic's usage object lists them.
Usage usageOf(qint64 input, qint64 output, qint64 write5m = 0, qint64 write1h = 0, qint64 read = 0,
              qint64 searches = 0)
{
    Usage usage;
    usage.inputTokens = input;
    usage.outputTokens = output;
    usage.cacheWrite5mTokens = write5m;
    usage.cacheWrite1hTokens = write1h;
    usage.cacheReadTokens = read;
    usage.webSearchRequests = searches;
    usage.hasUsage = true;
    return usage;
}

// The request Claude Code reports as $0.005735 on Opus 4.8.
Usage claudeCodeUsage()
{
    return usageOf(12, 7, 0, 300, 5000);
}

QJsonObject objectOf(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

// $/MTok as pico-USD per token.
constexpr qint64 perMTok(double usd)
{
    return static_cast<qint64>(usd * 1'000'000 + 0.5);
}

} // namespace

class tst_PriceTable final : public QObject
{
    Q_OBJECT

private slots:
    void matchesClaudeCodeCostForOpus48();
    void pricesEachComponent_data();
    void pricesEachComponent();
    void halvesBatchPrices_data();
    void halvesBatchPrices();
    void usesFastModeRates_data();
    void usesFastModeRates();
    void addsDataResidencyPremium_data();
    void addsDataResidencyPremium();
    void combinesModifiers_data();
    void combinesModifiers();
    void computesCostWithoutCache_data();
    void computesCostWithoutCache();
    void roundsHalfUpWhenNotExact_data();
    void roundsHalfUpWhenNotExact();
    void resolvesAliasesAndDatedIds_data();
    void resolvesAliasesAndDatedIds();
    void leavesUnknownModelUnpriced_data();
    void leavesUnknownModelUnpriced();
    void leavesUnpriceableUsageUnpriced_data();
    void leavesUnpriceableUsageUnpriced();
    void appliesOverrides_data();
    void appliesOverrides();
    void marksOverriddenPricesAsConfig();
    void addsAliasThroughOverride();
    void rejectsBadOverrides_data();
    void rejectsBadOverrides();
    void formatsUsdExactly_data();
    void formatsUsdExactly();
    void parsesDecimalsExactly_data();
    void parsesDecimalsExactly();
    void shipsProtocolPrices_data();
    void shipsProtocolPrices();
    void shipsEveryModelWithAllFields();
    void refusesIncompletePriceList_data();
    void refusesIncompletePriceList();
};

void tst_PriceTable::matchesClaudeCodeCostForOpus48()
{
    const PriceTable::Cost cost =
        PriceTable::builtIn().cost(QStringLiteral("claude-opus-4-8"), claudeCodeUsage(), false);
    QCOMPARE(cost.picoUsd, std::optional<qint64>(5'735'000'000));
    QCOMPARE(PriceTable::formatUsd(*cost.picoUsd), QStringLiteral("0.005735"));
}

void tst_PriceTable::pricesEachComponent_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<Usage>("usage");
    QTest::addColumn<qint64>("expected");
    const QString opus = QStringLiteral("claude-opus-4-8");
    // Opus 4.8: $5 input, $25 output, $6.25 5m write, $10 1h write, $0.50 read per MTok.
    QTest::newRow("input") << opus << usageOf(1000, 0) << qint64(5'000'000'000);
    QTest::newRow("output") << opus << usageOf(0, 1000) << qint64(25'000'000'000);
    QTest::newRow("5m write") << opus << usageOf(0, 0, 1000) << qint64(6'250'000'000);
    QTest::newRow("1h write") << opus << usageOf(0, 0, 0, 1000) << qint64(10'000'000'000);
    // 2,000 writes at one TTL would be $0.0125 or $0.02; the split prices each part.
    QTest::newRow("5m and 1h split") << opus << usageOf(0, 0, 1000, 1000) << qint64(16'250'000'000);
    QTest::newRow("cache read") << opus << usageOf(0, 0, 0, 0, 1000) << qint64(500'000'000);
    // $10 per 1,000 searches.
    QTest::newRow("web search") << opus << usageOf(0, 0, 0, 0, 0, 3) << qint64(30'000'000'000);
    QTest::newRow("nothing") << opus << usageOf(0, 0) << qint64(0);
    // Haiku 3's cache prices are listed ones ($0.30, $0.50, $0.03), not 1.25x/2x/0.1x of $0.25.
    const QString haiku3 = QStringLiteral("claude-3-haiku-20240307");
    QTest::newRow("haiku 3 5m write")
        << haiku3 << usageOf(0, 0, 1'000'000) << qint64(300'000'000'000);
    QTest::newRow("haiku 3 1h write")
        << haiku3 << usageOf(0, 0, 0, 1'000'000) << qint64(500'000'000'000);
    QTest::newRow("haiku 3 read") << haiku3 << usageOf(0, 0, 0, 0, 1'000'000)
                                  << qint64(30'000'000'000);
    QTest::newRow("haiku 3.5 input") << QStringLiteral("claude-3-5-haiku-20241022")
                                     << usageOf(1'000'000, 0) << qint64(800'000'000'000);
    QTest::newRow("sonnet 5 mixed")
        << QStringLiteral("claude-sonnet-5") << usageOf(100, 10, 10, 10, 100)
        << qint64(100 * 2'000'000 + 10 * 10'000'000 + 10 * 2'500'000 + 10 * 4'000'000
                  + 100 * 200'000);
}

void tst_PriceTable::pricesEachComponent()
{
    QFETCH(QString, model);
    QFETCH(Usage, usage);
    QFETCH(qint64, expected);
    const PriceTable::Cost cost = PriceTable::builtIn().cost(model, usage, false);
    QCOMPARE(cost.picoUsd, std::optional<qint64>(expected));
}

void tst_PriceTable::halvesBatchPrices_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<Usage>("usage");
    QTest::addColumn<bool>("isBatch");
    QTest::addColumn<qint64>("expected");
    const QString opus = QStringLiteral("claude-opus-4-8");
    QTest::newRow("batch halves every token price")
        << opus << claudeCodeUsage() << true << qint64(2'867'500'000);
    Usage tier = claudeCodeUsage();
    tier.serviceTier = QStringLiteral("batch");
    QTest::newRow("service tier batch") << opus << tier << false << qint64(2'867'500'000);
    // Batch: $2.50/$12.50 for Opus 4.8.
    QTest::newRow("batch input") << opus << usageOf(1'000'000, 0) << true
                                 << qint64(2'500'000'000'000);
    QTest::newRow("batch output") << opus << usageOf(0, 1'000'000) << true
                                  << qint64(12'500'000'000'000);
    // The discount is on tokens; each search still costs $0.01.
    QTest::newRow("search not halved")
        << opus << usageOf(1000, 0, 0, 0, 0, 1) << true << qint64(2'500'000'000 + 10'000'000'000);
    QTest::newRow("haiku 3 batch")
        << QStringLiteral("claude-3-haiku-20240307") << usageOf(1'000'000, 1'000'000) << true
        << qint64(125'000'000'000 + 625'000'000'000);
}

void tst_PriceTable::halvesBatchPrices()
{
    QFETCH(QString, model);
    QFETCH(Usage, usage);
    QFETCH(bool, isBatch);
    QFETCH(qint64, expected);
    QCOMPARE(PriceTable::builtIn().cost(model, usage, isBatch).picoUsd,
             std::optional<qint64>(expected));
}

void tst_PriceTable::usesFastModeRates_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("speed");
    QTest::addColumn<qint64>("expected");
    // 1,000 tokens of each kind. Fast: $10 + $50 + $12.50 + $20 + $1 per MTok; standard:
    // $5 + $25 + $6.25 + $10 + $0.50.
    QTest::newRow("opus 4.8 fast")
        << QStringLiteral("claude-opus-4-8") << QStringLiteral("fast") << qint64(93'500'000'000);
    QTest::newRow("opus 5 fast") << QStringLiteral("claude-opus-5") << QStringLiteral("fast")
                                 << qint64(93'500'000'000);
    QTest::newRow("opus 4.8 standard") << QStringLiteral("claude-opus-4-8")
                                       << QStringLiteral("standard") << qint64(46'750'000'000);
    // Opus 4.6 runs fast requests at standard speed and standard rates.
    QTest::newRow("opus 4.6 fast")
        << QStringLiteral("claude-opus-4-6") << QStringLiteral("fast") << qint64(46'750'000'000);
}

void tst_PriceTable::usesFastModeRates()
{
    QFETCH(QString, model);
    QFETCH(QString, speed);
    QFETCH(qint64, expected);
    Usage usage = usageOf(1000, 1000, 1000, 1000, 1000);
    usage.speed = speed;
    QCOMPARE(PriceTable::builtIn().cost(model, usage, false).picoUsd,
             std::optional<qint64>(expected));
}

void tst_PriceTable::addsDataResidencyPremium_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("geo");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("opus 4.8 us") << QStringLiteral("claude-opus-4-8") << QStringLiteral("us")
                                 << qint64(6'308'500'000);
    QTest::newRow("opus 4.8 US") << QStringLiteral("claude-opus-4-8") << QStringLiteral("US")
                                 << qint64(6'308'500'000);
    QTest::newRow("opus 4.8 global")
        << QStringLiteral("claude-opus-4-8") << QStringLiteral("global") << qint64(5'735'000'000);
    QTest::newRow("opus 4.8 unreported")
        << QStringLiteral("claude-opus-4-8") << QString() << qint64(5'735'000'000);
    QTest::newRow("opus 4.6 us") << QStringLiteral("claude-opus-4-6") << QStringLiteral("us")
                                 << qint64(6'308'500'000);
    // Models before 4.6 have no premium: same prices as Opus 4.8, no 1.1x.
    QTest::newRow("opus 4.5 us") << QStringLiteral("claude-opus-4-5") << QStringLiteral("us")
                                 << qint64(5'735'000'000);
    // Sonnet 4.6: 12 x $3 + 7 x $15 + 300 x $6 + 5000 x $0.30 per MTok, then 1.1x.
    QTest::newRow("sonnet 4.6 us") << QStringLiteral("claude-sonnet-4-6") << QStringLiteral("us")
                                   << qint64(36 + 105 + 1800 + 1500) * 1'100'000;
    QTest::newRow("haiku 4.5 us") << QStringLiteral("claude-haiku-4-5") << QStringLiteral("us")
                                  << qint64(12 + 35 + 600 + 500) * 1'000'000;
}

void tst_PriceTable::addsDataResidencyPremium()
{
    QFETCH(QString, model);
    QFETCH(QString, geo);
    QFETCH(qint64, expected);
    Usage usage = claudeCodeUsage();
    usage.inferenceGeo = geo;
    QCOMPARE(PriceTable::builtIn().cost(model, usage, false).picoUsd,
             std::optional<qint64>(expected));
}

void tst_PriceTable::combinesModifiers_data()
{
    QTest::addColumn<QString>("speed");
    QTest::addColumn<QString>("geo");
    QTest::addColumn<bool>("isBatch");
    QTest::addColumn<qint64>("searches");
    QTest::addColumn<qint64>("expected");
    // Claude Code's Opus 4.8 request: $0.005735 standard, $0.01147 at fast rates.
    QTest::newRow("batch and us") << QString() << QStringLiteral("us") << true << qint64(0)
                                  << qint64(3'154'250'000);
    QTest::newRow("fast and us") << QStringLiteral("fast") << QStringLiteral("us") << false
                                 << qint64(0) << qint64(12'617'000'000);
    QTest::newRow("fast, us and search") << QStringLiteral("fast") << QStringLiteral("us") << false
                                         << qint64(2) << qint64(12'617'000'000 + 20'000'000'000);
    QTest::newRow("batch, us and search") << QString() << QStringLiteral("us") << true << qint64(1)
                                          << qint64(3'154'250'000 + 10'000'000'000);
    QTest::newRow("all three") << QStringLiteral("fast") << QStringLiteral("us") << true
                               << qint64(0) << qint64(6'308'500'000);
}

void tst_PriceTable::combinesModifiers()
{
    QFETCH(QString, speed);
    QFETCH(QString, geo);
    QFETCH(bool, isBatch);
    QFETCH(qint64, searches);
    QFETCH(qint64, expected);
    Usage usage = claudeCodeUsage();
    usage.speed = speed;
    usage.inferenceGeo = geo;
    usage.webSearchRequests = searches;
    QCOMPARE(PriceTable::builtIn().cost(QStringLiteral("claude-opus-4-8"), usage, isBatch).picoUsd,
             std::optional<qint64>(expected));
}

void tst_PriceTable::computesCostWithoutCache_data()
{
    QTest::addColumn<QString>("speed");
    QTest::addColumn<QString>("geo");
    QTest::addColumn<bool>("isBatch");
    QTest::addColumn<qint64>("searches");
    QTest::addColumn<qint64>("expected");
    // 12 + 300 + 5000 = 5312 input tokens at $5/MTok, 7 output tokens at $25/MTok.
    QTest::newRow("standard") << QString() << QString() << false << qint64(0)
                              << qint64(26'735'000'000);
    QTest::newRow("batch") << QString() << QString() << true << qint64(0) << qint64(13'367'500'000);
    QTest::newRow("us") << QString() << QStringLiteral("us") << false << qint64(0)
                        << qint64(29'408'500'000);
    QTest::newRow("fast") << QStringLiteral("fast") << QString() << false << qint64(0)
                          << qint64(53'470'000'000);
    QTest::newRow("search") << QString() << QString() << false << qint64(1)
                            << qint64(36'735'000'000);
}

void tst_PriceTable::computesCostWithoutCache()
{
    QFETCH(QString, speed);
    QFETCH(QString, geo);
    QFETCH(bool, isBatch);
    QFETCH(qint64, searches);
    QFETCH(qint64, expected);
    Usage usage = claudeCodeUsage();
    usage.speed = speed;
    usage.inferenceGeo = geo;
    usage.webSearchRequests = searches;
    const PriceTable::Cost cost =
        PriceTable::builtIn().cost(QStringLiteral("claude-opus-4-8"), usage, isBatch);
    QCOMPARE(cost.withoutCachePicoUsd, std::optional<qint64>(expected));
    QVERIFY(*cost.picoUsd < *cost.withoutCachePicoUsd);
}

void tst_PriceTable::roundsHalfUpWhenNotExact_data()
{
    QTest::addColumn<Usage>("usage");
    QTest::addColumn<QString>("geo");
    QTest::addColumn<bool>("isBatch");
    QTest::addColumn<qint64>("expected");
    // One pico-USD per token: a half rounds up, less than a half rounds down.
    QTest::newRow("1 token, batch") << usageOf(1, 0) << QString() << true << qint64(1);
    QTest::newRow("3 tokens, batch") << usageOf(3, 0) << QString() << true << qint64(2);
    QTest::newRow("1 token, us and batch")
        << usageOf(1, 0) << QStringLiteral("us") << true << qint64(1);
    QTest::newRow("4 tokens, us") << usageOf(4, 0) << QStringLiteral("us") << false << qint64(4);
    QTest::newRow("5 tokens, us") << usageOf(5, 0) << QStringLiteral("us") << false << qint64(6);
}

void tst_PriceTable::roundsHalfUpWhenNotExact()
{
    QFETCH(Usage, usage);
    QFETCH(QString, geo);
    QFETCH(bool, isBatch);
    QFETCH(qint64, expected);
    PriceTable table;
    QString error;
    const QByteArray overrides = R"({"tiny": {"input": "0.000001", "output": "0.000001",
                                              "data_residency_premium": true}})";
    QVERIFY2(table.applyOverrides(objectOf(overrides), &error), qPrintable(error));
    usage.inferenceGeo = geo;
    QCOMPARE(table.cost(QStringLiteral("tiny"), usage, isBatch).picoUsd,
             std::optional<qint64>(expected));
}

void tst_PriceTable::resolvesAliasesAndDatedIds_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("id");
    QTest::newRow("4.6+ id") << QStringLiteral("claude-opus-4-8")
                             << QStringLiteral("claude-opus-4-8");
    QTest::newRow("opus 4.5 alias")
        << QStringLiteral("claude-opus-4-5") << QStringLiteral("claude-opus-4-5-20251101");
    QTest::newRow("opus 4.5 dated")
        << QStringLiteral("claude-opus-4-5-20251101") << QStringLiteral("claude-opus-4-5-20251101");
    QTest::newRow("sonnet 4.5 alias")
        << QStringLiteral("claude-sonnet-4-5") << QStringLiteral("claude-sonnet-4-5-20250929");
    QTest::newRow("haiku 4.5 alias")
        << QStringLiteral("claude-haiku-4-5") << QStringLiteral("claude-haiku-4-5-20251001");
    QTest::newRow("opus 4.1 alias")
        << QStringLiteral("claude-opus-4-1") << QStringLiteral("claude-opus-4-1-20250805");
    QTest::newRow("opus 4 alias") << QStringLiteral("claude-opus-4-0")
                                  << QStringLiteral("claude-opus-4-20250514");
    QTest::newRow("sonnet 4 alias")
        << QStringLiteral("claude-sonnet-4-0") << QStringLiteral("claude-sonnet-4-20250514");
    QTest::newRow("sonnet 3.7 alias") << QStringLiteral("claude-3-7-sonnet-latest")
                                      << QStringLiteral("claude-3-7-sonnet-20250219");
    QTest::newRow("haiku 3.5 alias")
        << QStringLiteral("claude-3-5-haiku-latest") << QStringLiteral("claude-3-5-haiku-20241022");
    QTest::newRow("1m suffix") << QStringLiteral("claude-opus-4-8[1m]")
                               << QStringLiteral("claude-opus-4-8");
    QTest::newRow("1m suffix on alias")
        << QStringLiteral("claude-sonnet-4-5[1m]") << QStringLiteral("claude-sonnet-4-5-20250929");
    QTest::newRow("other case") << QStringLiteral("Claude-Opus-4-8")
                                << QStringLiteral("claude-opus-4-8");
    QTest::newRow("mythos 5") << QStringLiteral("claude-mythos-5")
                              << QStringLiteral("claude-mythos-5");
}

void tst_PriceTable::resolvesAliasesAndDatedIds()
{
    QFETCH(QString, name);
    QFETCH(QString, id);
    const std::optional<ModelPrice> price = PriceTable::builtIn().find(name);
    QVERIFY(price);
    QCOMPARE(price->id, id);
    QCOMPARE(PriceTable::builtIn().cost(name, claudeCodeUsage(), false),
             PriceTable::builtIn().cost(id, claudeCodeUsage(), false));
}

void tst_PriceTable::leavesUnknownModelUnpriced_data()
{
    QTest::addColumn<QString>("model");
    QTest::newRow("other vendor") << QStringLiteral("gpt-4o");
    QTest::newRow("empty") << QString();
    QTest::newRow("unreleased") << QStringLiteral("claude-opus-4-9");
    QTest::newRow("unknown snapshot") << QStringLiteral("claude-opus-4-8-20990101");
    QTest::newRow("suffix only") << QStringLiteral("[1m]");
    QTest::newRow("prefix of an id") << QStringLiteral("claude-opus");
}

void tst_PriceTable::leavesUnknownModelUnpriced()
{
    QFETCH(QString, model);
    const PriceTable prices = PriceTable::builtIn();
    QVERIFY(!prices.find(model));
    for (const Usage &usage : {claudeCodeUsage(), usageOf(0, 0)}) {
        const PriceTable::Cost cost = prices.cost(model, usage, false);
        QVERIFY(!cost.picoUsd.has_value());
        QVERIFY(!cost.withoutCachePicoUsd.has_value());
    }
}

void tst_PriceTable::leavesUnpriceableUsageUnpriced_data()
{
    QTest::addColumn<Usage>("usage");
    const qint64 huge = std::numeric_limits<qint64>::max() / 2;
    QTest::newRow("input beyond int64") << usageOf(huge, 0);
    QTest::newRow("sum beyond int64") << usageOf(900'000'000'000, 0, 0, 900'000'000'000);
    QTest::newRow("all input beyond int64") << usageOf(huge, 0, huge, huge, huge);
    QTest::newRow("searches beyond int64") << usageOf(0, 0, 0, 0, 0, huge);
    QTest::newRow("negative count") << usageOf(-1, 10);
}

void tst_PriceTable::leavesUnpriceableUsageUnpriced()
{
    QFETCH(Usage, usage);
    const PriceTable::Cost cost =
        PriceTable::builtIn().cost(QStringLiteral("claude-opus-4-8"), usage, false);
    QVERIFY(!cost.picoUsd.has_value());
    QVERIFY(!cost.withoutCachePicoUsd.has_value());
}

void tst_PriceTable::appliesOverrides_data()
{
    QTest::addColumn<QByteArray>("overrides");
    QTest::addColumn<QString>("model");
    QTest::addColumn<TokenRates>("rates");
    QTest::addColumn<qint64>("searchPerRequest");
    QTest::newRow("new model derives cache prices")
        << QByteArray(R"({"my-model": {"input": "3", "output": "15"}})")
        << QStringLiteral("my-model")
        << TokenRates {perMTok(3), perMTok(15), perMTok(3.75), perMTok(6), perMTok(0.3)}
        << qint64(0);
    QTest::newRow("new model with every price")
        << QByteArray(R"({"my-model": {"input": "1", "output": "2", "cache_write_5m": "1.5",
                          "cache_write_1h": "1.8", "cache_read": "0.05",
                          "web_search_per_1k": "12"}})")
        << QStringLiteral("my-model")
        << TokenRates {perMTok(1), perMTok(2), perMTok(1.5), perMTok(1.8), perMTok(0.05)}
        << qint64(12'000'000'000);
    QTest::newRow("numbers convert exactly")
        << QByteArray(R"({"my-model": {"input": 0.3, "output": 1.1}})")
        << QStringLiteral("my-model") << TokenRates {300'000, 1'100'000, 375'000, 600'000, 30'000}
        << qint64(0);
    QTest::newRow("known model keeps its output price")
        << QByteArray(R"({"claude-opus-4-8": {"input": "4"}})") << QStringLiteral("claude-opus-4-8")
        << TokenRates {perMTok(4), perMTok(25), perMTok(5), perMTok(8), perMTok(0.4)}
        << qint64(10'000'000'000);
    QTest::newRow("override through an alias")
        << QByteArray(R"({"claude-opus-4-5": {"output": "20"}})")
        << QStringLiteral("claude-opus-4-5-20251101")
        << TokenRates {perMTok(5), perMTok(20), perMTok(6.25), perMTok(10), perMTok(0.5)}
        << qint64(10'000'000'000);
    QTest::newRow("one cache price keeps the others")
        << QByteArray(R"({"claude-3-haiku-20240307": {"cache_read": "0.025"}})")
        << QStringLiteral("claude-3-haiku-20240307")
        << TokenRates {perMTok(0.25), perMTok(1.25), perMTok(0.3), perMTok(0.5), perMTok(0.025)}
        << qint64(10'000'000'000);
    QTest::newRow("web search price")
        << QByteArray(R"({"claude-sonnet-4-6": {"web_search_per_1k": "7.5"}})")
        << QStringLiteral("claude-sonnet-4-6")
        << TokenRates {perMTok(3), perMTok(15), perMTok(3.75), perMTok(6), perMTok(0.3)}
        << qint64(7'500'000'000);
}

void tst_PriceTable::appliesOverrides()
{
    QFETCH(QByteArray, overrides);
    QFETCH(QString, model);
    QFETCH(TokenRates, rates);
    QFETCH(qint64, searchPerRequest);
    PriceTable prices = PriceTable::builtIn();
    QString error;
    QVERIFY2(prices.applyOverrides(objectOf(overrides), &error), qPrintable(error));
    const std::optional<ModelPrice> price = prices.find(model);
    QVERIFY(price);
    QCOMPARE(price->standardRates(), rates);
    QCOMPARE(price->webSearchPerRequest, searchPerRequest);
    // The cost follows the new prices.
    const Usage usage = usageOf(1, 1, 1, 1, 1, 1);
    QCOMPARE(prices.cost(model, usage, false).picoUsd,
             std::optional<qint64>(rates.input + rates.output + rates.cacheWrite5m
                                   + rates.cacheWrite1h + rates.cacheRead + searchPerRequest));
}

void tst_PriceTable::marksOverriddenPricesAsConfig()
{
    PriceTable prices = PriceTable::builtIn();
    QString error;
    const QByteArray overrides = R"({"claude-opus-4-8": {"input": "4"},
                                               "claude-opus-5": {"aliases": ["opus"]},
                                               "mine": {"input": "1", "output": "1",
                                                        "source": "https://example.com/prices",
                                                        "date": "2026-09-01"}})";
    QVERIFY2(prices.applyOverrides(objectOf(overrides), &error), qPrintable(error));
    QCOMPARE(prices.find(QStringLiteral("claude-opus-4-8"))->source, QStringLiteral("config"));
    QVERIFY(!prices.find(QStringLiteral("claude-opus-4-8"))->date.isValid());
    // Fast-mode rates stay when only the standard input price changes.
    QCOMPARE(prices.find(QStringLiteral("claude-opus-4-8"))->fast->input, perMTok(10));
    // Adding an alias changes no price, so the source stays Anthropic's page.
    QVERIFY(prices.find(QStringLiteral("claude-opus-5"))->source.startsWith(u"https://"));
    QCOMPARE(prices.find(QStringLiteral("mine"))->source,
             QStringLiteral("https://example.com/prices"));
    QCOMPARE(prices.find(QStringLiteral("mine"))->date, QDate(2026, 9, 1));
}

void tst_PriceTable::addsAliasThroughOverride()
{
    PriceTable prices = PriceTable::builtIn();
    QVERIFY(!prices.find(QStringLiteral("opus")));
    QString error;
    const QByteArray overrides = R"({"claude-opus-5": {"aliases": ["opus"]},
                                               "house-model": {"input": "2", "output": "8",
                                                               "aliases": ["house"],
                                                               "data_residency_premium": true,
                                                               "fast": {"input": "4",
                                                                        "output": "16"}}})";
    QVERIFY2(prices.applyOverrides(objectOf(overrides), &error), qPrintable(error));
    QCOMPARE(prices.find(QStringLiteral("opus"))->id, QStringLiteral("claude-opus-5"));
    const std::optional<ModelPrice> house = prices.find(QStringLiteral("house"));
    QVERIFY(house);
    QCOMPARE(house->id, QStringLiteral("house-model"));
    QVERIFY(house->hasDataResidencyPremium);
    QCOMPARE(house->fast,
             std::optional<TokenRates>(
                 TokenRates {perMTok(4), perMTok(16), perMTok(5), perMTok(8), perMTok(0.4)}));
}

void tst_PriceTable::rejectsBadOverrides_data()
{
    QTest::addColumn<QByteArray>("overrides");
    QTest::newRow("entry not an object") << QByteArray(R"({"m": "3"})");
    QTest::newRow("new model without output") << QByteArray(R"({"m": {"input": "3"}})");
    QTest::newRow("negative price") << QByteArray(R"({"m": {"input": "-3", "output": "1"}})");
    QTest::newRow("negative number") << QByteArray(R"({"m": {"input": -3, "output": 1}})");
    QTest::newRow("decimal comma") << QByteArray(R"({"m": {"input": "3,5", "output": "1"}})");
    QTest::newRow("finer than a pico")
        << QByteArray(R"({"m": {"input": "0.0000001", "output": "1"}})");
    QTest::newRow("bool price") << QByteArray(R"({"m": {"input": true, "output": "1"}})");
    QTest::newRow("misspelt field") << QByteArray(R"({"m": {"input": "3", "outptu": "15"}})");
    QTest::newRow("misspelt field of known model")
        << QByteArray(R"({"claude-opus-4-8": {"inptu": "3"}})");
    QTest::newRow("alias of another model")
        << QByteArray(R"({"m": {"input": "1", "output": "1", "aliases": ["claude-opus-4-8"]}})");
    QTest::newRow("known alias moved")
        << QByteArray(R"({"claude-opus-5": {"aliases": ["claude-opus-4-5"]}})");
    QTest::newRow("bad date") << QByteArray(
        R"({"m": {"input": "1", "output": "1", "date": "1 Sep 2026"}})");
    QTest::newRow("fast not an object") << QByteArray(R"({"m": {"input": "1", "output": "1",
                                                                "fast": "10"}})");
    QTest::newRow("fast without input") << QByteArray(R"({"m": {"input": "1", "output": "1",
                                                                "fast": {"output": "10"}}})");
    QTest::newRow("residency not a bool")
        << QByteArray(R"({"m": {"input": "1", "output": "1", "data_residency_premium": "yes"}})");
    QTest::newRow("absurd price") << QByteArray(R"({"m": {"input": "1e12", "output": "1"}})");
    // All or nothing: the good entry is not applied either.
    QTest::newRow("one bad among good")
        << QByteArray(R"({"a-good": {"input": "1", "output": "1"}, "m": {"input": "x"}})");
}

void tst_PriceTable::rejectsBadOverrides()
{
    QFETCH(QByteArray, overrides);
    PriceTable prices = PriceTable::builtIn();
    QString error;
    QVERIFY(!prices.applyOverrides(objectOf(overrides), &error));
    QVERIFY(!error.isEmpty());
    QVERIFY(!prices.find(QStringLiteral("m")));
    QVERIFY(!prices.find(QStringLiteral("a-good")));
    QCOMPARE(prices.find(QStringLiteral("claude-opus-4-8")),
             PriceTable::builtIn().find(QStringLiteral("claude-opus-4-8")));
    QCOMPARE(prices.find(QStringLiteral("claude-opus-4-5"))->id,
             QStringLiteral("claude-opus-4-5-20251101"));
}

void tst_PriceTable::formatsUsdExactly_data()
{
    QTest::addColumn<qint64>("picoUsd");
    QTest::addColumn<QString>("text");
    QTest::newRow("zero") << qint64(0) << QStringLiteral("0");
    QTest::newRow("one pico") << qint64(1) << QStringLiteral("0.000000000001");
    QTest::newRow("claude code figure") << qint64(5'735'000'000) << QStringLiteral("0.005735");
    QTest::newRow("one dollar") << qint64(1'000'000'000'000) << QStringLiteral("1");
    QTest::newRow("ten dollars") << qint64(10'000'000'000'000) << QStringLiteral("10");
    QTest::newRow("dollar and a half") << qint64(1'500'000'000'000) << QStringLiteral("1.5");
    QTest::newRow("every digit") << qint64(123'456'789'012'345)
                                 << QStringLiteral("123.456789012345");
    QTest::newRow("largest") << std::numeric_limits<qint64>::max()
                             << QStringLiteral("9223372.036854775807");
    QTest::newRow("negative") << qint64(-5'000'000'000) << QStringLiteral("-0.005");
    QTest::newRow("most negative")
        << std::numeric_limits<qint64>::min() << QStringLiteral("-9223372.036854775808");
}

void tst_PriceTable::formatsUsdExactly()
{
    QFETCH(qint64, picoUsd);
    QFETCH(QString, text);
    QCOMPARE(PriceTable::formatUsd(picoUsd), text);
}

void tst_PriceTable::parsesDecimalsExactly_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("scale");
    QTest::addColumn<qint64>("expected"); // -1: refused
    QTest::newRow("cents") << QStringLiteral("0.30") << 6 << qint64(300'000);
    QTest::newRow("whole") << QStringLiteral("5") << 6 << qint64(5'000'000);
    QTest::newRow("trailing zeros") << QStringLiteral("12.5000000000") << 6 << qint64(12'500'000);
    QTest::newRow("smallest unit") << QStringLiteral("0.000001") << 6 << qint64(1);
    QTest::newRow("exponent") << QStringLiteral("1e-3") << 6 << qint64(1000);
    QTest::newRow("exponent with fraction") << QStringLiteral("2.5E+1") << 6 << qint64(25'000'000);
    QTest::newRow("no integer part") << QStringLiteral(".5") << 6 << qint64(500'000);
    QTest::newRow("spaces around") << QStringLiteral(" 3 ") << 6 << qint64(3'000'000);
    QTest::newRow("zero") << QStringLiteral("0.000") << 6 << qint64(0);
    QTest::newRow("search price") << QStringLiteral("10") << 9 << qint64(10'000'000'000);
    QTest::newRow("finer than a unit") << QStringLiteral("0.0000001") << 6 << qint64(-1);
    QTest::newRow("negative") << QStringLiteral("-1") << 6 << qint64(-1);
    QTest::newRow("plus sign") << QStringLiteral("+1") << 6 << qint64(-1);
    QTest::newRow("empty") << QString() << 6 << qint64(-1);
    QTest::newRow("two points") << QStringLiteral("1.2.3") << 6 << qint64(-1);
    QTest::newRow("letters") << QStringLiteral("abc") << 6 << qint64(-1);
    QTest::newRow("dangling exponent") << QStringLiteral("1e") << 6 << qint64(-1);
    QTest::newRow("non-ascii digit") << QStringLiteral("\u0663") << 6 << qint64(-1);
    QTest::newRow("beyond int64") << QStringLiteral("99999999999999") << 6 << qint64(-1);
    QTest::newRow("huge exponent") << QStringLiteral("1e999999999999") << 6 << qint64(-1);
}

void tst_PriceTable::parsesDecimalsExactly()
{
    QFETCH(QString, text);
    QFETCH(int, scale);
    QFETCH(qint64, expected);
    const std::optional<qint64> parsed = PriceTable::parseScaledDecimal(text, scale);
    QCOMPARE(parsed, expected < 0 ? std::nullopt : std::optional<qint64>(expected));
}

void tst_PriceTable::shipsProtocolPrices_data()
{
    // research/protocol.md section 7, USD per MTok (pricing page of 2026-08-20; Sonnet 3.7
    // and Haiku 3 from the page of 2026-01-08).
    QTest::addColumn<QString>("id");
    QTest::addColumn<TokenRates>("rates");
    QTest::addColumn<bool>("hasFast");
    QTest::addColumn<bool>("hasPremium");
    const auto row = [](const char *id, double in, double out, double w5, double w1, double rd,
                        bool fast, bool premium) {
        QTest::newRow(id) << QString::fromLatin1(
            id) << TokenRates {perMTok(in), perMTok(out), perMTok(w5), perMTok(w1), perMTok(rd)}
                          << fast << premium;
    };
    row("claude-fable-5", 10, 50, 12.5, 20, 1, false, true);
    row("claude-mythos-5", 10, 50, 12.5, 20, 1, false, true);
    row("claude-opus-5", 5, 25, 6.25, 10, 0.5, true, true);
    row("claude-opus-4-8", 5, 25, 6.25, 10, 0.5, true, true);
    row("claude-opus-4-7", 5, 25, 6.25, 10, 0.5, false, true);
    row("claude-opus-4-6", 5, 25, 6.25, 10, 0.5, false, true);
    row("claude-opus-4-5-20251101", 5, 25, 6.25, 10, 0.5, false, false);
    row("claude-opus-4-1-20250805", 15, 75, 18.75, 30, 1.5, false, false);
    row("claude-opus-4-20250514", 15, 75, 18.75, 30, 1.5, false, false);
    row("claude-sonnet-5", 2, 10, 2.5, 4, 0.2, false, true);
    row("claude-sonnet-4-6", 3, 15, 3.75, 6, 0.3, false, true);
    row("claude-sonnet-4-5-20250929", 3, 15, 3.75, 6, 0.3, false, false);
    row("claude-sonnet-4-20250514", 3, 15, 3.75, 6, 0.3, false, false);
    row("claude-haiku-4-5-20251001", 1, 5, 1.25, 2, 0.1, false, false);
    row("claude-3-5-haiku-20241022", 0.8, 4, 1, 1.6, 0.08, false, false);
    row("claude-3-7-sonnet-20250219", 3, 15, 3.75, 6, 0.3, false, false);
    row("claude-3-haiku-20240307", 0.25, 1.25, 0.3, 0.5, 0.03, false, false);
}

void tst_PriceTable::shipsProtocolPrices()
{
    QFETCH(QString, id);
    QFETCH(TokenRates, rates);
    QFETCH(bool, hasFast);
    QFETCH(bool, hasPremium);
    const std::optional<ModelPrice> price = PriceTable::builtIn().find(id);
    QVERIFY(price);
    QCOMPARE(price->id, id);
    QCOMPARE(price->standardRates(), rates);
    // $10 per 1,000 searches.
    QCOMPARE(price->webSearchPerRequest, qint64(10'000'000'000));
    QCOMPARE(price->hasDataResidencyPremium, hasPremium);
    QCOMPARE(price->fast.has_value(), hasFast);
    // Fast mode: $10 in / $50 out, with the cache multipliers on top.
    if (hasFast)
        QCOMPARE(*price->fast,
                 (TokenRates {perMTok(10), perMTok(50), perMTok(12.5), perMTok(20), perMTok(1)}));
}

void tst_PriceTable::shipsEveryModelWithAllFields()
{
    QFile file(QStringLiteral(":/tollgate/prices.json"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
    const QJsonObject models = root.value(QStringLiteral("models")).toObject();
    const PriceTable prices = PriceTable::builtIn();
    QVERIFY(prices.checkedDate().isValid());
    QCOMPARE(prices.checkedDate(),
             QDate::fromString(root.value(QStringLiteral("checked")).toString(), Qt::ISODate));
    QCOMPARE(prices.modelIds().size(), models.size());
    QVERIFY(models.size() >= 17);
    const QStringList fields = {
        QStringLiteral("input"),
        QStringLiteral("output"),
        QStringLiteral("cache_write_5m"),
        QStringLiteral("cache_write_1h"),
        QStringLiteral("cache_read"),
        QStringLiteral("web_search_per_1k"),
        QStringLiteral("data_residency_premium"),
        QStringLiteral("date"),
        QStringLiteral("source"),
        QStringLiteral("name"),
    };
    for (auto it = models.constBegin(); it != models.constEnd(); ++it) {
        const QJsonObject entry = it.value().toObject();
        for (const QString &field : fields)
            QVERIFY2(entry.contains(field), qPrintable(it.key() + u' ' + field));
        // Prices are decimal strings, so they convert exactly.
        for (const QString &field : fields.mid(0, 6))
            QVERIFY2(entry.value(field).isString(), qPrintable(it.key() + u' ' + field));
        const std::optional<ModelPrice> price = prices.find(it.key());
        QVERIFY2(price, qPrintable(it.key()));
        QCOMPARE(price->id, it.key());
        QVERIFY(!price->name.isEmpty());
        QVERIFY2(price->source.startsWith(u"https://platform.claude.com/docs/"),
                 qPrintable(it.key()));
        QVERIFY(price->date.isValid());
        QVERIFY(price->date <= prices.checkedDate());
        QVERIFY(price->input > 0 && price->output > price->input);
        // Per-token prices are whole multiples of 10,000 pico-USD ($0.01/MTok), which keeps
        // the 1.1x premium and the batch half exact.
        for (qint64 rate : {price->input, price->output, price->cacheWrite5m, price->cacheWrite1h,
                            price->cacheRead})
            QVERIFY2(rate % 10'000 == 0, qPrintable(it.key()));
        // Cache writes cost 1.25x (5m) and 2x (1h) the input price, reads 0.1x; Haiku 3's
        // listed cache prices predate that rule.
        if (it.key() != u"claude-3-haiku-20240307") {
            QCOMPARE(price->cacheWrite5m * 4, price->input * 5);
            QCOMPARE(price->cacheWrite1h, price->input * 2);
            QCOMPARE(price->cacheRead * 10, price->input);
        }
        for (const QJsonValue alias : entry.value(QStringLiteral("aliases")).toArray())
            QCOMPARE(prices.find(alias.toString())->id, it.key());
    }
}

void tst_PriceTable::refusesIncompletePriceList_data()
{
    QTest::addColumn<QByteArray>("json");
    const QByteArray entry = R"("input": "1", "output": "5", "cache_write_5m": "1.25",
        "cache_write_1h": "2", "cache_read": "0.10", "web_search_per_1k": "10",
        "data_residency_premium": false, "date": "2026-08-20")";
    const QByteArray source =
        R"(, "source": "https://platform.claude.com/docs/en/about-claude/pricing")";
    QTest::newRow("complete, for contrast") << QByteArray(
        R"({"format": 1, "checked": "2026-08-21", "models": {"m": {)" + entry + source + "}}}");
    QTest::newRow("not json") << QByteArray("{\"format\": 1,");
    QTest::newRow("no checked date")
        << QByteArray(R"({"format": 1, "models": {"m": {)" + entry + source + "}}}");
    QTest::newRow("no format") << QByteArray(R"({"checked": "2026-08-21", "models": {"m": {)"
                                             + entry + source + "}}}");
    QTest::newRow("no source") << QByteArray(
        R"({"format": 1, "checked": "2026-08-21", "models": {"m": {)" + entry + "}}}");
    QTest::newRow("no cache price")
        << QByteArray(R"({"format": 1, "checked": "2026-08-21", "models": {"m": {"input": "1",
            "output": "5", "web_search_per_1k": "10", "data_residency_premium": false,
            "date": "2026-08-20")"
                      + source + "}}}");
    QTest::newRow("no models") << QByteArray(R"({"format": 1, "checked": "2026-08-21",
                                                 "models": {}})");
    QTest::newRow("duplicate alias")
        << QByteArray(R"({"format": 1, "checked": "2026-08-21", "models": {"m": {)" + entry + source
                      + R"(, "aliases": ["n"]}, "n": {)" + entry + source + "}}}");
}

void tst_PriceTable::refusesIncompletePriceList()
{
    QFETCH(QByteArray, json);
    const bool isComplete = QByteArray(QTest::currentDataTag()).startsWith("complete");
    PriceTable prices = PriceTable::builtIn();
    QString error;
    QCOMPARE(prices.load(json, &error), isComplete);
    QCOMPARE(error.isEmpty(), isComplete);
    // A refused list leaves the table as it was; an accepted one replaces it.
    QCOMPARE(prices.find(QStringLiteral("claude-opus-4-8")).has_value(), !isComplete);
    QCOMPARE(prices.find(QStringLiteral("m")).has_value(), isComplete);
}

QTEST_APPLESS_MAIN(tst_PriceTable)
#include "tst_PriceTable.moc"
