#pragma once

#include "FuzzAssert.h"
#include "JsonChecks.h"

#include <QByteArrayView>
#include <QJsonDocument>
#include <QString>

// The translators read and write JSON with QJsonDocument, which accepts what RFC 8259's
// grammar allows but simdjson refuses: an escaped lone surrogate ("\ud800"), which it writes
// back out as it came. An output is held to simdjson's rules (JsonChecks) when its input met
// them; otherwise it must still be a JSON object by RFC 8259's grammar.
class TranslatedJson
{
public:
    // A translation gives a JSON object or an error, never both.
    static void check(const QByteArray &body, const QString &error, QByteArrayView input)
    {
        if (error.isEmpty())
            FUZZ_ASSERT(isObject(body, input), body.left(4096).constData());
        else
            FUZZ_ASSERT(body.isEmpty(), "a body with an error");
    }

    static bool isObject(QByteArrayView output, QByteArrayView input)
    {
        if (JsonChecks::isValid(input))
            return JsonChecks::isObject(output);
        QJsonParseError error;
        return QJsonDocument::fromJson(output.toByteArray(), &error).isObject()
            && error.error == QJsonParseError::NoError;
    }
};
