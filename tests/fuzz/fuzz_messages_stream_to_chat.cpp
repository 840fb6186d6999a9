// MessagesStreamToChat, Anthropic's event stream rewritten into chat.completion.chunk data
// lines as it arrives: whatever Anthropic sends and however its bytes are cut, the output must
// be the same, every line must be "data: " with a JSON object, and the stream must end with
// exactly one "data: [DONE]" once finish() was called, with nothing after it.
#include "FuzzAssert.h"
#include "JsonChecks.h"
#include "MadeUpIds.h"
#include "ReferenceSse.h"
#include "SplitPlan.h"
#include "translate/MessagesStreamToChat.h"

#include <cstdint>

using tollgate::MessagesStreamToChat;

namespace {

void checkChunks(const QByteArray &output)
{
    FUZZ_ASSERT(output.isEmpty() || output.endsWith("\n\n"), "output ends inside a line");
    FUZZ_ASSERT(!output.contains("\nevent:") && !output.startsWith("event:"),
                "an event line in an OpenAI stream");
    const QList<ReferenceSse::Event> events = ReferenceSse::parse(output);
    FUZZ_ASSERT(!events.isEmpty(), "finish() sent no [DONE]");
    for (qsizetype i = 0; i < events.size(); ++i) {
        const ReferenceSse::Event &event = events.at(i);
        FUZZ_ASSERT(event.name == "message", "a named event in an OpenAI stream");
        if (i + 1 == events.size())
            FUZZ_ASSERT(event.data == "[DONE]", "the stream does not end with [DONE]");
        else
            FUZZ_ASSERT(JsonChecks::isObject(event.data), "chunk is not a JSON object");
    }
}

QByteArray translate(QByteArrayView input, SplitPlan *plan, bool includeUsage)
{
    MessagesStreamToChat translator(QString(), includeUsage, 1700000000);
    QByteArray output;
    SplitPlan::forEachPiece(input, plan, [&](const QByteArray &bytes) {
        output += translator.feed(bytes.constData(), bytes.size());
    });
    output += translator.finish();
    FUZZ_ASSERT(translator.isFinished(), "not finished after finish()");
    FUZZ_ASSERT(translator.finish().isEmpty(), "a second finish() sent more");
    FUZZ_ASSERT(translator.feed("\n\n", 2).isEmpty(), "bytes after the end sent more");
    return output;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    SplitPlan plan(data, size);
    const bool includeUsage = (plan.next() & 1) != 0;
    const QByteArray whole = translate(input, nullptr, includeUsage);
    checkChunks(whole);
    const QByteArray pieces = translate(input, &plan, includeUsage);
    FUZZ_ASSERT(MadeUpIds::blanked(pieces) == MadeUpIds::blanked(whole),
                "the cut points changed the output");
    return 0;
}
