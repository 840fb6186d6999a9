#include "routing/RouteTable.h"

#include <QTest>

using namespace tollgate;

class tst_RouteTable : public QObject
{
    Q_OBJECT

private slots:
    void sendsUnmatchedRequestsToAnthropic();
    void firstMatchingRuleWins();
    void rewritesTheModelOnlyWhenAsked();
    void matchesByVirtualKey();
    void matchesByThinking();
    void matchesLongPromptsOnly();
    void explainsEachStep();
    void refusesBrokenRules_data();
    void refusesBrokenRules();
};

namespace {
Route rule(const QString &model, const QStringList &providers, const QString &rewrite = QString())
{
    Route route;
    route.model = model;
    route.providers = providers;
    route.rewriteModel = rewrite;
    return route;
}

RouteTable::Query query(const QString &model)
{
    RouteTable::Query q;
    q.model = model;
    return q;
}
} // namespace

void tst_RouteTable::sendsUnmatchedRequestsToAnthropic()
{
    const RouteTable table({rule(QStringLiteral("gpt-*"), {QStringLiteral("openrouter")})});
    const RouteTable::Decision decision = table.decide(query(QStringLiteral("claude-opus-4-8")));
    QCOMPARE(decision.rule, -1);
    QCOMPARE(decision.providers, QStringList {QStringLiteral("anthropic")});
    QCOMPARE(decision.model, QStringLiteral("claude-opus-4-8"));
    QVERIFY(!decision.rewritesModel());
    // No rules at all: the same.
    QCOMPARE(RouteTable().decide(query(QStringLiteral("x"))).providers,
             QStringList {QStringLiteral("anthropic")});
}

void tst_RouteTable::firstMatchingRuleWins()
{
    const RouteTable table(
        {rule(QStringLiteral("*haiku*"), {QStringLiteral("cheap")}),
         rule(QStringLiteral("claude-*"), {QStringLiteral("anthropic"), QStringLiteral("bedrock")}),
         rule(QStringLiteral("*"), {QStringLiteral("cheap")})});
    QCOMPARE(table.decide(query(QStringLiteral("claude-haiku-4-5"))).rule, 0);
    const RouteTable::Decision sonnet = table.decide(query(QStringLiteral("claude-sonnet-4-6")));
    QCOMPARE(sonnet.rule, 1);
    QCOMPARE(sonnet.providers,
             (QStringList {QStringLiteral("anthropic"), QStringLiteral("bedrock")}));
    QCOMPARE(table.decide(query(QStringLiteral("gpt-5"))).rule, 2);
    // Globs are case-sensitive, as model ids are.
    QCOMPARE(table.decide(query(QStringLiteral("Claude-Sonnet"))).rule, 2);
}

void tst_RouteTable::rewritesTheModelOnlyWhenAsked()
{
    const RouteTable table({rule(QStringLiteral("gpt-5"), {QStringLiteral("openrouter")},
                                 QStringLiteral("openai/gpt-5")),
                            rule(QStringLiteral("deepseek-*"), {QStringLiteral("deepseek")})});
    const RouteTable::Decision rewritten = table.decide(query(QStringLiteral("gpt-5")));
    QCOMPARE(rewritten.model, QStringLiteral("openai/gpt-5"));
    QVERIFY(rewritten.rewritesModel());
    const RouteTable::Decision kept = table.decide(query(QStringLiteral("deepseek-chat")));
    QCOMPARE(kept.model, QStringLiteral("deepseek-chat"));
}

void tst_RouteTable::matchesByVirtualKey()
{
    Route ci = rule(QStringLiteral("claude-*"), {QStringLiteral("cheap")});
    ci.virtualKey = QStringLiteral("ci");
    const RouteTable table({ci});
    RouteTable::Query q = query(QStringLiteral("claude-opus-4-8"));
    q.virtualKey = QStringLiteral("alice");
    QCOMPARE(table.decide(q).rule, -1);
    q.virtualKey = QStringLiteral("ci");
    QCOMPARE(table.decide(q).rule, 0);
}

