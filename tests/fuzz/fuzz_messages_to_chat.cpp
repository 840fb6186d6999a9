// MessagesToChat, the Anthropic surface in front of an OpenAI-compatible vendor: any request
// body and any vendor response body must translate to a JSON object or to an error, never
// both and never a crash.
#include "FuzzAssert.h"
#include "SplitPlan.h"
#include "TranslatedJson.h"
#include "translate/MessagesToChat.h"

#include <cstdint>

using tollgate::MessagesToChat;
using tollgate::VendorReasoning;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    SplitPlan plan(data, size);
    const std::uint64_t bits = plan.next();
    MessagesToChat::Options options;
    options.sendsReasoningEffort = (bits & 1) != 0;
    options.usesMaxCompletionTokens = (bits & 2) != 0;
    const QString model = (bits & 4) != 0 ? QStringLiteral("gpt-fuzz") : QString();

    const MessagesToChat::Request request = MessagesToChat::translateRequest(input, model, options);
    TranslatedJson::check(request.body, request.error, input);

    const VendorReasoning reasoning =
        (bits & 8) != 0 ? VendorReasoning::AsThinking : VendorReasoning::Drop;
    const MessagesToChat::Response response = MessagesToChat::translateResponse(
        input, QStringLiteral("claude-fuzz"), request.toolNames, reasoning);
    TranslatedJson::check(response.body, response.error, input);
    return 0;
}
