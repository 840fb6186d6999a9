// Routing by model over real sockets: rules send requests to other providers, in the other
// dialect where the provider speaks OpenAI's chat completions, with a fallback chain; OpenAI
// clients reach Anthropic through /v1/chat/completions; the request log names the provider
// and the surface of each request.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QByteArray kVendorKey = "sk-vendor-test-key-0001";

QJsonObject objectOf(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

// A chat.completion as an OpenAI-compatible vendor answers it.
MockResponse chatCompletion(const QByteArray &text, const QByteArray &model = "gpt-test")
{
    MockResponse response;
    response.headers = {{"content-type", "application/json"}, {"x-request-id", "vendor-req-1"}};
    response.body = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,"
                    "\"model\":\""
        + model
        + "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
          "\"content\":\""
        + text
        + "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":"
          "5,"
          "\"total_tokens\":35,\"prompt_tokens_details\":{\"cached_tokens\":10}}}";
    return response;
}

// The same answer streamed, with a tool call whose arguments come in two pieces.
MockResponse chatStream()
{
    MockResponse response;
    response.headers = {{"content-type", "text/event-stream"}};
    const QList<QByteArray> chunks = {
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test\",\"choices\":[{"
        "\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let me "
        "look\"},\"finish_reason\":null}]}",
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test\",\"choices\":[{"
        "\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":"
        "\"function\",\"function\":{\"name\":\"Read\",\"arguments\":\"{\\\"path\\\":\"}}]},"
        "\"finish_reason\":null}]}",
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test\",\"choices\":[{"
        "\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"a."
        "txt\\\"}\"}}]},\"finish_reason\":null}]}",
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test\",\"choices\":[{"
        "\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test\",\"choices\":[],"
        "\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":9,\"total_tokens\":49}}",
        "[DONE]"};
    for (const QByteArray &chunk : chunks)
        response.events.append(MockEvent {QByteArray(), chunk, 0});
    return response;
}

// The event names of an Anthropic stream, in order.
QByteArrayList eventNames(const QByteArray &stream)
{
    QByteArrayList names;
    for (const QByteArray &line : stream.split('\n')) {
        if (line.startsWith("event: "))
            names.append(line.mid(7).trimmed());
    }
    return names;
}
} // namespace

class tst_Routing final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void leavesUnroutedModelsWithAnthropic();
    void translatesForAnOpenAiProvider();
    void translatesAStreamWithToolCalls();
    void mapsTheProvidersErrors();
    void fallsBackToTheNextProviderOn429();
    void rewritesTheModelByteForByte();
    void refusesCountTokensOnAnOpenAiRoute();
    void pricesEachProvidersModelsItsOwnWay();
    void servesOpenAiClientsFromAnthropic();
    void streamsToOpenAiClients();
    void listsModelsInOpenAisShape();
    void answersOpenAiClientsErrorsInTheirShape();
    void accountsOpenAiClientsOfAnOpenAiProvider();

private:
    GatewayConfig config(const QList<Route> &routes);
    TestClient::Response post(const QByteArray &path, const QByteArray &body,
                              const TestClient::Headers &headers = GatewayHarness::clientHeaders());

    MockUpstream *m_anthropic = nullptr;
    MockUpstream *m_vendor = nullptr;
    GatewayHarness *m_gateway = nullptr;
};

void tst_Routing::init()
{
    m_anthropic = new MockUpstream(this);
    m_vendor = new MockUpstream(this);
    QVERIFY(m_anthropic->listen());
    QVERIFY(m_vendor->listen());
    m_gateway = new GatewayHarness(this);
}

void tst_Routing::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_vendor;
    delete m_anthropic;
}

GatewayConfig tst_Routing::config(const QList<Route> &routes)
{
    GatewayConfig c = GatewayHarness::configFor(m_anthropic->baseUrl());
    Provider vendor;
    vendor.name = QStringLiteral("vendor");
    vendor.kind = Provider::Kind::OpenAi;
    vendor.auth = Provider::Auth::Bearer;
    vendor.baseUrl = QUrl(QString::fromLatin1(m_vendor->baseUrl() + "/v1"));
    vendor.keys = {{QStringLiteral("vendor-key"), kVendorKey}};
    vendor.headers = {{"X-Title", "Tollgate"}};
    c.providers = {vendor};
    c.routes = routes;
    c.cacheInjection.isEnabled = false;
    return c;
}

