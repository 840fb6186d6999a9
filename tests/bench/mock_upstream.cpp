// tollgate_bench_mock: a fast Anthropic-like upstream for the benchmark.
//
// One thread, one epoll loop, one timerfd driving a heap of stream timers, so hundreds
// of concurrent SSE streams cost no threads and the mock itself stays far cheaper than
// any proxy in front of it. Plain C++17 + POSIX on purpose: the benchmark must not
// share code (or a Qt event loop) with the thing it measures.
//
//   tollgate_bench_mock PORT [--events N] [--bytes B] [--delay-us D] [--quiet]
//
// POST /v1/messages[?...]   non-stream: ~1 KB Messages JSON with Content-Length.
//                           "stream":true in the body: chunked SSE, message_start,
//                           content_block_start, ping, N content_block_delta,
//                           content_block_stop, message_delta, message_stop.
// HEAD / and GET /          200 at once (used as a readiness probe).
//
// A directive "MOCK:e=<events>,b=<bytes>,d=<delay_us>" anywhere in the request body
// overrides the flag defaults for that stream. It lives in the body because proxies
// forward bodies verbatim but may drop unknown headers. Each delta's text starts with
// "@T<CLOCK_MONOTONIC microseconds>#<seq>;", stamped right before its send(), so the
// client can compute the per-event delay added by whatever sits in between.

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <queue>
#include <string>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace {

using Micros = int64_t;

Micros monotonicMicros()
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Micros(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// Shape of one SSE answer.
struct StreamPlan
{
    int events = 10; // content_block_delta events
    int bytes = 50; // text bytes per delta (at least the stamp)
    Micros delayUs = 0; // spacing between deltas; the first one comes after one delay
};

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 256u * 1024 * 1024;
constexpr size_t kReadChunk = 256 * 1024;

// epoll user data for the non-connection descriptors; connection ids start above.
constexpr uint64_t kListenId = 0;
constexpr uint64_t kTimerId = 1;
constexpr uint64_t kSignalId = 2;
constexpr uint64_t kFirstConnectionId = 16;

struct Connection
{
    int fd = -1;
    uint64_t id = 0;
    std::string in; // bytes received, parsed from inPos on
    size_t inPos = 0;
    std::string out; // bytes not yet accepted by the kernel, sent from outPos on
    size_t outPos = 0;
    bool pollingOut = false; // EPOLLOUT currently requested
    bool closeAfterWrite = false; // request said Connection: close (or HTTP/1.0)
    bool dead = false; // closed at the end of the loop iteration
    bool streaming = false; // an SSE answer is in progress; later requests wait
    bool processing = false; // inside processInput (guards against recursion)
    StreamPlan plan;
    int nextSeq = 0;
    Micros nextDue = 0;
};

struct TimerEntry
{
    Micros due;
    uint64_t connectionId;
    bool operator>(const TimerEntry &other) const { return due > other.due; }
};

// A request as far as the mock cares.
struct Request
{
    std::string method;
    std::string target;
    std::string body;
    bool closeAfter = false;
};

enum class ParseStatus { Incomplete, Complete, Malformed, TooLarge };

bool equalsIgnoreCase(const char *a, size_t aLen, const char *b)
{
    size_t bLen = strlen(b);
    if (aLen != bLen)
        return false;
    for (size_t i = 0; i < aLen; ++i) {
        char ca = a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] + 32) : a[i];
        if (ca != b[i])
            return false;
    }
    return true;
}

bool containsIgnoreCase(const std::string &haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= haystack.size(); ++i) {
        if (equalsIgnoreCase(haystack.data() + i, n, needle))
            return true;
    }
    return false;
}

