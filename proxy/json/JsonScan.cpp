#include "JsonScan.h"

#include <cmath>
#include <simdjson.h>

namespace tollgate::json {

namespace ondemand = simdjson::ondemand;

struct Member::Impl
{
    ondemand::value value;
};

namespace {
// Documents up to this size reuse the thread's parser and its buffers; a larger one gets a
// parser of its own, so one huge body does not keep its buffers alive for good.
constexpr size_t kReusedParserCapacity = 4 * 1024 * 1024;

template<typename Iterable>
bool visitMembers(Iterable &&object, const std::function<bool(std::string_view, Member &)> &visit)
{
    for (auto field : object) {
        std::string_view name;
        if (field.unescaped_key().get(name) != simdjson::SUCCESS)
            return false;
        Member::Impl impl;
        if (field.value().get(impl.value) != simdjson::SUCCESS)
            return false;
        Member member(&impl);
        if (!visit(name, member))
            return true;
    }
    return true;
}

bool scanDocument(ondemand::parser &parser, simdjson::padded_string_view json,
                  const std::function<bool(std::string_view, Member &)> &visit)
{
    ondemand::document document;
    if (parser.iterate(json).get(document) != simdjson::SUCCESS)
        return false;
    ondemand::object object;
    if (document.get_object().get(object) != simdjson::SUCCESS)
        return false;
    return visitMembers(object, visit);
}

bool scanPadded(simdjson::padded_string_view json,
                const std::function<bool(std::string_view, Member &)> &visit)
{
    if (json.size() > kReusedParserCapacity) {
        ondemand::parser parser;
        return scanDocument(parser, json, visit);
    }
    thread_local ondemand::parser parser;
    return scanDocument(parser, json, visit);
}
} // namespace

bool forEachMember(QByteArrayView json,
                   const std::function<bool(std::string_view, Member &)> &visit)
{
    if (json.isEmpty())
        return false;
    // simdjson reads in blocks and needs SIMDJSON_PADDING readable bytes past the end.
    const simdjson::padded_string padded(json.data(), size_t(json.size()));
    return scanPadded(padded, visit);
}

bool forEachMember(const QByteArray &json,
                   const std::function<bool(std::string_view, Member &)> &visit)
{
    // The free space after the bytes belongs to the array's own allocation (data_ptr() only
    // reads where the bytes sit in it; nothing is detached or changed).
    const qsizetype spare = const_cast<QByteArray &>(json).data_ptr().freeSpaceAtEnd();
    if (json.isEmpty() || spare < qsizetype(simdjson::SIMDJSON_PADDING))
        return forEachMember(QByteArrayView(json), visit);
    return scanPadded(simdjson::padded_string_view(json.constData(), size_t(json.size()),
                                                   size_t(json.size() + spare)),
                      visit);
}

Member::Type Member::type()
{
    ondemand::json_type type;
    if (m_impl->value.type().get(type) != simdjson::SUCCESS)
        return Type::Invalid;
    switch (type) {
    case ondemand::json_type::object:
        return Type::Object;
    case ondemand::json_type::array:
        return Type::Array;
    case ondemand::json_type::string:
        return Type::String;
    case ondemand::json_type::number:
        return Type::Number;
    case ondemand::json_type::boolean:
        return Type::Boolean;
    case ondemand::json_type::null:
        return Type::Null;
    }
    return Type::Invalid;
}

QString Member::toString()
{
    std::string_view text;
    if (m_impl->value.get_string().get(text) != simdjson::SUCCESS)
        return {};
    return QString::fromUtf8(text.data(), qsizetype(text.size()));
}

bool Member::toBool(bool fallback)
{
    bool value = fallback;
    if (m_impl->value.get_bool().get(value) != simdjson::SUCCESS)
        return fallback;
    return value;
}

std::optional<qint64> Member::toInteger()
{
    ondemand::number number;
    if (m_impl->value.get_number().get(number) != simdjson::SUCCESS)
        return std::nullopt;
    switch (number.get_number_type()) {
    case ondemand::number_type::signed_integer:
        return qint64(number.get_int64());
    case ondemand::number_type::unsigned_integer:
        return std::nullopt; // 2^63 or more
    case ondemand::number_type::floating_point_number:
        break;
    }
    // Whole doubles from -2^63 up to, not including, 2^63 convert exactly.
    const double value = number.get_double();
    constexpr double kLimit = 9223372036854775808.0;
    if (!(value >= -kLimit && value < kLimit) || std::trunc(value) != value)
        return std::nullopt;
    return qint64(value);
}

bool Member::forEachMember(const std::function<bool(std::string_view, Member &)> &visit)
{
    ondemand::object object;
    if (m_impl->value.get_object().get(object) != simdjson::SUCCESS)
        return false;
    return visitMembers(object, visit);
}

bool Member::forEachElement(const std::function<bool(Member &)> &visit)
{
    ondemand::array array;
    if (m_impl->value.get_array().get(array) != simdjson::SUCCESS)
        return false;
    for (auto element : array) {
        Impl impl;
        if (element.get(impl.value) != simdjson::SUCCESS)
            return false;
        Member member(&impl);
        if (!visit(member))
            return true;
    }
    return true;
}

} // namespace tollgate::json
