#include "SdkBodies.h"
#include "http/HttpParser.h"
#include "rewrite/BlockDigest.h"
#include "rewrite/CacheInjector.h"
#include "rewrite/CacheMinimum.h"
#include "rewrite/PromptLayout.h"
#include "usage/UsageExtractor.h"

#include <QDir>
#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTest>
// XXH3's portable scalar code, inline here: the reference the digests are checked against.
#define XXH_INLINE_ALL
#define XXH_VECTOR 0
#include <xxhash.h>

using namespace tollgate;

using Ttl = CacheInjector::Ttl;
using Place = CacheInjector::Place;
using Breakpoints = QList<CacheInjector::Breakpoint>;

namespace tollgate {
// Lets QCOMPARE print both sides of a failed comparison of added breakpoints.
char *toString(const QList<CacheInjector::Breakpoint> &breakpoints)
{
    static const char *const kPlaces[] = {"LastTool", "SystemPrompt", "NewestUserTurn",
                                          "PreviousUserTurn"};
    QByteArrayList names;
    for (const CacheInjector::Breakpoint &breakpoint : breakpoints) {
        names.append(QByteArray(kPlaces[int(breakpoint.place)])
                     + (breakpoint.ttl == Ttl::OneHour ? "/1h" : "/5m"));
    }
    return qstrdup(names.join(' ').constData());
}
} // namespace tollgate

