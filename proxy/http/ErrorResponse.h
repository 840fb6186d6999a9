#pragma once

#include <QByteArray>
#include <QString>

namespace tollgate {

// Tollgate's own errors in Anthropic's shape, so SDKs and Claude Code parse them like the
// API's: {"type":"error","error":{"type":...,"message":...},"request_id":"req_tg_..."}.
// Upstream errors are never wrapped in this: they pass through unchanged.
class ErrorResponse
{
public:
    // Anthropic's error type for a status: 400 invalid_request_error, 401
    // authentication_error, 404 not_found_error, 413 request_too_large, 429
    // rate_limit_error, 502/503 api_error, 504 timeout_error, and so on.
    static QByteArray typeForStatus(int status);
    static QByteArray reasonPhrase(int status);

    static QByteArray json(const QByteArray &type, const QString &message,
                           const QByteArray &requestId);
    // A complete HTTP/1.1 response with the JSON body and a request-id header.
    static QByteArray httpResponse(int status, const QString &message, const QByteArray &requestId,
                                   bool closeConnection);
    // A JSON string literal (quoted and escaped).
    static QByteArray jsonString(const QString &text);
    // An SSE `error` event for failures after a stream has started.
    static QByteArray sseEvent(const QByteArray &type, const QString &message);
};

} // namespace tollgate
