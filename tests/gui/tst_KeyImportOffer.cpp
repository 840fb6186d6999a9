// When the first start offers to import ANTHROPIC_API_KEY: only without any upstream key,
// only for something shaped like an Anthropic API key, and only once.
#include "KeyImportOffer.h"

#include <QTest>

using namespace tollgate;

class tst_KeyImportOffer final : public QObject
{
    Q_OBJECT

private slots:
    void offersOnlyWhenItHelps_data();
    void offersOnlyWhenItHelps();
};

void tst_KeyImportOffer::offersOnlyWhenItHelps_data()
{
    QTest::addColumn<QStringList>("keychainAliases");
    QTest::addColumn<QByteArray>("configuredKey"); // e.g. TOLLGATE_UPSTREAM_KEY
    QTest::addColumn<QByteArray>("environmentKey");
    QTest::addColumn<bool>("wasOffered");
    QTest::addColumn<bool>("offers");

    const QByteArray apiKey = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    QTest::newRow("first start with an API key")
        << QStringList() << QByteArray() << apiKey << false << true;
    QTest::newRow("trailing newline") << QStringList() << QByteArray() << apiKey + '\n'
                                      << false << true;
    QTest::newRow("asked before") << QStringList() << QByteArray() << apiKey << true << false;
    QTest::newRow("keychain has keys")
        << QStringList {QStringLiteral("work")} << QByteArray() << apiKey << false << false;
    QTest::newRow("key from the environment")
        << QStringList() << QByteArray("sk-ant-api03-other") << apiKey << false << false;
    QTest::newRow("no variable") << QStringList() << QByteArray() << QByteArray() << false << false;
    QTest::newRow("a Tollgate virtual key")
        << QStringList() << QByteArray() << QByteArray("tg-local-0123456789abcdef0123456789")
        << false << false;
    QTest::newRow("a Claude subscription token")
        << QStringList() << QByteArray()
        << QByteArray("sk-ant-oat01-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789") << false << false;
    QTest::newRow("not one key") << QStringList() << QByteArray()
                                 << QByteArray(
                                        "sk-ant-api03-AbCdEfGhIjKl sk-ant-api03-MnOpQrStUvWx")
                                 << false << false;
}

void tst_KeyImportOffer::offersOnlyWhenItHelps()
{
    QFETCH(QStringList, keychainAliases);
    QFETCH(QByteArray, configuredKey);
    QFETCH(QByteArray, environmentKey);
    QFETCH(bool, wasOffered);
    QFETCH(bool, offers);
    GatewayConfig config;
    config.keychainKeys = keychainAliases;
    config.upstreamKey = configuredKey;
    QCOMPARE(KeyImportOffer::shouldOffer(config, environmentKey, wasOffered), offers);
}

QTEST_MAIN(tst_KeyImportOffer)
#include "tst_KeyImportOffer.moc"
