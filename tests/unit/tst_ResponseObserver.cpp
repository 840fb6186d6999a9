#include "Compressors.h"
#include "usage/ResponseObserver.h"

#include <QFile>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

namespace {

QByteArray fixtureStream()
{
    QFile file(QStringLiteral(TOLLGATE_FIXTURES_DIR "/sample-response.sse"));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

// The `data` of the fixture's event with this name.
QByteArray fixtureData(const QByteArray &eventName)
{
    const QByteArray stream = fixtureStream();
    const QByteArray marker = "event: " + eventName + "\ndata: ";
    const qsizetype start = stream.indexOf(marker);
    if (start < 0)
        return {};
    const qsizetype dataStart = start + marker.size();
    return stream.mid(dataStart, stream.indexOf('\n', dataStart) - dataStart);
}

ResponseObservation observe(const QByteArray &contentType, const QByteArray &contentEncoding,
                            const QList<QByteArray> &chunks,
                            qint64 bodyCap = ResponseObserver::kDefaultBodyCapBytes)
{
    ResponseObserver observer;
    observer.begin(contentType, contentEncoding, bodyCap);
    for (const QByteArray &chunk : chunks)
        observer.feed(chunk.constData(), chunk.size());
    observer.finish();
    return observer.take();
}

QList<QByteArray> splitAt(const QByteArray &bytes, qsizetype split)
{
    return {bytes.left(split), bytes.mid(split)};
}

QList<QByteArray> pieces(const QByteArray &bytes, qsizetype piece)
{
    QList<QByteArray> out;
    for (qsizetype at = 0; at < bytes.size(); at += piece)
        out.append(bytes.mid(at, piece));
    return out;
}

// Compares one observation with the fixture's; the caller checks QTest::currentTestFailed().
void verifyFixtureObservation(const ResponseObservation &observation)
{
    QVERIFY(observation.isSse);
    QCOMPARE(observation.messageStart, fixtureData("message_start"));
    QCOMPARE(observation.lastMessageDelta, fixtureData("message_delta"));
    QCOMPARE(observation.errorEvent, QByteArray());
    QVERIFY(observation.sawMessageStop);
    QCOMPARE(observation.openBlocks, 0);
    QCOMPARE(observation.eventCount, 7);
    QCOMPARE(observation.body, QByteArray());
    QVERIFY(!observation.isBodyTruncated);
    QCOMPARE(observation.decodeError, QString());
}

} // namespace

class tst_ResponseObserver final : public QObject
{
    Q_OBJECT

private slots:
    void keepsFixtureUsageEventsAtEverySplitPoint();
    void decodesCompressedStreamAtEverySplitPoint_data();
    void decodesCompressedStreamAtEverySplitPoint();
    void keepsLastMessageDeltaAndFirstError();
    void countsOpenBlocksOfStreamCutShort();
    void reportsOversizedUsageEvent();
    void recognisesMediaTypes_data();
    void recognisesMediaTypes();
    void keepsJsonBodies_data();
    void keepsJsonBodies();
    void ignoresOtherBodies();
    void truncatesBodyAtCap_data();
    void truncatesBodyAtCap();
    void decodesCompressedJsonBody();
    void reportsUnknownEncoding();
    void reportsCorruptCompressedBody();
    void reportsTruncatedCompressedBody();
    void startsOverOnBegin();
    void keepsTheUsageChunkOfAnOpenAiStreamAtEverySplitPoint();
};

void tst_ResponseObserver::keepsFixtureUsageEventsAtEverySplitPoint()
{
    const QByteArray stream = fixtureStream();
    QVERIFY(!stream.isEmpty());
    QVERIFY(fixtureData("message_start").startsWith("{\"type\":\"message_start\""));
    for (qsizetype split = 0; split <= stream.size(); ++split) {
        verifyFixtureObservation(observe("text/event-stream", {}, splitAt(stream, split)));
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QStringLiteral("split at %1").arg(split)));
    }
    verifyFixtureObservation(observe("text/event-stream; charset=utf-8", {}, pieces(stream, 1)));
}

