#include "http/ErrorResponse.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace tollgate;

class tst_ErrorResponse final : public QObject
{
    Q_OBJECT

private slots:
    void usesAnthropicErrorTypes_data();
    void usesAnthropicErrorTypes();
    void escapesMessages();
    void buildsCompleteHttpResponse();
    void buildsSseErrorEvent();
};

void tst_ErrorResponse::usesAnthropicErrorTypes_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("type");
    QTest::newRow("400") << 400 << QByteArray("invalid_request_error");
    QTest::newRow("401") << 401 << QByteArray("authentication_error");
    QTest::newRow("404") << 404 << QByteArray("not_found_error");
    QTest::newRow("413") << 413 << QByteArray("request_too_large");
    QTest::newRow("429") << 429 << QByteArray("rate_limit_error");
    QTest::newRow("431") << 431 << QByteArray("invalid_request_error");
    QTest::newRow("502") << 502 << QByteArray("api_error");
    QTest::newRow("504") << 504 << QByteArray("timeout_error");
    QTest::newRow("529") << 529 << QByteArray("overloaded_error");
}

void tst_ErrorResponse::usesAnthropicErrorTypes()
{
    QFETCH(int, status);
    QFETCH(QByteArray, type);
    QCOMPARE(ErrorResponse::typeForStatus(status), type);
}

void tst_ErrorResponse::escapesMessages()
{
    const QByteArray json =
        ErrorResponse::json("api_error", QStringLiteral("a \"quoted\"\nline ü"), "req_tg_1");
    QVERIFY(json.startsWith("{\"type\":\"error\",\"error\":{\"type\":\"api_error\""));
    QJsonParseError error;
    const QJsonObject root = QJsonDocument::fromJson(json, &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(
        root.value(QLatin1String("error")).toObject().value(QLatin1String("message")).toString(),
        QStringLiteral("a \"quoted\"\nline ü"));
    QCOMPARE(root.value(QLatin1String("request_id")).toString(), QStringLiteral("req_tg_1"));
}

void tst_ErrorResponse::buildsCompleteHttpResponse()
{
    const QByteArray response =
        ErrorResponse::httpResponse(413, QStringLiteral("too big"), "req_tg_2", true);
    QVERIFY(response.startsWith("HTTP/1.1 413 Content Too Large\r\n"));
    QVERIFY(response.contains("\r\nrequest-id: req_tg_2\r\n"));
    QVERIFY(response.contains("\r\nconnection: close\r\n"));
    const QByteArray body = response.mid(response.indexOf("\r\n\r\n") + 4);
    QVERIFY(response.contains(
        QByteArray("content-length: " + QByteArray::number(body.size()) + "\r\n")));
    QVERIFY(body.contains("\"request_too_large\""));
}

void tst_ErrorResponse::buildsSseErrorEvent()
{
    const QByteArray event =
        ErrorResponse::sseEvent("overloaded_error", QStringLiteral("Overloaded"));
    QCOMPARE(event,
             QByteArray("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                        "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"));
}

QTEST_APPLESS_MAIN(tst_ErrorResponse)
#include "tst_ErrorResponse.moc"
