#include "ChunkedDecoder.h"

namespace tollgate::test {

namespace {
constexpr qsizetype MaxLine = 8192;
} // namespace

void ChunkedDecoder::reset()
{
    m_state = State::Size;
    m_line.clear();
    m_remaining = 0;
}

bool ChunkedDecoder::takeLine(const char *data, qsizetype size, qsizetype *pos)
{
    while (*pos < size) {
        const char c = data[(*pos)++];
        if (c == '\n') {
            if (m_line.endsWith('\r'))
                m_line.chop(1);
            return true;
        }
        m_line.append(c);
        if (m_line.size() > MaxLine) {
            m_state = State::Error;
            return false;
        }
    }
    return false;
}

qsizetype ChunkedDecoder::feed(const char *data, qsizetype size, QByteArray *out)
{
    qsizetype pos = 0;
    while (pos < size && m_state != State::Done && m_state != State::Error) {
        switch (m_state) {
        case State::Size: {
            if (!takeLine(data, size, &pos))
                break;
            QByteArray hex = m_line;
            m_line.clear();
            const qsizetype semicolon = hex.indexOf(';');
            if (semicolon >= 0)
                hex.truncate(semicolon);
            bool ok = false;
            m_remaining = hex.trimmed().toLongLong(&ok, 16);
            if (!ok || m_remaining < 0 || hex.trimmed().isEmpty()) {
                m_state = State::Error;
                break;
            }
            m_state = m_remaining == 0 ? State::Trailer : State::Data;
            break;
        }
        case State::Data: {
            const qsizetype n = qMin<qint64>(m_remaining, size - pos);
            out->append(data + pos, n);
            pos += n;
            m_remaining -= n;
            if (m_remaining == 0)
                m_state = State::DataEnd;
            break;
        }
        case State::DataEnd:
            if (!takeLine(data, size, &pos))
                break;
            m_state = m_line.isEmpty() ? State::Size : State::Error;
            m_line.clear();
            break;
        case State::Trailer:
            if (!takeLine(data, size, &pos))
                break;
            if (m_line.isEmpty())
                m_state = State::Done;
            m_line.clear();
            break;
        case State::Done:
        case State::Error:
            break;
        }
    }
    return pos;
}

} // namespace tollgate::test
