#include "ChunkedBodyReader.h"

#include <algorithm>

namespace tollgate {

namespace {
// 15 hex digits: up to 2^60 - 1, far above any body limit and far from overflowing.
constexpr int kMaxSizeDigits = 15;

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Control characters other than HTAB may appear neither in a chunk extension nor in a
// field line (RFC 9110 §5.5).
bool isForbiddenControl(char c)
{
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
}
} // namespace

void ChunkedBodyReader::reset()
{
    m_state = State::Size;
    m_digits = 0;
    m_chunkSize = 0;
    m_announcedBytes = 0;
    m_extensionBytes = 0;
    m_trailerBytes = 0;
    m_lineHasColon = false;
    m_errorStatus = 0;
    m_error.clear();
}

bool ChunkedBodyReader::fail(const QString &message, int status)
{
    m_state = State::Failed;
    m_errorStatus = status;
    m_error = message;
    return false;
}

qsizetype ChunkedBodyReader::feed(const char *data, qsizetype size, const Sink &sink)
{
    qsizetype i = 0;
    while (i < size && m_state != State::Complete && m_state != State::Failed) {
        if (m_state == State::Data) {
            const qsizetype n = qsizetype(std::min<quint64>(m_chunkSize, quint64(size - i)));
            const bool isWanted = sink(data + i, n);
            i += n;
            m_chunkSize -= quint64(n);
            if (m_chunkSize == 0)
                m_state = State::DataCr;
            if (!isWanted)
                break;
            continue;
        }
        if (!step(data[i]))
            break;
        ++i;
    }
    return i;
}

// One byte of the framing; false on an error.
bool ChunkedBodyReader::step(char c)
{
    switch (m_state) {
    case State::Size: {
        const int digit = hexValue(c);
        if (digit >= 0) {
            if (++m_digits > kMaxSizeDigits)
                return fail(
                    QStringLiteral("Chunk size has more than %1 hex digits").arg(kMaxSizeDigits));
            m_chunkSize = m_chunkSize * 16 + quint64(digit);
            return true;
        }
        if (m_digits == 0)
            return fail(QStringLiteral("Chunk size is not a hex number"));
        if (c == ';') {
            m_state = State::Extension;
            return true;
        }
        if (c == ' ' || c == '\t') {
            m_state = State::SizeSpace;
            return true;
        }
        if (c == '\r') {
            m_state = State::SizeLf;
            return true;
        }
        return fail(QStringLiteral("Chunk size is not a hex number"));
    }
    case State::SizeSpace:
        if (c == ' ' || c == '\t')
            return true;
        if (c != ';')
            return fail(QStringLiteral("Chunk size is not a hex number"));
        m_state = State::Extension;
        return true;
    case State::Extension:
        if (c == '\r') {
            m_state = State::SizeLf;
            return true;
        }
        if (isForbiddenControl(c))
            return fail(QStringLiteral("Chunk extension holds a control character"));
        if (++m_extensionBytes > kMaxExtensionBytes)
            return fail(QStringLiteral("Chunk extensions are longer than %1 bytes in all")
                            .arg(kMaxExtensionBytes));
        return true;
    case State::SizeLf:
        if (c != '\n')
            return fail(QStringLiteral("Chunk size line does not end in CRLF"));
        m_state = m_chunkSize == 0 ? State::TrailerLine : State::Data;
        m_announcedBytes += m_chunkSize;
        m_digits = 0;
        return true;
    case State::DataCr:
        if (c != '\r')
            return fail(QStringLiteral("Chunk data is not followed by CRLF"));
        m_state = State::DataLf;
        return true;
    case State::DataLf:
        if (c != '\n')
            return fail(QStringLiteral("Chunk data is not followed by CRLF"));
        m_state = State::Size;
        return true;
    case State::TrailerLine:
        if (c == '\r') {
            m_state = State::FinalLf;
            return true;
        }
        if (c == ' ' || c == '\t')
            return fail(QStringLiteral("Trailer field line starts with whitespace (obsolete line "
                                       "folding is not accepted)"));
        m_state = State::TrailerField;
        m_lineHasColon = false;
        [[fallthrough]];
    case State::TrailerField:
        if (++m_trailerBytes > kMaxTrailerBytes)
            return fail(
                QStringLiteral("Trailer section is larger than %1 bytes").arg(kMaxTrailerBytes),
                431);
        if (c == '\r') {
            if (!m_lineHasColon)
                return fail(QStringLiteral("Trailer field line has no colon"));
            m_state = State::TrailerLf;
            return true;
        }
        if (c == ':')
            m_lineHasColon = true;
        else if (isForbiddenControl(c))
            return fail(QStringLiteral("Trailer field holds a control character"));
        return true;
    case State::TrailerLf:
        if (c != '\n')
            return fail(QStringLiteral("Trailer field line does not end in CRLF"));
        m_state = State::TrailerLine;
        return true;
    case State::FinalLf:
        if (c != '\n')
            return fail(QStringLiteral("Chunked body does not end in CRLF"));
        m_state = State::Complete;
        return true;
    case State::Data:
    case State::Complete:
    case State::Failed:
        break;
    }
    return false;
}

} // namespace tollgate