namespace {

QByteArray readFixture(const QString &name)
{
    QFile file(QStringLiteral(TOLLGATE_FIXTURES_DIR "/") + name);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

QStringList fixtureBodies()
{
    return QDir(QStringLiteral(TOLLGATE_FIXTURES_DIR))
        .entryList({QStringLiteral("*.body.json")}, QDir::Files, QDir::Name);
}

// Plain words, so a prompt clears the minimum cacheable length.
using tollgate::test::filler;

QByteArray body(const QByteArray &members, const QByteArray &model = "claude-opus-4-8")
{
    return R"({"model":")" + model + R"(","max_tokens":1024,)" + members + "}";
}

CacheInjector::Result inject(const QByteArray &input, Ttl ttl = Ttl::FiveMinutes)
{
    CacheInjector::Policy policy;
    policy.ttl = ttl;
    return CacheInjector::inject(input, policy);
}

// ---- An independent reading of the output, through QJsonDocument ----

struct FoundMarker
{
    QByteArray path;
    bool isOneHour = false;
    bool operator==(const FoundMarker &other) const = default;
};

bool isMarker(const QJsonObject &object)
{
    return object.contains(QStringLiteral("cache_control"))
        && !object.value(QStringLiteral("cache_control")).isNull();
}

bool isOneHour(const QJsonObject &object)
{
    return object.value(QStringLiteral("cache_control")).toObject().value(QStringLiteral("ttl"))
        == QStringLiteral("1h");
}

void collect(const QJsonObject &object, const QByteArray &path, QList<FoundMarker> &found)
{
    if (isMarker(object))
        found.append({path, isOneHour(object)});
}

// A block's own marker comes after those of the blocks nested in its content.
void collectBlock(const QJsonObject &block, const QByteArray &path, QList<FoundMarker> &found)
{
    const QJsonArray nested = block.value(QStringLiteral("content")).toArray();
    for (qsizetype k = 0; k < nested.size(); ++k)
        collect(nested.at(k).toObject(), path + ".content[" + QByteArray::number(k) + ']', found);
    collect(block, path, found);
}

// Every cache_control marker of a Messages body, in prefix order (tools, system, messages,
// then the top-level one), as "path" and ttl.
QList<FoundMarker> markersIn(const QByteArray &json)
{
    const QJsonObject root = QJsonDocument::fromJson(json).object();
    QList<FoundMarker> found;
    const QJsonArray tools = root.value(QStringLiteral("tools")).toArray();
    for (qsizetype i = 0; i < tools.size(); ++i)
        collect(tools.at(i).toObject(), "tools[" + QByteArray::number(i) + ']', found);
    const QJsonArray system = root.value(QStringLiteral("system")).toArray();
    for (qsizetype i = 0; i < system.size(); ++i)
        collect(system.at(i).toObject(), "system[" + QByteArray::number(i) + ']', found);
    const QJsonArray messages = root.value(QStringLiteral("messages")).toArray();
    for (qsizetype i = 0; i < messages.size(); ++i) {
        const QJsonObject message = messages.at(i).toObject();
        const QByteArray path = "messages[" + QByteArray::number(i) + ']';
        const QJsonArray content = message.value(QStringLiteral("content")).toArray();
        for (qsizetype j = 0; j < content.size(); ++j)
            collectBlock(content.at(j).toObject(), path + ".content[" + QByteArray::number(j) + ']',
                         found);
        collect(message, path, found);
    }
    collect(root, "top", found);
    return found;
}

QByteArrayList pathsOf(const QList<FoundMarker> &markers)
{
    QByteArrayList paths;
    for (const FoundMarker &marker : markers)
        paths.append(marker.path + (marker.isOneHour ? "@1h" : ""));
    return paths;
}

QByteArrayList markerPaths(const QByteArray &json)
{
    return pathsOf(markersIn(json));
}

bool isTtlOrderValid(const QList<FoundMarker> &markers)
{
    bool seenFiveMinutes = false;
    for (const FoundMarker &marker : markers) {
        if (marker.isOneHour && seenFiveMinutes)
            return false;
        seenFiveMinutes = seenFiveMinutes || !marker.isOneHour;
    }
    return true;
}

bool parses(const QByteArray &json)
{
    QJsonParseError error;
    QJsonDocument::fromJson(json, &error);
    return error.error == QJsonParseError::NoError;
}

// The output with the reported insertions taken out; empty (and a failure message) when the
// output does not hold them where reported, or one is not a marker insertion.
QByteArray withoutInsertions(const QByteArray &input, const CacheInjector::Result &result,
                             QString &failure)
{
    static const QList<QByteArray> kForms = {
        R"(,"cache_control":{"type":"ephemeral"})",
        R"(,"cache_control":{"type":"ephemeral","ttl":"1h"})",
        R"("cache_control":{"type":"ephemeral"})",
        R"("cache_control":{"type":"ephemeral","ttl":"1h"})",
        R"([{"type":"text","text":)",
        R"(,"cache_control":{"type":"ephemeral"}}])",
        R"(,"cache_control":{"type":"ephemeral","ttl":"1h"}}])",
    };
    QByteArray rebuilt;
    qsizetype inOutput = 0;
    qsizetype inInput = 0;
    for (const CacheInjector::Insertion &insertion : result.insertions) {
        if (!kForms.contains(insertion.bytes) || insertion.offset < inInput) {
            failure = QStringLiteral("unexpected insertion %1 at %2")
                          .arg(QString::fromUtf8(insertion.bytes))
                          .arg(insertion.offset);
            return {};
        }
        const char at = input.at(insertion.offset);
        const bool opensWrap = insertion.bytes.startsWith('[');
        if ((opensWrap && at != '"')
            || (!opensWrap && !insertion.bytes.endsWith(']') && at != '}')) {
            failure = QStringLiteral("insertion before '%1' at %2")
                          .arg(QLatin1Char(at))
                          .arg(insertion.offset);
            return {};
        }
        const qsizetype kept = insertion.offset - inInput;
        rebuilt += result.body.mid(inOutput, kept);
        inOutput += kept;
        if (result.body.mid(inOutput, insertion.bytes.size()) != insertion.bytes) {
            failure = QStringLiteral("insertion at %1 not in the output").arg(insertion.offset);
            return {};
        }
        inOutput += insertion.bytes.size();
        inInput = insertion.offset;
    }
    rebuilt += result.body.mid(inOutput);
    return rebuilt;
}

// ---- A generator of random Messages bodies ----

using Member = QPair<QByteArray, QByteArray>;

// Builds bodies of random shape: string or block system prompts, string or block contents,
// tools or none, thinking blocks, tool_result blocks with nested content, random whitespace,
// key order, escapes and UTF-8, nested tool input, and 0-5 client markers (with mixed ttls,
// nearly always in a valid order) at random cacheable places, plus a top-level marker.
class BodyGenerator
{
public:
    explicit BodyGenerator(quint32 seed)
        : m_random(seed)
    {
    }

    QByteArray next()
    {
        m_slots = 0;
        m_markers.clear();
        Plan plan = makePlan();
        placeMarkers(plan);
        return write(plan);
    }

private:
    enum class Kind { Text, EmptyText, Image, Document, ToolUse, ToolResult, Thinking, Redacted };
    struct Block
    {
        Kind kind = Kind::Text;
        int slot = -1;
        QList<Block> nested; // tool_result content blocks
        bool hasStringContent = false;
    };
    struct Message
    {
        QByteArray role;
        bool isString = false;
        int longText = 0; // a string content of about this many bytes, beyond any other
        QList<Block> blocks;
    };
    struct Plan
    {
        int toolCount = -1; // -1: no "tools" key
        int systemKind = 0; // 0 none, 1 string, 2 blocks
        QList<Block> systemBlocks;
        bool hasAttribution = false;
        QList<Message> messages;
        bool hasTopLevel = false;
        QByteArray model;
    };
    enum class MarkerTtl { Bare, FiveMinutes, OneHour };

    int bounded(int n) { return int(m_random.bounded(n)); }
    bool chance(int percent) { return bounded(100) < percent; }

    Block block(Kind kind)
    {
        Block b;
        b.kind = kind;
        if (kind == Kind::ToolResult) {
            b.hasStringContent = chance(40);
            if (!b.hasStringContent) {
                for (int i = bounded(3); i > 0; --i)
                    b.nested.append(block(chance(80) ? Kind::Text : Kind::Image));
            }
        }
        return b;
    }

    Message message(const QByteArray &role)
    {
        Message m;
        m.role = role;
        m.isString = role == "system" || chance(25);
        // Now and then a string content near the longest one that is wrapped, or far beyond.
        if (m.isString && chance(4)) {
            const qsizetype threshold = PromptLayout::kLongestWrappedString;
            m.longText = int(chance(50) ? threshold - 300 + bounded(600)
                                        : 2 * threshold + bounded(int(3 * threshold)));
        }
        if (m.isString)
            return m;
        static const Kind kUser[] = {Kind::Text,  Kind::Text,     Kind::ToolResult,
                                     Kind::Image, Kind::Document, Kind::EmptyText};
        static const Kind kAssistant[] = {Kind::Text, Kind::Thinking, Kind::Redacted, Kind::ToolUse,
                                          Kind::ToolUse};
        for (int i = 1 + bounded(4); i > 0; --i)
            m.blocks.append(block(role == "user" ? kUser[bounded(6)] : kAssistant[bounded(5)]));
        return m;
    }

    Plan makePlan()
    {
        static const QByteArray kModels[] = {"claude-opus-4-8",   "claude-haiku-4-5-20251001",
                                             "claude-sonnet-4-6", "claude-opus-5",
                                             "gateway-alias",     ""};
        Plan plan;
        plan.model = kModels[bounded(6)];
        plan.toolCount = chance(30) ? -1 : bounded(5);
        plan.systemKind = bounded(3);
        plan.hasAttribution = chance(30);
        for (int i = 1 + bounded(3); plan.systemKind == 2 && i > 0; --i)
            plan.systemBlocks.append(block(Kind::Text));
        const int turns = 1 + bounded(7);
        for (int i = 0; i < turns; ++i) {
            plan.messages.append(message(i % 2 == 0 ? "user" : "assistant"));
            if (chance(10))
                plan.messages.append(message("system"));
        }
        plan.hasTopLevel = chance(12);
        return plan;
    }

    // Numbers the places a client may mark, in prefix order.
    void number(Block &b)
    {
        for (Block &nested : b.nested)
            number(nested);
        if (b.kind != Kind::Thinking && b.kind != Kind::Redacted && b.kind != Kind::EmptyText)
            b.slot = m_slots++;
    }

    void placeMarkers(Plan &plan)
    {
        m_slots += qMax(plan.toolCount, 0); // tool i is slot i
        for (qsizetype i = 0; i < plan.systemBlocks.size(); ++i) {
            if (i == 0 && plan.hasAttribution)
                continue; // clients never mark it
            number(plan.systemBlocks[i]);
        }
        for (Message &m : plan.messages) {
            for (Block &b : m.blocks)
                number(b);
        }
        const int roll = bounded(100);
        int count = roll < 35 ? 0 : roll < 97 ? 1 + bounded(4) : 5;
        count = qMin(count - (plan.hasTopLevel ? 1 : 0), m_slots);
        QList<int> chosen;
        while (chosen.size() < count) {
            const int slot = bounded(m_slots);
            if (!chosen.contains(slot))
                chosen.append(slot);
        }
        std::sort(chosen.begin(), chosen.end());
        // 1h entries first, then 5m ones; now and then any order, which the API refuses.
        const bool isShuffled = chance(8);
        const int oneHour = bounded(int(chosen.size()) + 1);
        for (qsizetype i = 0; i < chosen.size(); ++i) {
            const bool isLong = isShuffled ? chance(50) : i < oneHour;
            m_markers.insert(chosen.at(i),
                             isLong           ? MarkerTtl::OneHour
                                 : chance(50) ? MarkerTtl::Bare
                                              : MarkerTtl::FiveMinutes);
        }
        m_topLevelTtl = (isShuffled ? chance(50) : oneHour == chosen.size() && chance(50))
            ? MarkerTtl::OneHour
            : MarkerTtl::Bare;
    }

    QByteArray space()
    {
        static const char *const kSpaces[] = {"",   "",     "",   "",     " ",
                                              "\n", "\n  ", "\t", "\r\n", "  "};
        return kSpaces[bounded(10)];
    }

    QByteArray text(int maxLength, int minLength = 0)
    {
        static const char *const kPieces[] = {
            "lorem ",
            "ipsum ",
            "dolor ",
            R"(\")",
            R"(\\)",
            R"(\n)",
            R"(\t)",
            R"(\/)",
            R"(\u00e9)",
            R"(\ud83d\ude00)",
            "\xc3\xa9",
            "\xe6\x97\xa5\xe6\x9c\xac",
            "\xf0\x9f\x98\x80",
            "{\\\"a\\\": [1]}",
            "cache_control ",
            "} ] , : ",
        };
        QByteArray out;
        const int length = std::max(minLength, bounded(maxLength + 1));
        while (out.size() < length)
            out += kPieces[bounded(16)];
        return out;
    }

    QByteArray string(int maxLength) { return '"' + text(maxLength) + '"'; }

    QByteArray object(QList<QPair<QByteArray, QByteArray>> members)
    {
        if (chance(40)) {
            for (qsizetype i = members.size() - 1; i > 0; --i)
                members.swapItemsAt(i, bounded(int(i) + 1));
        }
        QByteArray out = "{" + space();
        for (qsizetype i = 0; i < members.size(); ++i) {
            if (i > 0)
                out += "," + space();
            out += '"' + members.at(i).first + '"' + space() + ":" + space() + members.at(i).second
                + space();
        }
        return out + "}";
    }

    QByteArray array(const QList<QByteArray> &items)
    {
        QByteArray out = "[" + space();
        for (qsizetype i = 0; i < items.size(); ++i)
            out += (i > 0 ? "," + space() : QByteArray()) + items.at(i) + space();
        return out + "]";
    }

    QByteArray anyValue(int depth)
    {
        static const char *const kScalars[] = {"0",
                                               "-12",
                                               "3.25e10",
                                               "1E+2",
                                               "-0.0",
                                               "true",
                                               "false",
                                               "null",
                                               "12345678901234567890",
                                               "123456789012345678901234567890"};
        switch (depth > 2 ? 2 + bounded(2) : bounded(4)) {
        case 0: {
            QList<QPair<QByteArray, QByteArray>> members;
            for (int i = bounded(4); i > 0; --i)
                members.append({i == 1 && chance(30) ? QByteArray("cache_control")
                                                     : "k" + QByteArray::number(i),
                                anyValue(depth + 1)});
            return object(members);
        }
        case 1: {
            QList<QByteArray> items;
            for (int i = bounded(4); i > 0; --i)
                items.append(anyValue(depth + 1));
            return array(items);
        }
        case 2:
            return string(40);
        default:
            return kScalars[bounded(9)];
        }
    }

    QByteArray cacheControl(MarkerTtl ttl)
    {
        QList<QPair<QByteArray, QByteArray>> members = {{"type", R"("ephemeral")"}};
        if (ttl != MarkerTtl::Bare)
            members.append(Member("ttl", ttl == MarkerTtl::OneHour ? R"("1h")" : R"("5m")"));
        return object(members);
    }

    void addMarker(int slot, QList<QPair<QByteArray, QByteArray>> &members)
    {
        if (slot >= 0 && m_markers.contains(slot))
            members.append(Member("cache_control", cacheControl(m_markers.value(slot))));
    }

    QByteArray writeBlock(const Block &b)
    {
        QList<QPair<QByteArray, QByteArray>> members;
        switch (b.kind) {
        case Kind::Text:
            members = {{"type", R"("text")"}, {"text", string(3000)}};
            if (members.at(1).second == R"("")")
                members[1].second = R"("x")";
            break;
        case Kind::EmptyText:
            members = {{"type", R"("text")"}, {"text", chance(50) ? R"("")" : R"(" \n ")"}};
            break;
        case Kind::Image:
            members = {{"type", R"("image")"},
                       {"source",
                        object({{"type", R"("base64")"},
                                {"media_type", R"("image/png")"},
                                {"data", R"("iVBORw0KGgoAAAANSUhEUg==")"}})}};
            break;
        case Kind::Document:
            members = {{"type", R"("document")"},
                       {"source",
                        object({{"type", R"("text")"},
                                {"media_type", R"("text/plain")"},
                                {"data", string(2000)}})}};
            break;
        case Kind::ToolUse:
            members = {{"type", R"("tool_use")"},
                       {"id", R"("toolu_01")"},
                       {"name", R"("Bash")"},
                       {"input", anyValue(0)}};
            break;
        case Kind::ToolResult: {
            QList<QByteArray> nested;
            for (const Block &n : b.nested)
                nested.append(writeBlock(n));
            members = {{"type", R"("tool_result")"},
                       {"tool_use_id", R"("toolu_01")"},
                       {"content", b.hasStringContent ? string(1500) : array(nested)}};
            break;
        }
        case Kind::Thinking:
            members = {{"type", R"("thinking")"},
                       {"thinking", string(500)},
                       {"signature", R"("EqQBCkYIARgCIkBzaWduYXR1cmU=")"}};
            break;
        case Kind::Redacted:
            members = {{"type", R"("redacted_thinking")"}, {"data", R"("ZW5jcnlwdGVk")"}};
            break;
        }
        addMarker(b.slot, members);
        return object(members);
    }

    QByteArray writeTool(int index)
    {
        QList<QPair<QByteArray, QByteArray>> members = {
            {"name", "\"tool" + QByteArray::number(index) + '"'},
            {"description", string(1500)},
            {"input_schema", object({{"type", R"("object")"}, {"properties", anyValue(1)}})}};
        addMarker(index, members);
        return object(members);
    }

    QByteArray write(const Plan &plan)
    {
        QList<QPair<QByteArray, QByteArray>> members = {{"max_tokens", "1024"}};
        if (!plan.model.isEmpty())
            members.append({"model", '"' + plan.model + '"'});
        if (plan.toolCount >= 0) {
            QList<QByteArray> tools;
            for (int i = 0; i < plan.toolCount; ++i)
                tools.append(writeTool(i));
            members.append({"tools", array(tools)});
        }
        if (plan.systemKind == 1)
            members.append({"system", string(4000)});
        if (plan.systemKind == 2) {
            QList<QByteArray> blocks;
            for (qsizetype i = 0; i < plan.systemBlocks.size(); ++i) {
                blocks.append(
                    i == 0 && plan.hasAttribution ? QByteArray(
                        R"({"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197.a1b; cc_entrypoint=cli;"})")
                                                  : writeBlock(plan.systemBlocks.at(i)));
            }
            members.append({"system", array(blocks)});
        }
        QList<QByteArray> messages;
        for (const Message &m : plan.messages) {
            QList<QByteArray> blocks;
            for (const Block &b : m.blocks)
                blocks.append(writeBlock(b));
            messages.append(object({{"role", '"' + m.role + '"'},
                                    {"content",
                                     m.longText > 0   ? '"' + text(0, m.longText) + '"'
                                         : m.isString ? string(2000)
                                                      : array(blocks)}}));
        }
        members.append({"messages", array(messages)});
        if (plan.hasTopLevel)
            members.append({"cache_control", cacheControl(m_topLevelTtl)});
        members.append({"metadata", object({{"user_id", string(60)}})});
        return space() + object(members) + space();
    }

    QRandomGenerator m_random;
    int m_slots = 0;
    QHash<int, MarkerTtl> m_markers;
    MarkerTtl m_topLevelTtl = MarkerTtl::Bare;
};

// Why two layouts differ, or an empty string when they are the same.
QString layoutDifference(const PromptLayout &a, const PromptLayout &b)
{
    const auto spotText = [](const PromptLayout::Spot &spot) {
        return QStringLiteral("%1@%2-%3%4#%5")
            .arg(int(spot.section))
            .arg(spot.offset)
            .arg(spot.stringEnd)
            .arg(spot.isEmptyObject ? QStringLiteral("{}") : QString())
            .arg(spot.order);
    };
    const auto text = [&spotText](const PromptLayout &layout) {
        QStringList parts;
        parts << QString::number(int(layout.status)) << QString::fromUtf8(layout.model)
              << QString::number(layout.hasMaxTokens) << spotText(layout.lastTool)
              << spotText(layout.lastSystemBlock) << QString::number(layout.hasTopLevelMarker)
              << QString::number(layout.isTopLevelOneHour);
        for (int i = 0; i < 3; ++i) {
            parts << QStringLiteral("s%1:%2+%3 c%4/%5")
                         .arg(i)
                         .arg(layout.sectionBegin[i])
                         .arg(layout.sectionBytes[i])
                         .arg(layout.lastCacheableIn[i])
                         .arg(layout.hasCacheableIn[i]);
        }
        for (const PromptLayout::Marker &marker : layout.blockMarkers)
            parts << QStringLiteral("m%1/%2").arg(marker.order).arg(marker.isOneHour);
        parts << QStringLiteral("top %1 at %2")
                     .arg(layout.hasTopLevelCacheControlKey)
                     .arg(layout.topLevelClose);
        for (const PromptLayout::Message &message : layout.messages) {
            parts << QStringLiteral("r%1 %2 %3 %4")
                         .arg(int(message.role))
                         .arg(spotText(message.lastEligible))
                         .arg(message.isLongString)
                         .arg(message.hasMarker);
        }
        return parts;
    };
    const QStringList left = text(a);
    const QStringList right = text(b);
    for (qsizetype i = 0; i < std::max(left.size(), right.size()); ++i) {
        const QString l = left.value(i, QStringLiteral("(none)"));
        const QString r = right.value(i, QStringLiteral("(none)"));
        if (l != r)
            return QStringLiteral("item %1: %2 vs %3").arg(i).arg(l, r);
    }
    return {};
}

// Ways to break a valid body: cut it short, drop or add a structural byte, or put in a byte
// that is not UTF-8.
QByteArray corrupted(const QByteArray &json, QRandomGenerator &random)
{
    QByteArray broken = json;
    const qsizetype at = qsizetype(random.bounded(int(json.size())));
    switch (random.bounded(4)) {
    case 0:
        return json.left(at);
    case 1:
        for (qsizetype i = at; i < broken.size(); ++i) {
            if (QByteArrayView("\"{}[],:").contains(broken.at(i)))
                return broken.remove(i, 1);
        }
        return broken.left(at);
    case 2:
        return broken.insert(at, "{}[],:\"x"[random.bounded(8)]);
    default:
        broken[at] = '\xff';
        return broken;
    }
}

using tollgate::test::claudeCodeConversation;

// Where the body's first marker would go: the bytes before it are sent as the client wrote
// them.
qsizetype firstInsertion(const QByteArray &body)
{
    qsizetype first = body.size();
    for (const CacheInjector::Insertion &insertion : CacheInjector::plan(body, {}).insertions)
        first = std::min(first, insertion.offset);
    return first;
}

} // namespace

class CacheInjectorTest : public QObject
{
    Q_OBJECT

private:
    // Every property the injector promises, for one input; counts what it saw.
    void checkProperties(const QByteArray &input, Ttl ttl);
    // The body taken in pieces, as it arrives at the proxy, gives the layout, the plan and the
    // request log's facts of the whole body; also when it is scanned with the journals of
    // earlier bodies, and then *reusedBytes says how much of it was taken from them.
    void
    checkPiecewise(const QByteArray &input, Ttl ttl, QRandomGenerator &random,
                   const QList<std::shared_ptr<const PromptLayoutBuilder::Journal>> &journals = {},
                   qsizetype *reusedBytes = nullptr);
    // checkPiecewise() with journals; returns the bytes taken from them.
    qsizetype checkReuse(const QList<std::shared_ptr<const PromptLayoutBuilder::Journal>> &journals,
                         const QByteArray &input, QRandomGenerator &random);
    int m_checkedBodies = 0;
    int m_bodiesWithAdditions = 0;
    int m_addedNextToClientMarkers = 0;
    int m_wrappedStrings = 0;
    int m_topLevelMarkers = 0;
    int m_ttlsOtherThanPolicy = 0;
    qint64 m_stableBytes = 0; // of bodies fed in pieces: what was stable before their end
    qint64 m_piecewiseBytes = 0;

private slots:
    void leavesBodyAloneWhenDisabled();
    void leavesInvalidJsonUntouched_data();
    void leavesInvalidJsonUntouched();
    void leavesBodyWithOversizedNumberAlone();
    void refusesNonObjectTopLevel();
    void refusesBodyWithoutMessages_data();
    void refusesBodyWithoutMessages();
    void refusesDuplicateTopLevelKeys();
    void leavesCountTokensBodyAlone();
    void refusesFifthBreakpoint_data();
    void refusesFifthBreakpoint();
    void skipsPromptBelowModelMinimum_data();
    void skipsPromptBelowModelMinimum();
    void knowsMinimumPerModel_data();
    void knowsMinimumPerModel();
    void marksPlainSdkBodyInFourPlaces();
    void convertsStringSystemAndContent();
    void neverMarksAttributionBlock();
    void picksLastEligibleBlock();
    void skipsDeferredTool();
    void skipsTinyToolPrefix();
    void leavesClientMarkedBlocksAlone();
    void ordersMixedTtls_data();
    void ordersMixedTtls();
    void refusesClientMarkersInBadTtlOrder();
    void leavesAutomaticTargetToTopLevelMarker();
    void leavesClaudeCodeFirstTurnAsIs_data();
    void leavesClaudeCodeFirstTurnAsIs();
    void marksPreviousUserTurnOfClaudeCode();
    void claimsReadsBeyondClientLookback_data();
    void claimsReadsBeyondClientLookback();
    void marksPreviousUserTurnOfClaudeCodeWith1hMarkers();
    void keepsPropertiesOnFixtures();
    void keepsPropertiesOnGeneratedBodies();
    void takesLayoutWhileBodyArrives();
    void marksLongStringContentFromTheTopLevel();
    void crossesLongStringContentWhileItArrives();
    void digestsBlocksAsXxh3Does();
    void reusesScanOfEarlierTurn();
    void reusesScanOnlyWhereBytesMatch();
};

void CacheInjectorTest::leavesBodyAloneWhenDisabled()
{
    const QByteArray input =
        body(R"("system":")" + filler(8000) + R"(","messages":[{"role":"user","content":"hi"}])");
    CacheInjector::Policy policy;
    policy.isEnabled = false;
    const CacheInjector::Result result = CacheInjector::inject(input, policy);
    QCOMPARE(result.body, input);
    QCOMPARE(result.markersAdded, 0);
    QCOMPARE(result.skipped, QStringLiteral("disabled"));
}

void CacheInjectorTest::leavesInvalidJsonUntouched_data()
{
    QTest::addColumn<QByteArray>("input");
    const QByteArray valid =
        body(R"("system":")" + filler(8000) + R"(","messages":[{"role":"user","content":"hi"}])");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("truncated") << valid.left(valid.size() - 3);
    QTest::newRow("trailing comma") << QByteArray(valid).insert(valid.size() - 1, ",");
    QTest::newRow("trailing garbage") << valid + " x";
    QTest::newRow("two documents") << valid + valid;
    QTest::newRow("missing colon")
        << QByteArray(valid).replace(R"("max_tokens":)", R"("max_tokens" )");
    QTest::newRow("bad escape") << QByteArray(valid).replace("lorem", R"(\q)");
    QTest::newRow("invalid UTF-8") << QByteArray(valid).replace("lorem", "\xc3\x28");
    QTest::newRow("bad literal") << QByteArray(valid).replace("1024", "tru");
}

void CacheInjectorTest::leavesInvalidJsonUntouched()
{
    QFETCH(QByteArray, input);
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.body, input);
    QCOMPARE(result.markersAdded, 0);
    QCOMPARE(result.skipped, QStringLiteral("not JSON"));
}

