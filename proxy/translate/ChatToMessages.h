#pragma once

#include "usage/Usage.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QStringList>

namespace tollgate {

// OpenAI surface -> Anthropic provider, for whole bodies: a chat-completions request of an
// OpenAI SDK client becomes a Messages request, and Anthropic's non-streamed Message becomes
// a chat.completion (protocol.md 8d). Streams go through MessagesStreamToChat, errors
// through ErrorTranslator. Stateless: any thread may call it.
class ChatToMessages
{
public:
    // Anthropic requires max_tokens; a request that sets neither max_completion_tokens nor
    // max_tokens gets this many.
    static constexpr int kDefaultMaxTokens = 4096;

    struct Request
    {
        QByteArray body; // the Messages request; empty when error is set
        bool stream = false; // the client asked for a stream
        bool includeUsage = false; // stream_options.include_usage: for MessagesStreamToChat
        // Not empty: the body is not a valid (or not a translatable) chat-completions
        // request; answer 400 invalid_request_error with this message.
        QString error;
        // What could not be carried (logprobs, seed, penalties, audio, ...) or was changed
        // (a temperature above 1 clamped), one entry per kind, for the request log.
        QStringList dropped;
    };

    struct Response
    {
        QByteArray body; // the chat.completion; empty when error is set
        // Not empty: the upstream body is not a Message (an error body with a 2xx, say);
        // answer 502.
        QString error;
        Usage usage; // as Anthropic reported it, with stopReason
    };

    // modelOverride replaces the request's `model` (from the route); empty keeps the client's.
    static Request translateRequest(QByteArrayView openAiBody, const QString &modelOverride = {});
    // requestedModel is echoed as the completion's `model` (empty takes Anthropic's);
    // createdAt is its `created` (Unix seconds), now when negative.
    static Response translateResponse(QByteArrayView anthropicBody, const QString &requestedModel,
                                      qint64 createdAt = -1);
};

} // namespace tollgate