TestClient::Response tst_Routing::post(const QByteArray &path, const QByteArray &body,
                                       const TestClient::Headers &headers)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", path, headers, body);
    if (!client.waitForResponses(1))
        return {};
    return client.responses().first();
}

namespace {
Route route(const QString &model, const QStringList &providers, const QString &rewrite = {})
{
    Route r;
    r.model = model;
    r.providers = providers;
    r.rewriteModel = rewrite;
    return r;
}

const QByteArray kGptBody = "{\"model\":\"gpt-test\",\"max_tokens\":100,\"system\":\"Be "
                            "brief.\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
} // namespace

void tst_Routing::leavesUnroutedModelsWithAnthropic()
{
    QVERIFY(m_gateway->start(config({route(QStringLiteral("gpt-*"), {QStringLiteral("vendor")})})));
    const QByteArray body = "{\"model\":\"claude-opus-4-8\",\"max_tokens\":10,\"messages\":[]}";
    QCOMPARE(post("/v1/messages", body).status, 200);
    QCOMPARE(m_anthropic->requests().size(), 1);
    QCOMPARE(m_anthropic->requests().first().body, body); // untouched
    QCOMPARE(m_vendor->requests().size(), 0);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().provider, QStringLiteral("anthropic"));
    QCOMPARE(m_gateway->records().first().surface, QStringLiteral("anthropic"));
}

void tst_Routing::translatesForAnOpenAiProvider()
{
    QVERIFY(m_gateway->start(config({route(QStringLiteral("gpt-*"), {QStringLiteral("vendor")})})));
    m_vendor->enqueue(chatCompletion("Hi there"));
    const TestClient::Response response = post("/v1/messages", kGptBody);
    QCOMPARE(response.status, 200);

    QCOMPARE(m_vendor->requests().size(), 1);
    const MockRequest &sent = m_vendor->requests().first();
    QCOMPARE(sent.target, QByteArray("/v1/chat/completions"));
    QCOMPARE(sent.header("authorization"), "Bearer " + kVendorKey);
    QVERIFY(sent.header("x-api-key").isNull()); // neither the virtual key nor another
    QVERIFY(sent.header("anthropic-version").isNull());
    QCOMPARE(sent.header("x-title"), QByteArray("Tollgate"));
    const QJsonObject chat = objectOf(sent.body);
    QCOMPARE(chat.value(QLatin1String("model")).toString(), QStringLiteral("gpt-test"));
    const QJsonArray messages = chat.value(QLatin1String("messages")).toArray();
    QCOMPARE(messages.at(0).toObject().value(QLatin1String("role")).toString(),
             QStringLiteral("system"));
    QCOMPARE(messages.at(1).toObject().value(QLatin1String("content")).toString(),
             QStringLiteral("hi"));
    QCOMPARE(m_anthropic->requests().size(), 0);

    const QJsonObject message = objectOf(response.body);
    QCOMPARE(message.value(QLatin1String("type")).toString(), QStringLiteral("message"));
    QCOMPARE(message.value(QLatin1String("stop_reason")).toString(), QStringLiteral("end_turn"));
    QCOMPARE(message.value(QLatin1String("content"))
                 .toArray()
                 .at(0)
                 .toObject()
                 .value(QLatin1String("text")),
             QJsonValue(QStringLiteral("Hi there")));
    const QJsonObject usage = message.value(QLatin1String("usage")).toObject();
    QCOMPARE(usage.value(QLatin1String("input_tokens")).toInt(), 20); // 30 - 10 cached
    QCOMPARE(usage.value(QLatin1String("cache_read_input_tokens")).toInt(), 10);
    QCOMPARE(usage.value(QLatin1String("output_tokens")).toInt(), 5);
    QCOMPARE(response.header("request-id"), QByteArray("vendor-req-1"));

    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &record = m_gateway->records().first();
    QCOMPARE(record.provider, QStringLiteral("vendor"));
    QCOMPARE(record.upstreamKeyAlias, QStringLiteral("vendor-key"));
    QCOMPARE(record.status, 200);
}

