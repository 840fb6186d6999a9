#include "DialectBridge.h"

#include "http/ErrorResponse.h"
#include "translate/ChatToMessages.h"
#include "translate/ErrorTranslator.h"
#include "translate/MessagesToChat.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace tollgate {

namespace {
// Larger translated bodies are refused rather than held in memory without bound.
constexpr qsizetype kMaxBufferedBytes = 64 * 1024 * 1024;

bool isEventStream(const QByteArray &contentType)
{
    return contentType.trimmed().toLower().startsWith("text/event-stream");
}

// Anthropic's model list ({"data": [{"id", "created_at", "display_name"}], "has_more"}) in
// OpenAI's shape ({"object": "list", "data": [{"id", "object", "created", "owned_by"}]}).
QByteArray openAiModelList(const QByteArray &anthropicList, bool *ok)
{
    const QJsonDocument document = QJsonDocument::fromJson(anthropicList);
    const QJsonValue data = document.object().value(QLatin1String("data"));
    *ok = document.isObject() && data.isArray();
    QJsonArray models;
    for (const QJsonValue &entry : data.toArray()) {
        const QJsonObject model = entry.toObject();
        const QDateTime created =
            QDateTime::fromString(model.value(QLatin1String("created_at")).toString(), Qt::ISODate);
        models.append(QJsonObject {
            {QStringLiteral("id"), model.value(QLatin1String("id"))},
            {QStringLiteral("object"), QStringLiteral("model")},
            {QStringLiteral("created"),
             created.isValid() ? double(created.toSecsSinceEpoch()) : 0.0},
            {QStringLiteral("owned_by"), QStringLiteral("anthropic")},
        });
    }
    return QJsonDocument(QJsonObject {{QStringLiteral("object"), QStringLiteral("list")},
                                      {QStringLiteral("data"), models}})
        .toJson(QJsonDocument::Compact);
}
} // namespace

DialectBridge::Mode DialectBridge::modeFor(Surface surface, Provider::Kind kind)
{
    if (surface == Surface::Anthropic && kind == Provider::Kind::OpenAi)
        return Mode::MessagesToChat;
    if (surface == Surface::OpenAi && kind == Provider::Kind::Anthropic)
        return Mode::ChatToMessages;
    return Mode::None;
}

QString DialectBridge::surfaceName(Surface surface)
{
    return surface == Surface::OpenAi ? QStringLiteral("openai") : QStringLiteral("anthropic");
}

bool DialectBridge::translateRequest(QByteArrayView body, const QString &model, QByteArray *out,
                                     QString *error)
{
    m_model = model;
    if (m_mode == Mode::MessagesToChat) {
        MessagesToChat::Request request = MessagesToChat::translateRequest(body, model);
        if (!request.error.isEmpty()) {
            *error = request.error;
            return false;
        }
        m_isStreaming = request.stream;
        m_dropped = request.dropped;
        m_toolNames = request.toolNames;
        *out = request.body;
        return true;
    }
    if (m_mode == Mode::ChatToMessages) {
        ChatToMessages::Request request = ChatToMessages::translateRequest(body, model);
        if (!request.error.isEmpty()) {
            *error = request.error;
            return false;
        }
        m_isStreaming = request.stream;
        m_includeUsage = request.includeUsage;
        m_dropped = request.dropped;
        *out = request.body;
        return true;
    }
    *out = m_mode == Mode::ModelsToOpenAi ? QByteArray() : body.toByteArray();
    return true;
}

QByteArray DialectBridge::upstreamMethod() const
{
    return m_mode == Mode::ModelsToOpenAi ? QByteArrayLiteral("GET") : QByteArrayLiteral("POST");
}

QByteArray DialectBridge::upstreamPath() const
{
    switch (m_mode) {
    case Mode::MessagesToChat:
        return QByteArrayLiteral("/chat/completions");
    case Mode::ModelsToOpenAi:
        return QByteArrayLiteral("/v1/models?limit=1000");
    default:
        return QByteArrayLiteral("/v1/messages");
    }
}