// Walks a chunked body starting at p. Returns the number of bytes the body occupies
// (through the final CRLF) or -1 when incomplete, -2 when malformed. Walking only
// touches chunk-size lines, so calling it again as more bytes arrive stays cheap even
// for megabyte bodies. Appends the payload to body when body is non-null.
long walkChunked(const char *p, size_t len, std::string *body)
{
    size_t pos = 0;
    while (true) {
        const void *lineEnd = memmem(p + pos, len - pos, "\r\n", 2);
        if (!lineEnd)
            return len - pos > 1024 ? -2 : -1;
        size_t lineLen = static_cast<const char *>(lineEnd) - (p + pos);
        size_t size = 0;
        size_t digits = 0;
        for (; digits < lineLen; ++digits) {
            char c = p[pos + digits];
            int v = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f'   ? c - 'a' + 10
                : c >= 'A' && c <= 'F'   ? c - 'A' + 10
                                         : -1;
            if (v < 0)
                break; // chunk extensions (";...") are ignored
            size = size * 16 + size_t(v);
            if (size > kMaxBodyBytes)
                return -2;
        }
        if (digits == 0)
            return -2;
        pos += lineLen + 2;
        if (size == 0) {
            // Trailer section: header lines until an empty line.
            while (true) {
                const void *end = memmem(p + pos, len - pos, "\r\n", 2);
                if (!end)
                    return -1;
                size_t l = static_cast<const char *>(end) - (p + pos);
                pos += l + 2;
                if (l == 0)
                    return long(pos);
            }
        }
        if (len - pos < size + 2)
            return -1;
        if (body)
            body->append(p + pos, size);
        pos += size + 2;
    }
}

// Parses one request from data[0, len). On Complete, consumed is its total length.
ParseStatus parseRequest(const char *data, size_t len, Request &request, size_t &consumed)
{
    const void *headEnd = memmem(data, len, "\r\n\r\n", 4);
    if (!headEnd)
        return len > kMaxHeaderBytes ? ParseStatus::TooLarge : ParseStatus::Incomplete;
    size_t headLen = static_cast<const char *>(headEnd) - data + 4;

    const char *lineEnd = static_cast<const char *>(memmem(data, headLen, "\r\n", 2));
    std::string requestLine(data, lineEnd - data);
    size_t sp1 = requestLine.find(' ');
    size_t sp2 = requestLine.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1)
        return ParseStatus::Malformed;
    request.method = requestLine.substr(0, sp1);
    request.target = requestLine.substr(sp1 + 1, sp2 - sp1 - 1);
    request.closeAfter = requestLine.compare(sp2 + 1, std::string::npos, "HTTP/1.0") == 0;

    size_t contentLength = 0;
    bool chunked = false;
    const char *line = lineEnd + 2;
    const char *end = data + headLen - 2;
    while (line < end) {
        const char *eol = static_cast<const char *>(memmem(line, end - line + 2, "\r\n", 2));
        const char *colon = static_cast<const char *>(memchr(line, ':', eol - line));
        if (colon) {
            const char *value = colon + 1;
            while (value < eol && (*value == ' ' || *value == '\t'))
                ++value;
            std::string v(value, eol - value);
            size_t nameLen = colon - line;
            if (equalsIgnoreCase(line, nameLen, "content-length")) {
                contentLength = strtoull(v.c_str(), nullptr, 10);
            } else if (equalsIgnoreCase(line, nameLen, "transfer-encoding")) {
                chunked = containsIgnoreCase(v, "chunked");
            } else if (equalsIgnoreCase(line, nameLen, "connection")) {
                if (containsIgnoreCase(v, "close"))
                    request.closeAfter = true;
                else if (containsIgnoreCase(v, "keep-alive"))
                    request.closeAfter = false;
            }
        }
        line = eol + 2;
    }

    if (chunked) {
        long bodyLen = walkChunked(data + headLen, len - headLen, nullptr);
        if (bodyLen == -2)
            return ParseStatus::Malformed;
        if (bodyLen == -1)
            return len - headLen > kMaxBodyBytes ? ParseStatus::TooLarge : ParseStatus::Incomplete;
        request.body.clear();
        walkChunked(data + headLen, size_t(bodyLen), &request.body);
        consumed = headLen + size_t(bodyLen);
        return ParseStatus::Complete;
    }
    if (contentLength > kMaxBodyBytes)
        return ParseStatus::TooLarge;
    if (len - headLen < contentLength)
        return ParseStatus::Incomplete;
    request.body.assign(data + headLen, contentLength);
    consumed = headLen + contentLength;
    return ParseStatus::Complete;
}

