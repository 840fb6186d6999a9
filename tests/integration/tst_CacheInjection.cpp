// Prompt-cache injection on the request path, over real sockets: Claude Code's requests get
// at most the one marker they have room for, plain SDK conversations up to four (three
// without tools: system, newest and previous user turn), the
// upstream never sees a fifth or a changed byte elsewhere, large bodies are scanned as they
// arrive (or off the proxy thread) with the same result, and the switches (settings, virtual key,
// endpoint) are honoured.
#include "GatewayHarness.h"
#include "MockUpstream.h"
#include "SdkBodies.h"
#include "TestClient.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {
QByteArray fixture(const char *name)
{
    QFile file(QStringLiteral(TOLLGATE_FIXTURES_DIR "/") + QLatin1String(name));
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

int countMarkers(const QJsonValue &value)
{
    int n = 0;
    if (value.isObject()) {
        const QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it)
            n += (it.key() == QLatin1String("cache_control") ? 1 : 0) + countMarkers(it.value());
    } else if (value.isArray()) {
        for (const QJsonValue &element : value.toArray())
            n += countMarkers(element);
    }
    return n;
}

// Whether `sent` is `original` with only cache_control members inserted.
bool isOriginalPlusMarkers(const QByteArray &original, const QByteArray &sent)
{
    QByteArray rest = sent;
    for (const QByteArray &marker :
         {QByteArrayLiteral(R"(,"cache_control":{"type":"ephemeral","ttl":"1h"})"),
          QByteArrayLiteral(R"(,"cache_control":{"type":"ephemeral"})")}) {
        qsizetype at = 0;
        while ((at = rest.indexOf(marker, at)) >= 0) {
            if (original.indexOf(rest.left(at + marker.size())) == 0) {
                ++at; // the client's own (a prefix of the original): keep
                continue;
            }
            rest.remove(at, marker.size());
        }
    }
    return rest == original;
}

// The document with every cache_control removed and every one-text-block array that a
// string was wrapped into turned back into the string.
QJsonValue withoutMarkers(const QJsonValue &value)
{
    if (value.isArray()) {
        QJsonArray array;
        for (const QJsonValue &element : value.toArray())
            array.append(withoutMarkers(element));
        if (array.size() == 1 && array.first().isObject()) {
            const QJsonObject block = array.first().toObject();
            if (block.size() == 2 && block.value(QLatin1String("type")) == QLatin1String("text")
                && block.value(QLatin1String("text")).isString())
                return block.value(QLatin1String("text"));
        }
        return array;
    }
    if (value.isObject()) {
        QJsonObject object;
        const QJsonObject in = value.toObject();
        for (auto it = in.begin(); it != in.end(); ++it) {
            if (it.key() != QLatin1String("cache_control"))
                object.insert(it.key(), withoutMarkers(it.value()));
        }
        return object;
    }
    return value;
}

bool isOriginalPlusWrappedMarkers(const QByteArray &original, const QByteArray &sent)
{
    return withoutMarkers(QJsonDocument::fromJson(sent).object())
        == withoutMarkers(QJsonDocument::fromJson(original).object());
}

} // namespace

class tst_CacheInjection final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void addsTheOneMarkerClaudeCodeLeavesRoomFor();
    void marksAPlainSdkConversationInThreePlaces();
    void marksALargeBodyOffTheProxyThread();
    void marksABodyTheSameWhateverPiecesItCameIn_data();
    void marksABodyTheSameWhateverPiecesItCameIn();
    void leavesCountTokensAndShortPromptsAlone();
    void honoursTheSettingAndTheVirtualKeysSwitch();
    void takesANewPolicyWithoutARestart();

private:
    TestClient::Response post(const QByteArray &body, const QByteArray &path = "/v1/messages",
                              const QByteArray &key = GatewayHarness::virtualKey());

    MockUpstream *m_mock = nullptr;
    GatewayHarness *m_gateway = nullptr;
    int m_mostMarkersSeen = 0;
    int m_invalidBodies = 0;
};

void tst_CacheInjection::init()
{
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_mostMarkersSeen = 0;
    m_invalidBodies = 0;
    // The upstream's own checks: valid JSON, never more than 4 breakpoints.
    m_mock->setHandler([this](const MockRequest &request) {
        if (!request.body.isEmpty()) {
            QJsonParseError error;
            const QJsonDocument document = QJsonDocument::fromJson(request.body, &error);
            if (error.error != QJsonParseError::NoError)
                ++m_invalidBodies;
            m_mostMarkersSeen = std::max(m_mostMarkersSeen, countMarkers(document.object()));
        }
        return MockUpstream::messageJson();
    });
    m_gateway = new GatewayHarness(this);
    QVERIFY(m_gateway->start(GatewayHarness::configFor(m_mock->baseUrl())));
}

