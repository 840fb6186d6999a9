// ChatStreamToMessages, a vendor's chat.completion.chunk stream rewritten into Anthropic's
// event stream as it arrives: whatever the vendor sends and however its bytes are cut, the
// output must be the same, every event must be "event: <type>" with a JSON object of that
// type, and the events must follow the grammar Anthropic clients parse (message_start, then
// blocks numbered from 0 whose deltas match their type and come between their start and stop,
// then message_delta and message_stop; an error event ends the stream anywhere; nothing
// follows the end, and finish() always reaches it).
#include "FuzzAssert.h"
#include "JsonChecks.h"
#include "MadeUpIds.h"
#include "ReferenceSse.h"
#include "SplitPlan.h"
#include "translate/ChatStreamToMessages.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <cstdint>

using tollgate::ChatStreamToMessages;
using tollgate::ToolNameMap;
using tollgate::VendorReasoning;

namespace {

bool isDeltaOf(const QString &blockType, const QString &deltaType)
{
    if (blockType == QLatin1StringView("text"))
        return deltaType == QLatin1StringView("text_delta");
    if (blockType == QLatin1StringView("tool_use"))
        return deltaType == QLatin1StringView("input_json_delta");
    if (blockType == QLatin1StringView("thinking"))
        return deltaType == QLatin1StringView("thinking_delta")
            || deltaType == QLatin1StringView("signature_delta");
    return false;
}

void checkGrammar(const QByteArray &output)
{
    FUZZ_ASSERT(output.isEmpty() || output.endsWith("\n\n"), "output ends inside an event");
    enum class State { Start, Message, Block, Delta, Done };
    State state = State::Start;
    int nextIndex = 0;
    QString blockType;
    for (const ReferenceSse::Event &event : ReferenceSse::parse(output)) {
        FUZZ_ASSERT(state != State::Done, "an event after the end of the stream");
        FUZZ_ASSERT(JsonChecks::isObject(event.data), "event data is not a JSON object");
        const QJsonObject data = QJsonDocument::fromJson(event.data).object();
        const QString type = data.value(QLatin1StringView("type")).toString();
        FUZZ_ASSERT(type.toUtf8() == event.name, "event name and data type differ");
        const int index = data.value(QLatin1StringView("index")).toInt(-1);
        if (type == QLatin1StringView("error")) {
            state = State::Done;
            continue;
        }
        if (type == QLatin1StringView("ping")) {
            FUZZ_ASSERT(state != State::Start, "ping before message_start");
            continue;
        }
        switch (state) {
        case State::Start:
            FUZZ_ASSERT(type == QLatin1StringView("message_start"), "no message_start first");
            state = State::Message;
            break;
        case State::Message:
            if (type == QLatin1StringView("message_delta")) {
                state = State::Delta;
                break;
            }
            FUZZ_ASSERT(type == QLatin1StringView("content_block_start"), "unexpected event");
            FUZZ_ASSERT(index == nextIndex, "block index out of sequence");
            blockType = data.value(QLatin1StringView("content_block"))
                            .toObject()
                            .value(QLatin1StringView("type"))
                            .toString();
            state = State::Block;
            break;
        case State::Block:
            FUZZ_ASSERT(index == nextIndex, "event for a block that is not open");
            if (type == QLatin1StringView("content_block_stop")) {
                ++nextIndex;
                state = State::Message;
                break;
            }
            FUZZ_ASSERT(type == QLatin1StringView("content_block_delta"), "unexpected event");
            FUZZ_ASSERT(isDeltaOf(blockType,
                                  data.value(QLatin1StringView("delta"))
                                      .toObject()
                                      .value(QLatin1StringView("type"))
                                      .toString()),
                        "delta of another type than its block");
            break;
        case State::Delta:
            FUZZ_ASSERT(type == QLatin1StringView("message_stop"), "unexpected event");
            state = State::Done;
            break;
        case State::Done:
            break;
        }
    }
    FUZZ_ASSERT(state == State::Done, "finish() did not end the stream");
}

QByteArray translate(QByteArrayView input, SplitPlan *plan, bool sendsPings,
                     VendorReasoning reasoning)
{
    ToolNameMap toolNames;
    toolNames.shorten(QStringLiteral("mcp__fuzz__") + QString(60, QLatin1Char('t')));
    ChatStreamToMessages translator(QStringLiteral("claude-fuzz"), toolNames, reasoning);
    QByteArray output;
    SplitPlan::forEachPiece(input, plan, [&](const QByteArray &bytes) {
        output += translator.feed(bytes.constData(), bytes.size());
        if (sendsPings && plan && (plan->next() & 3) == 0)
            output += translator.ping();
    });
    output += translator.finish();
    FUZZ_ASSERT(translator.isFinished(), "not finished after finish()");
    FUZZ_ASSERT(translator.finish().isEmpty(), "a second finish() sent more");
    FUZZ_ASSERT(translator.ping().isEmpty(), "ping() after the end sent more");
    return output;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    SplitPlan plan(data, size);
    const VendorReasoning reasoning =
        (plan.next() & 1) != 0 ? VendorReasoning::AsThinking : VendorReasoning::Drop;
    const QByteArray whole = translate(input, nullptr, false, reasoning);
    checkGrammar(whole);
    const QByteArray pieces = translate(input, &plan, false, reasoning);
    FUZZ_ASSERT(MadeUpIds::blanked(pieces) == MadeUpIds::blanked(whole),
                "the cut points changed the output");
    checkGrammar(translate(input, &plan, true, reasoning));
    return 0;
}