void CacheInjectorTest::leavesBodyWithOversizedNumberAlone()
{
    // Valid JSON, but simdjson refuses an integer that does not fit in 64 bits; such a body is
    // forwarded as it came rather than guessed at.
    const QByteArray input =
        body(R"("system":")" + filler(8000)
             + R"(","messages":[{"role":"user","content":[{"type":"tool_use","id":"t",)"
               R"("name":"n","input":{"n":123456789012345678901234567890}}]}])");
    QVERIFY(parses(input));
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.body, input);
    QCOMPARE(result.markersAdded, 0);
}

void CacheInjectorTest::refusesNonObjectTopLevel()
{
    for (const QByteArray &input :
         {QByteArray("[1,2]"), QByteArray(R"("text")"), QByteArray("4")}) {
        const CacheInjector::Result result = inject(input);
        QCOMPARE(result.body, input);
        QCOMPARE(result.skipped, QStringLiteral("top level is not an object"));
    }
}

void CacheInjectorTest::refusesBodyWithoutMessages_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::newRow("absent") << body(R"("system":")" + filler(8000) + '"');
    QTest::newRow("a string") << body(R"("system":")" + filler(8000) + R"(","messages":"hi")");
    QTest::newRow("an object") << body(R"("messages":{"role":"user","content":"hi"})");
}

void CacheInjectorTest::refusesBodyWithoutMessages()
{
    QFETCH(QByteArray, input);
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.body, input);
    QCOMPARE(result.skipped, QStringLiteral("no messages array"));
}

void CacheInjectorTest::refusesDuplicateTopLevelKeys()
{
    // Parsers disagree on which duplicate wins; the body is forwarded as it came.
    const QByteArray input = body(R"("system":")" + filler(8000)
                                  + R"(","messages":[{"role":"user","content":"a"}],)"
                                    R"("messages":[{"role":"user","content":"b"}])");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.body, input);
    QCOMPARE(result.skipped, QStringLiteral("duplicate top-level keys"));
}

