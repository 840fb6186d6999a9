#include "upstream/UpstreamTarget.h"

#include <QTest>

using namespace tollgate;

class tst_UpstreamTarget final : public QObject
{
    Q_OBJECT

private slots:
    void splitsBaseUrl_data();
    void splitsBaseUrl();
};

void tst_UpstreamTarget::splitsBaseUrl_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<bool>("isTls");
    QTest::addColumn<int>("port");
    QTest::addColumn<QByteArray>("hostHeader");
    QTest::addColumn<QByteArray>("prefix");
    QTest::newRow("anthropic") << "https://api.anthropic.com" << true << 443
                               << QByteArray("api.anthropic.com") << QByteArray();
    QTest::newRow("trailing slash") << "https://api.anthropic.com/" << true << 443
                                    << QByteArray("api.anthropic.com") << QByteArray();
    QTest::newRow("prefix") << "http://127.0.0.1:9000/gw/anthropic/" << false << 9000
                            << QByteArray("127.0.0.1:9000") << QByteArray("/gw/anthropic");
    QTest::newRow("ipv6") << "http://[::1]:8080" << false << 8080 << QByteArray("[::1]:8080")
                          << QByteArray();
}

void tst_UpstreamTarget::splitsBaseUrl()
{
    QFETCH(QString, url);
    QFETCH(bool, isTls);
    QFETCH(int, port);
    QFETCH(QByteArray, hostHeader);
    QFETCH(QByteArray, prefix);
    const UpstreamTarget t = UpstreamTarget::fromUrl(QUrl(url));
    QCOMPARE(t.isTls, isTls);
    QCOMPARE(int(t.port), port);
    QCOMPARE(t.hostHeader, hostHeader);
    QCOMPARE(t.pathPrefix, prefix);
}

QTEST_APPLESS_MAIN(tst_UpstreamTarget)
#include "tst_UpstreamTarget.moc"