void DialectBridge::beginResponse(int status, const QByteArray &contentType)
{
    m_status = status;
    m_clientStatus = status;
    m_buffered.clear();
    m_fromChat.reset();
    m_toChat.reset();
    m_streamsToClient = m_mode != Mode::ModelsToOpenAi && status >= 200 && status < 300
        && isEventStream(contentType);
    if (!m_streamsToClient)
        return;
    if (m_mode == Mode::MessagesToChat)
        m_fromChat = std::make_unique<ChatStreamToMessages>(m_model, m_toolNames);
    else
        m_toChat = std::make_unique<MessagesStreamToChat>(m_model, m_includeUsage);
}

QByteArray DialectBridge::clientContentType() const
{
    return m_streamsToClient ? QByteArrayLiteral("text/event-stream; charset=utf-8")
                             : QByteArrayLiteral("application/json");
}

QByteArray DialectBridge::feed(const char *data, qsizetype size, QByteArray *anthropicSide)
{
    if (m_fromChat) {
        QByteArray out = m_fromChat->feed(data, size);
        *anthropicSide = out;
        return out;
    }
    if (m_toChat) {
        *anthropicSide = QByteArray(data, size);
        return m_toChat->feed(data, size);
    }
    if (m_buffered.size() + size <= kMaxBufferedBytes)
        m_buffered.append(data, size);
    return QByteArray();
}

QByteArray DialectBridge::finish(QByteArray *anthropicSide)
{
    if (m_fromChat) {
        QByteArray out = m_fromChat->finish();
        *anthropicSide = out;
        return out;
    }
    if (m_toChat)
        return m_toChat->finish();
    // A whole body: an error in either dialect, or a non-streamed answer.
    if (m_mode == Mode::ModelsToOpenAi) {
        *anthropicSide = QByteArray(); // a model list is not billed
        if (m_status < 200 || m_status >= 300)
            return ErrorTranslator::anthropicErrorToOpenAi(m_status, m_buffered).body;
        bool ok = false;
        const QByteArray list = openAiModelList(m_buffered, &ok);
        if (!ok)
            m_clientStatus = 502;
        return list;
    }
    if (m_status < 200 || m_status >= 300) {
        const TranslatedError translated = m_mode == Mode::MessagesToChat
            ? ErrorTranslator::openAiErrorToAnthropic(m_status, m_buffered)
            : ErrorTranslator::anthropicErrorToOpenAi(m_status, m_buffered);
        m_clientStatus = translated.status;
        *anthropicSide = m_mode == Mode::MessagesToChat ? translated.body : m_buffered;
        return translated.body;
    }
    if (m_mode == Mode::MessagesToChat) {
        const MessagesToChat::Response response =
            MessagesToChat::translateResponse(m_buffered, m_model, m_toolNames);
        if (response.error.isEmpty()) {
            *anthropicSide = response.body;
            return response.body;
        }
        m_clientStatus = 502;
        const QByteArray body = ErrorResponse::json(
            QByteArrayLiteral("api_error"),
            QStringLiteral("The provider's answer could not be read: %1").arg(response.error),
            QByteArray());
        *anthropicSide = body;
        return body;
    }
    *anthropicSide = m_buffered;
    const ChatToMessages::Response response =
        ChatToMessages::translateResponse(m_buffered, m_model);
    if (response.error.isEmpty())
        return response.body;
    m_clientStatus = 502;
    return ErrorTranslator::anthropicErrorToOpenAi(
               502,
               ErrorResponse::json(
                   QByteArrayLiteral("api_error"),
                   QStringLiteral("The answer could not be read: %1").arg(response.error),
                   QByteArray()))
        .body;
}

QByteArray DialectBridge::ping()
{
    return m_fromChat ? m_fromChat->ping() : QByteArray();
}

} // namespace tollgate
