#include "translate/ErrorTranslator.h"
#include "tst_TranslateGolden.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate;
using namespace translate_golden;

namespace {

// Empty when the translated error has the golden's status and body.
QString errorDifference(const TranslatedError &error, const QJsonObject &expected)
{
    if (expected.isEmpty())
        return QStringLiteral("the golden file is missing");
    if (error.status != expected.value(QStringLiteral("status")).toInt())
        return QStringLiteral("status %1").arg(error.status);
    return jsonDifference(objectOf(error.body), expected.value(QStringLiteral("body")));
}

} // namespace

class tst_TranslateErrors : public QObject
{
    Q_OBJECT

private slots:
    void translatesVendorErrorsLikeTheGoldens_data();
    void translatesVendorErrorsLikeTheGoldens();
    void translatesAnthropicErrorsLikeTheGoldens_data();
    void translatesAnthropicErrorsLikeTheGoldens();
    void typesVendorStatusesAsAnthropicDoes_data();
    void typesVendorStatusesAsAnthropicDoes();
    void keepsTheAnthropicShapeExactly();
    void typesStreamErrorsWithoutAStatus_data();
    void typesStreamErrorsWithoutAStatus();
    void rewordsContextErrorsWithoutNumbers();
};

void tst_TranslateErrors::translatesVendorErrorsLikeTheGoldens_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("output");
    QTest::newRow("rate limit") << QStringLiteral("error-rate-limit.in.json") << 429
                                << QStringLiteral("error-rate-limit");
    QTest::newRow("context length") << QStringLiteral("error-context-length.in.json") << 400
                                    << QStringLiteral("error-context-length");
    QTest::newRow("503 with a text body")
        << QStringLiteral("error-unavailable.in.txt") << 503 << QStringLiteral("error-unavailable");
    QTest::newRow("422 with FastAPI's detail")
        << QStringLiteral("error-detail.in.json") << 422 << QStringLiteral("error-detail");
}

void tst_TranslateErrors::translatesVendorErrorsLikeTheGoldens()
{
    QFETCH(QString, input);
    QFETCH(int, status);
    QFETCH(QString, output);
    const QByteArray body = readGolden(QStringLiteral("anthropic-to-openai/") + input);
    QVERIFY(!body.isEmpty());

    const QString difference =
        errorDifference(ErrorTranslator::openAiErrorToAnthropic(status, body),
                        goldenObject(QStringLiteral("anthropic-to-openai/") + output
                                     + QStringLiteral(".out.json")));
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateErrors::translatesAnthropicErrorsLikeTheGoldens_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("output");
    QTest::newRow("overloaded") << QStringLiteral("error-overloaded.in.json") << 529
                                << QStringLiteral("error-overloaded");
    QTest::newRow("invalid request")
        << QStringLiteral("error-invalid.in.json") << 400 << QStringLiteral("error-invalid");
    QTest::newRow("rate limit") << QStringLiteral("error-rate-limit.in.json") << 429
                                << QStringLiteral("error-rate-limit");
    QTest::newRow("an HTML error page")
        << QStringLiteral("error-html.in.txt") << 502 << QStringLiteral("error-html");
}

void tst_TranslateErrors::translatesAnthropicErrorsLikeTheGoldens()
{
    QFETCH(QString, input);
    QFETCH(int, status);
    QFETCH(QString, output);
    const QByteArray body = readGolden(QStringLiteral("openai-to-anthropic/") + input);
    QVERIFY(!body.isEmpty());

    const QString difference =
        errorDifference(ErrorTranslator::anthropicErrorToOpenAi(status, body),
                        goldenObject(QStringLiteral("openai-to-anthropic/") + output
                                     + QStringLiteral(".out.json")));
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
}

