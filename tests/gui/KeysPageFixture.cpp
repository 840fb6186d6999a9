#include "KeysPageFixture.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace tollgate::test::keyspage {

QDateTime resetTime()
{
    static const QDateTime reset =
        QDateTime::fromSecsSinceEpoch(QDateTime::currentSecsSinceEpoch() + 60, Qt::UTC);
    return reset;
}

MockResponse answer(const MockRequest &request)
{
    const QByteArray key = request.header("x-api-key");
    MockResponse response;
    response.headers.emplaceBack("content-type", "application/json");
    if (key == revokedKey()) {
        response.status = 401;
        response.body = MockUpstream::errorBody("authentication_error", "invalid x-api-key");
        return response;
    }
    const Limits *limits = key == workKey() ? &kWorkLimits : key == ciKey() ? &kCiLimits : nullptr;
    if (limits) {
        const QByteArray reset = resetTime().toString(Qt::ISODate).toLatin1();
        response.headers.emplaceBack("anthropic-ratelimit-requests-limit",
                                     QByteArray::number(limits->requestsLimit));
        response.headers.emplaceBack("anthropic-ratelimit-requests-remaining",
                                     QByteArray::number(limits->requestsRemaining));
        response.headers.emplaceBack("anthropic-ratelimit-requests-reset", reset);
        response.headers.emplaceBack("anthropic-ratelimit-tokens-limit",
                                     QByteArray::number(limits->tokensLimit));
        response.headers.emplaceBack("anthropic-ratelimit-tokens-remaining",
                                     QByteArray::number(limits->tokensRemaining));
        response.headers.emplaceBack("anthropic-ratelimit-tokens-reset", reset);
    }
    if (request.target.startsWith("/v1/messages/count_tokens")) {
        response.body = "{\"input_tokens\":42}";
        return response;
    }
    // 100,000 input and 20,000 output tokens of Sonnet 4.6 ($3 and $15 per million): $0.60.
    const QByteArray model = QJsonDocument::fromJson(request.body)
                                 .object()
                                 .value(QLatin1String("model"))
                                 .toString()
                                 .toLatin1();
    response.body = "{\"id\":\"msg_keys\",\"type\":\"message\",\"role\":\"assistant\","
                    "\"model\":\""
        + model
        + "\",\"content\":[{\"type\":\"text\","
          "\"text\":\"hi\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
          "\"usage\":{\"input_tokens\":100000,\"output_tokens\":20000}}";
    return response;
}

TestClient::Response post(Gateway &gateway, const QByteArray &virtualKey, const QByteArray &model)
{
    if (!QTest::qWaitFor([&gateway] { return !gateway.hasChangesInFlight(); }, 5000))
        return {};
    TestClient client;
    client.connectTo(gateway.port());
    client.send("POST", "/v1/messages",
                {{"x-api-key", virtualKey},
                 {"anthropic-version", "2023-06-01"},
                 {"content-type", "application/json"}},
                "{\"model\":\"" + model + "\",\"max_tokens\":64,\"messages\":[]}");
    if (!client.waitForResponses(1))
        return {};
    return client.responses().first();
}

QPushButton *button(QWidget *page, const QString &objectName)
{
    return page->findChild<QPushButton *>(objectName);
}

QString cell(const QAbstractItemModel *model, int row, int column)
{
    return model->index(row, column).data().toString();
}

int rowOf(const QAbstractItemModel *model, const QString &alias)
{
    for (int row = 0; row < model->rowCount(); ++row) {
        if (model->index(row, 0).data(Qt::UserRole + 1).toString() == alias)
            return row;
    }
    return -1;
}

} // namespace tollgate::test::keyspage
