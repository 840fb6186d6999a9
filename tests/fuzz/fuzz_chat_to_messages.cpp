// ChatToMessages, the OpenAI surface in front of Anthropic: any request body and any
// Anthropic response body must translate to a JSON object or to an error, never both and
// never a crash.
#include "FuzzAssert.h"
#include "TranslatedJson.h"
#include "translate/ChatToMessages.h"

#include <cstdint>

using tollgate::ChatToMessages;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    const bool overridesModel = size > 0 && (data[0] & 1) != 0;
    const ChatToMessages::Request request = ChatToMessages::translateRequest(
        input, overridesModel ? QStringLiteral("claude-fuzz") : QString());
    TranslatedJson::check(request.body, request.error, input);

    const ChatToMessages::Response response =
        ChatToMessages::translateResponse(input, QStringLiteral("gpt-fuzz"), 1700000000);
    TranslatedJson::check(response.body, response.error, input);
    return 0;
}
