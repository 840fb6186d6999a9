#include "ReferenceSse.h"

QList<ReferenceSse::Event> ReferenceSse::parse(QByteArrayView stream)
{
    if (stream.startsWith("\xEF\xBB\xBF"))
        stream = stream.sliced(3);
    QList<Event> events;
    QByteArray name;
    QByteArray data;
    bool hasData = false;
    qsizetype at = 0;
    while (at < stream.size()) {
        qsizetype end = at;
        while (end < stream.size() && stream.at(end) != '\n' && stream.at(end) != '\r')
            ++end;
        if (end == stream.size())
            break; // an unterminated line is never processed
        const QByteArrayView line = stream.sliced(at, end - at);
        at = end + 1;
        if (stream.at(end) == '\r' && at < stream.size() && stream.at(at) == '\n')
            ++at;
        if (line.isEmpty()) {
            if (hasData)
                events.append({name.isEmpty() ? QByteArray("message") : name, data});
            name.clear();
            data.clear();
            hasData = false;
            continue;
        }
        if (line.front() == ':')
            continue;
        const qsizetype colon = line.indexOf(':');
        const QByteArrayView field = colon < 0 ? line : line.first(colon);
        QByteArrayView value = colon < 0 ? QByteArrayView() : line.sliced(colon + 1);
        if (value.startsWith(' '))
            value = value.sliced(1);
        if (field == "data") {
            if (hasData)
                data.append('\n');
            data.append(value.data(), value.size());
            hasData = true;
        } else if (field == "event") {
            name = value.toByteArray();
        }
    }
    return events;
}