void tst_ResponseObserver::decodesCompressedStreamAtEverySplitPoint_data()
{
    QTest::addColumn<QByteArray>("coding");
    QTest::addColumn<QByteArray>("encoded");
    const QByteArray stream = fixtureStream();
    QTest::newRow("gzip") << QByteArray("gzip") << Compressors::gzip(stream);
    QTest::newRow("br") << QByteArray("br") << Compressors::brotli(stream);
    QTest::newRow("zstd") << QByteArray("zstd") << Compressors::zstd(stream);
}

void tst_ResponseObserver::decodesCompressedStreamAtEverySplitPoint()
{
    QFETCH(QByteArray, coding);
    QFETCH(QByteArray, encoded);
    QVERIFY(!encoded.isEmpty());
    for (qsizetype split = 0; split <= encoded.size(); ++split) {
        verifyFixtureObservation(observe("text/event-stream", coding, splitAt(encoded, split)));
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QStringLiteral("split at %1").arg(split)));
    }
    verifyFixtureObservation(observe("text/event-stream", coding, pieces(encoded, 1)));
}

void tst_ResponseObserver::keepsLastMessageDeltaAndFirstError()
{
    const QByteArray stream = "event: message_start\ndata: {\"a\":1}\n\n"
                              "event: message_delta\ndata: {\"d\":1}\n\n"
                              "event: ping\ndata: {}\n\n"
                              "event: message_delta\ndata: {\"d\":2}\n\n"
                              "event: error\ndata: {\"e\":1}\n\n"
                              "event: error\ndata: {\"e\":2}\n\n";
    const ResponseObservation observation = observe("text/event-stream", {}, pieces(stream, 3));
    QCOMPARE(observation.messageStart, QByteArray("{\"a\":1}"));
    QCOMPARE(observation.lastMessageDelta, QByteArray("{\"d\":2}"));
    QCOMPARE(observation.errorEvent, QByteArray("{\"e\":1}"));
    QCOMPARE(observation.eventCount, 6);
    QVERIFY(!observation.sawMessageStop);
}

void tst_ResponseObserver::countsOpenBlocksOfStreamCutShort()
{
    const QByteArray stream = fixtureStream();
    const qsizetype cut = stream.indexOf("event: content_block_stop");
    QVERIFY(cut > 0);
    const ResponseObservation observation =
        observe("text/event-stream", {}, {stream.left(cut + 10)});
    QCOMPARE(observation.openBlocks, 1);
    QCOMPARE(observation.eventCount, 4);
    QCOMPARE(observation.messageStart, fixtureData("message_start"));
    QCOMPARE(observation.lastMessageDelta, QByteArray());
    QVERIFY(!observation.sawMessageStop);
}

void tst_ResponseObserver::reportsOversizedUsageEvent()
{
    const QByteArray stream =
        "event: message_start\ndata: " + QByteArray(SseParser::kDefaultMaxEventBytes + 1, 'x')
        + "\n\nevent: message_stop\ndata: {}\n\n";
    const ResponseObservation observation = observe("text/event-stream", {}, pieces(stream, 65536));
    QCOMPARE(observation.messageStart, QByteArray());
    QCOMPARE(observation.decodeError,
             QStringLiteral("a message_start event over 16777216 bytes was not kept"));
    QCOMPARE(observation.eventCount, 2);
    QVERIFY(observation.sawMessageStop);
}

