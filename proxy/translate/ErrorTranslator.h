#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>
#include <QString>

namespace tollgate {

// An error response for the client: the HTTP status and the JSON body to send with it.
struct TranslatedError
{
    int status = 0;
    QByteArray body;
};

// Error bodies between the two formats. Anthropic's shape is
// {"type":"error","error":{"type","message"}} with the type decided by the status
// (protocol.md section 4); OpenAI's is {"error":{"message","type","param","code"}}.
class ErrorTranslator
{
public:
    // A vendor's error response for an Anthropic client. The status stays (a status below
    // 400 is not an error response and becomes 502); the type follows protocol.md section 4
    // (429 rate_limit_error, 401 authentication_error, 403 permission_error, 404
    // not_found_error, 413 request_too_large, 400 and other 4xx invalid_request_error, 500
    // api_error, 503 and 529 overloaded_error, 504 timeout_error); the message is the
    // vendor's. A context-length error is worded as Anthropic words it ("prompt is too long:
    // N tokens > M maximum"), because Claude Code recognises that wording and compacts the
    // conversation (protocol.md section 0, point 3).
    static TranslatedError openAiErrorToAnthropic(int httpStatus, QByteArrayView body);
    // Anthropic's error response for an OpenAI client; the status stays. `code` keeps
    // Anthropic's error type, `type` is the nearest OpenAI one (see openAiErrorObject).
    static TranslatedError anthropicErrorToOpenAi(int httpStatus, QByteArrayView body);

    // Anthropic's type for an error status of an OpenAI-compatible vendor.
    static QString anthropicTypeForStatus(int httpStatus);
    // Anthropic's type for an error object met inside an OpenAI stream, which has no status
    // of its own: a numeric `code` or `status` is read as one (OpenRouter), otherwise the
    // words of `type`/`code` decide, and api_error is the fallback.
    static QString anthropicTypeForStreamError(const QJsonObject &error);
    // The message of an OpenAI error object, or of the body around it.
    static QString openAiMessage(const QJsonObject &body);

    // {"error":{"message","type","param":null,"code":anthropicType}}; type is
    // invalid_request_error (also for not_found_error and request_too_large),
    // authentication_error, permission_error, rate_limit_error, insufficient_quota (for
    // billing_error) or server_error (api_error, overloaded_error, timeout_error, others).
    static QJsonObject openAiErrorObject(const QString &anthropicType, const QString &message);
};

} // namespace tollgate
