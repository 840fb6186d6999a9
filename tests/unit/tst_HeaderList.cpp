#include "http/HeaderList.h"

#include <QTest>

using namespace tollgate;

class tst_HeaderList final : public QObject
{
    Q_OBJECT

private slots:
    void findsValuesIgnoringCase();
    void classifiesHopByHopHeaders_data();
    void classifiesHopByHopHeaders();
    void writesFieldsVerbatim();
};

void tst_HeaderList::findsValuesIgnoringCase()
{
    HeaderList headers;
    headers.append("X-Api-Key", "k1");
    headers.append("x-api-key", "k2");
    QCOMPARE(headers.value("x-API-key"), QByteArray("k1"));
    QVERIFY(headers.contains("X-API-KEY"));
    QVERIFY(headers.value("authorization").isNull());
}

void tst_HeaderList::classifiesHopByHopHeaders_data()
{
    QTest::addColumn<QByteArray>("name");
    QTest::addColumn<bool>("isHopByHop");
    QTest::newRow("connection") << QByteArray("Connection") << true;
    QTest::newRow("keep-alive") << QByteArray("keep-alive") << true;
    QTest::newRow("te") << QByteArray("TE") << true;
    QTest::newRow("trailer") << QByteArray("Trailer") << true;
    QTest::newRow("transfer-encoding") << QByteArray("transfer-encoding") << true;
    QTest::newRow("upgrade") << QByteArray("Upgrade") << true;
    QTest::newRow("proxy-authorization") << QByteArray("Proxy-Authorization") << true;
    QTest::newRow("named by connection") << QByteArray("X-Hop") << true;
    QTest::newRow("anthropic-beta") << QByteArray("anthropic-beta") << false;
    QTest::newRow("x-stainless-os") << QByteArray("x-stainless-os") << false;
    QTest::newRow("content-type") << QByteArray("content-type") << false;
    QTest::newRow("retry-after") << QByteArray("retry-after") << false;
}

void tst_HeaderList::classifiesHopByHopHeaders()
{
    QFETCH(QByteArray, name);
    QFETCH(bool, isHopByHop);
    HeaderList headers;
    headers.append("Connection", "keep-alive, x-hop");
    QCOMPARE(HeaderList::isHopByHop(name, headers.connectionTokens()), isHopByHop);
}

void tst_HeaderList::writesFieldsVerbatim()
{
    QByteArray out;
    HeaderList::write(out, "anthropic-Beta", "a,b");
    QCOMPARE(out, QByteArray("anthropic-Beta: a,b\r\n"));
}

QTEST_APPLESS_MAIN(tst_HeaderList)
#include "tst_HeaderList.moc"
