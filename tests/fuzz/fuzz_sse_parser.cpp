// SseParser, the usage tee on every streamed response: fed the input whole and in pieces cut
// anywhere, it must report exactly the events a plain reading of the WHATWG rules finds
// (ReferenceSse), and with a small cap and a data filter it must still report every event,
// keep no more than the cap and lose data only by flagging it.
#include "FuzzAssert.h"
#include "ReferenceSse.h"
#include "SplitPlan.h"
#include "sse/SseParser.h"

#include <QList>
#include <cstdint>

using tollgate::SseEvent;
using tollgate::SseParser;

namespace {

struct Seen
{
    QByteArray name;
    QByteArray data;
    bool isDataLost = false;
    bool operator==(const Seen &other) const = default;
};

SseParser::EventHandler recorder(QList<Seen> &events)
{
    return [&events](const SseEvent &event) {
        events.append({event.name.toByteArray(), event.data.toByteArray(), event.isDataLost});
    };
}

void feedInPieces(SseParser &parser, QByteArrayView input, SplitPlan &plan)
{
    SplitPlan::forEachPiece(input, &plan, [&parser](const QByteArray &bytes) {
        parser.feed(bytes.constData(), bytes.size());
    });
}

void checkUncapped(QByteArrayView input, const QList<ReferenceSse::Event> &expected)
{
    QList<Seen> events;
    SseParser parser(recorder(events));
    parser.feed(input.data(), input.size());
    FUZZ_ASSERT(events.size() == expected.size(), "whole: event count");
    for (qsizetype i = 0; i < events.size(); ++i) {
        FUZZ_ASSERT(events.at(i).name == expected.at(i).name, "whole: event name");
        FUZZ_ASSERT(events.at(i).data == expected.at(i).data, "whole: event data");
        FUZZ_ASSERT(!events.at(i).isDataLost, "whole: data lost under the default cap");
    }
    FUZZ_ASSERT(parser.droppedEventCount() == 0, "whole: dropped events");

    // The same after reset(), fed in pieces.
    SplitPlan plan(reinterpret_cast<const uint8_t *>(input.data()), size_t(input.size()));
    QList<Seen> again;
    parser.setEventHandler(recorder(again));
    parser.reset();
    feedInPieces(parser, input, plan);
    FUZZ_ASSERT(again == events, "pieces after reset(): other events than whole");
}

void checkCapped(QByteArrayView input, const QList<ReferenceSse::Event> &expected)
{
    SplitPlan plan(reinterpret_cast<const uint8_t *>(input.data()), size_t(input.size()));
    const qsizetype cap = 8 + qsizetype(plan.next() % 256);
    const unsigned salt = unsigned(plan.next());
    const auto wantsData = [salt](QByteArrayView name) {
        unsigned h = salt;
        for (char c : name)
            h = h * 31 + uchar(c);
        return (h & 3) != 0;
    };

    QList<Seen> whole;
    SseParser wholeParser(recorder(whole), wantsData);
    wholeParser.setMaxEventBytes(cap);
    wholeParser.feed(input.data(), input.size());

    QList<Seen> pieces;
    SseParser piecesParser(recorder(pieces), wantsData);
    piecesParser.setMaxEventBytes(cap);
    feedInPieces(piecesParser, input, plan);

    FUZZ_ASSERT(pieces == whole, "capped: the cut points changed the events");
    FUZZ_ASSERT(piecesParser.droppedEventCount() == wholeParser.droppedEventCount(),
                "capped: the cut points changed the dropped count");
    FUZZ_ASSERT(whole.size() == expected.size(), "capped: event count");
    qint64 lost = 0;
    for (qsizetype i = 0; i < whole.size(); ++i) {
        const Seen &seen = whole.at(i);
        const ReferenceSse::Event &event = expected.at(i);
        FUZZ_ASSERT(seen.data.size() <= cap, "capped: data over the cap");
        if (!seen.data.isEmpty())
            FUZZ_ASSERT(seen.data == event.data && !seen.isDataLost, "capped: kept data differs");
        if (seen.isDataLost)
            FUZZ_ASSERT(seen.data.isEmpty(), "capped: lost data reported");
        if (event.data.size() > cap)
            FUZZ_ASSERT(seen.data.isEmpty(), "capped: data over the cap kept");
        if (event.name.size() <= cap)
            FUZZ_ASSERT(seen.name == event.name, "capped: event name");
        lost += seen.isDataLost ? 1 : 0;
    }
    FUZZ_ASSERT(wholeParser.droppedEventCount() == lost, "capped: dropped count");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    const QList<ReferenceSse::Event> expected = ReferenceSse::parse(input);
    checkUncapped(input, expected);
    checkCapped(input, expected);
    return 0;
}