void CacheInjectorTest::leavesCountTokensBodyAlone()
{
    const QByteArray input = R"({"model":"claude-opus-4-8","system":")" + filler(8000)
        + R"(","messages":[{"role":"user","content":"hi"}]})";
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.body, input);
    QCOMPARE(result.markersAdded, 0);
    QVERIFY(result.skipped.startsWith(QStringLiteral("no max_tokens")));
}

void CacheInjectorTest::refusesFifthBreakpoint_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("clientMarkers");
    const QByteArray marker = R"("cache_control":{"type":"ephemeral"})";
    const QByteArray system = R"("system":[{"type":"text","text":")" + filler(6000) + R"(",)"
        + marker + R"(},{"type":"text","text":"b",)" + marker + "}],";
    const QByteArray messages =
        R"("messages":[{"role":"user","content":[{"type":"text","text":"q1",)" + marker
        + R"(}]},{"role":"assistant","content":"a1"},)"
          R"({"role":"user","content":[{"type":"text","text":"q2",)"
        + marker + "}]}]";
    QTest::newRow("four block markers") << body(system + messages) << 4;
    QTest::newRow("three blocks and a top-level one")
        << body(R"("tools":[{"name":"t","input_schema":{},)" + marker + "}]," + system
                + R"("messages":[{"role":"user","content":"q1"}],)" + marker)
        << 4;
    QTest::newRow("one nested in a tool_result") << body(
        system + R"("messages":[{"role":"user","content":[{"type":"text","text":"q1",)" + marker
        + R"(}]},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]},)"
          R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r",)"
        + marker + "}]}]}]") << 4;
    QTest::newRow("five already") << body(R"("tools":[{"name":"t","input_schema":{},)" + marker
                                          + "}]," + system + messages)
                                  << 5;
}

void CacheInjectorTest::refusesFifthBreakpoint()
{
    QFETCH(QByteArray, input);
    QFETCH(int, clientMarkers);
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.body, input);
    QCOMPARE(result.markersAdded, 0);
    QCOMPARE(result.clientMarkers, clientMarkers);
    QCOMPARE(result.skipped, QStringLiteral("%1 markers already").arg(clientMarkers));
}

void CacheInjectorTest::skipsPromptBelowModelMinimum_data()
{
    QTest::addColumn<QByteArray>("model");
    QTest::addColumn<int>("promptBytes");
    QTest::addColumn<QString>("skipped");
    QTest::newRow("tiny, Opus 4.8")
        << QByteArray("claude-opus-4-8") << 100
        << QStringLiteral("below the minimum of 1024 tokens for claude-opus-4-8");
    QTest::newRow("tiny, unknown model (smallest minimum)")
        << QByteArray("my-alias") << 100
        << QStringLiteral("below the minimum of 512 tokens for my-alias");
    QTest::newRow("2K tokens, Haiku 4.5")
        << QByteArray("claude-haiku-4-5-20251001") << 6000
        << QStringLiteral("below the minimum of 4096 tokens for claude-haiku-4-5-20251001");
    QTest::newRow("2K tokens, Opus 4.8") << QByteArray("claude-opus-4-8") << 6000 << QString();
}

void CacheInjectorTest::skipsPromptBelowModelMinimum()
{
    QFETCH(QByteArray, model);
    QFETCH(int, promptBytes);
    QFETCH(QString, skipped);
    const QByteArray input = body(R"("system":")" + filler(promptBytes)
                                      + R"(","messages":[{"role":"user","content":"hi"}])",
                                  model);
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.skipped, skipped);
    QCOMPARE(result.body == input, !skipped.isEmpty());
}

void CacheInjectorTest::knowsMinimumPerModel_data()
{
    QTest::addColumn<QByteArray>("model");
    QTest::addColumn<int>("tokens");
    QTest::newRow("Opus 4.8") << QByteArray("claude-opus-4-8") << 1024;
    QTest::newRow("Opus 4.7") << QByteArray("claude-opus-4-7") << 2048;
    QTest::newRow("Opus 4.6") << QByteArray("claude-opus-4-6") << 4096;
    QTest::newRow("Opus 4.5 dated") << QByteArray("claude-opus-4-5-20251101") << 4096;
    QTest::newRow("Opus 4.1") << QByteArray("claude-opus-4-1-20250805") << 1024;
    QTest::newRow("Opus 4") << QByteArray("claude-opus-4-20250514") << 1024;
    QTest::newRow("Opus 5") << QByteArray("claude-opus-5") << 512;
    QTest::newRow("Fable 5") << QByteArray("claude-fable-5") << 512;
    QTest::newRow("Sonnet 5") << QByteArray("claude-sonnet-5") << 1024;
    QTest::newRow("Sonnet 4.5") << QByteArray("claude-sonnet-4-5-20250929") << 1024;
    QTest::newRow("Haiku 4.5 alias") << QByteArray("claude-haiku-4-5") << 4096;
    QTest::newRow("Haiku 3.5") << QByteArray("claude-3-5-haiku-20241022") << 2048;
    QTest::newRow("Bedrock id") << QByteArray("us.anthropic.claude-opus-4-6-v1:0") << 4096;
    QTest::newRow("Vertex id") << QByteArray("claude-opus-4-5@20251101") << 4096;
    QTest::newRow("1M suffix") << QByteArray("claude-opus-4-6[1m]") << 4096;
    QTest::newRow("vendor prefix") << QByteArray("anthropic/claude-sonnet-5") << 1024;
    QTest::newRow("glued to a word") << QByteArray("xclaude-opus-4-6") << 512;
    QTest::newRow("second name counts") << QByteArray("xclaude-opus-4-6/claude-opus-4-7") << 2048;
    QTest::newRow("unknown version") << QByteArray("claude-opus-4-9") << 512;
    QTest::newRow("unknown") << QByteArray("gpt-5") << 512;
    QTest::newRow("empty") << QByteArray() << 512;
}

void CacheInjectorTest::knowsMinimumPerModel()
{
    QFETCH(QByteArray, model);
    QFETCH(int, tokens);
    QCOMPARE(CacheMinimum::tokensFor(model), tokens);
}

void CacheInjectorTest::marksPlainSdkBodyInFourPlaces()
{
    const QByteArray input = body(
        R"("tools":[{"name":"a","description":")" + filler(4000)
            + R"(","input_schema":{"type":"object"}},{"name":"b","description":"d","input_schema":{}}],)"
              R"("system":[{"type":"text","text":")"
            + filler(3000)
            + R"("}],"messages":[)"
              R"({"role":"user","content":[{"type":"text","text":"first"}]},)"
              R"({"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"one"}]},)"
              R"({"role":"user","content":[{"type":"text","text":"second"}]},)"
              R"({"role":"assistant","content":"two"},)"
              R"({"role":"user","content":[{"type":"text","text":"third"}]}])",
        "claude-sonnet-4-6");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.markersAdded, 4);
    QCOMPARE(result.clientMarkers, 0);
    QVERIFY(result.skipped.isEmpty());
    QCOMPARE(result.added,
             (Breakpoints {{Place::LastTool, Ttl::FiveMinutes},
                           {Place::SystemPrompt, Ttl::FiveMinutes},
                           {Place::NewestUserTurn, Ttl::FiveMinutes},
                           {Place::PreviousUserTurn, Ttl::FiveMinutes}}));
    QCOMPARE(markerPaths(result.body),
             (QByteArrayList {"tools[1]", "system[0]", "messages[2].content[0]",
                              "messages[4].content[0]"}));
    QVERIFY(!result.needsExtendedTtlBeta);
    // The client marked nothing: whatever this request reads from the cache is Tollgate's doing.
    QVERIFY(result.ownsCacheReads);
}

void CacheInjectorTest::convertsStringSystemAndContent()
{
    const QByteArray system = R"("you are \"helpful\" \u00e9 )" + filler(6000) + '"';
    const QByteArray input =
        body(R"("system": )" + system
             + R"( ,"messages":[{"role":"user","content":"first \ud83d\ude00"},)"
               R"({"role":"assistant","content":"ok"},{"role":"user","content":  "second"  }])");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.markersAdded, 3);
    const QByteArray marker = R"("cache_control":{"type":"ephemeral"})";
    QVERIFY(result.body.contains(
        QByteArray(R"("system": [{"type":"text","text":)" + system + ',' + marker + "}] ,")));
    QVERIFY(result.body.contains(
        QByteArray(R"("content":[{"type":"text","text":"first \ud83d\ude00",)" + marker + "}]}")));
    QVERIFY(result.body.contains(
        QByteArray(R"("content":  [{"type":"text","text":"second",)" + marker + "}]  }")));
    QCOMPARE(markerPaths(result.body),
             (QByteArrayList {"system[0]", "messages[0].content[0]", "messages[2].content[0]"}));
    // The converted system prompt decodes to the same text.
    const QJsonObject root = QJsonDocument::fromJson(result.body).object();
    QCOMPARE(root.value(QStringLiteral("system"))
                 .toArray()
                 .at(0)
                 .toObject()
                 .value(QStringLiteral("text")),
             QJsonDocument::fromJson(input).object().value(QStringLiteral("system")));
}

void CacheInjectorTest::neverMarksAttributionBlock()
{
    // A Claude Code request with its own caching turned off has no markers; its attribution
    // block must stay unchanged and first, so the system spot goes to the block after it or
    // nowhere.
    const QByteArray attribution =
        R"({"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197.a1b; cc_entrypoint=cli;"})";
    const QByteArray messages =
        R"("messages":[{"role":"user","content":")" + filler(8000) + R"("}])";
    CacheInjector::Result result = inject(body(R"("system":[)" + attribution + "]," + messages));
    QCOMPARE(markerPaths(result.body), QByteArrayList {"messages[0].content[0]"});
    result = inject(body(R"("system":[)" + attribution + R"(,{"type":"text","text":")"
                         + filler(6000) + R"("}],)" + messages));
    QCOMPARE(markerPaths(result.body), (QByteArrayList {"system[1]", "messages[0].content[0]"}));
    QVERIFY(result.body.contains(QByteArray(attribution + ",")));
}

void CacheInjectorTest::picksLastEligibleBlock()
{
    // Empty text blocks and thinking blocks cannot carry cache_control; unknown types are left
    // alone. The spot walks back to the last block that can.
    const QByteArray input = body(
        R"("system":")" + filler(6000)
        + R"(","messages":[)"
          R"({"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}},{"type":"text","text":""}]},)"
          R"({"role":"assistant","content":[{"type":"text","text":"a"},{"type":"thinking","thinking":"t","signature":"s"}]},)"
          R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":"r"},{"type":"text","text":" \n\t "},{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}])");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(markerPaths(result.body),
             (QByteArrayList {"system[0]", "messages[0].content[0]", "messages[2].content[0]"}));
}

