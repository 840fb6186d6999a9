// The single-pass JSON reader behind prompt-cache injection: it must accept exactly what
// simdjson's DOM parser accepts (the injector leaves any body it refuses untouched, so a
// wrongly refused body loses its savings and a wrongly accepted one could be spliced), and
// its offsets must point at the bytes they name.
#include "json/JsonReader.h"
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QTest>
#include <simdjson.h>

using namespace tollgate;

class tst_JsonReader : public QObject
{
    Q_OBJECT

private slots:
    void agreesWithSimdjsonOnEdgeCases_data();
    void agreesWithSimdjsonOnEdgeCases();
    void agreesWithSimdjsonOnMutatedRequests();
    void givesOffsetsOfTheBytesItNames();
    void readsEscapedStringsAndKeys();
    void crossesAStringAPieceAtATime_data();
    void crossesAStringAPieceAtATime();
};

namespace {
bool simdjsonAccepts(const QByteArray &json)
{
    static simdjson::dom::parser parser;
    const simdjson::padded_string padded(json.constData(), size_t(json.size()));
    return parser.parse(padded).error() == simdjson::SUCCESS;
}

bool readerAccepts(const QByteArray &json)
{
    json::JsonReader reader(json);
    if (reader.peek() == json::JsonReader::Type::Invalid)
        return false;
    return reader.skipValue() && reader.isAtEnd();
}

QList<QByteArray> fixtureBodies()
{
    QList<QByteArray> bodies;
    const QDir dir(QStringLiteral(TOLLGATE_FIXTURES_DIR));
    for (const QString &name : dir.entryList({QStringLiteral("*.body.json")}, QDir::Files)) {
        QFile file(dir.filePath(name));
        if (file.open(QIODevice::ReadOnly))
            bodies.append(file.readAll());
    }
    return bodies;
}
} // namespace

void tst_JsonReader::agreesWithSimdjsonOnEdgeCases_data()
{
    QTest::addColumn<QByteArray>("json");
    const QList<QByteArray> cases = {"{}",
                                     "[]",
                                     "{\"a\":1}",
                                     " [1, 2.5e10, -0, 0.1] ",
                                     "\"text\"",
                                     "true",
                                     "null",
                                     "1",
                                     "{\"a\":}",
                                     "[1,]",
                                     "{,}",
                                     "[01]",
                                     "[1.]",
                                     "[.5]",
                                     "[1e]",
                                     "[-]",
                                     "[+1]",
                                     "{\"a\" 1}",
                                     "{'a':1}",
                                     "[1 2]",
                                     "tru",
                                     "nul",
                                     "[true false]",
                                     "\"\\u00e9\"",
                                     "\"\\ud83d\\ude00\"",
                                     "\"\\ud83d\"",
                                     "\"\\ude00\"",
                                     "\"\\x41\"",
                                     "\"\\u12\"",
                                     "\"tab\there\"",
                                     "\"nl\nhere\"",
                                     "\"\xc3\xa9\"",
                                     "\"\xc3\"",
                                     "\"\xed\xa0\x80\"",
                                     "\"\xf4\x90\x80\x80\"",
                                     "\"\xc0\xaf\"",
                                     "[18446744073709551615]",
                                     "[18446744073709551616]",
                                     "[-9223372036854775808]",
                                     "[-9223372036854775809]",
                                     "[1e308]",
                                     "[1e309]",
                                     "[1e-400]",
                                     "{\"a\":1}x",
                                     "{\"a\":1}   ",
                                     "",
                                     "   ",
                                     "[\"a\"\"b\"]",
                                     "{\"a\":1,\"a\":2}",
                                     QByteArray(1500, '[') + QByteArray(1500, ']'),
                                     QByteArray(1023, '[') + QByteArray(1023, ']'),
                                     QByteArray(1024, '[') + QByteArray(1024, ']'),
                                     "[[[]]]",
                                     "{\"k\":{\"k\":{\"k\":[]}}}",
                                     QByteArray("[\"a\0b\"]", 7),
                                     "\"\\/\\b\\f\\n\\r\\t\\\\\\\"\""};
    for (int i = 0; i < cases.size(); ++i)
        QTest::newRow(qPrintable(QStringLiteral("case %1").arg(i))) << cases.at(i);
}

void tst_JsonReader::agreesWithSimdjsonOnEdgeCases()
{
    QFETCH(QByteArray, json);
    QCOMPARE(readerAccepts(json), simdjsonAccepts(json));
}

void tst_JsonReader::agreesWithSimdjsonOnMutatedRequests()
{
    // Claude Code request bodies with one to three bytes changed, dropped or doubled: most
    // become invalid in some corner (a string, an escape, a number, UTF-8), some stay valid.
    const QList<QByteArray> bodies = fixtureBodies();
    QVERIFY(!bodies.isEmpty());
    QRandomGenerator random(20261126);
    static const char kBytes[] = "{}[],:\"\\0123456789.eE+-tfnu \n\x80\xc3\xed\xf4\x01";
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < 3000; ++i) {
        QByteArray json = bodies.at(random.bounded(int(bodies.size())));
        const int edits = 1 + random.bounded(3);
        for (int e = 0; e < edits; ++e) {
            const qsizetype at = random.bounded(int(json.size()));
            switch (random.bounded(3)) {
            case 0:
                json[at] = kBytes[random.bounded(int(sizeof(kBytes) - 1))];
                break;
            case 1:
                json.remove(at, 1);
                break;
            default:
                json.insert(at, json.at(at));
                break;
            }
        }
        const bool expected = simdjsonAccepts(json);
        QVERIFY2(readerAccepts(json) == expected,
                 qPrintable(QStringLiteral("mutation %1: simdjson %2").arg(i).arg(expected)));
        (expected ? accepted : refused)++;
    }
    for (const QByteArray &body : bodies)
        QVERIFY(readerAccepts(body));
    qInfo("3000 mutated bodies: %d valid, %d invalid, all judged as simdjson does", accepted,
          refused);
}

