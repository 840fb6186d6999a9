#include "ToolArguments.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace tollgate {

QJsonObject ToolArguments::parse(const QString &arguments)
{
    const QString trimmed = arguments.trimmed();
    if (trimmed.isEmpty())
        return {};
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(trimmed.toUtf8(), &error);
    if (error.error == QJsonParseError::NoError && document.isObject())
        return document.object();
    // QJsonDocument reads only objects and arrays: a double-encoded object is a JSON string.
    if (trimmed.startsWith(QLatin1Char('"'))) {
        const QJsonDocument wrapped =
            QJsonDocument::fromJson(QByteArray("[" + trimmed.toUtf8() + "]"));
        const QString inner = wrapped.array().at(0).toString();
        const QJsonDocument innerDocument = QJsonDocument::fromJson(inner.toUtf8());
        if (innerDocument.isObject())
            return innerDocument.object();
    }
    return QJsonObject {{kRawKey, arguments}};
}

QString ToolArguments::serialize(const QJsonObject &input)
{
    return QString::fromUtf8(QJsonDocument(input).toJson(QJsonDocument::Compact));
}

} // namespace tollgate