void CacheInjectorTest::skipsDeferredTool()
{
    // The API rejects a tool carrying both defer_loading and cache_control.
    const QByteArray input =
        body(R"("tools":[{"name":"a","description":")" + filler(6000)
             + R"(","input_schema":{}},{"name":"b","input_schema":{},"defer_loading":true}],)"
               R"("messages":[{"role":"user","content":"hi"}])");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(markerPaths(result.body), (QByteArrayList {"tools[0]", "messages[0].content[0]"}));
}

void CacheInjectorTest::skipsTinyToolPrefix()
{
    // A breakpoint whose prefix is below the minimum caches nothing: no marker on the tools
    // when they are short, even though the whole prompt is long.
    const QByteArray input =
        body(R"("tools":[{"name":"a","input_schema":{}}],"system":")" + filler(8000)
             + R"(","messages":[{"role":"user","content":"hi"}])");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.added,
             (Breakpoints {{Place::SystemPrompt, Ttl::FiveMinutes},
                           {Place::NewestUserTurn, Ttl::FiveMinutes}}));
    QVERIFY(result.skipped.isEmpty());
}

void CacheInjectorTest::leavesClientMarkedBlocksAlone()
{
    // A client with its own marker (even a null one) manages its prefix: the newest user turn
    // is marked, so only the previous user turn is added, and nothing touches a block that has
    // cache_control.
    const QByteArray input = body(
        R"("tools":[{"name":"a","description":")" + filler(6000)
        + R"(","input_schema":{}}],"messages":[)"
          R"({"role":"user","content":[{"type":"text","text":"q1"},{"type":"text","text":"q1b","cache_control":null}]},)"
          R"({"role":"assistant","content":"a1"},)"
          R"({"role":"user","content":[{"type":"text","text":"q2","cache_control":{"ttl":"5m","type":"ephemeral"}}]}])");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.clientMarkers, 1);
    QCOMPARE(result.added, (Breakpoints {{Place::PreviousUserTurn, Ttl::FiveMinutes}}));
    QCOMPARE(markerPaths(result.body),
             (QByteArrayList {"messages[0].content[0]", "messages[2].content[0]"}));
    QVERIFY(result.body.contains(R"("cache_control":null})"));
    QVERIFY(result.body.contains(R"({"ttl":"5m","type":"ephemeral"})"));
}

void CacheInjectorTest::ordersMixedTtls_data()
{
    QTest::addColumn<QByteArray>("systemMarker");
    QTest::addColumn<QByteArray>("newestMarker");
    QTest::addColumn<int>("policyTtl");
    QTest::addColumn<QByteArrayList>("paths");
    QTest::addColumn<bool>("needsBeta");
    const QByteArray none;
    const QByteArray fiveMinutes = R"(,"cache_control":{"type":"ephemeral"})";
    const QByteArray oneHour = R"(,"cache_control":{"type":"ephemeral","ttl":"1h"})";
    const int policy5m = int(Ttl::FiveMinutes);
    const int policy1h = int(Ttl::OneHour);
    QTest::newRow("client 1h system, policy 5m: 5m after it")
        << oneHour << none << policy5m
        << QByteArrayList {"system[0]@1h", "messages[0].content[0]", "messages[2].content[0]"}
        << false;
    QTest::newRow("client 1h on newest turn, policy 5m: 1h before it")
        << none << oneHour << policy5m
        << QByteArrayList {"messages[0].content[0]@1h", "messages[2].content[0]@1h"} << true;
    QTest::newRow("client 5m system, policy 1h: 5m after it")
        << fiveMinutes << none << policy1h
        << QByteArrayList {"system[0]", "messages[0].content[0]", "messages[2].content[0]"}
        << false;
    QTest::newRow("client 1h system and 5m newest turn, policy 1h: 1h between")
        << oneHour << fiveMinutes << policy1h
        << QByteArrayList {"system[0]@1h", "messages[0].content[0]@1h", "messages[2].content[0]"}
        << true;
    QTest::newRow("client 1h system and 1h newest turn, policy 5m: 1h between")
        << oneHour << oneHour << policy5m
        << QByteArrayList {"system[0]@1h", "messages[0].content[0]@1h", "messages[2].content[0]@1h"}
        << true;
    QTest::newRow("no client markers, policy 1h")
        << none << none << policy1h
        << QByteArrayList {"system[0]@1h", "messages[0].content[0]@1h", "messages[2].content[0]@1h"}
        << true;
}

void CacheInjectorTest::ordersMixedTtls()
{
    QFETCH(QByteArray, systemMarker);
    QFETCH(QByteArray, newestMarker);
    QFETCH(int, policyTtl);
    QFETCH(QByteArrayList, paths);
    QFETCH(bool, needsBeta);
    const QByteArray input =
        body(R"("messages":[{"role":"user","content":[{"type":"text","text":"q1"}]},)"
             R"({"role":"assistant","content":"a1"},)"
             R"({"role":"user","content":[{"type":"text","text":"q2")"
             + newestMarker + R"(}]}],"system":[{"type":"text","text":")" + filler(8000) + '"'
             + systemMarker + "}]");
    const CacheInjector::Result result = inject(input, Ttl(policyTtl));
    QCOMPARE(markerPaths(result.body), paths);
    QVERIFY(isTtlOrderValid(markersIn(result.body)));
    QCOMPARE(result.needsExtendedTtlBeta, needsBeta);
}

void CacheInjectorTest::refusesClientMarkersInBadTtlOrder()
{
    // The API would refuse this request whatever Tollgate does; it goes out as it came.
    const QByteArray input = body(
        R"("system":[{"type":"text","text":")" + filler(8000)
        + R"(","cache_control":{"type":"ephemeral"}}],"messages":[)"
          R"({"role":"user","content":[{"type":"text","text":"q1"}]},{"role":"assistant","content":"a1"},)"
          R"({"role":"user","content":[{"type":"text","text":"q2","cache_control":{"type":"ephemeral","ttl":"1h"}}]}])");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.body, input);
    QCOMPARE(result.skipped, QStringLiteral("the client's markers put a 1h entry after a 5m one"));
}

void CacheInjectorTest::leavesAutomaticTargetToTopLevelMarker()
{
    // A top-level cache_control puts its breakpoint on the last cacheable block; an explicit
    // marker of another ttl there is a 400, so that block is left to it. It is 1h here, so the
    // previous user turn gets 1h too (a 5m marker may not come before it).
    const QByteArray input = body(
        R"("cache_control":{"type":"ephemeral","ttl":"1h"},"system":")" + filler(8000)
        + R"(","messages":[{"role":"user","content":"q1"},{"role":"assistant","content":"a1"},)"
          R"({"role":"user","content":"q2"}])");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.clientMarkers, 1);
    QCOMPARE(result.added, (Breakpoints {{Place::PreviousUserTurn, Ttl::OneHour}}));
    QCOMPARE(markerPaths(result.body), (QByteArrayList {"messages[0].content[0]@1h", "top@1h"}));
}

void CacheInjectorTest::leavesClaudeCodeFirstTurnAsIs_data()
{
    QTest::addColumn<QString>("fixture");
    QTest::newRow("say hi") << QStringLiteral("say-hi.turn1.body.json");
    QTest::newRow("tool loop") << QStringLiteral("tool-loop.turn1.body.json");
}

void CacheInjectorTest::leavesClaudeCodeFirstTurnAsIs()
{
    // Claude Code's first request has one user turn, and Claude Code marks it (plus two
    // system blocks). There is no previous user turn to mark, and a tools marker would add
    // nothing that its system[1] marker does not already cache, so the request goes out as it
    // came: the free slot stays free.
    QFETCH(QString, fixture);
    const QByteArray input = readFixture(fixture);
    QVERIFY(!input.isEmpty());
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.clientMarkers, 3);
    QCOMPARE(result.markersAdded, 0);
    QCOMPARE(result.body, input);
    QCOMPARE(result.skipped,
             QStringLiteral("newest user turn already marked by the client; "
                            "no previous user turn"));
}

void CacheInjectorTest::marksPreviousUserTurnOfClaudeCode()
{
    // Turn 2: [user (2 text blocks), system (string), assistant tool_use, user tool_result*].
    // The one free slot goes on the last block of the first user turn, where turn 1's moving
    // breakpoint wrote its cache entry.
    const QByteArray input = readFixture(QStringLiteral("tool-loop.turn2.body.json"));
    QVERIFY(!input.isEmpty());
    const QByteArrayList before = markerPaths(input);
    QCOMPARE(before, (QByteArrayList {"system[1]", "system[2]", "messages[3].content[0]"}));
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.clientMarkers, 3);
    QCOMPARE(result.markersAdded, 1);
    QCOMPARE(result.added, (Breakpoints {{Place::PreviousUserTurn, Ttl::FiveMinutes}}));
    QCOMPARE(markerPaths(result.body),
             (QByteArrayList {"system[1]", "system[2]", "messages[0].content[1]",
                              "messages[3].content[0]"}));
    QCOMPARE(result.body.size(),
             input.size() + qsizetype(qstrlen(R"(,"cache_control":{"type":"ephemeral"})")));
    // Claude Code's marker on the newest turn is a few blocks from the added one and would
    // have found the same entry: the savings stay the client's.
    QVERIFY(!result.ownsCacheReads);
    // system[0], the attribution block, is untouched and first.
    const QJsonArray system =
        QJsonDocument::fromJson(result.body).object().value(QStringLiteral("system")).toArray();
    QVERIFY(system.at(0)
                .toObject()
                .value(QStringLiteral("text"))
                .toString()
                .startsWith(QStringLiteral("x-anthropic-billing-header:")));
    QVERIFY(!system.at(0).toObject().contains(QStringLiteral("cache_control")));
}

void CacheInjectorTest::claimsReadsBeyondClientLookback_data()
{
    QTest::addColumn<int>("toolCalls");
    QTest::addColumn<bool>("owns");
    // The added marker ends the previous user turn; the client's ends the newest one, 2 blocks
    // per tool call further on (the assistant's tool_use and the user's tool_result).
    QTest::newRow("3 calls, 6 blocks apart") << 3 << false;
    QTest::newRow("9 calls, 18 blocks apart") << 9 << false;
    QTest::newRow("10 calls, 20 blocks apart") << 10 << true;
    QTest::newRow("25 calls, 50 blocks apart") << 25 << true;
}

