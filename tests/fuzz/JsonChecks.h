#pragma once

#include <QByteArrayView>

// Checks the fuzz targets make on JSON they are handed or produce, with the project's own
// validating reader (json::JsonReader accepts exactly what simdjson's DOM parser accepts).
class JsonChecks
{
public:
    // One valid JSON document and nothing after it but whitespace.
    static bool isValid(QByteArrayView json);
    // Valid, and an object at the top level.
    static bool isObject(QByteArrayView json);
    // How many objects anywhere in a valid document name a key twice (-1: not valid JSON).
    static int duplicateKeyObjects(QByteArrayView json);
};
