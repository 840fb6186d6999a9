#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>

namespace tollgate::test {

// Start line and header fields of one HTTP/1.x message head, parsed leniently (CRLF or LF
// line ends). Names and values are kept as sent; values lose surrounding whitespace only.
struct HttpHead
{
    using Headers = QList<QPair<QByteArray, QByteArray>>;

    // Request: method, target, version. Response: version, status code, reason phrase.
    QByteArray first;
    QByteArray second;
    QByteArray third;
    Headers headers;

    // Offset just past the empty line that ends the head starting at buffer[0]; -1 if the
    // head is not complete yet.
    static qsizetype endOf(const QByteArray &buffer);
    // Parses a complete head (as delimited by endOf); false when malformed.
    static bool parse(const QByteArray &raw, HttpHead *head);

    static QByteArray value(const Headers &headers, const QByteArray &name);
    static int count(const Headers &headers, const QByteArray &name);
    static bool has(const Headers &headers, const QByteArray &name);
    // True when a header with this name holds the comma-separated token (case-insensitive).
    static bool hasToken(const Headers &headers, const QByteArray &name, const QByteArray &token);

    // Transfer-Encoding ends with "chunked".
    bool isChunked() const;
    // Content-Length: -1 when absent, -2 when malformed or conflicting.
    qint64 contentLength() const;
};

} // namespace tollgate::test
