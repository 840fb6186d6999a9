#include "sse/SseParser.h"

#include <QFile>
#include <QList>
#include <QTest>

using namespace tollgate;

namespace {

struct Recorded
{
    QByteArray name;
    QByteArray data;
    bool isDataLost = false;
    bool operator==(const Recorded &other) const = default;
};

using Events = QList<Recorded>;

QByteArray fixtureStream()
{
    QFile file(QStringLiteral(TOLLGATE_FIXTURES_DIR "/sample-response.sse"));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

// A parser that records every event; wantsData decides, by name, whose data is kept.
class Recorder
{
public:
    explicit Recorder(SseParser::DataFilter wantsData = {})
        : parser(
            [this](const SseEvent &event) {
                events.append(
                    {event.name.toByteArray(), event.data.toByteArray(), event.isDataLost});
            },
            std::move(wantsData))
    {
    }

    void feed(const QByteArray &bytes) { parser.feed(bytes.constData(), bytes.size()); }
    void feedInPieces(const QByteArray &bytes, qsizetype piece)
    {
        for (qsizetype at = 0; at < bytes.size(); at += piece)
            parser.feed(bytes.constData() + at, std::min(piece, bytes.size() - at));
    }

    Events events;
    SseParser parser;
};

Events parseWhole(const QByteArray &bytes, SseParser::DataFilter wantsData = {})
{
    Recorder recorder(std::move(wantsData));
    recorder.feed(bytes);
    return recorder.events;
}

bool skipsDeltas(QByteArrayView name)
{
    return name != "content_block_delta";
}

const char kMessageDeltaData[] =
    R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
    R"("usage":{"input_tokens":12,"cache_creation_input_tokens":300,)"
    R"("cache_read_input_tokens":5000,"output_tokens":7}})";

} // namespace

namespace QTest {
template<>
char *toString(const Recorded &event)
{
    return qstrdup(
        QByteArray(event.name + " [" + event.data + "]" + (event.isDataLost ? " lost" : ""))
            .constData());
}
} // namespace QTest

class tst_SseParser final : public QObject
{
    Q_OBJECT

private slots:
    void parsesFixtureEvents();
    void givesSameEventsAtEverySplitPoint_data();
    void givesSameEventsAtEverySplitPoint();
    void givesSameEventsFromOneByteFeeds_data();
    void givesSameEventsFromOneByteFeeds();
    void joinsMultiLineData_data();
    void joinsMultiLineData();
    void removesOnlyOneSpaceAfterColon();
    void ignoresCommentsIdAndRetry();
    void reportsUnknownEventsByName();
    void namesUnnamedEventsMessage();
    void dispatchesOnlyEventsWithData();
    void dropsUnterminatedEventAtEnd();
    void copiesNoDataOfDeclinedEvents();
    void losesDataOfDeclinedThenRenamedEvent();
    void keepsUtf8SplitAcrossFeeds();
    void stripsByteOrderMarkSplitAcrossFeeds();
    void keepsLeadingBytesThatAreNotAByteOrderMark();
    void dropsOversizedDataLine_data();
    void dropsOversizedDataLine();
    void dropsOversizedMultiLineEvent();
    void ignoresOversizedEventNameLine();
    void appliesCapAlikeWholeOrSplit_data();
    void appliesCapAlikeWholeOrSplit();
    void skipsOversizedDeclinedLineWithoutLoss();
    void startsOverAfterReset();
};

void tst_SseParser::parsesFixtureEvents()
{
    const QByteArray stream = fixtureStream();
    QVERIFY(!stream.isEmpty());
    const Events events = parseWhole(stream);
    QCOMPARE(events.size(), 7);
    const QList<QByteArray> names = {"message_start",       "content_block_start", "ping",
                                     "content_block_delta", "content_block_stop",  "message_delta",
                                     "message_stop"};
    for (int i = 0; i < names.size(); ++i)
        QCOMPARE(events[i].name, names[i]);
    QVERIFY(events[0].data.startsWith(R"({"type":"message_start","message":{"id":"msg_1",)"));
    QVERIFY(events[0].data.endsWith(R"("service_tier":"standard"}}})"));
    QCOMPARE(events[2].data, QByteArray(R"({"type":"ping"})"));
    QCOMPARE(events[5].data, QByteArray(kMessageDeltaData));
    QCOMPARE(events[6].data, QByteArray(R"({"type":"message_stop"})"));
    for (const Recorded &event : events)
        QVERIFY(!event.isDataLost);
}

static void addLineEndRows()
{
    QTest::addColumn<QByteArray>("stream");
    const QByteArray lf = fixtureStream();
    QByteArray crlf = lf;
    crlf.replace("\n", "\r\n");
    QByteArray cr = lf;
    cr.replace('\n', '\r');
    QTest::newRow("lf") << lf;
    QTest::newRow("crlf") << crlf;
    QTest::newRow("cr") << cr;
}

void tst_SseParser::givesSameEventsAtEverySplitPoint_data()
{
    addLineEndRows();
}

void tst_SseParser::givesSameEventsAtEverySplitPoint()
{
    QFETCH(QByteArray, stream);
    const Events expected = parseWhole(fixtureStream());
    QCOMPARE(expected.size(), 7);
    QCOMPARE(parseWhole(stream), expected);
    for (qsizetype split = 1; split < stream.size(); ++split) {
        Recorder recorder;
        recorder.feed(stream.left(split));
        recorder.feed(stream.mid(split));
        QVERIFY2(recorder.events == expected, qPrintable(QString::number(split)));
    }
}

void tst_SseParser::givesSameEventsFromOneByteFeeds_data()
{
    addLineEndRows();
}

void tst_SseParser::givesSameEventsFromOneByteFeeds()
{
    QFETCH(QByteArray, stream);
    const Events expected = parseWhole(fixtureStream());
    Recorder recorder;
    recorder.feedInPieces(stream, 1);
    QCOMPARE(recorder.events, expected);

    // With a filter, the declined deltas carry no data whatever the split.
    Recorder filtered(skipsDeltas);
    filtered.feedInPieces(stream, 1);
    QCOMPARE(filtered.events.size(), 7);
    QCOMPARE(filtered.events[3].name, QByteArray("content_block_delta"));
    QCOMPARE(filtered.events[3].data, QByteArray());
    QCOMPARE(filtered.events[5].data, QByteArray(kMessageDeltaData));
}

void tst_SseParser::joinsMultiLineData_data()
{
    QTest::addColumn<QByteArray>("stream");
    QTest::addColumn<QByteArray>("data");
    QTest::newRow("three lines") << QByteArray("event: e\ndata: a\ndata: b\ndata:c\n\n")
                                 << QByteArray("a\nb\nc");
    QTest::newRow("empty lines") << QByteArray("data\ndata\n\n") << QByteArray("\n");
    QTest::newRow("one empty") << QByteArray("data:\n\n") << QByteArray("");
    QTest::newRow("mixed line ends")
        << QByteArray("data: a\r\ndata: b\rdata: c\n\r\n") << QByteArray("a\nb\nc");
    QTest::newRow("colon in value")
        << QByteArray("data: {\"a\":\"b: c\"}\n\n") << QByteArray("{\"a\":\"b: c\"}");
}

void tst_SseParser::joinsMultiLineData()
{
    QFETCH(QByteArray, stream);
    QFETCH(QByteArray, data);
    for (qsizetype piece : {stream.size(), qsizetype(1), qsizetype(2), qsizetype(3)}) {
        Recorder recorder;
        recorder.feedInPieces(stream, piece);
        QCOMPARE(recorder.events.size(), 1);
        QCOMPARE(recorder.events[0].data, data);
    }
}

void tst_SseParser::removesOnlyOneSpaceAfterColon()
{
    const Events events = parseWhole("event:  spaced\ndata:  two\n\nevent:tight\ndata:none\n\n");
    QCOMPARE(events.size(), 2);
    QCOMPARE(events[0].name, QByteArray(" spaced"));
    QCOMPARE(events[0].data, QByteArray(" two"));
    QCOMPARE(events[1].name, QByteArray("tight"));
    QCOMPARE(events[1].data, QByteArray("none"));
}

void tst_SseParser::ignoresCommentsIdAndRetry()
{
    const QByteArray stream = ": keep-alive\n\nid: 7\nretry: 3000\nevent: ping\n: note\n"
                              "data: {}\nidentity: x\ndatum: y\neventual: z\n\n";
    for (qsizetype piece : {stream.size(), qsizetype(1)}) {
        Recorder recorder;
        recorder.feedInPieces(stream, piece);
        QCOMPARE(recorder.events.size(), 1);
        QCOMPARE(recorder.events[0].name, QByteArray("ping"));
        QCOMPARE(recorder.events[0].data, QByteArray("{}"));
    }
}

void tst_SseParser::reportsUnknownEventsByName()
{
    const Events events = parseWhole("event: brand_new_event\ndata: {\"x\":1}\n\n");
    QCOMPARE(events.size(), 1);
    QCOMPARE(events[0].name, QByteArray("brand_new_event"));
    QCOMPARE(events[0].data, QByteArray("{\"x\":1}"));
}

void tst_SseParser::namesUnnamedEventsMessage()
{
    const Events events = parseWhole("data: one\n\nevent:\ndata: two\n\n");
    QCOMPARE(events.size(), 2);
    QCOMPARE(events[0].name, QByteArray("message"));
    QCOMPARE(events[1].name, QByteArray("message"));
    QCOMPARE(events[1].data, QByteArray("two"));
}

void tst_SseParser::dispatchesOnlyEventsWithData()
{
    const Events events = parseWhole("event: lonely\n\n\n\nevent: real\ndata: x\n\n");
    QCOMPARE(events.size(), 1);
    QCOMPARE(events[0].name, QByteArray("real"));
}

void tst_SseParser::dropsUnterminatedEventAtEnd()
{
    const Events events = parseWhole("event: a\ndata: 1\n\nevent: b\ndata: 2\n");
    QCOMPARE(events.size(), 1);
    QCOMPARE(events[0].name, QByteArray("a"));
}

void tst_SseParser::copiesNoDataOfDeclinedEvents()
{
    const QByteArray stream = fixtureStream();
    const Events all = parseWhole(stream);
    for (qsizetype split = 1; split < stream.size(); ++split) {
        Recorder recorder(skipsDeltas);
        recorder.feed(stream.left(split));
        recorder.feed(stream.mid(split));
        QCOMPARE(recorder.events.size(), all.size());
        for (int i = 0; i < all.size(); ++i) {
            const bool isDelta = all[i].name == "content_block_delta";
            QCOMPARE(recorder.events[i].name, all[i].name);
            QCOMPARE(recorder.events[i].data, isDelta ? QByteArray() : all[i].data);
            QVERIFY(!recorder.events[i].isDataLost);
        }
    }
}

void tst_SseParser::losesDataOfDeclinedThenRenamedEvent()
{
    // The name decides what is kept; data already skipped under a declined name is gone.
    const Events events = parseWhole("event: content_block_delta\ndata: a\nevent: wanted\n"
                                     "data: b\n\ndata: c\nevent: content_block_delta\n\n",
                                     skipsDeltas);
    QCOMPARE(events.size(), 2);
    QCOMPARE(events[0], (Recorded {"wanted", "", true}));
    QCOMPARE(events[1], (Recorded {"content_block_delta", "", false}));
}

void tst_SseParser::keepsUtf8SplitAcrossFeeds()
{
    const QByteArray text = QStringLiteral("h\u00e9llo \u4e16\u754c \U0001F389").toUtf8();
    const QByteArray stream = "event: content_block_delta\ndata: " + text + "\n\n";
    for (qsizetype split = 1; split < stream.size(); ++split) {
        Recorder recorder;
        recorder.feed(stream.left(split));
        recorder.feed(stream.mid(split));
        QCOMPARE(recorder.events.size(), 1);
        QCOMPARE(recorder.events[0].data, text);
    }
}

void tst_SseParser::stripsByteOrderMarkSplitAcrossFeeds()
{
    const QByteArray stream = "\xEF\xBB\xBF"
                              "event: a\ndata: b\n\n";
    for (qsizetype piece = 1; piece <= 4; ++piece) {
        Recorder recorder;
        recorder.feedInPieces(stream, piece);
        QCOMPARE(recorder.events.size(), 1);
        QCOMPARE(recorder.events[0].name, QByteArray("a"));
        QCOMPARE(recorder.events[0].data, QByteArray("b"));
    }
}

void tst_SseParser::keepsLeadingBytesThatAreNotAByteOrderMark()
{
    // "\xEF\xBB" starts a byte order mark but is followed by something else: it is content,
    // so the first line names an unknown field and is ignored, like any other.
    const QByteArray stream = "\xEF\xBB"
                              "data: x\n\ndata: y\n\n";
    for (qsizetype piece : {qsizetype(1), stream.size()}) {
        Recorder recorder;
        recorder.feedInPieces(stream, piece);
        QCOMPARE(recorder.events.size(), 1);
        QCOMPARE(recorder.events[0].data, QByteArray("y"));
    }
}

void tst_SseParser::dropsOversizedDataLine_data()
{
    QTest::addColumn<qsizetype>("piece");
    QTest::newRow("whole") << qsizetype(0);
    QTest::newRow("100 bytes") << qsizetype(100);
    QTest::newRow("1 byte") << qsizetype(1);
}

void tst_SseParser::dropsOversizedDataLine()
{
    QFETCH(qsizetype, piece);
    const QByteArray stream = "event: message_start\ndata: " + QByteArray(4096, 'x')
        + "\n\nevent: message_delta\ndata: " + QByteArray(1000, 'y') + "\n\n";
    Recorder recorder;
    recorder.parser.setMaxEventBytes(1024);
    recorder.feedInPieces(stream, piece > 0 ? piece : stream.size());
    QCOMPARE(recorder.events.size(), 2);
    QCOMPARE(recorder.events[0], (Recorded {"message_start", "", true}));
    QCOMPARE(recorder.events[1], (Recorded {"message_delta", QByteArray(1000, 'y'), false}));
    QCOMPARE(recorder.parser.droppedEventCount(), 1);
}

void tst_SseParser::dropsOversizedMultiLineEvent()
{
    QByteArray stream = "event: error\n";
    for (int i = 0; i < 20; ++i)
        stream += "data: " + QByteArray(100, 'z') + "\n";
    stream += "\nevent: error\ndata: small\n\n";
    Recorder recorder;
    recorder.parser.setMaxEventBytes(1024);
    recorder.feedInPieces(stream, 7);
    QCOMPARE(recorder.events.size(), 2);
    QCOMPARE(recorder.events[0], (Recorded {"error", "", true}));
    QCOMPARE(recorder.events[1], (Recorded {"error", "small", false}));
    QCOMPARE(recorder.parser.droppedEventCount(), 1);
}

void tst_SseParser::ignoresOversizedEventNameLine()
{
    const QByteArray stream = "event: " + QByteArray(2048, 'n') + "\ndata: d\n\n";
    for (qsizetype piece : {stream.size(), qsizetype(16)}) {
        Recorder recorder;
        recorder.parser.setMaxEventBytes(1024);
        recorder.feedInPieces(stream, piece);
        QCOMPARE(recorder.events.size(), 1);
        QCOMPARE(recorder.events[0], (Recorded {"message", "d", false}));
    }
}

void tst_SseParser::appliesCapAlikeWholeOrSplit_data()
{
    QTest::addColumn<int>("secondLine");
    QTest::addColumn<bool>("isKept");
    // 500 + '\n' + 523 bytes is exactly the 1024-byte cap: kept. One more byte is not.
    QTest::newRow("at cap") << 523 << true;
    QTest::newRow("over cap") << 524 << false;
}

void tst_SseParser::appliesCapAlikeWholeOrSplit()
{
    QFETCH(int, secondLine);
    QFETCH(bool, isKept);
    const QByteArray data = QByteArray(500, 'a') + "\n" + QByteArray(secondLine, 'b');
    const QByteArray stream = "event: message_start\ndata: " + QByteArray(500, 'a')
        + "\ndata: " + QByteArray(secondLine, 'b') + "\n\n";
    for (qsizetype piece : {stream.size(), qsizetype(1), qsizetype(3), qsizetype(256)}) {
        Recorder recorder;
        recorder.parser.setMaxEventBytes(1024);
        recorder.feedInPieces(stream, piece);
        QCOMPARE(recorder.events.size(), 1);
        QCOMPARE(recorder.events[0],
                 (Recorded {"message_start", isKept ? data : QByteArray(), !isKept}));
    }
}

void tst_SseParser::skipsOversizedDeclinedLineWithoutLoss()
{
    // A declined event's data is never buffered, so its size does not matter.
    const QByteArray stream = "event: content_block_delta\ndata: " + QByteArray(8192, 'q')
        + "\n\nevent: message_stop\ndata: {}\n\n";
    Recorder recorder(skipsDeltas);
    recorder.parser.setMaxEventBytes(1024);
    recorder.feedInPieces(stream, 64);
    QCOMPARE(recorder.events.size(), 2);
    QCOMPARE(recorder.events[0], (Recorded {"content_block_delta", "", false}));
    QCOMPARE(recorder.events[1], (Recorded {"message_stop", "{}", false}));
    QCOMPARE(recorder.parser.droppedEventCount(), 0);
}

void tst_SseParser::startsOverAfterReset()
{
    Recorder recorder;
    recorder.feed("event: half\ndata: gone");
    recorder.parser.reset();
    recorder.feed("\xEF\xBB\xBF"
                  "event: fresh\ndata: kept\n\n");
    QCOMPARE(recorder.events.size(), 1);
    QCOMPARE(recorder.events[0], (Recorded {"fresh", "kept", false}));
}

QTEST_GUILESS_MAIN(tst_SseParser)
#include "tst_SseParser.moc"