void tst_ResponseObserver::recognisesMediaTypes_data()
{
    QTest::addColumn<QByteArray>("contentType");
    QTest::addColumn<bool>("isJson");
    QTest::addColumn<bool>("isSse");
    QTest::newRow("json") << QByteArray("application/json") << true << false;
    QTest::newRow("json charset") << QByteArray("Application/JSON; charset=utf-8") << true << false;
    QTest::newRow("ndjson") << QByteArray("application/x-ndjson") << true << false;
    QTest::newRow("jsonl") << QByteArray("application/jsonl") << true << false;
    QTest::newRow("jsonlines") << QByteArray("application/x-jsonlines") << true << false;
    QTest::newRow("problem+json") << QByteArray("application/problem+json") << true << false;
    QTest::newRow("sse") << QByteArray(" text/event-stream ;charset=utf-8") << false << true;
    QTest::newRow("html") << QByteArray("text/html") << false << false;
    QTest::newRow("json-ish prefix") << QByteArray("application/jsonx") << false << false;
}

void tst_ResponseObserver::recognisesMediaTypes()
{
    QFETCH(QByteArray, contentType);
    QFETCH(bool, isJson);
    QFETCH(bool, isSse);
    QCOMPARE(ResponseObserver::isJsonContentType(contentType), isJson);
    QCOMPARE(ResponseObserver::isSseContentType(contentType), isSse);
}

void tst_ResponseObserver::keepsJsonBodies_data()
{
    QTest::addColumn<QByteArray>("contentType");
    QTest::newRow("json") << QByteArray("application/json");
    QTest::newRow("jsonl") << QByteArray("application/x-jsonlines");
    QTest::newRow("missing") << QByteArray();
}

void tst_ResponseObserver::keepsJsonBodies()
{
    QFETCH(QByteArray, contentType);
    const QByteArray body = R"({"type":"message","usage":{"input_tokens":3,"output_tokens":4}})";
    const ResponseObservation observation = observe(contentType, "identity", pieces(body, 5));
    QVERIFY(!observation.isSse);
    QCOMPARE(observation.body, body);
    QVERIFY(!observation.isBodyTruncated);
    QCOMPARE(observation.decodeError, QString());
    QCOMPARE(observation.eventCount, 0);
}

void tst_ResponseObserver::ignoresOtherBodies()
{
    const ResponseObservation observation =
        observe("text/html", "gzip", {QByteArray("not even gzip")});
    QVERIFY(!observation.isSse);
    QCOMPARE(observation.body, QByteArray());
    QCOMPARE(observation.decodeError, QString()); // not decoded at all
}

void tst_ResponseObserver::truncatesBodyAtCap_data()
{
    QTest::addColumn<QByteArray>("coding");
    QTest::newRow("identity") << QByteArray();
    QTest::newRow("gzip") << QByteArray("gzip");
}

void tst_ResponseObserver::truncatesBodyAtCap()
{
    QFETCH(QByteArray, coding);
    const QByteArray body = "[" + QByteArray(1000, '1') + "]";
    const QByteArray sent = coding.isEmpty() ? body : Compressors::gzip(body);
    const ResponseObservation observation =
        observe("application/json", coding, pieces(sent, 7), 100);
    QCOMPARE(observation.body, body.left(100));
    QVERIFY(observation.isBodyTruncated);
    QCOMPARE(observation.decodeError, QString());

    // A body of exactly the cap is whole.
    const QByteArray exact = body.left(100);
    const ResponseObservation whole = observe(
        "application/json", coding, {coding.isEmpty() ? exact : Compressors::gzip(exact)}, 100);
    QCOMPARE(whole.body, exact);
    QVERIFY(!whole.isBodyTruncated);
}

void tst_ResponseObserver::decodesCompressedJsonBody()
{
    const QByteArray body = R"({"type":"error","error":{"type":"overloaded_error","message":"x"}})";
    const ResponseObservation observation =
        observe("application/json", "zstd", pieces(Compressors::zstd(body), 2));
    QCOMPARE(observation.body, body);
    QCOMPARE(observation.decodeError, QString());
}