void CacheInjectorTest::claimsReadsBeyondClientLookback()
{
    QFETCH(int, toolCalls);
    QFETCH(bool, owns);
    QByteArray uses;
    QByteArray results;
    for (int i = 0; i < toolCalls; ++i) {
        const QByteArray id = "toolu_" + QByteArray::number(i);
        uses += QByteArray(i ? "," : "") + R"({"type":"tool_use","id":")" + id
            + R"(","name":"Read","input":{}})";
        results += QByteArray(i ? "," : "") + R"({"type":"tool_result","tool_use_id":")" + id
            + R"(","content":"ok"})";
    }
    // The last tool_result carries the client's marker, as Claude Code puts it.
    results.chop(1);
    results += R"(,"cache_control":{"type":"ephemeral"}})";
    const QByteArray input = body(R"("system":[{"type":"text","text":")" + filler(6000)
                                  + R"(","cache_control":{"type":"ephemeral"}}],"messages":[)"
                                    R"({"role":"user","content":[{"type":"text","text":"go"}]},)"
                                    R"({"role":"assistant","content":[)"
                                  + uses + R"(]},{"role":"user","content":[)" + results + "]}]");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.added, (Breakpoints {{Place::PreviousUserTurn, Ttl::FiveMinutes}}));
    QCOMPARE(result.ownsCacheReads, owns);
}

void CacheInjectorTest::marksPreviousUserTurnOfClaudeCodeWith1hMarkers()
{
    // A subscriber's Claude Code sends 1h markers: a 5m marker before the 1h one on the newest
    // turn would break the ttl order, so the added marker is 1h as well.
    QByteArray input = readFixture(QStringLiteral("tool-loop.turn2.body.json"));
    input.replace(R"("cache_control":{"type":"ephemeral"})",
                  R"("cache_control":{"type":"ephemeral","ttl":"1h"})");
    const CacheInjector::Result result = inject(input);
    QCOMPARE(result.added, (Breakpoints {{Place::PreviousUserTurn, Ttl::OneHour}}));
    QVERIFY(result.needsExtendedTtlBeta);
    QVERIFY(isTtlOrderValid(markersIn(result.body)));
}

void CacheInjectorTest::checkProperties(const QByteArray &input, Ttl ttl)
{
    QVERIFY(parses(input));
    const QList<FoundMarker> before = markersIn(input);
    const CacheInjector::Result result = inject(input, ttl);
    ++m_checkedBodies;
    const QByteArray context = input.left(300);
    QVERIFY2(parses(result.body), context.constData());
    QString failure;
    QCOMPARE(withoutInsertions(input, result, failure), input);
    QVERIFY2(failure.isEmpty(), qPrintable(failure));
    QVERIFY2(result.skipped != QStringLiteral("not JSON"), context.constData());
    QCOMPARE(result.clientMarkers, int(before.size()));
    const QList<FoundMarker> after = markersIn(result.body);
    QCOMPARE(after.size(), before.size() + result.markersAdded);
    for (const FoundMarker &marker : before)
        QVERIFY2(after.contains(marker), marker.path.constData());
    if (before.size() <= 4)
        QVERIFY(after.size() <= 4);
    else
        QCOMPARE(result.body, input);
    if (isTtlOrderValid(before))
        QVERIFY2(isTtlOrderValid(after), pathsOf(after).join(' ').constData());
    else
        QCOMPARE(result.body, input);
    QCOMPARE(result.markersAdded == 0, result.body == input);
    QCOMPARE(result.markersAdded == 0, !result.skipped.isEmpty());
    // What the proxy does: the same decisions, spliced into the request's own buffer, which
    // keeps room for them past its end (HttpParser::kBodyPadding).
    const CacheInjector::Result planned = CacheInjector::plan(input, {true, ttl});
    QVERIFY(planned.body.isEmpty());
    QCOMPARE(planned.markersAdded, result.markersAdded);
    QCOMPARE(planned.skipped, result.skipped);
    QByteArray inPlace;
    inPlace.reserve(input.size() + HttpParser::kBodyPadding);
    inPlace.append(input);
    const char *buffer = inPlace.constData();
    CacheInjector::spliceInPlace(inPlace, planned.insertions);
    QCOMPARE(inPlace, result.body);
    QCOMPARE(inPlace.constData(), buffer);
    QVERIFY(inPlace.capacity() - inPlace.size() >= 64); // still room for simdjson's padding
    if (result.markersAdded == 0)
        return;
    ++m_bodiesWithAdditions;
    m_addedNextToClientMarkers += before.isEmpty() ? 0 : 1;
    for (const CacheInjector::Insertion &insertion : result.insertions)
        m_wrappedStrings += insertion.bytes.startsWith('[') ? 1 : 0;
    if (pathsOf(after).contains("top") && !pathsOf(before).contains("top"))
        ++m_topLevelMarkers;
    for (const CacheInjector::Breakpoint &breakpoint : result.added)
        m_ttlsOtherThanPolicy += breakpoint.ttl != ttl ? 1 : 0;
}

void CacheInjectorTest::checkPiecewise(
    const QByteArray &input, Ttl ttl, QRandomGenerator &random,
    const QList<std::shared_ptr<const PromptLayoutBuilder::Journal>> &journals,
    qsizetype *reusedBytes)
{
    // Pieces of one byte up to an eighth of the body: a cut falls inside keys, strings,
    // escapes, numbers and literals, and between members and messages.
    const int longest = int(std::max<qsizetype>(2, input.size() / 8));
    PromptLayoutBuilder builder;
    builder.reuseFrom(journals);
    qsizetype size = 0;
    qsizetype stable = 0; // the most the proxy may have sent on before the end
    while (size < input.size()) {
        size = std::min(input.size(), size + 1 + random.bounded(longest));
        builder.feed(QByteArrayView(input).first(size));
        QVERIFY(builder.scannedBytes() <= size);
        // Past what is scanned only inside a long string that matches an earlier body's.
        QVERIFY(builder.stableBytes() <= size);
        stable = std::max(stable, builder.stableBytes());
    }
    const PromptLayout layout = builder.finish(input);
    if (reusedBytes)
        *reusedBytes = builder.reusedBytes();
    const PromptLayout whole = PromptLayout::scan(input);
    const QString difference = layoutDifference(layout, whole);
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
    const CacheInjector::Result fromPieces = CacheInjector::plan(layout, {true, ttl});
    const CacheInjector::Result fromWhole = CacheInjector::plan(input, {true, ttl});
    QCOMPARE(fromPieces.markersAdded, fromWhole.markersAdded);
    QCOMPARE(fromPieces.clientMarkers, fromWhole.clientMarkers);
    QCOMPARE(fromPieces.skipped, fromWhole.skipped);
    QCOMPARE(fromPieces.ownsCacheReads, fromWhole.ownsCacheReads);
    QCOMPARE(fromPieces.insertions.size(), fromWhole.insertions.size());
    for (qsizetype i = 0; i < fromPieces.insertions.size(); ++i) {
        QCOMPARE(fromPieces.insertions.at(i).offset, fromWhole.insertions.at(i).offset);
        QCOMPARE(fromPieces.insertions.at(i).bytes, fromWhole.insertions.at(i).bytes);
    }
    // Whatever the ttl, no marker falls into what was stable before the last byte, and the
    // room reserved for markers is enough.
    for (Ttl anyTtl : {Ttl::FiveMinutes, Ttl::OneHour}) {
        const CacheInjector::Result result = CacheInjector::plan(input, {true, anyTtl});
        for (const CacheInjector::Insertion &insertion : result.insertions)
            QVERIFY2(insertion.offset >= stable,
                     qPrintable(QStringLiteral("marker at %1, stable %2 of %3")
                                    .arg(insertion.offset)
                                    .arg(stable)
                                    .arg(input.size())));
        qsizetype added = 0;
        for (const CacheInjector::Insertion &insertion : result.insertions)
            added += insertion.bytes.size();
        QVERIFY(added <= CacheInjector::maxInsertedBytes());
    }
    m_stableBytes += stable;
    m_piecewiseBytes += input.size();
    if (layout.status == PromptLayout::Status::NotJson
        || layout.status == PromptLayout::Status::NotObject)
        return;
    const RequestFacts facts = UsageExtractor::requestFacts(builder.factMembers(input));
    const RequestFacts wholeFacts = UsageExtractor::requestFacts(input);
    QCOMPARE(facts.model, wholeFacts.model);
    QCOMPARE(facts.sessionId, wholeFacts.sessionId);
    QCOMPARE(facts.project, wholeFacts.project);
    QCOMPARE(facts.isStream, wholeFacts.isStream);
    QCOMPARE(facts.speed, wholeFacts.speed);
}

