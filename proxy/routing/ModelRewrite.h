#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace tollgate {

// Gives a request body another model name (a route's rewrite_model) by splicing a new string
// over the top-level "model" value: every other byte stays as it was, so the body keeps what
// a JSON round trip would lose (key order, number forms, Claude Code's attribution block,
// thinking signatures).
class ModelRewrite
{
public:
    // The body with model in place of its "model" value; the body unchanged when it is not a
    // JSON object with a string "model".
    static QByteArray apply(QByteArrayView body, const QString &model);
};

} // namespace tollgate
