#include "ModelRewrite.h"

#include "http/ErrorResponse.h"

#include <simdjson.h>

namespace tollgate {

namespace {
// One past the closing quote of the JSON string token that starts at open.
qsizetype stringEnd(QByteArrayView body, qsizetype open)
{
    for (qsizetype i = open + 1; i < body.size(); ++i) {
        if (body[i] == '\\')
            ++i;
        else if (body[i] == '"')
            return i + 1;
    }
    return -1;
}
} // namespace

QByteArray ModelRewrite::apply(QByteArrayView body, const QString &model)
{
    const simdjson::padded_string padded(body.data(), size_t(body.size()));
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document document;
    simdjson::ondemand::object object;
    if (parser.iterate(padded).get(document) || document.get_object().get(object))
        return body.toByteArray();
    for (auto field : object) {
        std::string_view key;
        if (field.unescaped_key().get(key))
            break;
        if (key != "model")
            continue;
        std::string_view token;
        if (field.value().raw_json_token().get(token) || token.empty() || token.front() != '"')
            break;
        const qsizetype begin = qsizetype(token.data() - padded.data());
        const qsizetype end = stringEnd(body, begin);
        if (end < 0)
            break;
        QByteArray out;
        out.reserve(body.size() + model.size() + 8);
        out.append(body.first(begin));
        out.append(ErrorResponse::jsonString(model));
        out.append(body.sliced(end));
        return out;
    }
    return body.toByteArray();
}

} // namespace tollgate