void CacheInjectorTest::takesLayoutWhileBodyArrives()
{
    // A long Claude Code conversation: by the time most of it is in, most of it is scanned,
    // and what is left for the last byte is the part after the last whole message.
    QByteArray messages;
    for (int i = 0; i < 400; ++i) {
        if (i > 0)
            messages.append(',');
        messages.append(i % 2 == 0 ? R"({"role":"user","content":[{"type":"tool_result",)"
                                     R"("tool_use_id":"t","content":")"
                                   : R"({"role":"assistant","content":[{"type":"text","text":")");
        messages.append(filler(1500)).append(R"("}]})");
    }
    const QByteArray input = R"({"model":"claude-sonnet-4-5","messages":[)" + messages
        + R"(],"system":[{"type":"text","text":")" + filler(4000)
        + R"("}],"metadata":{"user_id":"user_ab_account__session_0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},"max_tokens":32000,"stream":true})";
    PromptLayoutBuilder builder;
    const qsizetype cut = input.size() * 9 / 10;
    for (qsizetype size = 65536; size < cut; size += 65536)
        builder.feed(QByteArrayView(input).first(size));
    builder.feed(QByteArrayView(input).first(cut));
    QVERIFY2(builder.scannedBytes() > cut - 4000,
             qPrintable(QString::number(builder.scannedBytes())));
    // All but the last user turns may go upstream already: those are where markers can go.
    const qsizetype stable = builder.stableBytes();
    QVERIFY2(stable > cut - 8000 && stable <= builder.scannedBytes(),
             qPrintable(QStringLiteral("%1 of %2").arg(stable).arg(cut)));
    const PromptLayout layout = builder.finish(input);
    QCOMPARE(layout.status, PromptLayout::Status::Ok);
    QCOMPARE(layout.messages.size(), 400);
    QVERIFY(layoutDifference(layout, PromptLayout::scan(input)).isEmpty());
    const RequestFacts facts = UsageExtractor::requestFacts(builder.factMembers(input));
    QCOMPARE(facts.model, QStringLiteral("claude-sonnet-4-5"));
    QCOMPARE(facts.sessionId, QByteArray("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));
    QVERIFY(facts.isStream);
    // Markers go where they would for the whole body.
    const CacheInjector::Result result = CacheInjector::plan(layout, {});
    QCOMPARE(result.markersAdded, CacheInjector::plan(input, {}).markersAdded);
    QVERIFY(result.markersAdded > 0);
    for (const CacheInjector::Insertion &insertion : result.insertions)
        QVERIFY(insertion.offset >= stable);
}

void CacheInjectorTest::keepsPropertiesOnFixtures()
{
    const QStringList names = fixtureBodies();
    QVERIFY(names.size() >= 3);
    QRandomGenerator random(20261124);
    for (const QString &name : names) {
        const QByteArray input = readFixture(name);
        for (Ttl ttl : {Ttl::FiveMinutes, Ttl::OneHour}) {
            checkProperties(input, ttl);
            checkPiecewise(input, ttl, random);
            if (QTest::currentTestFailed())
                return;
        }
        for (int i = 0; i < 200; ++i) {
            const QByteArray broken = corrupted(input, random);
            if (parses(broken))
                continue;
            const CacheInjector::Result result = inject(broken);
            QCOMPARE(result.body, broken);
            QCOMPARE(result.markersAdded, 0);
        }
    }
}

void CacheInjectorTest::keepsPropertiesOnGeneratedBodies()
{
    BodyGenerator generator(1234567);
    QRandomGenerator random(7654321);
    m_checkedBodies = 0;
    m_stableBytes = 0;
    m_piecewiseBytes = 0;
    m_bodiesWithAdditions = 0;
    m_addedNextToClientMarkers = 0;
    m_wrappedStrings = 0;
    m_topLevelMarkers = 0;
    m_ttlsOtherThanPolicy = 0;
    int brokenBodies = 0;
    for (int i = 0; i < 3000; ++i) {
        const QByteArray input = generator.next();
        checkProperties(input, i % 3 == 0 ? Ttl::OneHour : Ttl::FiveMinutes);
        checkPiecewise(input, Ttl::FiveMinutes, random);
        if (QTest::currentTestFailed()) {
            qWarning("generated body %d:\n%s", i, input.constData());
            return;
        }
        const QByteArray broken = corrupted(input, random);
        if (parses(broken))
            continue;
        ++brokenBodies;
        const CacheInjector::Result result = inject(broken);
        QVERIFY2(result.body == broken, broken.constData());
        QCOMPARE(result.markersAdded, 0);
        checkPiecewise(broken, Ttl::FiveMinutes, random);
        if (QTest::currentTestFailed()) {
            qWarning("broken body %d:\n%s", i, broken.constData());
            return;
        }
    }
    qInfo("%d bodies checked, %d got markers (%d beside client markers), %d strings wrapped, "
          "%d top-level markers, %d markers with the other ttl, %d broken copies left alone",
          m_checkedBodies, m_bodiesWithAdditions, m_addedNextToClientMarkers, m_wrappedStrings,
          m_topLevelMarkers, m_ttlsOtherThanPolicy, brokenBodies);
    qInfo("fed in pieces: %lld of %lld bytes could go on before the last byte", m_stableBytes,
          m_piecewiseBytes);
    QVERIFY(m_stableBytes > m_piecewiseBytes / 10); // the marker property above is not idle
    // The corpus exercises both sides: bodies that get markers and bodies that are refused.
    QVERIFY2(m_bodiesWithAdditions > 1000, qPrintable(QString::number(m_bodiesWithAdditions)));
    QVERIFY(m_addedNextToClientMarkers > 300);
    QVERIFY(m_wrappedStrings > 300);
    QVERIFY2(m_topLevelMarkers >= 8, qPrintable(QString::number(m_topLevelMarkers)));
    QVERIFY(m_ttlsOtherThanPolicy > 50);
    QVERIFY2(brokenBodies > 1500, qPrintable(QString::number(brokenBodies)));
}

namespace {

std::shared_ptr<const PromptLayoutBuilder::Journal> journalOf(const QByteArray &body,
                                                              qsizetype unchangedBytes)
{
    PromptLayoutBuilder builder;
    for (qsizetype size = 65536; size < body.size(); size += 65536)
        builder.feed(QByteArrayView(body).first(size));
    builder.finish(body);
    return builder.journal(body, unchangedBytes);
}

} // namespace

qsizetype CacheInjectorTest::checkReuse(
    const QList<std::shared_ptr<const PromptLayoutBuilder::Journal>> &journals,
    const QByteArray &input, QRandomGenerator &random)
{
    qsizetype reused = 0;
    checkPiecewise(input, Ttl::FiveMinutes, random, journals, &reused);
    return reused;
}

void CacheInjectorTest::reusesScanOfEarlierTurn()
{
    // Turn after turn of one conversation, each request scanned with the journal of the one
    // before: only what changed since, about the last round, is scanned again.
    QRandomGenerator random(20261127);
    std::shared_ptr<const PromptLayoutBuilder::Journal> previous;
    QByteArray previousBody;
    for (int turns = 60; turns <= 66; ++turns) {
        const QByteArray body = claudeCodeConversation(turns);
        const qsizetype reused =
            checkReuse(previous ? QList {previous} : QList<decltype(previous)>(), body, random);
        if (QTest::currentTestFailed())
            return;
        if (previous) {
            // The earlier turn's bytes are this one's up to the marker it moved, and
            // Tollgate's own marker went a round before that.
            const qsizetype shared = firstInsertion(previousBody);
            QVERIFY2(reused > shared - 2 * 16 * 1024 && reused < shared,
                     qPrintable(QStringLiteral("reused %1 of %2, shared %3")
                                    .arg(reused)
                                    .arg(body.size())
                                    .arg(shared)));
        } else {
            QCOMPARE(reused, 0);
        }
        previousBody = body;
        // Unchanged only up to where the proxy put its marker.
        previous = journalOf(body, firstInsertion(body));
        QVERIFY(previous);
        // It holds digests of the body, not the body.
        QVERIFY2(PromptLayoutBuilder::bytesHeldBy(*previous) < body.size() / 8,
                 qPrintable(QStringLiteral("%1 bytes for a body of %2")
                                .arg(PromptLayoutBuilder::bytesHeldBy(*previous))
                                .arg(body.size())));
    }
    // The same body again (a retry) is taken whole up to the last state before its marker;
    // a body of another conversation reuses nothing, and neither does one without a journal.
    const QByteArray again = previousBody;
    const qsizetype reusedAgain = checkReuse({previous}, again, random);
    QVERIFY2(reusedAgain > firstInsertion(again) - 2 * 16 * 1024,
             qPrintable(QStringLiteral("%1 of %2").arg(reusedAgain).arg(firstInsertion(again))));
    QCOMPARE(checkReuse({previous}, claudeCodeConversation(3), random), 0);
    // Of several journals, the one the body begins like is followed.
    const auto other =
        journalOf(claudeCodeConversation(40) + " ", firstInsertion(claudeCodeConversation(40)));
    QVERIFY(other);
    QVERIFY(checkReuse({other, previous}, again, random) > firstInsertion(again) - 2 * 16 * 1024);
    // Bodies that are not a valid layout leave no journal.
    QVERIFY(!journalOf(again.left(again.size() - 1), again.size()));
    QVERIFY(!journalOf(R"({"messages":"no"})", 10));
}

void CacheInjectorTest::reusesScanOnlyWhereBytesMatch()
{
    // A later body that differs from the earlier one anywhere (a byte changed, a message
    // added or dropped, cut short, broken, or longer), fed in pieces of any size: the layout,
    // the stable bytes and the facts are those of its own scan.
    QRandomGenerator random(4242);
    const QByteArray earlier = claudeCodeConversation(40);
    const auto journal = journalOf(earlier, earlier.size());
    QVERIFY(journal);
    const auto messageStarts = [](const QByteArray &body) {
        QList<qsizetype> starts;
        for (qsizetype at = body.indexOf(R"(,{"role")"); at >= 0;
             at = body.indexOf(R"(,{"role")", at + 1))
            starts.append(at);
        return starts;
    };
    const QList<qsizetype> starts = messageStarts(earlier);
    int reusing = 0;
    for (int i = 0; i < 300; ++i) {
        QByteArray later = earlier;
        const qsizetype at = random.bounded(later.size());
        switch (i % 6) {
        case 0:
            later[at] = later.at(at) == 'a' ? 'b' : 'a';
            break;
        case 1: {
            const qsizetype start = starts.at(random.bounded(starts.size()));
            later.insert(start, R"(,{"role":"user","content":"one more thing"})");
            break;
        }
        case 2: {
            const qsizetype index = random.bounded(starts.size() - 1);
            later.remove(starts.at(index), starts.at(index + 1) - starts.at(index));
            break;
        }
        case 3:
            later.truncate(at);
            break;
        case 4:
            later = corrupted(later, random);
            break;
        default:
            later = claudeCodeConversation(41 + random.bounded(3));
            break;
        }
        const qsizetype reused = checkReuse({journal}, later, random);
        if (QTest::currentTestFailed()) {
            qWarning("variant %d, at %lld", i, qlonglong(at));
            return;
        }
        // Never past the first byte that differs.
        qsizetype common = 0;
        while (common < std::min(earlier.size(), later.size())
               && earlier.at(common) == later.at(common))
            ++common;
        QVERIFY2(reused <= common,
                 qPrintable(QStringLiteral("reused %1, common %2").arg(reused).arg(common)));
        reusing += reused > 0 ? 1 : 0;
    }
    // Most variants share a long prefix with the earlier body, and took its scan.
    QVERIFY2(reusing > 200, qPrintable(QString::number(reusing)));
}

void CacheInjectorTest::marksLongStringContentFromTheTopLevel()
{
    // A string content is wrapped into a text block up to PromptLayout::kLongestWrappedString
    // bytes (quotes included); a longer one that ends the prompt is marked by a top-level
    // cache_control at the body's end, which automatic caching puts on it.
    const qsizetype longest = PromptLayout::kLongestWrappedString;
    const auto oneMessage = [](qsizetype tokenBytes) {
        const QByteArray text = R"(caf\u00e9 \ud83d\ude00 \"quoted\" )" + filler(int(tokenBytes));
        return body(R"("messages":[{"role":"user","content":")" + text.left(tokenBytes - 2)
                    + R"("}] )");
    };
    const QByteArray wrapped = oneMessage(longest);
    CacheInjector::Result result = inject(wrapped);
    QCOMPARE(markerPaths(result.body), QByteArrayList {"messages[0].content[0]"});
    const QByteArray input = oneMessage(longest + 1);
    result = inject(input);
    QCOMPARE(result.added,
             (QList<CacheInjector::Breakpoint> {{Place::NewestUserTurn, Ttl::FiveMinutes}}));
    QCOMPARE(result.body,
             input.left(input.size() - 2) + R"( ,"cache_control":{"type":"ephemeral"}})");
    QCOMPARE(markerPaths(result.body), QByteArrayList {"top"});
    // The content is still the client's string; nothing else moved.
    const QJsonObject root = QJsonDocument::fromJson(result.body).object();
    QVERIFY(root.value(QLatin1String("messages"))
                .toArray()
                .at(0)
                .toObject()
                .value(QLatin1String("content"))
                .isString());
    QVERIFY(result.ownsCacheReads);
    // The policy's ttl, with the beta a 1h entry may want.
    result = inject(input, Ttl::OneHour);
    QCOMPARE(markerPaths(result.body), QByteArrayList {"top@1h"});
    QVERIFY(result.needsExtendedTtlBeta);

    // Not the last block (an assistant prefill follows): automatic caching would land there.
    const QByteArray longText = '"' + filler(int(longest)) + '"';
    result = inject(body(R"("messages":[{"role":"user","content":)" + longText
                         + R"(},{"role":"assistant","content":"Sure"}])"));
    QCOMPARE(result.markersAdded, 0);
    QVERIFY2(result.skipped.contains(QStringLiteral("newest user turn is a string of over 64 KiB")),
             qPrintable(result.skipped));
    // A long previous user turn is left as it is; the newest is marked as before.
    result =
        inject(body(R"("system":")" + filler(4000) + R"(","messages":[{"role":"user","content":)"
                    + longText + R"(},{"role":"assistant","content":"ok"},)"
                    + R"({"role":"user","content":"and now?"}])"));
    QCOMPARE(markerPaths(result.body), (QByteArrayList {"system[0]", "messages[2].content[0]"}));
    QVERIFY(result.skipped.isEmpty());
    // A top-level cache_control of the client's, even null, is never given a twin.
    result = inject(
        body(R"("messages":[{"role":"user","content":)" + longText + R"(}],"cache_control":null)"));
    QCOMPARE(result.markersAdded, 0);
    result = inject(body(R"("messages":[{"role":"user","content":)" + longText
                         + R"(}],"cache_control":{"type":"ephemeral"})"));
    QCOMPARE(result.markersAdded, 0);
    QVERIFY2(result.skipped.contains(QStringLiteral("automatic caching already covers")),
             qPrintable(result.skipped));
    // Whitespace only: nothing to cache, so nothing marked.
    result = inject(body(R"("messages":[{"role":"user","content":")" + QByteArray(int(longest), ' ')
                         + R"("}])"));
    QCOMPARE(result.markersAdded, 0);
}