// Reads "MOCK:e=..,b=..,d=.." from the body; missing keys keep their defaults.
StreamPlan planFromBody(const std::string &body, StreamPlan plan)
{
    size_t at = body.find("MOCK:");
    if (at == std::string::npos)
        return plan;
    const char *p = body.c_str() + at + 5;
    while (*p >= 'a' && *p <= 'z' && p[1] == '=') {
        char key = *p;
        char *end = nullptr;
        long long value = strtoll(p + 2, &end, 10);
        if (end == p + 2)
            break;
        if (key == 'e')
            plan.events = int(std::max(0LL, std::min(value, 1000000LL)));
        else if (key == 'b')
            plan.bytes = int(std::max(0LL, std::min(value, 1LL << 20)));
        else if (key == 'd')
            plan.delayUs = std::max(0LL, value);
        p = end;
        if (*p != ',')
            break;
        ++p;
    }
    return plan;
}

bool wantsStream(const std::string &body)
{
    return body.find("\"stream\":true") != std::string::npos
        || body.find("\"stream\": true") != std::string::npos;
}

// Appends one HTTP chunk holding one SSE event.
void appendEventChunk(std::string &out, const char *event, const std::string &data)
{
    std::string payload;
    payload.reserve(data.size() + 32);
    payload += "event: ";
    payload += event;
    payload += "\ndata: ";
    payload += data;
    payload += "\n\n";
    char size[32];
    int n = snprintf(size, sizeof size, "%zx\r\n", payload.size());
    out.append(size, size_t(n));
    out += payload;
    out += "\r\n";
}

class MockServer
{
public:
    MockServer(StreamPlan defaults, bool quiet)
        : m_defaults(defaults)
        , m_quiet(quiet)
    {
        m_messageResponse = buildMessageResponse();
    }

    int listenOn(int port);
    void run();

private:
    std::string buildMessageResponse() const;
    void acceptAll();
    void onReadable(Connection &c);
    void processInput(Connection &c);
    void handleRequest(Connection &c, const Request &request);
    void startStream(Connection &c, const StreamPlan &plan);
    void sendDelta(Connection &c);
    void finishStream(Connection &c);
    void send(Connection &c, const char *data, size_t len);
    void send(Connection &c, const std::string &data) { send(c, data.data(), data.size()); }
    void flush(Connection &c);
    void updatePollingOut(Connection &c);
    void markDead(Connection &c);
    void reapDead();
    void schedule(Connection &c, Micros due);
    void fireTimers();
    void rearmTimer();

    StreamPlan m_defaults;
    bool m_quiet;
    std::string m_messageResponse; // complete non-stream response, built once
    int m_epoll = -1;
    int m_listen = -1;
    int m_timer = -1;
    int m_signal = -1;
    bool m_stop = false;
    uint64_t m_nextId = kFirstConnectionId;
    std::unordered_map<uint64_t, std::unique_ptr<Connection>> m_connections;
    std::vector<uint64_t> m_dead;
    std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>> m_timers;
    Micros m_armedDue = -1;
    std::vector<char> m_readBuffer = std::vector<char>(kReadChunk);

    // Totals printed at exit.
    uint64_t m_requests = 0;
    uint64_t m_streams = 0;
    uint64_t m_deltas = 0;
    uint64_t m_accepted = 0;
};

std::string MockServer::buildMessageResponse() const
{
    // Sized so the whole body is 1024 bytes, like a short real answer.
    const std::string head =
        R"({"id":"msg_bench_0123456789abcdef","type":"message","role":"assistant",)"
        R"("model":"claude-sonnet-4-5","content":[{"type":"text","text":")";
    const std::string tail = R"("}],"stop_reason":"end_turn","stop_sequence":null,"usage":)"
                             R"({"input_tokens":12,"cache_creation_input_tokens":0,)"
                             R"("cache_read_input_tokens":0,"output_tokens":250,)"
                             R"("service_tier":"standard"}})";
    std::string body = head + std::string(1024 - head.size() - tail.size(), 'x') + tail;
    std::string response = "HTTP/1.1 200 OK\r\n"
                           "Content-Type: application/json\r\n"
                           "request-id: req_bench\r\n"
                           "Content-Length: "
        + std::to_string(body.size()) + "\r\n\r\n" + body;
    return response;
}

