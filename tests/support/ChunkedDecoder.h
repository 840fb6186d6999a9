#pragma once

#include <QByteArray>

namespace tollgate::test {

// Incremental decoder of an HTTP/1.1 chunked message body (chunk extensions and trailer
// fields are skipped). Feed it bytes as they arrive; it stops consuming at the body's end.
class ChunkedDecoder
{
public:
    // Consumes bytes of the chunked body from data and appends the payload to out. Returns
    // how many bytes it consumed: all of them unless the body ended (or was malformed) first.
    qsizetype feed(const char *data, qsizetype size, QByteArray *out);

    bool isDone() const { return m_state == State::Done; }
    bool hasError() const { return m_state == State::Error; }
    void reset();

private:
    enum class State { Size, Data, DataEnd, Trailer, Done, Error };

    // Collects one line; true once a '\n' completed it (then m_line holds it without CRLF).
    bool takeLine(const char *data, qsizetype size, qsizetype *pos);

    State m_state = State::Size;
    QByteArray m_line;
    qint64 m_remaining = 0;
};

} // namespace tollgate::test