void tst_JsonReader::givesOffsetsOfTheBytesItNames()
{
    const QByteArray json = "{ \"model\" : \"claude\", \"tools\":[ {\"a\":1} , {\"b\":[2]} ] }";
    json::JsonReader reader(json);
    QCOMPARE(reader.peek(), json::JsonReader::Type::Object);
    QList<qsizetype> elementEnds;
    qsizetype toolsClose = -1;
    qsizetype objectClose = -1;
    std::string_view model;
    const bool ok = reader.forEachMember(
        [&](std::string_view key) {
            if (key == "model")
                return reader.readStringToken(model);
            if (key == "tools") {
                return reader.forEachElement(
                    [&] {
                        qsizetype close = -1;
                        const bool member =
                            reader.forEachMember([](std::string_view) { return true; }, &close);
                        elementEnds.append(close);
                        return member;
                    },
                    &toolsClose);
            }
            return true;
        },
        &objectClose);
    QVERIFY(ok);
    QVERIFY(reader.isAtEnd());
    QCOMPARE(QByteArray(model.data(), qsizetype(model.size())), QByteArray("\"claude\""));
    QCOMPARE(model.data() - json.constData(), json.indexOf("\"claude\""));
    QCOMPARE(objectClose, json.size() - 1);
    QCOMPARE(json.at(toolsClose), ']');
    QCOMPARE(toolsClose, json.lastIndexOf(']'));
    QCOMPARE(elementEnds.size(), 2);
    QCOMPARE(elementEnds.at(0), json.indexOf("} ,"));
    QCOMPARE(json.at(elementEnds.at(1)), '}');
}

void tst_JsonReader::readsEscapedStringsAndKeys()
{
    const QByteArray json = "{\"k\\u0065y\":\"caf\\u00e9 \\\"q\\\"\",\"plain\":\"x\"}";
    json::JsonReader reader(json);
    QStringList seen;
    QVERIFY(reader.forEachMember([&](std::string_view key) {
        std::string storage;
        std::string_view text;
        if (!reader.readString(text, storage))
            return false;
        seen.append(QString::fromUtf8(key.data(), qsizetype(key.size())) + u'='
                    + QString::fromUtf8(text.data(), qsizetype(text.size())));
        return true;
    }));
    QCOMPARE(seen, (QStringList {QStringLiteral("key=café \"q\""), QStringLiteral("plain=x")}));
}

void tst_JsonReader::crossesAStringAPieceAtATime_data()
{
    QTest::addColumn<QByteArray>("token");
    const QByteArray plain = QByteArray(40, 'a');
    QTest::newRow("plain") << '"' + plain + '"';
    QTest::newRow("escapes") << QByteArray(R"("a\"b\\c\/d\n\t\u00e9\ud83d\ude00 end")");
    QTest::newRow("utf-8") << QByteArray(
        "\"\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x98\x80 \xc3\xa9\"");
    QTest::newRow("bad escape") << QByteArray(R"("abc \x def")");
    QTest::newRow("lone low surrogate") << QByteArray(R"("abc \ude00 def")");
    QTest::newRow("high surrogate without a low one") << QByteArray(R"("abc \ud83d def ghi jkl")");
    QTest::newRow("raw control") << QByteArray("\"abc \x01 def\"");
    QTest::newRow("overlong UTF-8") << QByteArray("\"abc \xc0\xaf def\"");
    QTest::newRow("cut UTF-8") << QByteArray("\"abc \xe6\x97 def\"");
    QTest::newRow("unclosed") << QByteArray(R"("abc def)");
}

// However the string is cut into pieces, crossing it piece by piece finds what one scan of
// the whole finds: valid or not, and where it ends; and no call over a piece stops more than
// one character short of the piece's end.
void tst_JsonReader::crossesAStringAPieceAtATime()
{
    QFETCH(QByteArray, token);
    const QByteArray document = token + ",1]";
    json::JsonReader whole(document);
    std::string_view scanned;
    const qsizetype wholeEnd = whole.readStringToken(scanned) ? qsizetype(scanned.size()) : -1;
    for (qsizetype first = 1; first <= document.size(); ++first) {
        for (qsizetype step : {qsizetype(1), qsizetype(3), qsizetype(7), document.size()}) {
            qsizetype at = 1; // past the opening quote
            bool isClosed = false;
            bool isOk = true;
            for (qsizetype end = first; isOk && !isClosed;
                 end = std::min(end + step, document.size())) {
                const bool isWhole = end == document.size();
                json::JsonReader reader(QByteArrayView(document).first(end));
                reader.resumeAt(at, 1);
                isOk = reader.crossString(isWhole, isClosed);
                if (isOk) {
                    QVERIFY(reader.offset() >= at);
                    QVERIFY2(
                        isClosed || isWhole || end - reader.offset() < 12,
                        qPrintable(
                            QStringLiteral("stopped at %1 of %2").arg(reader.offset()).arg(end)));
                    at = reader.offset();
                }
                if (isWhole)
                    break;
            }
            QCOMPARE(isOk && isClosed ? at : -1, wholeEnd);
        }
    }
}

QTEST_GUILESS_MAIN(tst_JsonReader)
#include "tst_JsonReader.moc"