void CacheInjectorTest::crossesLongStringContentWhileItArrives()
{
    // One user message of a megabyte of text, with escapes and UTF-8 throughout: nearly all of
    // it may go upstream while it arrives, in pieces of any size.
    QByteArray text;
    static const char *const kPieces[] = {"lorem ipsum ",
                                          R"(caf\u00e9 )",
                                          R"(\ud83d\ude00 )",
                                          R"(\"q\" )",
                                          "\xe6\x97\xa5\xe6\x9c\xac ",
                                          "\xf0\x9f\x98\x80 ",
                                          R"(a\\nb )",
                                          R"(tab\t )"};
    QRandomGenerator random(20261128);
    while (text.size() < 1024 * 1024)
        text += kPieces[random.bounded(8)];
    const QByteArray input = body(R"("messages":[{"role":"user","content":")" + text
                                  + R"("}],"metadata":{"user_id":"u"})");
    for (qsizetype piece :
         {qsizetype(1000), qsizetype(4096), qsizetype(65536), qsizetype(300000)}) {
        PromptLayoutBuilder builder;
        qsizetype stable = 0;
        qsizetype size = 0;
        while (size < input.size()) {
            size = std::min(input.size(), size + piece);
            builder.feed(QByteArrayView(input).first(size));
            if (size < input.size())
                stable = builder.stableBytes();
        }
        // All but the last piece, less the last character or two.
        QVERIFY2(stable > input.size() - piece - 40,
                 qPrintable(QStringLiteral("%1 of %2").arg(stable).arg(input.size())));
        // What is left at the end is the few bytes after the string.
        QVERIFY2(input.size() - builder.scannedBytes() < piece + 40,
                 qPrintable(QString::number(builder.scannedBytes())));
        const PromptLayout layout = builder.finish(input);
        QCOMPARE(layoutDifference(layout, PromptLayout::scan(input)), QString());
        const CacheInjector::Result result = CacheInjector::plan(layout, {});
        QCOMPARE(result.markersAdded, 1);
        QVERIFY(result.insertions.first().offset >= stable);
    }
    checkPiecewise(input, Ttl::FiveMinutes, random);
    // Its journal ends where the message began: no later state lies past the string, so no
    // later body is compared beyond it, and the megabyte of text is not digested at all.
    const auto oneMessage = journalOf(input, firstInsertion(input));
    QVERIFY(oneMessage);
    QVERIFY2(PromptLayoutBuilder::bytesHeldBy(*oneMessage) < input.size() / 512,
             qPrintable(QString::number(PromptLayoutBuilder::bytesHeldBy(*oneMessage))));

    // A conversation's next request follows the journal of the one before. Here the tools
    // and the system prompt come after the messages (keys in another order), so the journal
    // holds a state after the long message as well as the one inside its string.
    const QByteArray tail = R"(],"tools":[{"name":"Read","description":")" + filler(8000)
        + R"(","input_schema":{"type":"object"}}],"system":")" + filler(8000) + R"("})";
    const QByteArray first = input.left(input.indexOf(R"(],"metadata")")) + tail;
    const auto journal = journalOf(first, firstInsertion(first));
    QVERIFY(journal);
    const qsizetype messagesEnd = first.indexOf(R"(],"tools")");
    // The same body again: its bytes go on as they match, and none of the string is scanned
    // a second time.
    PromptLayoutBuilder again;
    again.reuseFrom({journal});
    qsizetype stable = 0;
    for (qsizetype size = 65536; size < first.size(); size += 65536) {
        again.feed(QByteArrayView(first).first(size));
        stable = again.stableBytes();
    }
    QVERIFY2(stable > messagesEnd - 65536 - 4096,
             qPrintable(QStringLiteral("%1 of %2").arg(stable).arg(messagesEnd)));
    QCOMPARE(layoutDifference(again.finish(first), PromptLayout::scan(first)), QString());
    QVERIFY2(again.reusedBytes() >= messagesEnd,
             qPrintable(QStringLiteral("%1 of %2").arg(again.reusedBytes()).arg(messagesEnd)));
    // A body whose string ends sooner, a new turn after it, the end of the string 100 bytes
    // into a block: the bytes of that block, not yet compared, are not taken as the string's.
    const qsizetype block = PromptLayoutBuilder::kDigestBlock;
    const qsizetype cut = first.lastIndexOf(' ', (500000 / block) * block + 100) + 1;
    QVERIFY(cut % block < 200);
    const QByteArray later = first.left(cut)
        + R"("},{"role":"assistant","content":"ok"},{"role":"user","content":"next?"})" + tail;
    PromptLayoutBuilder shorter;
    shorter.reuseFrom({journal});
    shorter.feed(QByteArrayView(later).first(cut - cut % block + block - 1));
    const qsizetype wrapAt = later.indexOf(R"("next?")");
    QVERIFY2(shorter.stableBytes() <= wrapAt,
             qPrintable(QStringLiteral("%1, marker at %2").arg(shorter.stableBytes()).arg(wrapAt)));
    checkPiecewise(later, Ttl::FiveMinutes, random, {journal});
    QVERIFY(CacheInjector::plan(later, {}).insertions.size() >= 2);
    // Bodies that differ inside the string: taken from the journal up to there only.
    for (qsizetype at : {qsizetype(70000), qsizetype(500000), messagesEnd - 100}) {
        QByteArray changed = first;
        changed[at] = changed.at(at) == 'a' ? 'b' : 'a';
        if (!parses(changed))
            continue;
        qsizetype reused = 0;
        checkPiecewise(changed, Ttl::FiveMinutes, random, {journal}, &reused);
        QVERIFY2(reused <= at, qPrintable(QStringLiteral("%1 at %2").arg(reused).arg(at)));
    }
    // A bad escape deep in the string: not JSON, so no marker, however it arrived.
    QByteArray broken = input;
    broken.insert(broken.indexOf(' ', 600000) + 1, R"(\x)");
    QCOMPARE(PromptLayout::scan(broken).status, PromptLayout::Status::NotJson);
    checkPiecewise(broken, Ttl::FiveMinutes, random);
    checkPiecewise(broken, Ttl::FiveMinutes, random, {journal});
    QCOMPARE(CacheInjector::plan(broken, {}).markersAdded, 0);
}

void CacheInjectorTest::digestsBlocksAsXxh3Does()
{
    // Journals are compared by XXH3-128 digests of 4 KiB blocks: whichever code this CPU
    // runs for them (AVX2 built in, or the library's), each is XXH3's, as its portable code
    // computes it.
    QRandomGenerator random(20261128);
    QByteArray bytes(3 * PromptLayoutBuilder::kDigestBlock + 7, Qt::Uninitialized);
    for (char &byte : bytes)
        byte = char(random.bounded(256));
    for (int round = 0; round < 200; ++round) {
        const quint64 seed = round == 0 ? 0 : random.generate64();
        const qsizetype size = round % 3 == 0 ? PromptLayoutBuilder::kDigestBlock
                                              : qsizetype(random.bounded(int(bytes.size()) - 1));
        const qsizetype at = random.bounded(int(bytes.size() - size) + 1);
        const Xxh3Digest digest = xxh3Digest(bytes.constData() + at, size, seed);
        const XXH128_hash_t expected =
            XXH3_128bits_withSeed(bytes.constData() + at, size_t(size), seed);
        QCOMPARE(digest.low, quint64(expected.low64));
        QCOMPARE(digest.high, quint64(expected.high64));
    }
}

QTEST_GUILESS_MAIN(CacheInjectorTest)
#include "tst_CacheInjector.moc"
