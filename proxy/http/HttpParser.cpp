#include "HttpParser.h"

#include <algorithm>
#include <cstring>

namespace tollgate {

namespace {
// A body announced by Content-Length gets room for this much at once; past it, the room
// doubles as the bytes arrive, so that a client cannot make Tollgate set aside hundreds of
// MiB by sending a head alone.
constexpr qint64 kEagerBodyBytes = 16 * 1024 * 1024;

HttpParser *self(http_parser *p)
{
    return static_cast<HttpParser *>(p->data);
}

// A method name as RFC 9110 §5.6.2 spells a token.
bool isTokenChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

// Clearer words for the framing errors a client is likely to make.
QString describe(http_errno error)
{
    switch (error) {
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        return QStringLiteral("Content-Length sent twice, or together with Transfer-Encoding "
                              "(RFC 9112 §6.3)");
    case HPE_INVALID_CONTENT_LENGTH:
        return QStringLiteral("Content-Length is not a decimal number of bytes");
    case HPE_INVALID_TRANSFER_ENCODING:
        return QStringLiteral("Transfer-Encoding of a request must end in chunked (RFC 9112 "
                              "§6.3)");
    default:
        return QString::fromLatin1(http_errno_description(error));
    }
}
} // namespace

const http_parser_settings &HttpParser::settings()
{
    static const http_parser_settings s = [] {
        http_parser_settings v;
        http_parser_settings_init(&v);
        v.on_message_begin = &HttpParser::onMessageBegin;
        v.on_url = &HttpParser::onUrl;
        v.on_status = &HttpParser::onStatus;
        v.on_header_field = &HttpParser::onHeaderField;
        v.on_header_value = &HttpParser::onHeaderValue;
        v.on_headers_complete = &HttpParser::onHeadersComplete;
        v.on_body = &HttpParser::onBody;
        v.on_message_complete = &HttpParser::onMessageComplete;
        return v;
    }();
    return s;
}

HttpParser::HttpParser(Kind kind)
    : m_kind(kind)
{
    reset();
}

void HttpParser::reset()
{
    http_parser_init(&m_parser, m_kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE);
    m_parser.data = this;
    m_errno = HPE_OK;
    clearMessage();
    startMessage();
}

void HttpParser::startMessage()
{
    m_violationStatus = 0;
    m_violation.clear();
    m_fedBytes = 0;
    m_isScanningHead = true;
    m_hasStartLine = false;
    m_headLine = 0;
    m_lineLength = 0;
    m_isAfterCr = false;
    m_readsChunkedBody = false;
    m_chunked.reset();
}

void HttpParser::clearMessage()
{
    m_target.clear();
    m_status = 0;
    m_reason.clear();
    m_httpMajor = 1;
    m_httpMinor = 1;
    m_headers.clear();
    m_lastWasValue = true;
    m_isHeadComplete = false;
    m_isMessageComplete = false;
    m_isInterim = false;
    m_isUpgrade = false;
    m_isChunked = false;
    m_hasContentLength = false;
    m_shouldKeepAlive = false;
    m_isBodyOverflow = false;
    m_contentLength = 0;
    m_headBytes = 0;
    m_body.clear();
    m_inPlaceNext = nullptr;
    m_inPlaceBytes = 0;
    m_bodyBytesSeen = 0;
}

void HttpParser::resume()
{
    clearMessage();
    startMessage();
    if (m_errno == HPE_PAUSED) {
        http_parser_pause(&m_parser, 0);
        m_errno = HPE_OK;
    }
}

qsizetype HttpParser::feed(const char *data, qsizetype size)
{
    if (hasError() || m_isMessageComplete || m_isUpgrade || size <= 0)
        return 0;
    if (m_readsChunkedBody)
        return feedChunkedBody(data, size);
    if (m_kind == Kind::Request && m_isScanningHead && !scanHead(data, size))
        return 0;
    // Bytes read into bodyTail() are where they belong already: onBody() only counts them.
    m_inPlaceNext =
        m_body.capacity() > 0 && data == m_body.constData() + m_body.size() ? data : nullptr;
    const qsizetype n = qsizetype(http_parser_execute(&m_parser, &settings(), data, size_t(size)));
    commitInPlaceBody();
    m_errno = HTTP_PARSER_ERRNO(&m_parser);
    if (m_errno == HPE_INVALID_METHOD && m_kind == Kind::Request && m_fedBytes == 0)
        classifyMethodError(data, size);
    m_fedBytes += n;
    if (m_parser.upgrade)
        m_isUpgrade = true;
    // The head ended in this buffer and a chunked body follows: it is read here. Not after
    // an upgrade head (CONNECT, Upgrade:): what follows it is another protocol's, read by no
    // one, wherever the bytes were cut.
    if (m_readsChunkedBody && !m_isUpgrade && !hasError() && n < size)
        return n + feedChunkedBody(data + n, size - n);
    return n;
}

qsizetype HttpParser::feedChunkedBody(const char *data, qsizetype size)
{
    const qsizetype n = m_chunked.feed(data, size, [this](const char *bytes, qsizetype length) {
        return appendBody(bytes, length);
    });
    m_fedBytes += n;
    if (m_chunked.hasError())
        violate(m_chunked.errorStatus(), m_chunked.errorString());
    else if (m_chunked.isComplete() && !hasError())
        m_isMessageComplete = true;
    return n;
}

bool HttpParser::appendBody(const char *data, qsizetype size)
{
    m_bodyBytesSeen += size;
    if (m_maxBodyBytes > 0 && m_bodyBytesSeen > m_maxBodyBytes) {
        m_isBodyOverflow = true;
        violate(413, QStringLiteral("body too large"));
        return false;
    }
    m_body.append(data, size);
    return true;
}

void HttpParser::violate(int status, const QString &message)
{
    if (m_violationStatus != 0)
        return; // the first reason stands
    m_violationStatus = status;
    m_violation = message;
}

// Watches the head's line starts as it streams past; false (and a violation) on a field
// line that begins with whitespace.
bool HttpParser::scanHead(const char *data, qsizetype size)
{
    for (qsizetype i = 0; i < size; ++i) {
        const char c = data[i];
        if (!m_hasStartLine) {
            // Empty lines before the request line are ignored (RFC 9112 §2.2).
            if (c == '\r' || c == '\n')
                continue;
            m_hasStartLine = true;
        }
        if (m_isAfterCr && c != '\n') {
            // http-parser takes CR and any byte for the CRLF that ends the head.
            violate(400, QStringLiteral("A CR without LF in the request head (RFC 9112 §2.2)"));
            return false;
        }
        m_isAfterCr = c == '\r';
        if (c == '\n') {
            if (m_lineLength == 0 && m_headLine > 0) {
                m_isScanningHead = false; // the empty line that ends the head
                return true;
            }
            ++m_headLine;
            m_lineLength = 0;
            continue;
        }
        if (c == '\r')
            continue;
        if (m_lineLength == 0 && m_headLine > 0 && (c == ' ' || c == '\t')) {
            violate(400,
                    m_headLine == 1
                        ? QStringLiteral("Whitespace between the request line and the first "
                                         "header field (RFC 9112 §2.2)")
                        : QStringLiteral("Obsolete line folding in a header field (RFC 9112 "
                                         "§5.2): send each field on one line"));
            return false;
        }
        ++m_lineLength;
    }
    return true;
}

// http-parser knows a fixed list of methods and calls anything else invalid. A token
// followed by a space is a method Tollgate does not implement (RFC 9110 §9.1: 501), and
// the HTTP/2 connection preface is a version it does not speak (505).
void HttpParser::classifyMethodError(const char *data, qsizetype size)
{
    qsizetype start = 0;
    while (start < size && (data[start] == '\r' || data[start] == '\n'))
        ++start;
    const QByteArray head =
        QByteArray::fromRawData(data + start, std::min<qsizetype>(size - start, 64));
    if (head.startsWith("PRI * HTTP/2.0")) {
        violate(505,
                QStringLiteral("HTTP/2 is not supported: Tollgate speaks HTTP/1.1 (use "
                               "http:// without prior-knowledge HTTP/2)"));
        return;
    }
    qsizetype length = 0;
    while (length < head.size() && isTokenChar(head.at(length)))
        ++length;
    if (length > 0 && length <= 32 && length < head.size() && head.at(length) == ' ')
        violate(501,
                QStringLiteral("The method %1 is not supported")
                    .arg(QString::fromLatin1(head.left(length))));
}

bool HttpParser::checkRequestHead(const http_parser *p)
{
    if (p->http_major != 1)
        return true; // the connection answers 505
    QList<QByteArray> codings;
    for (const HeaderList::Field &field : m_headers.fields()) {
        // RFC 9112 §5.1: whitespace between a field name and the colon is a 400, since one
        // reader may take "Content-Length :" for Content-Length and another not.
        if (field.name.contains(' ') || field.name.contains('\t')) {
            violate(400,
                    QStringLiteral("Whitespace between a header field name and its colon "
                                   "(RFC 9112 §5.1)"));
            return false;
        }
        if (!HeaderList::nameEquals(field.name, "transfer-encoding"))
            continue;
        for (const QByteArray &token : field.value.split(',')) {
            const QByteArray coding = token.trimmed().toLower();
            if (!coding.isEmpty())
                codings.append(coding);
        }
    }
    if (codings.isEmpty())
        return true;
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    if (p->http_minor == 0) {
        violate(400, QStringLiteral("Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)"));
        return false;
    }
    // RFC 9112 §6.3: without chunked last the length cannot be known; http-parser refuses
    // that too, after this check.
    if (codings.last() != "chunked") {
        violate(400,
                QStringLiteral("Transfer-Encoding of a request must end in chunked (RFC "
                               "9112 §6.3)"));
        return false;
    }
    for (const QByteArray &coding : std::as_const(codings)) {
        if (coding != "chunked") {
            // RFC 9112 §6.1: a transfer coding the server does not understand is a 501.
            violate(501,
                    QStringLiteral("The transfer coding \"%1\" is not supported: send the "
                                   "body with Content-Length, or chunked alone")
                        .arg(QString::fromLatin1(coding.left(40))));
            return false;
        }
    }
    if (codings.size() > 1) {
        violate(400,
                QStringLiteral("Transfer-Encoding applies chunked more than once (RFC 9112 "
                               "§6.1)"));
        return false;
    }
    return true;
}

void HttpParser::commitInPlaceBody()
{
    if (m_inPlaceBytes > 0)
        m_body.resize(m_body.size() + m_inPlaceBytes);
    m_inPlaceBytes = 0;
    m_inPlaceNext = nullptr;
}

namespace {

// A large body's buffer comes in steps of 256 KiB: a conversation's next turn, a few KiB
// longer, then fits the block its last turn freed, instead of leaving it as a hole in the
// heap and taking new memory for each turn.
qsizetype bodyCapacity(qsizetype bytes)
{
    constexpr qsizetype kStep = 256 * 1024;
    return bytes < kStep ? bytes : (bytes + kStep - 1) / kStep * kStep;
}

} // namespace

void HttpParser::reserveBody()
{
    const qint64 left = bodyBytesLeft();
    if (left > 0)
        m_body.reserve(bodyCapacity(m_body.size() + qsizetype(std::min(left, kEagerBodyBytes))
                                    + kBodyPadding));
}

qint64 HttpParser::bodyBytesLeft() const
{
    if (!m_isHeadComplete || m_isMessageComplete || hasError() || m_isUpgrade || m_isChunked
        || !m_hasContentLength)
        return 0;
    return qint64(m_contentLength) - m_bodyBytesSeen;
}

char *HttpParser::bodyTail(qsizetype size)
{
    const qsizetype needed = m_body.size() + size + kBodyPadding;
    if (m_body.capacity() < needed) {
        // The rest of the announced body at once up to 16 MiB; beyond, twice what came so far.
        const qint64 room =
            std::min(bodyBytesLeft(), std::max<qint64>(kEagerBodyBytes, m_body.size()));
        m_body.reserve(
            bodyCapacity(std::max(needed, m_body.size() + qsizetype(room) + kBodyPadding)));
    }
    return m_body.data() + m_body.size();
}

void HttpParser::feedEof()
{
    if (hasError() || m_isMessageComplete)
        return;
    http_parser_execute(&m_parser, &settings(), nullptr, 0);
    m_errno = HTTP_PARSER_ERRNO(&m_parser);
}

bool HttpParser::isHeaderOverflow() const
{
    return m_errno == HPE_HEADER_OVERFLOW;
}

QString HttpParser::errorString() const
{
    if (m_isBodyOverflow)
        return QStringLiteral("body too large");
    if (m_violationStatus != 0)
        return m_violation;
    return describe(m_errno);
}

int HttpParser::errorStatus() const
{
    if (m_violationStatus != 0)
        return m_violationStatus;
    if (isHeaderOverflow())
        return 431;
    if (m_isBodyOverflow)
        return 413;
    return 400;
}

QByteArray HttpParser::method() const
{
    return QByteArray(http_method_str(http_method(m_parser.method)));
}

QByteArray HttpParser::takeBody()
{
    QByteArray out;
    out.swap(m_body);
    return out;
}

int HttpParser::onMessageBegin(http_parser *p)
{
    self(p)->clearMessage();
    return 0;
}

int HttpParser::onUrl(http_parser *p, const char *at, size_t length)
{
    self(p)->m_target.append(at, qsizetype(length));
    return 0;
}

int HttpParser::onStatus(http_parser *p, const char *at, size_t length)
{
    self(p)->m_reason.append(at, qsizetype(length));
    return 0;
}

int HttpParser::onHeaderField(http_parser *p, const char *at, size_t length)
{
    HttpParser *s = self(p);
    // http-parser may deliver one name in several pieces when it spans reads.
    if (s->m_lastWasValue)
        s->m_headers.append(QByteArray(at, qsizetype(length)), QByteArray());
    else
        s->m_headers.fields().last().name.append(at, qsizetype(length));
    s->m_lastWasValue = false;
    return 0;
}

int HttpParser::onHeaderValue(http_parser *p, const char *at, size_t length)
{
    HttpParser *s = self(p);
    if (s->m_headers.isEmpty())
        return 0;
    QByteArray &value = s->m_headers.fields().last().value;
    // Mostly in one piece: one exact allocation, not append's growth.
    if (value.isEmpty())
        value = QByteArray(at, qsizetype(length));
    else
        value.append(at, qsizetype(length));
    s->m_lastWasValue = true;
    return 0;
}

int HttpParser::onHeadersComplete(http_parser *p)
{
    HttpParser *s = self(p);
    s->m_httpMajor = p->http_major;
    s->m_httpMinor = p->http_minor;
    if (s->m_kind == Kind::Request && !s->checkRequestHead(p))
        return -1;
    if (s->m_kind == Kind::Response) {
        s->m_status = int(p->status_code);
        // Interim responses (100 Continue and the like) are not the answer; skip them.
        if (s->m_status >= 100 && s->m_status < 200 && s->m_status != 101) {
            s->m_isInterim = true;
            return 0;
        }
    }
    s->m_isHeadComplete = true;
    // The size of the head as received, give or take optional whitespace the parser
    // drops (http-parser resets its own counter before this callback).
    qsizetype size = s->m_kind == Kind::Request
        ? qsizetype(qstrlen(http_method_str(http_method(p->method)))) + s->m_target.size() + 12
        : s->m_reason.size() + 15;
    for (const HeaderList::Field &f : s->m_headers.fields())
        size += f.name.size() + f.value.size() + 4;
    s->m_headBytes = size + 2;
    s->m_isChunked = (p->flags & F_CHUNKED) != 0;
    s->m_hasContentLength = (p->flags & F_CONTENTLENGTH) != 0;
    s->m_contentLength = s->m_hasContentLength ? p->content_length : 0;
    s->m_shouldKeepAlive = http_should_keep_alive(p) != 0;
    if (s->m_maxBodyBytes > 0 && s->m_hasContentLength
        && s->m_contentLength > quint64(s->m_maxBodyBytes)) {
        // Refused from the header alone; the caller answers 413 without reading the body.
        s->m_isBodyOverflow = true;
        return -1;
    }
    if (s->m_kind == Kind::Request && s->m_isChunked) {
        // http-parser skips the body (and ends the message at the head); ChunkedBodyReader
        // reads it, more strictly.
        s->m_readsChunkedBody = true;
        return 1;
    }
    return 0;
}

int HttpParser::onBody(http_parser *p, const char *at, size_t length)
{
    HttpParser *s = self(p);
    s->m_bodyBytesSeen += qint64(length);
    if (s->m_maxBodyBytes > 0 && s->m_bodyBytesSeen > s->m_maxBodyBytes) {
        s->m_isBodyOverflow = true;
        return -1;
    }
    if (at == s->m_inPlaceNext) {
        s->m_inPlaceNext += length;
        s->m_inPlaceBytes += qsizetype(length);
        return 0;
    }
    s->commitInPlaceBody();
    s->m_body.append(at, qsizetype(length));
    return 0;
}

int HttpParser::onMessageComplete(http_parser *p)
{
    HttpParser *s = self(p);
    if (s->m_isInterim) {
        s->clearMessage();
        return 0;
    }
    s->m_shouldKeepAlive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    // A chunked request body comes next, for ChunkedBodyReader; the message ends with it.
    if (!s->m_readsChunkedBody)
        s->m_isMessageComplete = true;
    return 0;
}

} // namespace tollgate