void tst_CacheInjection::cleanup()
{
    QVERIFY(m_gateway->stop());
    delete m_gateway;
    delete m_mock;
    QCOMPARE(m_invalidBodies, 0);
    QVERIFY2(m_mostMarkersSeen <= 4, qPrintable(QString::number(m_mostMarkersSeen)));
}

TestClient::Response tst_CacheInjection::post(const QByteArray &body, const QByteArray &path,
                                              const QByteArray &key)
{
    TestClient client;
    client.connectTo(m_gateway->port());
    client.send("POST", path, {{"x-api-key", key}, {"content-type", "application/json"}}, body);
    if (!client.waitForResponses(1, 20'000))
        return {};
    return client.responses().first();
}

void tst_CacheInjection::addsTheOneMarkerClaudeCodeLeavesRoomFor()
{
    const QByteArray body = fixture("tool-loop.turn2.body.json");
    QCOMPARE(countMarkers(QJsonDocument::fromJson(body).object()), 3);
    QCOMPARE(post(body, "/v1/messages?beta=true").status, 200);
    const MockRequest &sent = m_mock->requests().first();
    QCOMPARE(countMarkers(QJsonDocument::fromJson(sent.body).object()), 4);
    QVERIFY(isOriginalPlusMarkers(body, sent.body));
    QCOMPARE(sent.header("content-length"), QByteArray::number(sent.body.size()));
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &record = m_gateway->records().first();
    QCOMPARE(record.cacheMarkersAdded, 1);
    QCOMPARE(record.requestBytes, body.size()); // as the client sent it
    // Claude Code's own 3 markers would have read the same prefix: the savings are its own.
    QCOMPARE(record.cacheMarkersClient, 3);
    QVERIFY(!record.cacheReadsByTollgate);

    // Its first turn has no room that pays: forwarded as it came, the client's markers counted.
    const QByteArray first = fixture("tool-loop.turn1.body.json");
    QCOMPARE(post(first, "/v1/messages?beta=true").status, 200);
    QCOMPARE(m_mock->requests().last().body, first);
    QVERIFY(m_gateway->waitForRecords(2));
    QCOMPARE(m_gateway->records().at(1).cacheMarkersAdded, 0);
    QCOMPARE(m_gateway->records().at(1).cacheMarkersClient,
             countMarkers(QJsonDocument::fromJson(first).object()));
    QVERIFY(!m_gateway->records().at(1).cacheReadsByTollgate);
}

void tst_CacheInjection::marksAPlainSdkConversationInThreePlaces()
{
    const QByteArray body = sdkConversation(6, 400);
    QCOMPARE(post(body).status, 200);
    const QByteArray sent = m_mock->requests().first().body;
    QCOMPARE(countMarkers(QJsonDocument::fromJson(sent).object()), 3); // no tools: 3 places
    // The string system prompt became one text block holding the very same text.
    const QJsonObject object = QJsonDocument::fromJson(sent).object();
    QVERIFY(object.value(QLatin1String("system")).isArray());
    QCOMPARE(object.value(QLatin1String("system"))
                 .toArray()
                 .first()
                 .toObject()
                 .value(QLatin1String("text")),
             QJsonDocument::fromJson(body).object().value(QLatin1String("system")));
    QVERIFY(isOriginalPlusWrappedMarkers(body, sent));
    QVERIFY(m_gateway->waitForRecords(1));
    QCOMPARE(m_gateway->records().first().cacheMarkersAdded, 3);
    // The client marked nothing: whatever it reads from the cache is Tollgate's doing.
    QCOMPARE(m_gateway->records().first().cacheMarkersClient, 0);
    QVERIFY(m_gateway->records().first().cacheReadsByTollgate);
}

void tst_CacheInjection::marksALargeBodyOffTheProxyThread()
{
    // Several MiB, with the session the request log reads from metadata.user_id.
    const QByteArray body = QByteArray(sdkConversation(500, 400))
                                .insert(1,
                                        R"("metadata":{"user_id":"user_0123abcd_account__)"
                                        R"(session_0b7c4d0e-1111-4a2b-9c3d-123456789abc"},)");
    QVERIFY(body.size() > 2 * 1024 * 1024);
    // A second client on another connection while the large body is being prepared.
    TestClient other;
    other.connectTo(m_gateway->port());
    TestClient big;
    big.connectTo(m_gateway->port());
    big.send("POST", "/v1/messages",
             {{"x-api-key", GatewayHarness::virtualKey()}, {"content-type", "application/json"}},
             body);
    other.send("POST", "/v1/messages",
               {{"x-api-key", GatewayHarness::virtualKey()}, {"content-type", "application/json"}},
               R"({"model":"claude-opus-4-8","max_tokens":5,"messages":[]})");
    QVERIFY(big.waitForResponses(1, 20'000));
    QVERIFY(other.waitForResponses(1, 20'000));
    QCOMPARE(big.responses().first().status, 200);
    QCOMPARE(other.responses().first().status, 200);
    QVERIFY(m_gateway->waitForRecords(2));
    int marked = 0;
    for (const MockRequest &request : m_mock->requests()) {
        if (request.body.size() > body.size()) {
            ++marked;
            QVERIFY(isOriginalPlusWrappedMarkers(body, request.body));
            QCOMPARE(countMarkers(QJsonDocument::fromJson(request.body).object()), 3);
        }
    }
    QCOMPARE(marked, 1);
    // The worker that placed the markers also read the log's facts of the body.
    const auto row = std::find_if(
        m_gateway->records().begin(), m_gateway->records().end(),
        [&](const RequestRecord &record) { return record.requestBytes == body.size(); });
    QVERIFY(row != m_gateway->records().end());
    QCOMPARE(row->sessionId, QByteArray("0b7c4d0e-1111-4a2b-9c3d-123456789abc"));
    QCOMPARE(row->cacheMarkersAdded, 3);
}

void tst_CacheInjection::marksABodyTheSameWhateverPiecesItCameIn_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("piece");
    QTest::addColumn<bool>("isChunked");
    QTest::addColumn<int>("markers");
    QTest::addColumn<bool>("isConversation");
    const QByteArray metadata = R"("metadata":{"user_id":"user_0123abcd_account__)"
                                R"(session_0b7c4d0e-1111-4a2b-9c3d-123456789abc"},)";
    // Hundreds of messages, taken one by one while they arrive.
    const QByteArray conversation = QByteArray(sdkConversation(300, 300)).insert(1, metadata);
    QTest::newRow("conversation, 64 KiB pieces") << conversation << 65536 << false << 3 << true;
    QTest::newRow("conversation, odd pieces") << conversation << 7777 << false << 3 << true;
    QTest::newRow("conversation, chunked") << conversation << 50000 << true << 3 << true;
    // One user message of 2 MiB: too long to scan on the proxy thread as it arrives, so the
    // whole body goes to a worker.
    const QByteArray text = QByteArray("lorem ipsum ").repeated(180'000);
    const QByteArray single = R"({)" + metadata
        + R"("model":"claude-sonnet-4-5","max_tokens":64,)"
          R"("messages":[{"role":"user","content":[{"type":"text","text":")"
        + text + R"("}]}]})";
    QTest::newRow("one long message") << single << 65536 << false << 1 << false;
    // Not JSON after a good start: forwarded as it came.
    const QByteArray broken = conversation.left(conversation.size() - 2) + "]";
    QTest::newRow("broken at the end") << broken << 65536 << false << 0 << true;
}

