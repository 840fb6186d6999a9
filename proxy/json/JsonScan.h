#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <functional>
#include <optional>
#include <string_view>

namespace tollgate::json {

// The parts of a JSON value that the request log reads, taken from simdjson's On-Demand
// parser: only what a caller asks for is decoded, everything else (a conversation of
// hundreds of KiB in a request body) is skipped at memory speed without building a tree.
// Malformed input ends a scan early; nothing throws.
class Member;

// Calls visit(name, member) for each member of the top-level object of json, in order.
// visit returns false to stop. Returns false when json is not an object or is malformed
// before the scan ended (what was visited until then stays valid).
bool forEachMember(QByteArrayView json,
                   const std::function<bool(std::string_view name, Member &member)> &visit);
// The same; a byte array with 64 bytes of spare capacity past its end (request bodies as
// Tollgate receives them) is scanned where it is, without the copy simdjson needs otherwise.
bool forEachMember(const QByteArray &json,
                   const std::function<bool(std::string_view name, Member &member)> &visit);

// One member's value during a scan; valid only inside the visit call.
class Member
{
public:
    enum class Type { Object, Array, String, Number, Boolean, Null, Invalid };

    Type type();
    // The string's unescaped UTF-8 text; empty for other types.
    QString toString();
    bool toBool(bool fallback = false);
    // A number's value when it is a whole number within 64-bit range (5, 5.0 and 5e0
    // alike, as QJsonValue::toInteger reads them); none for other numbers and other types.
    std::optional<qint64> toInteger();
    // Members of an object value, as forEachMember does for the top level.
    bool forEachMember(const std::function<bool(std::string_view name, Member &member)> &visit);
    // Elements of an array value.
    bool forEachElement(const std::function<bool(Member &element)> &visit);

    struct Impl;
    explicit Member(Impl *impl)
        : m_impl(impl)
    {
    }

private:
    Impl *m_impl;
};

} // namespace tollgate::json
