#pragma once

#include "routing/Provider.h"
#include "translate/ChatStreamToMessages.h"
#include "translate/MessagesStreamToChat.h"
#include "translate/ToolNameMap.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QStringList>
#include <memory>

namespace tollgate {

// The two API dialects a request may be in: the one the client speaks (its surface) and the
// one the provider speaks. When they differ, the bridge turns the request body into the
// provider's dialect and the response, streamed or whole, error or not, back into the
// client's, and keeps the Anthropic-dialect side of the response for the request log.
class DialectBridge
{
public:
    enum class Surface {
        Anthropic, // POST /v1/messages and the rest of the Anthropic API
        OpenAi, // POST /v1/chat/completions
    };
    enum class Mode {
        None, // both speak the same dialect: bytes pass untouched
        MessagesToChat, // Anthropic client, OpenAI-compatible provider
        ChatToMessages, // OpenAI client, Anthropic provider
        ModelsToOpenAi, // an OpenAI client's GET /v1/models, answered from Anthropic's list
    };

    static Mode modeFor(Surface surface, Provider::Kind kind);
    static QString surfaceName(Surface surface);

    explicit DialectBridge(Mode mode = Mode::None)
        : m_mode(mode)
    {
    }
    Mode mode() const { return m_mode; }
    bool isActive() const { return m_mode != Mode::None; }

    // The request body in the provider's dialect, for model (the provider's model id; empty
    // keeps the body's). False with *error when the body cannot be read as a request of the
    // client's dialect (the client gets 400 invalid_request_error).
    bool translateRequest(QByteArrayView body, const QString &model, QByteArray *out,
                          QString *error);
    bool isStreaming() const { return m_isStreaming; }
    const QStringList &dropped() const { return m_dropped; }
    // The method and path of the provider's endpoint after its base URL's prefix.
    QByteArray upstreamMethod() const;
    QByteArray upstreamPath() const;

    // The provider answered with status and content type. Call once per attempt.
    void beginResponse(int status, const QByteArray &contentType);
    // Whether the client gets a stream (else the whole body at finish()).
    bool streamsToClient() const { return m_streamsToClient; }
    int clientStatus() const { return m_clientStatus; }
    QByteArray clientContentType() const;

    // Bytes of the provider's body; returns what to send the client now (only while
    // streaming) and leaves the Anthropic-dialect bytes for the log in *anthropicSide.
    QByteArray feed(const char *data, qsizetype size, QByteArray *anthropicSide);
    // The provider's body ended: the closing bytes of a stream, or the whole translated
    // body; *status may change (a 2xx body that is not what it should be becomes a 502).
    QByteArray finish(QByteArray *anthropicSide);
    // An event to keep a quiet stream alive (Anthropic clients only; empty otherwise).
    QByteArray ping();

private:
    Mode m_mode;
    QString m_model; // echoed as the response's model: the one that answered
    bool m_isStreaming = false;
    bool m_includeUsage = false;
    QStringList m_dropped;
    ToolNameMap m_toolNames;

    int m_status = 0;
    int m_clientStatus = 0;
    bool m_streamsToClient = false;
    QByteArray m_buffered; // a body translated whole (errors and non-streamed answers)
    std::unique_ptr<ChatStreamToMessages> m_fromChat;
    std::unique_ptr<MessagesStreamToChat> m_toChat;
};

} // namespace tollgate