void tst_CacheInjection::marksABodyTheSameWhateverPiecesItCameIn()
{
    QFETCH(QByteArray, body);
    QFETCH(int, piece);
    QFETCH(bool, isChunked);
    QFETCH(int, markers);
    QFETCH(bool, isConversation);
    QVERIFY(body.size() > 1024 * 1024);
    TestClient client;
    client.connectTo(m_gateway->port());
    TestClient::Headers headers {{"x-api-key", GatewayHarness::virtualKey()},
                                 {"content-type", "application/json"}};
    headers.append(isChunked
                       ? qMakePair(QByteArray("transfer-encoding"), QByteArray("chunked"))
                       : qMakePair(QByteArray("content-length"), QByteArray::number(body.size())));
    client.sendRaw(TestClient::request("POST", "/v1/messages", headers));
    // Each piece is read by the gateway before the next is sent.
    const qsizetype lastPiece = (body.size() - 1) / piece * piece;
    for (qsizetype at = 0; at < body.size(); at += piece) {
        const QByteArray bytes = body.mid(at, piece);
        if (at == lastPiece && !isChunked && isConversation) {
            // A conversation announced by its length goes upstream as it arrives: before
            // its last piece, the vendor has all but the last user turns.
            QTRY_VERIFY_WITH_TIMEOUT(m_mock->bytesReceived() > at - 20'000, 5000);
            QCOMPARE(m_mock->requests().size(), 0);
        }
        client.sendRaw(isChunked ? QByteArray::number(bytes.size(), 16) + "\r\n" + bytes + "\r\n"
                                 : bytes);
        QTest::qWait(1);
    }
    if (isChunked)
        client.sendRaw("0\r\n\r\n");
    QVERIFY(client.waitForResponses(1, 20'000));
    QCOMPARE(client.responses().first().status, 200);
    QCOMPARE(m_mock->requests().size(), 1);
    const QByteArray &sent = m_mock->requests().first().body;
    // Byte for byte what the whole body gives. One sent on as it arrived went out with a
    // length announced before its markers were known: where they took less than the most
    // they could, it ends in spaces (whitespace after a JSON value is part of the document).
    const CacheInjector::Result expected = CacheInjector::inject(body, {});
    QCOMPARE(expected.markersAdded, markers);
    const qsizetype padding =
        isChunked ? 0 : body.size() + CacheInjector::maxInsertedBytes() - expected.body.size();
    QCOMPARE(sent.size(), expected.body.size() + padding);
    QVERIFY(sent.first(expected.body.size()) == expected.body);
    QCOMPARE(sent.sliced(expected.body.size()), QByteArray(padding, ' '));
    QVERIFY(m_gateway->waitForRecords(1));
    const RequestRecord &row = m_gateway->records().first();
    QCOMPARE(row.cacheMarkersAdded, markers);
    QCOMPARE(row.requestBytes, body.size());
    if (markers > 0)
        QCOMPARE(row.sessionId, QByteArray("0b7c4d0e-1111-4a2b-9c3d-123456789abc"));
    else
        m_invalidBodies = 0; // sent broken on purpose
}

void tst_CacheInjection::leavesCountTokensAndShortPromptsAlone()
{
    const QByteArray body = sdkConversation(6, 400);
    QCOMPARE(post(body, "/v1/messages/count_tokens").status, 200);
    QCOMPARE(m_mock->requests().last().body, body);
    const QByteArray tiny =
        R"({"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})";
    QCOMPARE(post(tiny).status, 200);
    QCOMPARE(m_mock->requests().last().body, tiny);
    const QByteArray broken = body.left(body.size() / 2);
    post(broken);
    QCOMPARE(m_mock->requests().last().body, broken);
    m_invalidBodies = 0; // that one was sent broken on purpose
}

void tst_CacheInjection::honoursTheSettingAndTheVirtualKeysSwitch()
{
    QVERIFY(m_gateway->stop());
    GatewayConfig config = GatewayHarness::configFor(m_mock->baseUrl());
    VirtualKey raw;
    raw.alias = QStringLiteral("raw");
    raw.secret = "tg-RawRawRawRawRawRawRawRawRawRawRawRawRawRaw1";
    raw.injectsCache = false;
    config.namedVirtualKeys = {raw};
    QVERIFY(m_gateway->start(config));
    const QByteArray body = sdkConversation(6, 400);
    QCOMPARE(post(body, "/v1/messages", raw.secret).status, 200);
    QCOMPARE(m_mock->requests().last().body, body);
    QCOMPARE(post(body).status, 200); // the default key still gets markers
    QVERIFY(m_mock->requests().last().body != body);

    QVERIFY(m_gateway->stop());
    config.cacheInjection.isEnabled = false;
    QVERIFY(m_gateway->start(config));
    QCOMPARE(post(body).status, 200);
    QCOMPARE(m_mock->requests().last().body, body);
}

void tst_CacheInjection::takesANewPolicyWithoutARestart()
{
    const QByteArray body = sdkConversation(6, 400);
    const QByteArray oneHour = R"("cache_control":{"type":"ephemeral","ttl":"1h"})";
    QSignalSpy stopped(&m_gateway->gateway(), &Gateway::stopped);
    QSignalSpy started(&m_gateway->gateway(), &Gateway::started);

    // The proxy thread takes the change with its next events: a request already on its way
    // may still see the old policy.
    m_gateway->gateway().setCacheInjection({false, CacheInjector::Ttl::FiveMinutes});
    QVERIFY(QTest::qWaitFor(
        [&] { return post(body).status == 200 && m_mock->requests().last().body == body; }, 5000));

    m_gateway->gateway().setCacheInjection({true, CacheInjector::Ttl::OneHour});
    QVERIFY(QTest::qWaitFor(
        [&] { return post(body).status == 200 && m_mock->requests().last().body != body; }, 5000));
    const QByteArray sent = m_mock->requests().last().body;
    QVERIFY(isOriginalPlusWrappedMarkers(body, sent));
    QCOMPARE(sent.count(oneHour), 3);
    // And it stays: the next request gets the same.
    QCOMPARE(post(body).status, 200);
    QCOMPARE(m_mock->requests().last().body, sent);
    // The same run all along: no connection was dropped for it.
    QCOMPARE(stopped.count(), 0);
    QCOMPARE(started.count(), 0);
    QCOMPARE(m_gateway->gateway().config().cacheInjection.ttl, CacheInjector::Ttl::OneHour);
}

QTEST_MAIN(tst_CacheInjection)
#include "tst_CacheInjection.moc"
