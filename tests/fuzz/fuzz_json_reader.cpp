// json::JsonReader, the validating single pass behind prompt-cache injection, against
// simdjson's DOM parser: both must accept the same documents, and on those the reader must
// see the same tree (types, keys in order, unescaped strings, booleans).
#include "FuzzAssert.h"
#include "JsonChecks.h"

#include "json/JsonReader.h"
#include <cstdint>
#include <simdjson.h>
#include <string>

using tollgate::json::JsonReader;
namespace dom = simdjson::dom;

namespace {

bool isSameTree(JsonReader &reader, dom::element element)
{
    switch (reader.peek()) {
    case JsonReader::Type::Object: {
        if (element.type() != dom::element_type::OBJECT)
            return false;
        const dom::object object = element.get_object().value_unsafe();
        auto field = object.begin();
        const bool isSame = reader.forEachMember([&](std::string_view key) {
            if (field == object.end() || key != (*field).key)
                return false;
            const dom::element value = (*field).value;
            ++field;
            return isSameTree(reader, value);
        });
        return isSame && field == object.end();
    }
    case JsonReader::Type::Array: {
        if (element.type() != dom::element_type::ARRAY)
            return false;
        const dom::array array = element.get_array().value_unsafe();
        auto child = array.begin();
        const bool isSame = reader.forEachElement([&] {
            if (child == array.end())
                return false;
            const dom::element value = *child;
            ++child;
            return isSameTree(reader, value);
        });
        return isSame && child == array.end();
    }
    case JsonReader::Type::String: {
        std::string_view text;
        std::string storage;
        return element.type() == dom::element_type::STRING && reader.readString(text, storage)
            && text == element.get_string().value_unsafe();
    }
    case JsonReader::Type::Boolean: {
        bool value = false;
        return element.type() == dom::element_type::BOOL && reader.readBool(value)
            && value == element.get_bool().value_unsafe();
    }
    case JsonReader::Type::Number:
        return (element.type() == dom::element_type::INT64
                || element.type() == dom::element_type::UINT64
                || element.type() == dom::element_type::DOUBLE)
            && reader.skipValue();
    case JsonReader::Type::Null:
        return element.type() == dom::element_type::NULL_VALUE && reader.skipValue();
    case JsonReader::Type::Invalid:
        return false;
    }
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    static dom::parser parser;
    const simdjson::padded_string padded(reinterpret_cast<const char *>(data), size);
    dom::element root;
    const bool isAcceptedBySimdjson = parser.parse(padded).get(root) == simdjson::SUCCESS;
    FUZZ_ASSERT(JsonChecks::isValid(input) == isAcceptedBySimdjson,
                "JsonReader and simdjson disagree on validity");
    if (isAcceptedBySimdjson) {
        JsonReader reader(input);
        FUZZ_ASSERT(isSameTree(reader, root), "JsonReader and simdjson read different trees");
        FUZZ_ASSERT(reader.isAtEnd(), "JsonReader stopped early");
    }
    return 0;
}