void tst_Routing::translatesAStreamWithToolCalls()
{
    QVERIFY(m_gateway->start(config({route(QStringLiteral("gpt-*"), {QStringLiteral("vendor")})})));
    m_vendor->enqueue(chatStream());
    QByteArray body = kGptBody;
    body.replace("\"max_tokens\":100,", "\"max_tokens\":100,\"stream\":true,");
    const TestClient::Response response = post("/v1/messages", body);
    QCOMPARE(response.status, 200);
    QVERIFY(response.header("content-type").startsWith("text/event-stream"));
    QCOMPARE(eventNames(response.body),
             (QByteArrayList {"message_start", "content_block_start", "content_block_delta",
                              "content_block_stop", "content_block_start", "content_block_delta",
                              "content_block_delta", "content_block_stop", "message_delta",
                              "message_stop"}));
    QVERIFY(response.body.contains("\"stop_reason\":\"tool_use\""));
    QVERIFY(response.body.contains("\"type\":\"input_json_delta\""));
    const QJsonObject chat = objectOf(m_vendor->requests().first().body);
    QCOMPARE(chat.value(QLatin1String("stream_options"))
                 .toObject()
                 .value(QLatin1String("include_usage"))
                 .toBool(),
             true);
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &record = m_gateway->records().first();
    QVERIFY(record.isStreaming);
    QCOMPARE(record.provider, QStringLiteral("vendor"));
}

void tst_Routing::mapsTheProvidersErrors()
{
    QVERIFY(m_gateway->start(config({route(QStringLiteral("gpt-*"), {QStringLiteral("vendor")})})));
    MockResponse error;
    error.status = 400;
    error.headers = {{"content-type", "application/json"}};
    error.body = "{\"error\":{\"message\":\"max_tokens is too "
                 "large\",\"type\":\"invalid_request_error\",\"code\":null}}";
    m_vendor->enqueue(error);
    const TestClient::Response response = post("/v1/messages", kGptBody);
    QCOMPARE(response.status, 400);
    const QJsonObject body = objectOf(response.body);
    QCOMPARE(body.value(QLatin1String("type")).toString(), QStringLiteral("error"));
    QCOMPARE(GatewayHarness::errorType(response.body), QStringLiteral("invalid_request_error"));
    QVERIFY(response.body.contains("max_tokens is too large"));
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 400);
}

void tst_Routing::fallsBackToTheNextProviderOn429()
{
    QVERIFY(m_gateway->start(config(
        {route(QStringLiteral("gpt-*"), {QStringLiteral("vendor"), QStringLiteral("anthropic")},
               QStringLiteral("claude-haiku-4-5"))})));
    MockResponse limited;
    limited.status = 429;
    limited.headers = {{"content-type", "application/json"}, {"retry-after", "30"}};
    limited.body = "{\"error\":{\"message\":\"rate limited\",\"type\":\"rate_limit_error\"}}";
    m_vendor->enqueue(limited);
    const TestClient::Response response = post("/v1/messages", kGptBody);
    QCOMPARE(response.status, 200);
    QCOMPARE(m_vendor->requests().size(), 1);
    QCOMPARE(m_anthropic->requests().size(), 1);
    // The Anthropic provider gets the request in its own dialect with the route's model.
    QCOMPARE(objectOf(m_anthropic->requests().first().body).value(QLatin1String("model")),
             QJsonValue(QStringLiteral("claude-haiku-4-5")));
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().provider, QStringLiteral("anthropic"));

    // The Routes page learns that the vendor's only key rests after its 429.
    QSignalSpy health(&m_gateway->gateway(), &Gateway::providerHealth);
    m_gateway->gateway().requestKeyStatus();
    QTRY_COMPARE(health.size(), 2);
    QMap<QString, QString> states;
    for (const QList<QVariant> &signal : std::as_const(health))
        states.insert(signal.at(0).toString(), signal.at(1).toString());
    QCOMPARE(states.value(QStringLiteral("vendor")), QStringLiteral("limited"));
    QCOMPARE(states.value(QStringLiteral("anthropic")), QStringLiteral("ok"));
}

void tst_Routing::rewritesTheModelByteForByte()
{
    QVERIFY(m_gateway->start(config({route(QStringLiteral("sonnet"), {QStringLiteral("anthropic")},
                                           QStringLiteral("claude-sonnet-4-6"))})));
    const QByteArray body = "{\"max_tokens\": 10,  \"model\" : \"sonnet\", "
                            "\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9 1.50e2\"}]}";
    QCOMPARE(post("/v1/messages", body).status, 200);
    QByteArray expected = body;
    expected.replace("\"sonnet\"", "\"claude-sonnet-4-6\"");
    QCOMPARE(m_anthropic->requests().first().body, expected);
}

