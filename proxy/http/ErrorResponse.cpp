#include "ErrorResponse.h"

#include "HeaderList.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace tollgate {

QByteArray ErrorResponse::typeForStatus(int status)
{
    switch (status) {
    case 401:
        return QByteArrayLiteral("authentication_error");
    case 402:
        return QByteArrayLiteral("billing_error");
    case 403:
        return QByteArrayLiteral("permission_error");
    case 404:
        return QByteArrayLiteral("not_found_error");
    case 408:
    case 504:
        return QByteArrayLiteral("timeout_error");
    case 409:
        return QByteArrayLiteral("conflict_error");
    case 413:
        return QByteArrayLiteral("request_too_large");
    case 429:
        return QByteArrayLiteral("rate_limit_error");
    case 529:
        return QByteArrayLiteral("overloaded_error");
    default:
        return status >= 500 ? QByteArrayLiteral("api_error")
                             : QByteArrayLiteral("invalid_request_error");
    }
}

QByteArray ErrorResponse::reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return QByteArrayLiteral("OK");
    case 204:
        return QByteArrayLiteral("No Content");
    case 400:
        return QByteArrayLiteral("Bad Request");
    case 401:
        return QByteArrayLiteral("Unauthorized");
    case 403:
        return QByteArrayLiteral("Forbidden");
    case 404:
        return QByteArrayLiteral("Not Found");
    case 405:
        return QByteArrayLiteral("Method Not Allowed");
    case 408:
        return QByteArrayLiteral("Request Timeout");
    case 411:
        return QByteArrayLiteral("Length Required");
    case 413:
        return QByteArrayLiteral("Content Too Large");
    case 414:
        return QByteArrayLiteral("URI Too Long");
    case 417:
        return QByteArrayLiteral("Expectation Failed");
    case 421:
        return QByteArrayLiteral("Misdirected Request");
    case 429:
        return QByteArrayLiteral("Too Many Requests");
    case 431:
        return QByteArrayLiteral("Request Header Fields Too Large");
    case 500:
        return QByteArrayLiteral("Internal Server Error");
    case 501:
        return QByteArrayLiteral("Not Implemented");
    case 502:
        return QByteArrayLiteral("Bad Gateway");
    case 503:
        return QByteArrayLiteral("Service Unavailable");
    case 504:
        return QByteArrayLiteral("Gateway Timeout");
    case 505:
        return QByteArrayLiteral("HTTP Version Not Supported");
    default:
        return QByteArrayLiteral("Error");
    }
}

QByteArray ErrorResponse::json(const QByteArray &type, const QString &message,
                               const QByteArray &requestId)
{
    // Written by hand to keep Anthropic's key order (QJsonObject sorts keys).
    QByteArray out = QByteArrayLiteral("{\"type\":\"error\",\"error\":{\"type\":");
    out += jsonString(QString::fromLatin1(type));
    out += QByteArrayLiteral(",\"message\":");
    out += jsonString(message);
    out += '}';
    if (!requestId.isEmpty())
        out += QByteArrayLiteral(",\"request_id\":") + jsonString(QString::fromLatin1(requestId));
    out += '}';
    return out;
}

QByteArray ErrorResponse::jsonString(const QString &text)
{
    // QJsonDocument escapes correctly; strip the array brackets around the one string.
    const QByteArray array = QJsonDocument(QJsonArray {text}).toJson(QJsonDocument::Compact);
    return array.mid(1, array.size() - 2);
}

QByteArray ErrorResponse::httpResponse(int status, const QString &message,
                                       const QByteArray &requestId, bool closeConnection)
{
    const QByteArray body = json(typeForStatus(status), message, requestId);
    QByteArray out;
    out.reserve(body.size() + 200);
    out.append("HTTP/1.1 ").append(QByteArray::number(status)).append(' ');
    out.append(reasonPhrase(status)).append("\r\n");
    HeaderList::write(out, QByteArrayLiteral("content-type"),
                      QByteArrayLiteral("application/json"));
    HeaderList::write(out, QByteArrayLiteral("content-length"), QByteArray::number(body.size()));
    if (!requestId.isEmpty())
        HeaderList::write(out, QByteArrayLiteral("request-id"), requestId);
    if (closeConnection)
        HeaderList::write(out, QByteArrayLiteral("connection"), QByteArrayLiteral("close"));
    out.append("\r\n");
    out.append(body);
    return out;
}

QByteArray ErrorResponse::sseEvent(const QByteArray &type, const QString &message)
{
    return QByteArrayLiteral("event: error\ndata: ") + json(type, message, QByteArray())
        + QByteArrayLiteral("\n\n");
}

} // namespace tollgate
