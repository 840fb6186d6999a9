#pragma once

#include "ChunkedBodyReader.h"
#include "HeaderList.h"

#include <QByteArray>
#include <QString>
#include <http_parser.h>

namespace tollgate {

// Incremental HTTP/1.1 message parser over nodejs/http-parser, for requests (client side)
// and responses (upstream side). It collects the head (request line or status line and
// the header fields, exactly as received) and the de-chunked body, and stops after each
// complete message so that pipelined requests are taken one at a time.
//
// Requests are held to RFC 9112 where http-parser is lenient, since a gateway that reads
// a message differently from the next hop is open to request smuggling: obsolete line
// folding, a transfer coding other than a single "chunked", Transfer-Encoding in
// HTTP/1.0, and any slack in chunked framing (see
// ChunkedBodyReader, which decodes chunked request bodies in place of http-parser).
class HttpParser
{
public:
    enum class Kind { Request, Response };

    explicit HttpParser(Kind kind);
    HttpParser(const HttpParser &) = delete;
    HttpParser &operator=(const HttpParser &) = delete;

    // Starts over for a new connection.
    void reset();
    // Continues after a complete message (the next pipelined one).
    void resume();

    // Parses up to size bytes; returns how many it consumed. It stops early after a
    // complete message (isMessageComplete()) or on an error (hasError()).
    qsizetype feed(const char *data, qsizetype size);
    // Tells the parser the peer closed; completes a close-delimited body.
    void feedEof();

    bool hasError() const
    {
        return (m_errno != HPE_OK && m_errno != HPE_PAUSED) || m_violationStatus != 0;
    }
    bool isHeaderOverflow() const;
    bool isBodyOverflow() const { return m_isBodyOverflow; }
    QString errorString() const;
    // The status that answers the error: 400 by default, 431 for an oversized head or
    // trailer, 413 for an oversized body, 501 for an unknown method or transfer coding,
    // 505 for the HTTP/2 connection preface.
    int errorStatus() const;

    bool isHeadComplete() const { return m_isHeadComplete; }
    bool isMessageComplete() const { return m_isMessageComplete; }
    bool isUpgrade() const { return m_isUpgrade; }
    // Bytes of the head read so far (request or status line plus header block).
    qsizetype headBytes() const
    {
        return m_isHeadComplete ? m_headBytes : qsizetype(m_parser.nread);
    }

    QByteArray method() const; // requests
    const QByteArray &target() const { return m_target; } // requests: origin-form target
    int status() const { return m_status; } // responses
    const QByteArray &reason() const { return m_reason; } // responses
    int httpMajor() const { return m_httpMajor; }
    int httpMinor() const { return m_httpMinor; }
    const HeaderList &headers() const { return m_headers; }
    bool isChunked() const { return m_isChunked; }
    bool hasContentLength() const { return m_hasContentLength; }
    quint64 contentLength() const { return m_contentLength; }
    bool shouldKeepAlive() const { return m_shouldKeepAlive; }

    // Body bytes parsed since the last call (de-chunked).
    QByteArray takeBody();
    // The body read so far (de-chunked), until takeBody().
    QByteArrayView bodySoFar() const { return m_body; }
    qsizetype bodySize() const { return m_body.size(); }
    // Bodies larger than this fail the parse with isBodyOverflow(); 0: no limit.
    void setMaxBodyBytes(qint64 limit) { m_maxBodyBytes = limit; }
    qint64 bodyBytesSeen() const { return m_bodyBytesSeen; }
    // The body size the client announced so far: Content-Length, or the chunk sizes read.
    quint64 bodyBytesAnnounced() const
    {
        return m_readsChunkedBody ? m_chunked.announcedBytes() : m_contentLength;
    }

    // Bytes kept free past the end of a body that arrived with a Content-Length: room for the
    // cache markers Tollgate splices in (at most 4, each under 100 bytes with a string turned
    // into a block) and then for a JSON scanner which reads up to 64 bytes past the end
    // (simdjson), so that neither copies a body of megabytes.
    static constexpr qsizetype kBodyPadding = 1024;
    // Once a head with Content-Length is accepted: room for the whole body (up to 16 MiB at
    // once), so that it is not copied over and over as it grows.
    void reserveBody();
    // While the body of a message framed by Content-Length is read: how many of its bytes are
    // still to come; 0 otherwise.
    qint64 bodyBytesLeft() const;
    // Where the next size body bytes go when they are read straight into the body (there is
    // room for them). Bytes read there and then passed to feed() are taken without a copy.
    char *bodyTail(qsizetype size);

private:
    static int onMessageBegin(http_parser *p);
    static int onUrl(http_parser *p, const char *at, size_t length);
    static int onStatus(http_parser *p, const char *at, size_t length);
    static int onHeaderField(http_parser *p, const char *at, size_t length);
    static int onHeaderValue(http_parser *p, const char *at, size_t length);
    static int onHeadersComplete(http_parser *p);
    static int onBody(http_parser *p, const char *at, size_t length);
    static int onMessageComplete(http_parser *p);
    static const http_parser_settings &settings();
    void clearMessage();
    void startMessage();
    void commitInPlaceBody();
    bool scanHead(const char *data, qsizetype size);
    bool checkRequestHead(const http_parser *p);
    void violate(int status, const QString &message);
    void classifyMethodError(const char *data, qsizetype size);
    qsizetype feedChunkedBody(const char *data, qsizetype size);
    bool appendBody(const char *data, qsizetype size);

    Kind m_kind;
    http_parser m_parser;
    http_errno m_errno = HPE_OK;
    QByteArray m_target;
    int m_status = 0;
    QByteArray m_reason;
    int m_httpMajor = 1;
    int m_httpMinor = 1;
    HeaderList m_headers;
    bool m_lastWasValue = true;
    bool m_isHeadComplete = false;
    bool m_isMessageComplete = false;
    bool m_isInterim = false;
    bool m_isUpgrade = false;
    bool m_isChunked = false;
    bool m_hasContentLength = false;
    bool m_shouldKeepAlive = false;
    bool m_isBodyOverflow = false;
    quint64 m_contentLength = 0;
    qsizetype m_headBytes = 0;
    QByteArray m_body;
    // Body bytes that feed() found already in place after m_body's end (see bodyTail()):
    // where the next such bytes would start, and how many there are so far.
    const char *m_inPlaceNext = nullptr;
    qsizetype m_inPlaceBytes = 0;
    qint64 m_bodyBytesSeen = 0;
    qint64 m_maxBodyBytes = 0;

    // Requests only. A refusal of Tollgate's own (status and message), beyond http-parser's.
    int m_violationStatus = 0;
    QString m_violation;
    // Bytes fed since the message began (reset() or resume()).
    qint64 m_fedBytes = 0;
    // The head as it streams past: where the current line stands, to see obsolete line
    // folding, which http-parser accepts (RFC 9112 §5.2 lets a server refuse it).
    bool m_isScanningHead = true;
    bool m_hasStartLine = false;
    int m_headLine = 0;
    qsizetype m_lineLength = 0;
    bool m_isAfterCr = false; // the last byte scanned was a CR: only LF may follow
    // The body is chunked: http-parser stopped after the head and m_chunked decodes it.
    bool m_readsChunkedBody = false;
    ChunkedBodyReader m_chunked;
};

} // namespace tollgate
