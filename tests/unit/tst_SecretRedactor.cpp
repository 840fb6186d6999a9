// No key ever leaves Tollgate readable: masked for display, masked in logged headers,
// redacted from logged bodies.
#include "keys/SecretRedactor.h"

#include <QTest>

using namespace tollgate;

class tst_SecretRedactor final : public QObject
{
    Q_OBJECT

private slots:
    void masksKeysKeepingKindAndLastFour_data();
    void masksKeysKeepingKindAndLastFour();
    void masksCredentialHeadersOnly();
    void redactsKnownAndKeyShapedSecretsFromText();
    void leavesTextWithoutSecretsByteIdentical();
};

void tst_SecretRedactor::masksKeysKeepingKindAndLastFour_data()
{
    QTest::addColumn<QByteArray>("secret");
    QTest::addColumn<QByteArray>("masked");
    QTest::newRow("api key") << QByteArray("sk-ant-api03-AbCdEfGhIjKlMnOp-wxyz")
                             << QByteArray("sk-ant-api03-…wxyz");
    QTest::newRow("oauth token") << QByteArray("sk-ant-oat01-0123456789abcdefgh")
                                 << QByteArray("sk-ant-oat01-…efgh");
    QTest::newRow("virtual key") << QByteArray("tg-local-0123456789abcdef0123456789abcdef")
                                 << QByteArray("tg-local-…cdef");
    QTest::newRow("openai") << QByteArray("sk-proj-abcdefghijklmnop1234")
                            << QByteArray("sk-proj-…1234");
    QTest::newRow("plain sk") << QByteArray("sk-abcdefghijklmnop1234") << QByteArray("sk-…1234");
    QTest::newRow("kind without its dash")
        << QByteArray("sk-ant-api03AbCdEfGhIjKlMn") << QByteArray("sk-…KlMn");
    QTest::newRow("unknown shape") << QByteArray("0123456789abcdefXYZW") << QByteArray("…XYZW");
    QTest::newRow("too short to show any of it") << QByteArray("short-key") << QByteArray("…");
}

void tst_SecretRedactor::masksKeysKeepingKindAndLastFour()
{
    QFETCH(QByteArray, secret);
    QFETCH(QByteArray, masked);
    QCOMPARE(SecretRedactor::mask(secret), masked);
}

void tst_SecretRedactor::masksCredentialHeadersOnly()
{
    HeaderList headers;
    headers.append("X-Api-Key", "tg-local-0123456789abcdef0123456789abcdef");
    headers.append("Authorization", "Bearer sk-ant-oat01-0123456789abcdefgh");
    headers.append("anthropic-beta", "oauth-2025-04-20");
    headers.append("Cookie", "session=0123456789abcdef");
    const QByteArray lines = SecretRedactor::maskedHeaderLines(headers);
    QCOMPARE(lines,
             QByteArray("X-Api-Key: tg-local-…cdef\r\n"
                        "Authorization: Bearer sk-ant-oat01-…efgh\r\n"
                        "anthropic-beta: oauth-2025-04-20\r\n"
                        "Cookie: …cdef\r\n"));
    // Values too short to show anything of: masked whole, even when the mask is the longer.
    HeaderList tiny;
    tiny.append("x-api-key", "");
    tiny.append("Authorization", "x");
    tiny.append("Authorization", "Bearer ab");
    tiny.append("proxy-authorization", "Basic ");
    tiny.append("accept", "*/*");
    QCOMPARE(SecretRedactor::maskedHeaderLines(tiny),
             QByteArray("x-api-key: …\r\n"
                        "Authorization: …\r\n"
                        "Authorization: Bearer …\r\n"
                        "proxy-authorization: Basic …\r\n"
                        "accept: */*\r\n"));
    QVERIFY(SecretRedactor::maskedHeaderLines(HeaderList()).isEmpty());
}

void tst_SecretRedactor::redactsKnownAndKeyShapedSecretsFromText()
{
    const QByteArray known = "my-house-secret-0123456789";
    const SecretRedactor redactor({known});
    const QByteArray body = "{\"messages\":[{\"content\":\"my key is sk-ant-api03-"
                            "ZZZZZZZZZZZZZZZZ-abcd and "
        + known + " ok\"}]}";
    const QByteArray redacted = redactor.redact(body);
    QVERIFY2(!redacted.contains("ZZZZZZZZZZZZZZZZ"), redacted.constData());
    QVERIFY(!redacted.contains(known));
    QVERIFY(redacted.contains("sk-ant-api03-…abcd"));
    QVERIFY(redacted.contains("…6789 ok"));
    QVERIFY(redacted.startsWith("{\"messages\":[{\"content\":\"my key is "));
}

void tst_SecretRedactor::leavesTextWithoutSecretsByteIdentical()
{
    const SecretRedactor redactor({"sk-ant-api03-known-0123456789"});
    const QByteArray body("{\"a\":\"\xc3\xa9t\xc3\xa9 sk- tg- short\"}");
    QCOMPARE(redactor.redact(body), body);
}

QTEST_GUILESS_MAIN(tst_SecretRedactor)
#include "tst_SecretRedactor.moc"
