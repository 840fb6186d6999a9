#include "ErrorTranslator.h"

#include "http/ErrorResponse.h"

#include <QJsonDocument>
#include <QRegularExpression>

namespace tollgate {

namespace {

using namespace Qt::StringLiterals;

// An error page (an HTML body from a load balancer) is cut to this many characters.
constexpr qsizetype kMaxRawMessageChars = 1000;

QJsonObject objectOf(QByteArrayView json)
{
    return QJsonDocument::fromJson(json.toByteArray()).object();
}

QString rawMessage(QByteArrayView body, int httpStatus)
{
    const QString text = QString::fromUtf8(body).trimmed().left(kMaxRawMessageChars);
    if (!text.isEmpty())
        return text;
    return u"Upstream returned HTTP %1"_s.arg(httpStatus);
}

bool isContextLengthError(const QJsonObject &error, const QString &message)
{
    return error.value("code"_L1).toString() == "context_length_exceeded"_L1
        || message.contains("maximum context length"_L1, Qt::CaseInsensitive);
}

// Anthropic's own wording, "prompt is too long: 210000 tokens > 200000 maximum", built from
// the numbers of OpenAI's ("maximum context length is 128000 tokens. However, your messages
// resulted in 130000 tokens", or "you requested 130000 tokens") where they are there.
QString promptTooLong(const QString &message)
{
    // Local, not static: a translator is called from any thread.
    const QRegularExpression maximum(u"maximum context length is (\\d+) tokens"_s,
                                     QRegularExpression::CaseInsensitiveOption);
    const QRegularExpression used(u"(?:resulted in|requested) (\\d+) tokens"_s,
                                  QRegularExpression::CaseInsensitiveOption);
    const QRegularExpressionMatch maximumMatch = maximum.match(message);
    const QRegularExpressionMatch usedMatch = used.match(message);
    if (maximumMatch.hasMatch() && usedMatch.hasMatch()) {
        return u"prompt is too long: %1 tokens > %2 maximum"_s.arg(usedMatch.captured(1),
                                                                   maximumMatch.captured(1));
    }
    return u"prompt is too long: "_s + message;
}

bool mentions(const QJsonObject &error, QLatin1StringView word)
{
    return error.value("type"_L1).toString().contains(word, Qt::CaseInsensitive)
        || error.value("code"_L1).toString().contains(word, Qt::CaseInsensitive);
}

} // namespace

TranslatedError ErrorTranslator::openAiErrorToAnthropic(int httpStatus, QByteArrayView body)
{
    const int status = httpStatus >= 400 ? httpStatus : 502;
    const QJsonObject object = objectOf(body);
    QString message = openAiMessage(object);
    if (message.isEmpty())
        message = rawMessage(body, httpStatus);
    if (isContextLengthError(object.value("error"_L1).toObject(), message))
        message = promptTooLong(message);
    return {status, ErrorResponse::json(anthropicTypeForStatus(status).toLatin1(), message, {})};
}

TranslatedError ErrorTranslator::anthropicErrorToOpenAi(int httpStatus, QByteArrayView body)
{
    const QJsonObject error = objectOf(body).value("error"_L1).toObject();
    QString type = error.value("type"_L1).toString();
    if (type.isEmpty())
        type = anthropicTypeForStatus(httpStatus);
    QString message = error.value("message"_L1).toString();
    if (message.isEmpty())
        message = rawMessage(body, httpStatus);
    return {httpStatus,
            QJsonDocument(openAiErrorObject(type, message)).toJson(QJsonDocument::Compact)};
}

QString ErrorTranslator::anthropicTypeForStatus(int httpStatus)
{
    // A vendor's 503 says it is overloaded, as Anthropic's 529 does; Tollgate's own 503
    // (ErrorResponse) means the upstream could not be reached and stays an api_error.
    if (httpStatus == 503)
        return u"overloaded_error"_s;
    return QString::fromLatin1(ErrorResponse::typeForStatus(httpStatus));
}

QString ErrorTranslator::anthropicTypeForStreamError(const QJsonObject &error)
{
    for (const QLatin1StringView key : {"code"_L1, "status"_L1}) {
        const int status = error.value(key).toInt();
        if (status >= 400 && status <= 599)
            return anthropicTypeForStatus(status);
    }
    if (mentions(error, "rate_limit"_L1))
        return u"rate_limit_error"_s;
    if (mentions(error, "overloaded"_L1) || mentions(error, "capacity"_L1))
        return u"overloaded_error"_s;
    if (mentions(error, "invalid_request"_L1) || mentions(error, "context_length"_L1))
        return u"invalid_request_error"_s;
    return u"api_error"_s;
}

QString ErrorTranslator::openAiMessage(const QJsonObject &body)
{
    const QJsonValue error = body.value("error"_L1);
    if (error.isString())
        return error.toString();
    for (const QJsonValue &holder : {error, QJsonValue(body)}) {
        const QJsonObject object = holder.toObject();
        for (const QLatin1StringView key : {"message"_L1, "detail"_L1}) {
            if (object.value(key).isString())
                return object.value(key).toString();
        }
    }
    return {};
}

QJsonObject ErrorTranslator::openAiErrorObject(const QString &anthropicType, const QString &message)
{
    QString type = u"server_error"_s;
    if (anthropicType == "invalid_request_error"_L1 || anthropicType == "not_found_error"_L1
        || anthropicType == "request_too_large"_L1) {
        type = u"invalid_request_error"_s;
    } else if (anthropicType == "authentication_error"_L1 || anthropicType == "permission_error"_L1
               || anthropicType == "rate_limit_error"_L1) {
        type = anthropicType;
    } else if (anthropicType == "billing_error"_L1) {
        type = u"insufficient_quota"_s;
    }
    return QJsonObject {
        {u"error"_s,
         QJsonObject {
             {u"message"_s, message},
             {u"type"_s, type},
             {u"param"_s, QJsonValue::Null},
             {u"code"_s, anthropicType},
         }},
    };
}

} // namespace tollgate