void tst_ResponseObserver::reportsUnknownEncoding()
{
    const ResponseObservation observation =
        observe("text/event-stream", "compress", {fixtureStream()});
    QVERIFY(observation.isSse);
    QCOMPARE(observation.decodeError, QStringLiteral("unsupported content coding: compress"));
    QCOMPARE(observation.eventCount, 0);
    QCOMPARE(observation.messageStart, QByteArray());
}

void tst_ResponseObserver::reportsCorruptCompressedBody()
{
    const ResponseObservation observation =
        observe("application/json", "gzip", {QByteArray("{\"plain\":true}")});
    QCOMPARE(observation.body, QByteArray());
    QVERIFY(observation.decodeError.startsWith(QStringLiteral("gzip: corrupt data")));
}

void tst_ResponseObserver::reportsTruncatedCompressedBody()
{
    const QByteArray encoded = Compressors::gzip(fixtureStream());
    const ResponseObservation observation =
        observe("text/event-stream", "gzip", {encoded.left(encoded.size() - 4)});
    QCOMPARE(observation.decodeError, QStringLiteral("gzip: the encoded body ended early"));
    // Everything decoded before the cut was still observed.
    QCOMPARE(observation.messageStart, fixtureData("message_start"));
    QVERIFY(observation.sawMessageStop);
}

void tst_ResponseObserver::startsOverOnBegin()
{
    ResponseObserver observer;
    observer.begin("text/event-stream", {});
    const QByteArray half = "event: message_start\ndata: {\"half\"";
    observer.feed(half.constData(), half.size());
    observer.begin("application/json", {});
    const QByteArray body = "{}";
    observer.feed(body.constData(), body.size());
    observer.finish();
    const ResponseObservation observation = observer.take();
    QVERIFY(!observation.isSse);
    QCOMPARE(observation.body, body);
    QCOMPARE(observation.messageStart, QByteArray());
    // take() leaves nothing behind.
    QCOMPARE(observer.take().body, QByteArray());
}

// OpenAI's chunks carry no event name, and with include_usage every chunk says
// `"usage": null` until the last one: that one is kept, whatever way the bytes arrive.
void tst_ResponseObserver::keepsTheUsageChunkOfAnOpenAiStreamAtEverySplitPoint()
{
    const QByteArray first = "{\"id\":\"c1\",\"model\":\"gpt-test\",\"choices\":[{\"index\":0,"
                             "\"delta\":{\"content\":\"Hi\"}}],\"usage\": null}";
    const QByteArray last = "{\"id\":\"c1\",\"model\":\"gpt-test\",\"choices\":[{\"index\":0,"
                            "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}";
    const QByteArray usage = "{\"id\":\"c1\",\"model\":\"gpt-test\",\"choices\":[],"
                             "\"usage\" : {\"prompt_tokens\":40,\"completion_tokens\":9}}";
    const QByteArray stream =
        "data: " + first + "\n\ndata: " + last + "\n\ndata: " + usage + "\n\ndata: [DONE]\n\n";
    for (qsizetype split = 0; split <= stream.size(); ++split) {
        ResponseObserver observer;
        observer.beginOpenAi("text/event-stream", {});
        for (const QByteArray &chunk : splitAt(stream, split))
            observer.feed(chunk.constData(), chunk.size());
        const ResponseObservation observation = observer.take();
        QVERIFY(observation.isOpenAiDialect);
        QCOMPARE(observation.messageStart, first);
        QCOMPARE(observation.lastMessageDelta, usage);
        QVERIFY(observation.sawMessageStop);
        QCOMPARE(observation.eventCount, 4);
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QStringLiteral("split at %1").arg(split)));
    }
    // The next response is Anthropic's again.
    ResponseObserver observer;
    observer.beginOpenAi("text/event-stream", {});
    observer.begin("text/event-stream", {});
    QVERIFY(!observer.take().isOpenAiDialect);
}

QTEST_GUILESS_MAIN(tst_ResponseObserver)
#include "tst_ResponseObserver.moc"