int MockServer::listenOn(int port)
{
    m_listen = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(m_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(m_listen, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        perror("mock: bind");
        return -1;
    }
    if (listen(m_listen, 4096) != 0) {
        perror("mock: listen");
        return -1;
    }
    socklen_t len = sizeof addr;
    getsockname(m_listen, reinterpret_cast<sockaddr *>(&addr), &len);

    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    m_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    m_signal = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);

    epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenId;
    epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_listen, &ev);
    ev.data.u64 = kTimerId;
    epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_timer, &ev);
    ev.data.u64 = kSignalId;
    epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_signal, &ev);
    return ntohs(addr.sin_port);
}

void MockServer::run()
{
    std::vector<epoll_event> events(512);
    while (!m_stop) {
        int n = epoll_wait(m_epoll, events.data(), int(events.size()), -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("mock: epoll_wait");
            break;
        }
        for (int i = 0; i < n; ++i) {
            uint64_t id = events[i].data.u64;
            uint32_t what = events[i].events;
            if (id == kListenId) {
                acceptAll();
            } else if (id == kTimerId) {
                uint64_t expirations;
                while (read(m_timer, &expirations, sizeof expirations) > 0) { }
                fireTimers();
            } else if (id == kSignalId) {
                m_stop = true;
            } else {
                auto it = m_connections.find(id);
                if (it == m_connections.end() || it->second->dead)
                    continue;
                Connection &c = *it->second;
                if (what & EPOLLOUT)
                    flush(c);
                if (!c.dead && (what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                    onReadable(c);
            }
        }
        reapDead();
        rearmTimer();
    }
    if (!m_quiet) {
        fprintf(stderr, "mock: accepted=%llu requests=%llu streams=%llu deltas=%llu\n",
                (unsigned long long)m_accepted, (unsigned long long)m_requests,
                (unsigned long long)m_streams, (unsigned long long)m_deltas);
    }
}

void MockServer::acceptAll()
{
    while (true) {
        int fd = accept4(m_listen, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; // EAGAIN, or EMFILE: try again on the next wake-up
        int one = 1;
        // Deltas are small writes that must leave at once, not wait for Nagle.
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Connection>();
        c->fd = fd;
        c->id = m_nextId++;
        epoll_event ev {};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = c->id;
        epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev);
        m_connections.emplace(c->id, std::move(c));
        ++m_accepted;
    }
}

void MockServer::onReadable(Connection &c)
{
    while (true) {
        ssize_t n = recv(c.fd, m_readBuffer.data(), m_readBuffer.size(), 0);
        if (n > 0) {
            c.in.append(m_readBuffer.data(), size_t(n));
            if (size_t(n) < m_readBuffer.size())
                break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        // EOF or error: the peer is gone, and with it any stream in progress.
        markDead(c);
        return;
    }
    processInput(c);
}

void MockServer::processInput(Connection &c)
{
    if (c.processing)
        return; // the loop further up the stack picks up the next request
    c.processing = true;
    // One request at a time: a pipelined request waits until the stream before it ends.
    while (!c.dead && !c.streaming && !c.closeAfterWrite && c.inPos < c.in.size()) {
        Request request;
        size_t consumed = 0;
        ParseStatus status =
            parseRequest(c.in.data() + c.inPos, c.in.size() - c.inPos, request, consumed);
        if (status == ParseStatus::Incomplete)
            break;
        if (status != ParseStatus::Complete) {
            const char *answer = status == ParseStatus::TooLarge
                ? "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                : "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            send(c, answer, strlen(answer));
            c.closeAfterWrite = true;
            break;
        }
        c.inPos += consumed;
        handleRequest(c, request);
    }
    c.processing = false;
    if (c.inPos == c.in.size()) {
        c.in.clear();
        c.inPos = 0;
    } else if (c.inPos > (1u << 20)) {
        c.in.erase(0, c.inPos);
        c.inPos = 0;
    }
    if (c.closeAfterWrite && c.outPos == c.out.size())
        markDead(c);
}

void MockServer::handleRequest(Connection &c, const Request &request)
{
    ++m_requests;
    c.closeAfterWrite = request.closeAfter;
    std::string path = request.target.substr(0, request.target.find('?'));
    if (request.method == "POST" && path == "/v1/messages") {
        if (wantsStream(request.body))
            startStream(c, planFromBody(request.body, m_defaults));
        else
            send(c, m_messageResponse);
        return;
    }
    if ((request.method == "HEAD" || request.method == "GET") && path == "/") {
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 "Content-Length: 3\r\n\r\n";
        send(c, ok, sizeof ok - 1);
        if (request.method == "GET")
            send(c, "ok\n", 3);
        return;
    }
    static const std::string notFoundBody =
        R"({"type":"error","error":{"type":"not_found_error","message":"no such path"}})";
    static const std::string notFound =
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: "
        + std::to_string(notFoundBody.size()) + "\r\n\r\n" + notFoundBody;
    send(c, notFound);
}

void MockServer::startStream(Connection &c, const StreamPlan &plan)
{
    ++m_streams;
    c.streaming = true;
    c.plan = plan;
    c.nextSeq = 0;
    std::string out = "HTTP/1.1 200 OK\r\n"
                      "Content-Type: text/event-stream\r\n"
                      "Cache-Control: no-cache\r\n"
                      "request-id: req_bench\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n";
    appendEventChunk(
        out, "message_start",
        R"({"type":"message_start","message":{"id":"msg_bench_0123456789abcdef","type":"message",)"
        R"("role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,)"
        R"("stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,)"
        R"("cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}})");
    appendEventChunk(
        out, "content_block_start",
        R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
    appendEventChunk(out, "ping", R"({"type":"ping"})");
    send(c, out);
    if (plan.delayUs == 0) {
        // Back to back: the whole stream goes out now.
        while (!c.dead && c.streaming)
            sendDelta(c);
        return;
    }
    schedule(c, monotonicMicros() + plan.delayUs);
}