void tst_TranslateErrors::typesVendorStatusesAsAnthropicDoes_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<int>("sentStatus");
    QTest::addColumn<QString>("type");
    QTest::newRow("400") << 400 << 400 << QStringLiteral("invalid_request_error");
    QTest::newRow("401") << 401 << 401 << QStringLiteral("authentication_error");
    QTest::newRow("402") << 402 << 402 << QStringLiteral("billing_error");
    QTest::newRow("403") << 403 << 403 << QStringLiteral("permission_error");
    QTest::newRow("404") << 404 << 404 << QStringLiteral("not_found_error");
    QTest::newRow("413") << 413 << 413 << QStringLiteral("request_too_large");
    QTest::newRow("422") << 422 << 422 << QStringLiteral("invalid_request_error");
    QTest::newRow("429") << 429 << 429 << QStringLiteral("rate_limit_error");
    QTest::newRow("500") << 500 << 500 << QStringLiteral("api_error");
    QTest::newRow("502") << 502 << 502 << QStringLiteral("api_error");
    QTest::newRow("503") << 503 << 503 << QStringLiteral("overloaded_error");
    QTest::newRow("504") << 504 << 504 << QStringLiteral("timeout_error");
    QTest::newRow("529") << 529 << 529 << QStringLiteral("overloaded_error");
    QTest::newRow("200 is no error response") << 200 << 502 << QStringLiteral("api_error");
}

void tst_TranslateErrors::typesVendorStatusesAsAnthropicDoes()
{
    QFETCH(int, status);
    QFETCH(int, sentStatus);
    QFETCH(QString, type);
    const TranslatedError error =
        ErrorTranslator::openAiErrorToAnthropic(status, R"({"error":{"message":"m"}})");
    QCOMPARE(error.status, sentStatus);
    const QJsonObject inner = objectOf(error.body).value(QStringLiteral("error")).toObject();
    QCOMPARE(inner.value(QStringLiteral("type")).toString(), type);
    QCOMPARE(inner.value(QStringLiteral("message")).toString(), QStringLiteral("m"));
}

void tst_TranslateErrors::keepsTheAnthropicShapeExactly()
{
    // Key order as Anthropic writes it, so even a client that reads bytes sees its API.
    const TranslatedError error = ErrorTranslator::openAiErrorToAnthropic(
        401, R"({"error":{"message":"Incorrect API key"}})");
    QCOMPARE(
        error.body,
        QByteArray(
            R"({"type":"error","error":{"type":"authentication_error","message":"Incorrect API key"}})"));
}

void tst_TranslateErrors::typesStreamErrorsWithoutAStatus_data()
{
    QTest::addColumn<QByteArray>("error");
    QTest::addColumn<QString>("type");
    QTest::newRow("numeric code") << QByteArray(R"({"code":429,"message":"x"})")
                                  << QStringLiteral("rate_limit_error");
    QTest::newRow("numeric status")
        << QByteArray(R"({"status":503,"message":"x"})") << QStringLiteral("overloaded_error");
    QTest::newRow("rate limit words")
        << QByteArray(R"({"code":"rate_limit_exceeded"})") << QStringLiteral("rate_limit_error");
    QTest::newRow("overloaded words")
        << QByteArray(R"({"type":"server_overloaded"})") << QStringLiteral("overloaded_error");
    QTest::newRow("context length") << QByteArray(R"({"code":"context_length_exceeded"})")
                                    << QStringLiteral("invalid_request_error");
    QTest::newRow("anything else")
        << QByteArray(R"({"type":"server_error"})") << QStringLiteral("api_error");
}

void tst_TranslateErrors::typesStreamErrorsWithoutAStatus()
{
    QFETCH(QByteArray, error);
    QFETCH(QString, type);
    QCOMPARE(ErrorTranslator::anthropicTypeForStreamError(objectOf(error)), type);
}

void tst_TranslateErrors::rewordsContextErrorsWithoutNumbers()
{
    const TranslatedError error = ErrorTranslator::openAiErrorToAnthropic(
        400,
        R"({"error":{"message":"Please reduce the length of the messages.","code":"context_length_exceeded"}})");
    QCOMPARE(objectOf(error.body)
                 .value(QStringLiteral("error"))
                 .toObject()
                 .value(QStringLiteral("message"))
                 .toString(),
             QStringLiteral("prompt is too long: Please reduce the length of the messages."));
}

QTEST_APPLESS_MAIN(tst_TranslateErrors)
#include "tst_TranslateErrors.moc"
