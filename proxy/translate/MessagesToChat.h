#pragma once

#include "translate/ToolNameMap.h"
#include "translate/VendorReasoning.h"
#include "usage/Usage.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QStringList>

namespace tollgate {

// Anthropic surface -> OpenAI-compatible provider, for whole bodies: a Messages request (a
// Claude Code request, say) becomes a chat-completions request, and the vendor's
// non-streamed chat.completion becomes an Anthropic Message (protocol.md 8a, 8b). Streams go
// through ChatStreamToMessages, errors through ErrorTranslator. The body is rebuilt with
// QJsonDocument: unlike the Anthropic pass-through path nothing here has to stay
// byte-identical, since the vendor never sees the client's bytes anyway. Stateless: any
// thread may call it.
class MessagesToChat
{
public:
    struct Options
    {
        // thinking / output_config.effort -> reasoning_effort. Off for a vendor or model that
        // rejects the field (OpenAI's non-reasoning models answer 400 to it).
        bool sendsReasoningEffort = true;
        // max_tokens is sent as max_completion_tokens (OpenAI's reasoning models refuse
        // max_tokens).
        bool usesMaxCompletionTokens = false;
    };

    struct Request
    {
        QByteArray body; // the chat-completions request; empty when error is set
        bool stream = false; // the client asked for a stream
        // Not empty: the body is not a valid Messages request; answer 400
        // invalid_request_error with this message.
        QString error;
        // What could not be carried (server tools, top_k, thinking blocks, cache_control,
        // unknown fields, ...), one entry per kind, for the request log.
        QStringList dropped;
        // Tool names shortened for the vendor: hand it to translateResponse or to
        // ChatStreamToMessages so the client gets its own names back.
        ToolNameMap toolNames;
    };

    struct Response
    {
        QByteArray body; // the Anthropic Message; empty when error is set
        // Not empty: the vendor's body is not a chat.completion (or is an error object sent
        // with a 2xx); answer 502 api_error.
        QString error;
        Usage usage; // as Anthropic counts it, with stopReason
    };

    // modelOverride replaces the request's `model` (the vendor's model id from the route);
    // empty keeps the client's.
    static Request translateRequest(QByteArrayView anthropicBody, const QString &modelOverride);
    static Request translateRequest(QByteArrayView anthropicBody, const QString &modelOverride,
                                    const Options &options);
    // requestedModel is echoed as the message's `model` (the model the client asked for);
    // empty takes the vendor's.
    static Response translateResponse(QByteArrayView openAiBody, const QString &requestedModel,
                                      const ToolNameMap &toolNames = {},
                                      VendorReasoning reasoning = VendorReasoning::Drop);
};

} // namespace tollgate