void MockServer::sendDelta(Connection &c)
{
    if (c.nextSeq >= c.plan.events) {
        finishStream(c);
        return;
    }
    // The stamp is taken as late as possible: right before the send() below.
    char stamp[48];
    int stampLen =
        snprintf(stamp, sizeof stamp, "@T%lld#%d;", (long long)monotonicMicros(), c.nextSeq);
    std::string text(stamp, size_t(stampLen));
    if (c.plan.bytes > stampLen)
        text.append(size_t(c.plan.bytes - stampLen), 'x');
    std::string out;
    appendEventChunk(
        out, "content_block_delta",
        R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":")" + text
            + "\"}}");
    send(c, out);
    ++m_deltas;
    ++c.nextSeq;
    if (c.nextSeq >= c.plan.events)
        finishStream(c);
    else if (c.plan.delayUs > 0)
        schedule(c, c.nextDue + c.plan.delayUs); // fixed rate: lateness does not accumulate
}

void MockServer::finishStream(Connection &c)
{
    std::string out;
    appendEventChunk(out, "content_block_stop", R"({"type":"content_block_stop","index":0})");
    appendEventChunk(out, "message_delta",
                     R"({"type":"message_delta","delta":{"stop_reason":"end_turn",)"
                     R"("stop_sequence":null},"usage":{"input_tokens":12,)"
                     R"("cache_creation_input_tokens":0,"cache_read_input_tokens":0,)"
                     R"("output_tokens":)"
                         + std::to_string(c.plan.events + 1) + "}}");
    appendEventChunk(out, "message_stop", R"({"type":"message_stop"})");
    out += "0\r\n\r\n";
    send(c, out);
    c.streaming = false;
    processInput(c); // a pipelined request may be waiting
}

void MockServer::send(Connection &c, const char *data, size_t len)
{
    if (c.dead || len == 0)
        return;
    if (c.outPos == c.out.size()) {
        ssize_t n = ::send(c.fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                markDead(c);
                return;
            }
            n = 0;
        }
        if (size_t(n) == len)
            return;
        c.out.assign(data + n, len - size_t(n));
        c.outPos = 0;
    } else {
        c.out.append(data, len);
    }
    updatePollingOut(c);
}

