#include "HttpParser.h"

#include <algorithm>

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
    if (m_errno == HPE_PAUSED) {
        http_parser_pause(&m_parser, 0);
        m_errno = HPE_OK;
    }
}

qsizetype HttpParser::feed(const char *data, qsizetype size)
{
    if (hasError() || m_isMessageComplete || m_isUpgrade || size <= 0)
        return 0;
    // Bytes read into bodyTail() are where they belong already: onBody() only counts them.
    m_inPlaceNext =
        m_body.capacity() > 0 && data == m_body.constData() + m_body.size() ? data : nullptr;
    const size_t n = http_parser_execute(&m_parser, &settings(), data, size_t(size));
    commitInPlaceBody();
    m_errno = HTTP_PARSER_ERRNO(&m_parser);
    if (m_parser.upgrade)
        m_isUpgrade = true;
    return qsizetype(n);
}

void HttpParser::commitInPlaceBody()
{
    if (m_inPlaceBytes > 0)
        m_body.resize(m_body.size() + m_inPlaceBytes);
    m_inPlaceBytes = 0;
    m_inPlaceNext = nullptr;
}

void HttpParser::reserveBody()
{
    const qint64 left = bodyBytesLeft();
    if (left > 0)
        m_body.reserve(m_body.size() + qsizetype(std::min(left, kEagerBodyBytes)) + kBodyPadding);
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
        m_body.reserve(std::max(needed, m_body.size() + qsizetype(room) + kBodyPadding));
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
    return QString::fromLatin1(http_errno_description(m_errno));
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
    s->m_headers.fields().last().value.append(at, qsizetype(length));
    s->m_lastWasValue = true;
    return 0;
}

int HttpParser::onHeadersComplete(http_parser *p)
{
    HttpParser *s = self(p);
    s->m_httpMajor = p->http_major;
    s->m_httpMinor = p->http_minor;
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
    s->m_isMessageComplete = true;
    s->m_shouldKeepAlive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
}

} // namespace tollgate
