#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QString>

namespace tollgate::test {

// Whole-file reads and writes for tests that check what was written to disk.
// The file's bytes; empty when it cannot be read.
QByteArray readAll(const QString &path);
// Writes the bytes (creating the directory), failing the running test if it cannot.
void writeAll(const QString &path, const QByteArray &bytes);
// The JSON object the file holds; empty when it holds none.
QJsonObject objectOfFile(const QString &path);

} // namespace tollgate::test