void MockServer::flush(Connection &c)
{
    while (c.outPos < c.out.size()) {
        ssize_t n = ::send(c.fd, c.out.data() + c.outPos, c.out.size() - c.outPos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            markDead(c);
            return;
        }
        c.outPos += size_t(n);
    }
    if (c.outPos == c.out.size()) {
        c.out.clear();
        c.outPos = 0;
        if (c.closeAfterWrite && !c.streaming) {
            markDead(c);
            return;
        }
    }
    updatePollingOut(c);
}

void MockServer::updatePollingOut(Connection &c)
{
    bool want = c.outPos < c.out.size();
    if (want == c.pollingOut)
        return;
    c.pollingOut = want;
    epoll_event ev {};
    ev.events = EPOLLIN | EPOLLRDHUP | (want ? uint32_t(EPOLLOUT) : 0u);
    ev.data.u64 = c.id;
    epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &ev);
}

void MockServer::markDead(Connection &c)
{
    if (c.dead)
        return;
    c.dead = true;
    m_dead.push_back(c.id);
}

void MockServer::reapDead()
{
    for (uint64_t id : m_dead) {
        auto it = m_connections.find(id);
        if (it == m_connections.end())
            continue;
        // Closing removes the descriptor from epoll; stale timer entries are skipped by id.
        close(it->second->fd);
        m_connections.erase(it);
    }
    m_dead.clear();
}

void MockServer::schedule(Connection &c, Micros due)
{
    c.nextDue = due;
    m_timers.push({due, c.id});
}

void MockServer::fireTimers()
{
    while (!m_timers.empty() && m_timers.top().due <= monotonicMicros()) {
        TimerEntry entry = m_timers.top();
        m_timers.pop();
        auto it = m_connections.find(entry.connectionId);
        if (it == m_connections.end() || it->second->dead || !it->second->streaming)
            continue;
        sendDelta(*it->second);
    }
}

void MockServer::rearmTimer()
{
    Micros due = m_timers.empty() ? 0 : m_timers.top().due;
    if (due == m_armedDue)
        return;
    m_armedDue = due;
    itimerspec spec {};
    // Absolute CLOCK_MONOTONIC deadline; all-zero disarms. A deadline in the past fires at once.
    if (due > 0) {
        spec.it_value.tv_sec = due / 1000000;
        spec.it_value.tv_nsec = long(due % 1000000) * 1000;
    }
    timerfd_settime(m_timer, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void usage()
{
    fprintf(stderr,
            "usage: tollgate_bench_mock PORT [--events N] [--bytes B] [--delay-us D] "
            "[--quiet]\n"
            "  PORT 0 picks a free port; the port is printed on stdout.\n");
}

} // namespace

int main(int argc, char **argv)
{
    StreamPlan defaults;
    int port = -1;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> long long {
            if (i + 1 >= argc) {
                usage();
                exit(2);
            }
            return strtoll(argv[++i], nullptr, 10);
        };
        if (arg == "--events")
            defaults.events = int(value());
        else if (arg == "--bytes")
            defaults.bytes = int(value());
        else if (arg == "--delay-us")
            defaults.delayUs = value();
        else if (arg == "--quiet")
            quiet = true;
        else if (arg == "-h" || arg == "--help") {
            usage();
            return 0;
        } else if (port < 0 && !arg.empty() && arg[0] >= '0' && arg[0] <= '9')
            port = atoi(arg.c_str());
        else {
            usage();
            return 2;
        }
    }
    if (port < 0 || port > 65535) {
        usage();
        return 2;
    }

    // Hundreds of streams plus their proxies' connections need more than 1024 descriptors.
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    // Default timer slack (50 us) would blur the delta spacing the benchmark relies on.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    MockServer server(defaults, quiet);
    int bound = server.listenOn(port);
    if (bound < 0)
        return 1;
    printf("%d\n", bound);
    fflush(stdout);
    server.run();
    return 0;
}