void tst_Routing::refusesCountTokensOnAnOpenAiRoute()
{
    QVERIFY(m_gateway->start(config({route(QStringLiteral("gpt-*"), {QStringLiteral("vendor")})})));
    const TestClient::Response response =
        post("/v1/messages/count_tokens",
             "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    QCOMPARE(response.status, 501);
    QVERIFY(response.body.contains("no token counting endpoint"));
    QCOMPARE(m_vendor->requests().size(), 0);
    QCOMPARE(m_anthropic->requests().size(), 0);
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().status, 501);
    QCOMPARE(m_gateway->records().first().provider, QStringLiteral("vendor"));
}

void tst_Routing::pricesEachProvidersModelsItsOwnWay()
{
    // The vendor serves a Claude model name: without a price of its own it is unpriced,
    // never billed at Anthropic's rate; a model it lists a price for is priced.
    GatewayConfig c = config({route(QStringLiteral("*"), {QStringLiteral("vendor")})});
    c.providers.first().prices =
        QJsonDocument::fromJson("{\"gpt-test\": {\"input\": \"2\", \"output\": \"8\"}}").object();
    QVERIFY(m_gateway->start(c));
    m_vendor->enqueue(chatCompletion("one"));
    m_vendor->enqueue(chatCompletion("two", "claude-opus-4-8"));
    QCOMPARE(post("/v1/messages", kGptBody).status, 200);
    QByteArray claude = kGptBody;
    claude.replace("gpt-test", "claude-opus-4-8");
    QCOMPARE(post("/v1/messages", claude).status, 200);
    QVERIFY(m_gateway->waitForRecords(2));
    // 20 uncached + 10 cached input at $2/MTok (reads at 0.1x), 5 output at $8/MTok.
    QCOMPARE(m_gateway->records().at(0).costPicoUsd,
             std::optional<qint64>(20 * 2'000'000LL + 10 * 200'000LL + 5 * 8'000'000LL));
    QVERIFY(!m_gateway->records().at(1).costPicoUsd.has_value());
}

void tst_Routing::servesOpenAiClientsFromAnthropic()
{
    QVERIFY(m_gateway->start(config({})));
    const TestClient::Headers openAi = {{"authorization", "Bearer " + GatewayHarness::virtualKey()},
                                        {"content-type", "application/json"}};
    const TestClient::Response response =
        post("/v1/chat/completions",
             "{\"model\":\"claude-opus-4-8\",\"messages\":[{\"role\":\"system\",\"content\":\"Be "
             "brief.\"},{\"role\":\"user\",\"content\":\"hi\"}]}",
             openAi);
    QCOMPARE(response.status, 200);
    const MockRequest &sent = m_anthropic->requests().first();
    QCOMPARE(sent.target, QByteArray("/v1/messages"));
    QCOMPARE(sent.header("x-api-key"), GatewayHarness::upstreamKey());
    QCOMPARE(sent.header("anthropic-version"), QByteArray("2023-06-01"));
    QVERIFY(sent.header("authorization").isNull());
    const QJsonObject messages = objectOf(sent.body);
    QVERIFY(messages.value(QLatin1String("max_tokens")).toInt() > 0);
    QVERIFY(!messages.value(QLatin1String("system")).isUndefined());

    const QJsonObject completion = objectOf(response.body);
    QCOMPARE(completion.value(QLatin1String("object")).toString(),
             QStringLiteral("chat.completion"));
    const QJsonObject choice =
        completion.value(QLatin1String("choices")).toArray().at(0).toObject();
    QCOMPARE(choice.value(QLatin1String("message")).toObject().value(QLatin1String("content")),
             QJsonValue(QStringLiteral("Hello from the mock")));
    QCOMPARE(completion.value(QLatin1String("usage"))
                 .toObject()
                 .value(QLatin1String("completion_tokens"))
                 .toInt(),
             7);
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &record = m_gateway->records().first();
    QCOMPARE(record.surface, QStringLiteral("openai"));
    QCOMPARE(record.provider, QStringLiteral("anthropic"));
    QCOMPARE(record.usage.outputTokens, 7);
}

void tst_Routing::streamsToOpenAiClients()
{
    QVERIFY(m_gateway->start(config({})));
    const TestClient::Headers openAi = {{"authorization", "Bearer " + GatewayHarness::virtualKey()},
                                        {"content-type", "application/json"}};
    const TestClient::Response response =
        post("/v1/chat/completions",
             "{\"model\":\"claude-opus-4-8\",\"stream\":true,\"stream_options\":{\"include_usage\":"
             "true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
             openAi);
    QCOMPARE(response.status, 200);
    QVERIFY(response.body.contains("\"object\":\"chat.completion.chunk\""));
    QVERIFY(response.body.trimmed().endsWith("data: [DONE]"));
    QVERIFY(!response.body.contains("event:")); // OpenAI streams carry data lines only
    QVERIFY(response.body.contains("\"finish_reason\":\"stop\""));
    QVERIFY(response.body.contains("\"usage\":{"));
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().surface, QStringLiteral("openai"));
    QVERIFY(m_gateway->records().first().usage.outputTokens > 0);
}

void tst_Routing::listsModelsInOpenAisShape()
{
    QVERIFY(m_gateway->start(config({})));
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("GET", "/v1/models", {{"authorization", "Bearer " + GatewayHarness::virtualKey()}});
    QVERIFY(client.waitForResponses(1));
    const TestClient::Response &response = client.responses().first();
    QCOMPARE(response.status, 200);
    const QJsonObject list = objectOf(response.body);
    QCOMPARE(list.value(QLatin1String("object")).toString(), QStringLiteral("list"));
    const QJsonArray data = list.value(QLatin1String("data")).toArray();
    QVERIFY(!data.isEmpty());
    QCOMPARE(data.first().toObject().value(QLatin1String("object")).toString(),
             QStringLiteral("model"));
    QVERIFY(data.first()
                .toObject()
                .value(QLatin1String("id"))
                .toString()
                .startsWith(QLatin1String("claude-")));
    const MockRequest &sent = m_anthropic->requests().first();
    QVERIFY(sent.target.startsWith("/v1/models"));
    QCOMPARE(sent.header("anthropic-version"), QByteArray("2023-06-01"));
    QCOMPARE(sent.header("x-api-key"), GatewayHarness::upstreamKey());

    // An Anthropic client still gets Anthropic's list, untouched.
    TestClient anthropic;
    anthropic.connectTo(m_gateway->port());
    anthropic.send("GET", "/v1/models", GatewayHarness::clientHeaders());
    QVERIFY(anthropic.waitForResponses(1));
    QVERIFY(
        objectOf(anthropic.responses().first().body).value(QLatin1String("object")).isUndefined());
}

void tst_Routing::answersOpenAiClientsErrorsInTheirShape()
{
    QVERIFY(m_gateway->start(config({})));
    const TestClient::Response wrongKey =
        post("/v1/chat/completions", "{\"model\":\"claude-opus-4-8\",\"messages\":[]}",
             {{"authorization", "Bearer sk-not-a-tollgate-key-000000"},
              {"content-type", "application/json"}});
    QCOMPARE(wrongKey.status, 401);
    const QJsonObject error = objectOf(wrongKey.body).value(QLatin1String("error")).toObject();
    QVERIFY(!error.isEmpty());
    QVERIFY(objectOf(wrongKey.body).value(QLatin1String("type")).isUndefined());
    QVERIFY(error.value(QLatin1String("message")).toString().contains(QLatin1String("API key")));
    QCOMPARE(wrongKey.header("content-length").toInt(), wrongKey.body.size());
    // Every header line ends in CRLF: strict parsers (Node's) refuse a bare LF.
    QVERIFY(!QByteArray(wrongKey.rawHead).replace("\r\n", "").contains('\n'));

    const TestClient::Response notJson =
        post("/v1/chat/completions", "{not json",
             {{"authorization", "Bearer " + GatewayHarness::virtualKey()},
              {"content-type", "application/json"}});
    QCOMPARE(notJson.status, 400);
    QVERIFY(!objectOf(notJson.body).value(QLatin1String("error")).toObject().isEmpty());
    QVERIFY(objectOf(notJson.body).value(QLatin1String("type")).isUndefined());
    QCOMPARE(m_anthropic->requests().size(), 0);
    // Anthropic clients keep Anthropic's shape.
    const TestClient::Response anthropicWrongKey =
        post("/v1/messages", "{}", {{"x-api-key", "sk-not-a-tollgate-key-000000"}});
    QCOMPARE(GatewayHarness::errorType(anthropicWrongKey.body),
             QStringLiteral("authentication_error"));
}

// An OpenAI client routed to an OpenAI-compatible provider gets the vendor's answer
// byte for byte, and the request log still has its tokens and cost, read in OpenAI's terms:
// a whole (compressed) answer, a stream with its usage chunk, and a stream without one,
// whose tokens are unknown rather than zero.
void tst_Routing::accountsOpenAiClientsOfAnOpenAiProvider()
{
    GatewayConfig c = config({route(QStringLiteral("gpt-*"), {QStringLiteral("vendor")})});
    c.providers.first().prices =
        QJsonDocument::fromJson("{\"gpt-test\": {\"input\": \"2\", \"output\": \"8\"}}").object();
    QVERIFY(m_gateway->start(c));
    const TestClient::Headers openAi = {{"authorization", "Bearer " + GatewayHarness::virtualKey()},
                                        {"content-type", "application/json"},
                                        {"accept-encoding", "gzip"}};
    const QByteArray request =
        "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    MockResponse whole = chatCompletion("Hi there");
    whole.gzip = true;
    m_vendor->enqueue(whole);
    const TestClient::Response answer = post("/v1/chat/completions", request, openAi);
    QCOMPARE(answer.status, 200);
    QCOMPARE(answer.header("content-encoding"), QByteArray("gzip")); // untouched
    bool ok = false;
    QCOMPARE(TestClient::gunzip(answer.body, &ok), chatCompletion("Hi there").body);
    QVERIFY(ok);
    const MockRequest &sent = m_vendor->requests().first();
    QCOMPARE(sent.target, QByteArray("/v1/chat/completions"));
    QCOMPARE(sent.body, request);
    QCOMPARE(sent.header("authorization"), "Bearer " + kVendorKey);

    QByteArray streamed = request;
    streamed.replace("\"messages\"",
                     "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\"");
    m_vendor->enqueue(chatStream());
    const TestClient::Response stream = post("/v1/chat/completions", streamed, openAi);
    QCOMPARE(stream.status, 200);
    QVERIFY(stream.body.trimmed().endsWith("data: [DONE]"));
    QVERIFY(!stream.body.contains("event:"));

    MockResponse withoutUsage = chatStream();
    withoutUsage.events.removeAt(withoutUsage.events.size() - 2); // the usage chunk
    m_vendor->enqueue(withoutUsage);
    QByteArray plainStream = request;
    plainStream.replace("\"messages\"", "\"stream\":true,\"messages\"");
    QCOMPARE(post("/v1/chat/completions", plainStream, openAi).status, 200);

    QVERIFY(m_gateway->waitForRecords(3));
    const RequestRecord &first = m_gateway->records().at(0);
    QCOMPARE(first.surface, QStringLiteral("openai"));
    QCOMPARE(first.provider, QStringLiteral("vendor"));
    QCOMPARE(first.model, QStringLiteral("gpt-test"));
    // 30 prompt tokens of which 10 cached, 5 completion tokens: $2/MTok in (reads 0.1x),
    // $8/MTok out.
    QCOMPARE(first.usage.inputTokens, 20);
    QCOMPARE(first.usage.cacheReadTokens, 10);
    QCOMPARE(first.usage.outputTokens, 5);
    QCOMPARE(first.costPicoUsd,
             std::optional<qint64>(20 * 2'000'000LL + 10 * 200'000LL + 5 * 8'000'000LL));
    QVERIFY(!first.isIncomplete);

    const RequestRecord &second = m_gateway->records().at(1);
    QVERIFY(second.isStreaming);
    QCOMPARE(second.usage.inputTokens, 40);
    QCOMPARE(second.usage.outputTokens, 9);
    QCOMPARE(second.costPicoUsd, std::optional<qint64>(40 * 2'000'000LL + 9 * 8'000'000LL));
    QVERIFY(!second.isIncomplete);

    const RequestRecord &third = m_gateway->records().at(2);
    QVERIFY(!third.usage.hasUsage);
    QVERIFY(!third.costPicoUsd.has_value()); // unknown, never $0
    QVERIFY2(third.error.contains(QLatin1String("include_usage")), qPrintable(third.error));
}

QTEST_GUILESS_MAIN(tst_Routing)
#include "tst_Routing.moc"