void tst_RouteTable::matchesByThinking()
{
    Route thinking = rule(QStringLiteral("*"), {QStringLiteral("deep")});
    thinking.thinking = true;
    Route plain = rule(QStringLiteral("*"), {QStringLiteral("fast")});
    plain.thinking = false;
    const RouteTable table({thinking, plain});
    RouteTable::Query q = query(QStringLiteral("claude-opus-4-8"));
    q.thinking = true;
    QCOMPARE(table.decide(q).providers, QStringList {QStringLiteral("deep")});
    q.thinking = false;
    QCOMPARE(table.decide(q).providers, QStringList {QStringLiteral("fast")});
}

void tst_RouteTable::matchesLongPromptsOnly()
{
    Route longContext = rule(QStringLiteral("claude-*"), {QStringLiteral("long")});
    longContext.minPromptTokens = 200'000;
    const RouteTable table({longContext});
    RouteTable::Query q = query(QStringLiteral("claude-sonnet-4-6"));
    q.promptTokens = RouteTable::estimatePromptTokens(400 * 1024);
    QCOMPARE(table.decide(q).rule, -1);
    q.promptTokens = RouteTable::estimatePromptTokens(1024 * 1024);
    QCOMPARE(table.decide(q).rule, 0);
}

void tst_RouteTable::explainsEachStep()
{
    Route ci = rule(QStringLiteral("gpt-*"), {QStringLiteral("openrouter")});
    ci.virtualKey = QStringLiteral("ci");
    const RouteTable table(
        {rule(QStringLiteral("*haiku*"), {QStringLiteral("cheap")}), ci,
         rule(QStringLiteral("gpt-*"), {QStringLiteral("openrouter"), QStringLiteral("anthropic")},
              QStringLiteral("openai/gpt-5"))});
    const QStringList lines = table.explain(query(QStringLiteral("gpt-5")));
    QCOMPARE(lines.size(), 4);
    QCOMPARE(
        lines.at(0),
        QStringLiteral("rule 1 (*haiku*): skipped, model \"gpt-5\" does not match \"*haiku*\""));
    QCOMPARE(lines.at(1), QStringLiteral("rule 2 (gpt-*): skipped, only for virtual key \"ci\""));
    QCOMPARE(lines.at(2), QStringLiteral("rule 3 (gpt-*): matches"));
    QCOMPARE(lines.at(3),
             QStringLiteral("-> openrouter, then anthropic as model \"openai/gpt-5\""));
    QCOMPARE(RouteTable().explain(query(QStringLiteral("x"))),
             QStringList {QStringLiteral("-> anthropic (no rule matched: the default route)")});
}

void tst_RouteTable::refusesBrokenRules_data()
{
    QTest::addColumn<QList<Route>>("rules");
    QTest::addColumn<QString>("problem");
    QTest::newRow("fine") << QList<Route> {rule(
        QStringLiteral("gpt-*"), {QStringLiteral("or"), QStringLiteral("anthropic")})}
                          << QString();
    QTest::newRow("unknown provider")
        << QList<Route> {rule(QStringLiteral("gpt-*"), {QStringLiteral("nope")})}
        << QStringLiteral("route 1 (gpt-*) names the unknown provider \"nope\"");
    QTest::newRow("no provider") << QList<Route> {rule(QStringLiteral("gpt-*"), {})}
                                 << QStringLiteral("route 1 (gpt-*) names no provider");
    QTest::newRow("twice") << QList<Route> {rule(QStringLiteral("*"),
                                                 {QStringLiteral("or"), QStringLiteral("or")})}
                           << QStringLiteral("route 1 (*) names \"or\" twice");
    QTest::newRow("empty model") << QList<Route> {rule(QString(), {QStringLiteral("or")})}
                                 << QStringLiteral("route 1 () needs a model pattern");
}

void tst_RouteTable::refusesBrokenRules()
{
    QFETCH(QList<Route>, rules);
    QFETCH(QString, problem);
    QCOMPARE(RouteTable::problem(rules, {QStringLiteral("or")}), problem);
}

QTEST_GUILESS_MAIN(tst_RouteTable)
#include "tst_RouteTable.moc"
