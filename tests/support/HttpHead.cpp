#include "HttpHead.h"

namespace tollgate::test {

namespace {

bool sameName(const QByteArray &a, const QByteArray &b)
{
    return a.compare(b, Qt::CaseInsensitive) == 0;
}

} // namespace

qsizetype HttpHead::endOf(const QByteArray &buffer)
{
    qsizetype from = 0;
    for (;;) {
        const qsizetype nl = buffer.indexOf('\n', from);
        if (nl < 0)
            return -1;
        // The line that starts after this '\n' is empty when it is "\n" or "\r\n".
        const qsizetype next = nl + 1;
        if (next < buffer.size() && buffer.at(next) == '\n')
            return next + 1;
        if (next + 1 < buffer.size() && buffer.at(next) == '\r' && buffer.at(next + 1) == '\n')
            return next + 2;
        if (next >= buffer.size() || (next + 1 >= buffer.size() && buffer.at(next) == '\r'))
            return -1; // need more bytes to decide
        from = next;
    }
}

bool HttpHead::parse(const QByteArray &raw, HttpHead *head)
{
    *head = HttpHead();
    QList<QByteArray> lines = raw.split('\n');
    for (QByteArray &line : lines) {
        if (line.endsWith('\r'))
            line.chop(1);
    }
    while (!lines.isEmpty() && lines.constLast().isEmpty())
        lines.removeLast();
    if (lines.isEmpty() || lines.constFirst().isEmpty())
        return false;

    const QByteArray &start = lines.constFirst();
    const qsizetype sp1 = start.indexOf(' ');
    if (sp1 <= 0)
        return false;
    const qsizetype sp2 = start.indexOf(' ', sp1 + 1);
    head->first = start.left(sp1);
    if (sp2 < 0) {
        head->second = start.mid(sp1 + 1);
    } else {
        head->second = start.mid(sp1 + 1, sp2 - sp1 - 1);
        head->third = start.mid(sp2 + 1);
    }
    if (head->second.isEmpty())
        return false;

    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray &line = lines.at(i);
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            return false;
        head->headers.emplaceBack(line.left(colon), line.mid(colon + 1).trimmed());
    }
    return true;
}

QByteArray HttpHead::value(const Headers &headers, const QByteArray &name)
{
    for (const auto &header : headers) {
        if (sameName(header.first, name))
            return header.second.isNull() ? QByteArray("") : header.second;
    }
    return {};
}

int HttpHead::count(const Headers &headers, const QByteArray &name)
{
    int n = 0;
    for (const auto &header : headers) {
        if (sameName(header.first, name))
            ++n;
    }
    return n;
}

bool HttpHead::has(const Headers &headers, const QByteArray &name)
{
    return count(headers, name) > 0;
}

bool HttpHead::hasToken(const Headers &headers, const QByteArray &name, const QByteArray &token)
{
    for (const auto &header : headers) {
        if (!sameName(header.first, name))
            continue;
        const QList<QByteArray> parts = header.second.split(',');
        for (const QByteArray &part : parts) {
            if (sameName(part.trimmed(), token))
                return true;
        }
    }
    return false;
}

bool HttpHead::isChunked() const
{
    QByteArray last;
    for (const auto &header : headers) {
        if (!sameName(header.first, "transfer-encoding"))
            continue;
        const QList<QByteArray> parts = header.second.split(',');
        if (!parts.isEmpty())
            last = parts.constLast().trimmed();
    }
    return sameName(last, "chunked");
}

qint64 HttpHead::contentLength() const
{
    qint64 length = -1;
    for (const auto &header : headers) {
        if (!sameName(header.first, "content-length"))
            continue;
        bool ok = false;
        const qint64 value = header.second.toLongLong(&ok);
        if (!ok || value < 0 || (length >= 0 && value != length))
            return -2;
        length = value;
    }
    return length;
}

} // namespace tollgate::test
