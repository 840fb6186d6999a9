#include "keys/ClientAuthenticator.h"

#include <QTest>

using namespace tollgate;
using Result = ClientAuthenticator::Result;

Q_DECLARE_METATYPE(tollgate::ClientAuthenticator::Result)

class tst_ClientAuthenticator final : public QObject
{
    Q_OBJECT

private slots:
    void decidesFromCredential_data();
    void decidesFromCredential();
};

void tst_ClientAuthenticator::decidesFromCredential_data()
{
    QTest::addColumn<QByteArray>("name");
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<bool>("passthrough");
    QTest::addColumn<Result>("expected");
    const QByteArray key = "tg-local-0123456789abcdef";
    QTest::newRow("x-api-key") << QByteArray("x-api-key") << key << false << Result::VirtualKey;
    QTest::newRow("X-Api-Key case")
        << QByteArray("X-Api-Key") << key << false << Result::VirtualKey;
    QTest::newRow("bearer") << QByteArray("Authorization") << QByteArray("Bearer " + key) << false
                            << Result::VirtualKey;
    QTest::newRow("bearer lowercase") << QByteArray("authorization") << QByteArray("bearer " + key)
                                      << false << Result::VirtualKey;
    QTest::newRow("wrong key") << QByteArray("x-api-key") << QByteArray("tg-local-0123456789abcdeX")
                               << false << Result::Rejected;
    QTest::newRow("prefix of key")
        << QByteArray("x-api-key") << key.left(10) << false << Result::Rejected;
    QTest::newRow("oauth rejected")
        << QByteArray("Authorization") << QByteArray("Bearer sk-ant-oat01-abc") << false
        << Result::Rejected;
    QTest::newRow("oauth passthrough")
        << QByteArray("Authorization") << QByteArray("Bearer sk-ant-oat01-abc") << true
        << Result::Passthrough;
    QTest::newRow("basic auth") << QByteArray("Authorization") << QByteArray("Basic Zm9vOmJhcg==")
                                << false << Result::Rejected;
    QTest::newRow("none") << QByteArray("x-other") << key << false << Result::Missing;
    QTest::newRow("none with passthrough")
        << QByteArray("x-other") << key << true << Result::Missing;
}

void tst_ClientAuthenticator::decidesFromCredential()
{
    QFETCH(QByteArray, name);
    QFETCH(QByteArray, value);
    QFETCH(bool, passthrough);
    QFETCH(Result, expected);
    ClientAuthenticator auth({"tg-local-0123456789abcdef", "tg-team-fedcba9876543210"},
                             passthrough);
    HeaderList headers;
    headers.append("content-type", "application/json");
    headers.append(name, value);
    QCOMPARE(auth.authenticate(headers), expected);
}

QTEST_APPLESS_MAIN(tst_ClientAuthenticator)
#include "tst_ClientAuthenticator.moc"
