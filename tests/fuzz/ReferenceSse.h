#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

// A deliberately plain reading of a whole text/event-stream body by the WHATWG "server-sent
// events" rules (byte order mark, CR/LF/CRLF line ends, comments, one space after the colon,
// data lines joined with '\n', dispatch on a blank line only when the event had data, an
// unterminated last event dropped), to judge the incremental parsers against.
class ReferenceSse
{
public:
    struct Event
    {
        QByteArray name; // "message" when the event named none
        QByteArray data;
        bool operator==(const Event &other) const = default;
    };

    static QList<Event> parse(QByteArrayView stream);
};
