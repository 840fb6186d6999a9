// Virtual keys: the secrets Tollgate generates, the aliases it accepts, and which models a
// key's pattern list lets through.
#include "keys/SecretRedactor.h"
#include "keys/VirtualKey.h"

#include <QElapsedTimer>
#include <QSet>
#include <QTest>

using namespace tollgate;

class tst_VirtualKey final : public QObject
{
    Q_OBJECT

private slots:
    void generatesDistinctBase62Secrets();
    void secretIsMaskedAndRedactedLikeOtherKeys();
    void matchesModelPatterns_data();
    void matchesModelPatterns();
    void patternMatchingStaysLinear();
    void refusesReservedAndKeyShapedAliases();
};

void tst_VirtualKey::generatesDistinctBase62Secrets()
{
    QSet<QByteArray> seen;
    QSet<char> digits;
    for (int i = 0; i < 2000; ++i) {
        const QByteArray secret = VirtualKey::generateSecret();
        QVERIFY2(VirtualKey::isGeneratedShape(secret), secret.constData());
        QCOMPARE(secret.size(), 46); // "tg-" + 43 digits carry 256 bits
        QVERIFY(!seen.contains(secret));
        seen.insert(secret);
        for (qsizetype c = 3; c < secret.size(); ++c)
            digits.insert(secret[c]);
    }
    // Every base62 digit turns up across 2000 keys (86,000 digits): no biased alphabet.
    QCOMPARE(digits.size(), 62);
    QVERIFY(!VirtualKey::isGeneratedShape("tg-local-0123456789abcdef0123456789abcdef01"));
    QVERIFY(!VirtualKey::isGeneratedShape("tg-" + QByteArray(43, '-')));
}

void tst_VirtualKey::secretIsMaskedAndRedactedLikeOtherKeys()
{
    const QByteArray secret = VirtualKey::generateSecret();
    const QByteArray masked = SecretRedactor::mask(secret);
    QCOMPARE(masked, "tg-…" + secret.right(4));
    // Unknown to the redactor (a key made after it started) and still masked by shape.
    const SecretRedactor redactor(QList<QByteArray> {});
    const QByteArray text = "{\"key\":\"" + secret + "\"}";
    const QByteArray redacted = redactor.redact(text);
    QVERIFY2(!redacted.contains(secret), redacted.constData());
    QVERIFY(redacted.contains(secret.right(4)));
}

void tst_VirtualKey::matchesModelPatterns_data()
{
    QTest::addColumn<QStringList>("patterns");
    QTest::addColumn<QString>("model");
    QTest::addColumn<bool>("allowed");
    const QStringList haiku {QStringLiteral("claude-haiku-*")};
    QTest::newRow("no list allows all") << QStringList() << "claude-opus-4-8" << true;
    QTest::newRow("no list allows no model") << QStringList() << QString() << true;
    QTest::newRow("prefix") << haiku << "claude-haiku-4-5-20251001" << true;
    QTest::newRow("other family") << haiku << "claude-opus-4-8" << false;
    QTest::newRow("no model with a list") << haiku << QString() << false;
    QTest::newRow("case matters") << haiku << "Claude-Haiku-4-5" << false;
    QTest::newRow("inner star") << QStringList {QStringLiteral("*sonnet*")} << "claude-sonnet-4-6"
                                << true;
    QTest::newRow("question mark")
        << QStringList {QStringLiteral("claude-opus-4-?")} << "claude-opus-4-8" << true;
    QTest::newRow("question mark is one char")
        << QStringList {QStringLiteral("claude-opus-4-?")} << "claude-opus-4-10" << false;
    QTest::newRow("exact") << QStringList {QStringLiteral("claude-opus-4-8")} << "claude-opus-4-8"
                           << true;
    QTest::newRow("exact is not prefix")
        << QStringList {QStringLiteral("claude-opus-4")} << "claude-opus-4-8" << false;
    QTest::newRow("second pattern")
        << QStringList {QStringLiteral("gpt-*"), QStringLiteral("claude-*")} << "claude-x" << true;
}

void tst_VirtualKey::matchesModelPatterns()
{
    QFETCH(QStringList, patterns);
    QFETCH(QString, model);
    QFETCH(bool, allowed);
    VirtualKey key;
    key.models = patterns;
    QCOMPARE(key.allowsModel(model), allowed);
}

void tst_VirtualKey::patternMatchingStaysLinear()
{
    // A hostile pattern against a long model name: naive backtracking would take ages.
    const QString pattern = QStringLiteral("*a*a*a*a*a*a*a*a*a*a*a*a*b");
    const QString model(20000, u'a');
    QElapsedTimer timer;
    timer.start();
    QVERIFY(!VirtualKey::globMatches(pattern, model));
    QVERIFY2(timer.elapsed() < 2000, qPrintable(QString::number(timer.elapsed())));
}

void tst_VirtualKey::refusesReservedAndKeyShapedAliases()
{
    QVERIFY(VirtualKey::aliasProblem(QStringLiteral("alice")).isEmpty());
    QVERIFY(VirtualKey::aliasProblem(QStringLiteral("ci.nightly_2")).isEmpty());
    QVERIFY(!VirtualKey::aliasProblem(QStringLiteral("default")).isEmpty());
    QVERIFY(!VirtualKey::aliasProblem(QStringLiteral("passthrough")).isEmpty());
    QVERIFY(!VirtualKey::aliasProblem(QString()).isEmpty());
    QVERIFY(!VirtualKey::aliasProblem(QStringLiteral("has space")).isEmpty());
    // A pasted key is not an alias, and the message does not repeat it.
    const QByteArray pasted = VirtualKey::generateSecret();
    const QString problem = VirtualKey::aliasProblem(QString::fromLatin1(pasted));
    QVERIFY(!problem.isEmpty());
    QVERIFY(!problem.contains(QString::fromLatin1(pasted)));
}

QTEST_APPLESS_MAIN(tst_VirtualKey)
#include "tst_VirtualKey.moc"
