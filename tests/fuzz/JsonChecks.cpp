#include "JsonChecks.h"

#include "json/JsonReader.h"
#include <set>
#include <string>

using tollgate::json::JsonReader;

namespace {

bool walk(JsonReader &reader, int &duplicates)
{
    switch (reader.peek()) {
    case JsonReader::Type::Object: {
        std::set<std::string> keys;
        return reader.forEachMember([&](std::string_view key) {
            if (!keys.insert(std::string(key)).second)
                ++duplicates;
            return walk(reader, duplicates);
        });
    }
    case JsonReader::Type::Array:
        return reader.forEachElement([&] { return walk(reader, duplicates); });
    case JsonReader::Type::Invalid:
        return false;
    default:
        return reader.skipValue();
    }
}

} // namespace

bool JsonChecks::isValid(QByteArrayView json)
{
    JsonReader reader(json);
    if (reader.peek() == JsonReader::Type::Invalid)
        return false;
    return reader.skipValue() && reader.isAtEnd();
}

bool JsonChecks::isObject(QByteArrayView json)
{
    JsonReader reader(json);
    return reader.peek() == JsonReader::Type::Object && reader.skipValue() && reader.isAtEnd();
}

int JsonChecks::duplicateKeyObjects(QByteArrayView json)
{
    JsonReader reader(json);
    int duplicates = 0;
    if (!walk(reader, duplicates) || !reader.isAtEnd())
        return -1;
    return duplicates;
}
