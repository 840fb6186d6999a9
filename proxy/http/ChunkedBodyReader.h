#pragma once

#include <QByteArray>
#include <QString>
#include <functional>

namespace tollgate {

// Strict decoder of a chunked request body (RFC 9112 §7.1), after the head. Every line of
// the framing must end in CRLF, chunk data must be followed by CRLF, a chunk size is 1 to 15
// hex digits, and chunk extensions and trailer fields are bounded in total size (RFC 9112
// §7.1.1 asks a server to limit them as it limits the rest of the message). Extensions and
// trailer fields are read and dropped: nothing Tollgate forwards depends on them.
class ChunkedBodyReader
{
public:
    // Sum of the bytes of every chunk extension of one body.
    static constexpr qsizetype kMaxExtensionBytes = 4096;
    // The trailer section, every field line included.
    static constexpr qsizetype kMaxTrailerBytes = 16 * 1024;

    // Receives decoded body bytes; returns false to stop (the body is too large).
    using Sink = std::function<bool(const char *data, qsizetype size)>;

    void reset();
    // Decodes up to size bytes; returns how many it consumed. It stops after the last byte
    // of the message (isComplete()), on a framing error (hasError()) or when the sink says so.
    qsizetype feed(const char *data, qsizetype size, const Sink &sink);

    bool isComplete() const { return m_state == State::Complete; }
    // The sizes of the chunks announced so far, added up (data may still be on its way).
    quint64 announcedBytes() const { return m_announcedBytes; }
    bool hasError() const { return m_state == State::Failed; }
    // 400 for broken framing, 431 for an oversized trailer section.
    int errorStatus() const { return m_errorStatus; }
    const QString &errorString() const { return m_error; }

private:
    enum class State {
        Size, // hex digits of the chunk size
        SizeSpace, // whitespace after the size: only ";" may follow
        Extension, // after ";", up to CR
        SizeLf, // CR seen, LF expected
        Data,
        DataCr, // chunk data read, CR expected
        DataLf,
        TrailerLine, // at the start of a trailer line (or the final CRLF)
        TrailerField, // inside a trailer field line
        TrailerLf,
        FinalLf, // the CR of the last empty line seen
        Complete,
        Failed,
    };

    bool fail(const QString &message, int status = 400);
    bool step(char c);

    State m_state = State::Size;
    int m_digits = 0;
    quint64 m_chunkSize = 0;
    quint64 m_announcedBytes = 0;
    qsizetype m_extensionBytes = 0;
    qsizetype m_trailerBytes = 0;
    bool m_lineHasColon = false;
    int m_errorStatus = 0;
    QString m_error;
};

} // namespace tollgate
