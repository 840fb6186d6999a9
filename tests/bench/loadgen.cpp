// tollgate_bench_loadgen: the benchmark's HTTP/1.1 client.
//
// One thread, one epoll loop, one timerfd; plain C++17 + POSIX so the client costs the
// same whatever it talks to. It speaks just enough HTTP/1.1 (Content-Length, chunked,
// read-until-close) and SSE (line by line) to time what matters:
//   latency  issue -> last byte of the response
//   TTFB     issue -> first byte of the response
//   event    receive time - stamp in the delta ("@T<CLOCK_MONOTONIC us>#<seq>;", written
//            by tollgate_bench_mock right before its send(); same machine, same clock)
// "Issue" is right before the request's first byte is written, or before connect() when
// the request needs a new connection.
//
// Every mode is bounded by a request count or a time window plus a drain limit, and
// prints one JSON line. Failures (connect errors, non-2xx, resets, incomplete streams,
// requests still open at the drain limit) are counted, never retried silently.
//
//   tollgate_bench_loadgen --mode lat|tput|stream|hold|big|probe --port P [options]
// Run with --help for the options and their per-mode defaults.

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <functional>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <vector>

namespace {

using Micros = int64_t;

Micros clockMicros(clockid_t clock)
{
    timespec ts {};
    clock_gettime(clock, &ts);
    return Micros(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

Micros monotonicMicros()
{
    return clockMicros(CLOCK_MONOTONIC);
}

// ---------------------------------------------------------------------------------------
// Figures

// Latency samples in microseconds; percentiles by nearest rank. The parser appends to
// sink() directly, so every read sorts first (cheap: at most some 10^5 values).
class Samples
{
public:
    void add(int64_t value) { m_values.push_back(value); }
    std::vector<int64_t> *sink() { return &m_values; }
    size_t count() const { return m_values.size(); }
    int64_t percentile(double q)
    {
        if (m_values.empty())
            return -1;
        std::sort(m_values.begin(), m_values.end());
        size_t rank = size_t(std::ceil(q * double(m_values.size())));
        return m_values[std::min(m_values.size() - 1, rank > 0 ? rank - 1 : 0)];
    }
    int64_t max() const
    {
        return m_values.empty() ? -1 : *std::max_element(m_values.begin(), m_values.end());
    }
    double mean() const
    {
        if (m_values.empty())
            return -1;
        double sum = 0;
        for (int64_t v : m_values)
            sum += double(v);
        return sum / double(m_values.size());
    }

private:
    std::vector<int64_t> m_values;
};

enum class Failure { None, Connect, Status, Reset, Incomplete, Timeout };

struct ErrorCounts
{
    uint64_t connect = 0; // refused or failed connect
    uint64_t status = 0; // answered, but not 2xx
    uint64_t reset = 0; // connection reset/closed before the response was complete
    uint64_t incomplete = 0; // stream ended without message_stop or with missing deltas
    uint64_t timeout = 0; // still open at the drain limit

    void add(Failure f)
    {
        switch (f) {
        case Failure::None:
            break;
        case Failure::Connect:
            ++connect;
            break;
        case Failure::Status:
            ++status;
            break;
        case Failure::Reset:
            ++reset;
            break;
        case Failure::Incomplete:
            ++incomplete;
            break;
        case Failure::Timeout:
            ++timeout;
            break;
        }
    }
    uint64_t total() const { return connect + status + reset + incomplete + timeout; }
};

// Builds one flat JSON object, key by key.
class JsonLine
{
public:
    JsonLine &add(const char *key, const std::string &value)
    {
        key_(key);
        m_text += '"';
        for (char c : value) {
            if (c == '"' || c == '\\')
                m_text += '\\';
            m_text += c;
        }
        m_text += '"';
        return *this;
    }
    JsonLine &add(const char *key, const char *value) { return add(key, std::string(value)); }
    JsonLine &add(const char *key, int64_t value)
    {
        key_(key);
        m_text += std::to_string(value);
        return *this;
    }
    JsonLine &add(const char *key, int value) { return add(key, int64_t(value)); }
    JsonLine &add(const char *key, uint64_t value) { return add(key, int64_t(value)); }
    JsonLine &add(const char *key, double value)
    {
        key_(key);
        char buf[64];
        snprintf(buf, sizeof buf, "%.3f", value);
        m_text += buf;
        return *this;
    }
    JsonLine &addErrors(const ErrorCounts &e)
    {
        add("errors", e.total());
        key_("error_kinds");
        m_text += "{\"connect\":" + std::to_string(e.connect)
            + ",\"status\":" + std::to_string(e.status) + ",\"reset\":" + std::to_string(e.reset)
            + ",\"incomplete\":" + std::to_string(e.incomplete)
            + ",\"timeout\":" + std::to_string(e.timeout) + "}";
        return *this;
    }
    void print()
    {
        m_text += '}';
        printf("%s\n", m_text.c_str());
        fflush(stdout);
    }

private:
    void key_(const char *key)
    {
        m_text += m_text.size() > 1 ? ",\"" : "\"";
        m_text += key;
        m_text += "\":";
    }
    std::string m_text = "{";
};

// utime + stime of a whole process (all its threads) in microseconds; -1 if unknown.
// Note: the kernel reports these in clock ticks (usually 10 ms).
int64_t processCpuMicros(pid_t pid)
{
    if (pid <= 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    // The command name may hold spaces and parentheses; fields resume after the last ')'.
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    ++p;
    // Fields after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
    // majflt cmajflt utime(14) stime(15).
    unsigned long long utime = 0, stime = 0;
    if (sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    long ticks = sysconf(_SC_CLK_TCK);
    return int64_t((utime + stime) * 1000000ULL / (unsigned long long)ticks);
}

// Run time of a process's live threads in microseconds from /proc/PID/task/*/schedstat
// (nanosecond resolution, unlike the tick-based utime/stime); a cross-check for short
// phases. Threads that already exited are missing. -1 if unknown.
int64_t processSchedMicros(pid_t pid)
{
    if (pid <= 0)
        return -1;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR *d = opendir(dir.c_str());
    if (!d)
        return -1;
    unsigned long long totalNs = 0;
    while (dirent *entry = readdir(d)) {
        if (entry->d_name[0] == '.')
            continue;
        FILE *f = fopen((dir + "/" + entry->d_name + "/schedstat").c_str(), "r");
        if (!f)
            continue;
        unsigned long long ns = 0;
        if (fscanf(f, "%llu", &ns) == 1)
            totalNs += ns;
        fclose(f);
    }
    closedir(d);
    return int64_t(totalNs / 1000);
}

// CPU time samples taken at the start and the end of a measured window.
struct CpuWindow
{
    int64_t statStart = -1, statEnd = -1;
    int64_t schedStart = -1, schedEnd = -1;

    void start(pid_t pid)
    {
        statStart = processCpuMicros(pid);
        schedStart = processSchedMicros(pid);
    }
    void end(pid_t pid)
    {
        statEnd = processCpuMicros(pid);
        schedEnd = processSchedMicros(pid);
    }
    // Adds cpu_us, <perKey> (cpu_us / units) and the schedstat cross-check.
    void report(JsonLine &j, const char *perKey, uint64_t units) const
    {
        if (statStart < 0 || statEnd < 0)
            return;
        int64_t cpu = statEnd - statStart;
        j.add("cpu_us", cpu);
        j.add(perKey, units ? double(cpu) / double(units) : -1.0);
        if (schedStart >= 0 && schedEnd >= 0) {
            int64_t sched = schedEnd - schedStart;
            j.add("cpu_sched_us", sched);
            j.add((std::string(perKey) + "_sched").c_str(),
                  units ? double(sched) / double(units) : -1.0);
        }
    }
};

// ---------------------------------------------------------------------------------------
// HTTP response + SSE parsing

// Incremental parser for one response. Body bytes of an event stream are split into
// lines; data lines of content_block_delta events yield a per-event delay.
class ResponseParser
{
public:
    void reset(bool stream, std::vector<int64_t> *delaySink)
    {
        *this = ResponseParser();
        m_stream = stream;
        m_delaySink = delaySink;
    }

    // Consumes bytes of this response (never beyond its end); `now` is the receive time.
    size_t feed(const char *data, size_t len, Micros now)
    {
        size_t pos = 0;
        while (pos < len && m_state != State::Done) {
            switch (m_state) {
            case State::Head:
                pos += feedHead(data + pos, len - pos);
                break;
            case State::LengthBody: {
                size_t n = size_t(std::min<uint64_t>(m_remaining, len - pos));
                onBody(data + pos, n, now);
                pos += n;
                m_remaining -= n;
                if (m_remaining == 0)
                    m_state = State::Done;
                break;
            }
            case State::UntilClose:
                onBody(data + pos, len - pos, now);
                pos = len;
                break;
            case State::ChunkSize:
            case State::ChunkDataEnd:
            case State::Trailer:
                pos += feedChunkLine(data + pos, len - pos);
                break;
            case State::ChunkData: {
                size_t n = size_t(std::min<uint64_t>(m_remaining, len - pos));
                onBody(data + pos, n, now);
                pos += n;
                m_remaining -= n;
                if (m_remaining == 0)
                    m_state = State::ChunkDataEnd;
                break;
            }
            case State::Done:
            case State::Malformed:
                return pos;
            }
            if (m_state == State::Malformed)
                return pos;
        }
        return pos;
    }

    // The server closed the connection: completes a read-until-close body.
    void onEof()
    {
        if (m_state == State::UntilClose)
            m_state = State::Done;
    }

    bool done() const { return m_state == State::Done; }
    bool malformed() const { return m_state == State::Malformed; }
    int status() const { return m_status; }
    bool closeAfter() const { return m_closeAfter; }
    bool stream() const { return m_stream; }
    int deltas() const { return m_deltas; }
    bool sequenceOk() const { return m_sequenceOk; }
    bool sawMessageStop() const { return m_sawStop; }

private:
    enum class State {
        Head,
        LengthBody,
        UntilClose,
        ChunkSize,
        ChunkData,
        ChunkDataEnd,
        Trailer,
        Done,
        Malformed
    };

    size_t feedHead(const char *data, size_t len)
    {
        size_t before = m_head.size();
        m_head.append(data, len);
        size_t searchFrom = before >= 3 ? before - 3 : 0;
        size_t end = m_head.find("\r\n\r\n", searchFrom);
        if (end == std::string::npos) {
            if (m_head.size() > 64 * 1024)
                m_state = State::Malformed;
            return len;
        }
        size_t used = end + 4 - before;
        m_head.resize(end + 2);
        parseHead();
        return used;
    }

    void parseHead()
    {
        // Status line: HTTP/1.x NNN reason
        if (m_head.compare(0, 5, "HTTP/") != 0 || m_head.size() < 12) {
            m_state = State::Malformed;
            return;
        }
        m_status = atoi(m_head.c_str() + 9);
        m_closeAfter = m_head.compare(0, 8, "HTTP/1.0") == 0;
        bool chunked = false;
        int64_t contentLength = -1;
        size_t line = m_head.find("\r\n") + 2;
        while (line < m_head.size()) {
            size_t eol = m_head.find("\r\n", line);
            size_t colon = m_head.find(':', line);
            if (colon != std::string::npos && colon < eol) {
                std::string name = lower(m_head.substr(line, colon - line));
                size_t v = colon + 1;
                while (v < eol && (m_head[v] == ' ' || m_head[v] == '\t'))
                    ++v;
                std::string value = lower(m_head.substr(v, eol - v));
                if (name == "content-length")
                    contentLength = strtoll(value.c_str(), nullptr, 10);
                else if (name == "transfer-encoding")
                    chunked = value.find("chunked") != std::string::npos;
                else if (name == "connection")
                    m_closeAfter = value.find("close") != std::string::npos;
            }
            line = eol + 2;
        }
        if (m_status >= 100 && m_status < 200) {
            m_head.clear(); // interim answer (100 Continue): the real one follows
            return;
        }
        if (m_status == 204 || m_status == 304)
            m_state = State::Done;
        else if (chunked)
            m_state = State::ChunkSize;
        else if (contentLength >= 0) {
            m_remaining = uint64_t(contentLength);
            m_state = m_remaining == 0 ? State::Done : State::LengthBody;
        } else {
            m_state = State::UntilClose;
        }
    }

    // Chunk-size lines, the CRLF after chunk data and trailer lines.
    size_t feedChunkLine(const char *data, size_t len)
    {
        const char *nl = static_cast<const char *>(memchr(data, '\n', len));
        size_t take = nl ? size_t(nl - data) + 1 : len;
        m_line.append(data, take);
        if (m_line.size() > 4096) {
            m_state = State::Malformed;
            return take;
        }
        if (!nl)
            return take;
        std::string line = m_line;
        m_line.clear();
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
            line.pop_back();
        if (m_state == State::ChunkDataEnd) {
            m_state = line.empty() ? State::ChunkSize : State::Malformed;
        } else if (m_state == State::ChunkSize) {
            char *end = nullptr;
            m_remaining = strtoull(line.c_str(), &end, 16);
            if (end == line.c_str())
                m_state = State::Malformed;
            else
                m_state = m_remaining == 0 ? State::Trailer : State::ChunkData;
        } else if (line.empty()) { // Trailer section ends with an empty line
            m_state = State::Done;
        }
        return take;
    }

    void onBody(const char *data, size_t len, Micros now)
    {
        if (!m_stream)
            return; // JSON bodies are only counted, not parsed
        size_t pos = 0;
        while (pos < len) {
            const char *nl = static_cast<const char *>(memchr(data + pos, '\n', len - pos));
            if (!nl) {
                m_sseLine.append(data + pos, len - pos);
                return;
            }
            size_t n = size_t(nl - (data + pos));
            if (m_sseLine.empty()) {
                onSseLine(data + pos, n, now);
            } else {
                m_sseLine.append(data + pos, n);
                onSseLine(m_sseLine.data(), m_sseLine.size(), now);
                m_sseLine.clear();
            }
            pos += n + 1;
        }
    }

    void onSseLine(const char *line, size_t len, Micros now)
    {
        if (len < 5 || memcmp(line, "data:", 5) != 0)
            return; // "event:" lines, blank separators, comments
        if (memmem(line, len, "content_block_delta", 19)) {
            ++m_deltas;
            const char *at = static_cast<const char *>(memmem(line, len, "@T", 2));
            if (!at)
                return;
            const char *end = line + len;
            const char *p = at + 2;
            int64_t stamp = 0;
            for (; p < end && *p >= '0' && *p <= '9'; ++p)
                stamp = stamp * 10 + (*p - '0');
            int64_t seq = -1;
            if (p < end && *p == '#') {
                seq = 0;
                for (++p; p < end && *p >= '0' && *p <= '9'; ++p)
                    seq = seq * 10 + (*p - '0');
            }
            if (seq != m_nextSeq)
                m_sequenceOk = false;
            m_nextSeq = seq + 1;
            if (m_delaySink)
                m_delaySink->push_back(now - stamp);
        } else if (memmem(line, len, "\"message_stop\"", 14)) {
            m_sawStop = true;
        }
    }

    static std::string lower(std::string s)
    {
        for (char &c : s)
            c = char(c >= 'A' && c <= 'Z' ? c + 32 : c);
        return s;
    }

    State m_state = State::Head;
    std::string m_head;
    std::string m_line;
    std::string m_sseLine;
    uint64_t m_remaining = 0;
    int m_status = 0;
    bool m_closeAfter = false;
    bool m_stream = false;
    std::vector<int64_t> *m_delaySink = nullptr;
    int m_deltas = 0;
    int64_t m_nextSeq = 0;
    bool m_sequenceOk = true;
    bool m_sawStop = false;
};

// ---------------------------------------------------------------------------------------
// Connection engine

struct Outcome
{
    Failure failure = Failure::None;
    int status = 0;
    Micros issued = 0;
    Micros firstByte = 0; // 0: no byte received
    Micros done = 0;
    int deltas = 0;
};

struct Connection;
using DoneFn = std::function<void(Connection &, const Outcome &)>;

struct Connection
{
    uint32_t index = 0;
    uint32_t generation = 0; // bumped on every close so stale epoll events are ignored
    int fd = -1;
    bool connecting = false;
    bool busy = false; // a request is in flight
    bool pollingOut = false;
    const std::string *wire = nullptr; // request bytes (shared; never copied per request)
    size_t sent = 0;
    int expectDeltas = 0;
    ResponseParser parser;
    Micros issued = 0;
    Micros firstByte = 0;
    DoneFn onDone;
};

class Engine
{
public:
    explicit Engine(const sockaddr_in &target)
        : m_target(target)
    {
        m_epoll = epoll_create1(EPOLL_CLOEXEC);
        m_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        epoll_event ev {};
        ev.events = EPOLLIN;
        ev.data.u64 = kTimerKey;
        epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_timer, &ev);
    }
    ~Engine()
    {
        for (auto &c : m_connections)
            closeConnection(*c);
        close(m_timer);
        close(m_epoll);
    }

    Connection &newConnection()
    {
        auto c = std::make_unique<Connection>();
        c->index = uint32_t(m_connections.size());
        m_connections.push_back(std::move(c));
        return *m_connections.back();
    }

    // Sends a request on c (connecting first when c has no socket); onDone runs once.
    void issue(Connection &c, const std::string *wire, bool stream, int expectDeltas,
               std::vector<int64_t> *delaySink, DoneFn onDone)
    {
        c.busy = true;
        c.wire = wire;
        c.sent = 0;
        c.expectDeltas = expectDeltas;
        c.parser.reset(stream, delaySink);
        c.onDone = std::move(onDone);
        c.firstByte = 0;
        c.issued = monotonicMicros();
        ++m_issueDepth; // failures inside issue() are reported later, never re-entrantly
        if (c.fd < 0)
            startConnect(c);
        else
            writeSome(c);
        --m_issueDepth;
    }

    void closeConnection(Connection &c)
    {
        if (c.fd < 0)
            return;
        close(c.fd); // also removes it from the epoll set
        c.fd = -1;
        c.connecting = false;
        c.pollingOut = false;
        ++c.generation;
    }

    // Runs fn at (or right after) the given monotonic time.
    void at(Micros when, std::function<void()> fn) { m_timers.emplace(when, std::move(fn)); }

    bool stopping() const { return m_stopping; }

    // Runs the loop until finished() holds or the deadline passes; at the deadline every
    // request still in flight fails with Failure::Timeout.
    void run(Micros deadline, const std::function<bool()> &finished)
    {
        std::vector<epoll_event> events(1024);
        while (!finished()) {
            Micros now = monotonicMicros();
            if (now >= deadline) {
                m_stopping = true;
                // By index: a callback could still add connections (none should: stopping).
                for (size_t i = 0; i < m_connections.size(); ++i) {
                    if (m_connections[i]->busy)
                        fail(*m_connections[i], Failure::Timeout);
                }
                return;
            }
            if (fireTimers(now))
                continue; // timers may have finished the run or issued requests
            armTimer(std::min(deadline, m_timers.empty() ? deadline : m_timers.begin()->first));
            int n = epoll_wait(m_epoll, events.data(), int(events.size()), -1);
            if (n < 0 && errno != EINTR) {
                perror("loadgen: epoll_wait");
                return;
            }
            for (int i = 0; i < n; ++i) {
                uint64_t key = events[i].data.u64;
                if (key == kTimerKey) {
                    uint64_t expirations;
                    while (read(m_timer, &expirations, sizeof expirations) > 0) { }
                    m_armedDue = -1; // expired: must be armed again even for the same time
                    continue;
                }
                Connection &c = *m_connections[uint32_t(key)];
                if (uint32_t(key >> 32) != c.generation || c.fd < 0)
                    continue; // event for a socket closed earlier in this batch
                handleEvent(c, events[i].events);
            }
        }
    }

private:
    static constexpr uint64_t kTimerKey = ~uint64_t(0);

    uint64_t keyOf(const Connection &c) const { return uint64_t(c.generation) << 32 | c.index; }

    void startConnect(Connection &c)
    {
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) {
            fail(c, Failure::Connect);
            return;
        }
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int rc = connect(c.fd, reinterpret_cast<const sockaddr *>(&m_target), sizeof m_target);
        if (rc != 0 && errno != EINPROGRESS) {
            fail(c, Failure::Connect);
            return;
        }
        c.connecting = rc != 0;
        epoll_event ev {};
        ev.events = EPOLLIN | EPOLLRDHUP | (c.connecting ? uint32_t(EPOLLOUT) : 0u);
        ev.data.u64 = keyOf(c);
        c.pollingOut = c.connecting;
        epoll_ctl(m_epoll, EPOLL_CTL_ADD, c.fd, &ev);
        if (!c.connecting)
            writeSome(c);
    }

    void setPollingOut(Connection &c, bool want)
    {
        if (want == c.pollingOut || c.fd < 0)
            return;
        c.pollingOut = want;
        epoll_event ev {};
        ev.events = EPOLLIN | EPOLLRDHUP | (want ? uint32_t(EPOLLOUT) : 0u);
        ev.data.u64 = keyOf(c);
        epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &ev);
    }

    void writeSome(Connection &c)
    {
        while (c.sent < c.wire->size()) {
            ssize_t n = send(c.fd, c.wire->data() + c.sent, c.wire->size() - c.sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN)
                    break;
                fail(c, Failure::Reset);
                return;
            }
            c.sent += size_t(n);
        }
        setPollingOut(c, c.sent < c.wire->size());
    }

    void handleEvent(Connection &c, uint32_t what)
    {
        // A callback run from here may close c and issue on it again; the events in
        // `what` belong to the old socket, so stop as soon as the generation moves on.
        uint32_t generation = c.generation;
        if (c.connecting && (what & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                fail(c, Failure::Connect);
                return;
            }
            c.connecting = false;
        }
        if (c.busy && !c.connecting && (what & EPOLLOUT))
            writeSome(c);
        if (c.generation == generation && c.fd >= 0
            && (what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
            readSome(c);
    }

    void readSome(Connection &c)
    {
        char buffer[256 * 1024];
        for (int round = 0; round < 16 && c.fd >= 0; ++round) {
            ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
            Micros now = monotonicMicros(); // receive time for every event in this read
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n <= 0) {
                if (!c.busy) {
                    closeConnection(c); // server closed an idle keep-alive connection
                    return;
                }
                // Close first: the callback may issue the next request on c right away.
                closeConnection(c);
                c.parser.onEof();
                if (c.parser.done())
                    complete(c, now);
                else
                    fail(c, Failure::Reset);
                return;
            }
            if (!c.busy) {
                closeConnection(c); // bytes nobody asked for: drop the connection
                return;
            }
            if (c.firstByte == 0)
                c.firstByte = now;
            c.parser.feed(buffer, size_t(n), now);
            if (c.parser.malformed()) {
                fail(c, Failure::Reset);
                return;
            }
            if (c.parser.done()) {
                complete(c, now);
                return;
            }
        }
    }

    void complete(Connection &c, Micros now)
    {
        Outcome o;
        o.status = c.parser.status();
        o.issued = c.issued;
        o.firstByte = c.firstByte;
        o.done = now;
        o.deltas = c.parser.deltas();
        if (o.status < 200 || o.status > 299)
            o.failure = Failure::Status;
        else if (c.parser.stream()
                 && (!c.parser.sawMessageStop() || !c.parser.sequenceOk()
                     || c.parser.deltas() != c.expectDeltas))
            o.failure = Failure::Incomplete;
        c.busy = false;
        if (c.parser.closeAfter() || o.failure != Failure::None)
            closeConnection(c);
        deliver(c, o);
    }

    void fail(Connection &c, Failure failure)
    {
        if (!c.busy)
            return;
        Outcome o;
        o.failure = failure;
        o.status = c.parser.status();
        o.issued = c.issued;
        o.firstByte = c.firstByte;
        o.done = monotonicMicros();
        o.deltas = c.parser.deltas();
        c.busy = false;
        closeConnection(c);
        if (m_issueDepth > 0) {
            // Defer so a failing issue() never calls back into the caller's issue loop.
            Connection *cp = &c;
            DoneFn fn = std::move(c.onDone);
            c.onDone = nullptr;
            at(o.done, [cp, o, fn] {
                if (fn)
                    fn(*cp, o);
            });
            return;
        }
        deliver(c, o);
    }

    void deliver(Connection &c, const Outcome &o)
    {
        DoneFn fn = std::move(c.onDone);
        c.onDone = nullptr;
        if (fn)
            fn(c, o);
    }

    // Runs the timers that are due; returns whether any ran.
    bool fireTimers(Micros now)
    {
        bool ran = false;
        while (!m_timers.empty() && m_timers.begin()->first <= now) {
            auto fn = std::move(m_timers.begin()->second);
            m_timers.erase(m_timers.begin());
            fn();
            ran = true;
        }
        return ran;
    }

    void armTimer(Micros due)
    {
        if (due == m_armedDue)
            return;
        m_armedDue = due;
        itimerspec spec {};
        spec.it_value.tv_sec = due / 1000000;
        spec.it_value.tv_nsec = long(due % 1000000) * 1000;
        timerfd_settime(m_timer, TFD_TIMER_ABSTIME, &spec, nullptr);
    }

    sockaddr_in m_target;
    int m_epoll = -1;
    int m_timer = -1;
    int m_issueDepth = 0;
    bool m_stopping = false;
    std::vector<std::unique_ptr<Connection>> m_connections;
    std::multimap<Micros, std::function<void()>> m_timers;
    Micros m_armedDue = -1;
};

// ---------------------------------------------------------------------------------------
// Options and requests

struct Options
{
    std::string mode;
    std::string subject = "unknown";
    std::string host = "127.0.0.1";
    int port = 0;
    std::string key = "tg-bench-0123456789abcdef";
    std::string path = "/v1/messages";
    pid_t pid = 0; // process whose CPU time is sampled (the proxy under test)
    // -1: the mode's default (see usage()).
    int requests = -1;
    int warmup = -1;
    int concurrency = -1;
    double seconds = -1;
    double warmupSeconds = -1;
    int events = -1;
    int bytes = -1;
    int64_t delayUs = -1;
    double rampMs = -1;
    int64_t bodyBytes = -1;
    // big: send these files' bytes instead of a generated body, one after the other and
    // round again (a conversation that grows turn by turn)
    std::vector<std::string> bodyFiles;
    std::string label; // the "mode" written to the result line (default: the mode)
    // paired: the subjects' ports and names, the first the floor (direct)
    std::vector<int> ports;
    std::vector<std::string> subjects;
    double drainSeconds = -1;
    double timeoutSeconds = 10; // probe
    double rate = -1; // soak: non-stream requests per second
    double progressSeconds = -1; // soak: progress line interval
};

std::string buildRequest(const Options &o, const std::string &body)
{
    std::string wire;
    wire.reserve(body.size() + 256);
    wire += "POST " + o.path + " HTTP/1.1\r\n";
    wire += "Host: " + o.host + ":" + std::to_string(o.port) + "\r\n";
    wire += "x-api-key: " + o.key + "\r\n";
    wire += "anthropic-version: 2023-06-01\r\n";
    wire += "content-type: application/json\r\n";
    wire += "content-length: " + std::to_string(body.size()) + "\r\n\r\n";
    wire += body;
    return wire;
}

std::string smallBody()
{
    return R"({"model":"claude-sonnet-4-5","max_tokens":1024,)"
           R"("messages":[{"role":"user","content":"Say hi."}]})";
}

std::string streamBody(int events, int bytes, int64_t delayUs)
{
    return R"({"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,)"
           R"("messages":[{"role":"user","content":"MOCK:e=)"
        + std::to_string(events) + ",b=" + std::to_string(bytes) + ",d=" + std::to_string(delayUs)
        + R"( Say hi."}]})";
}

// A valid Messages request of exactly `size` bytes (one long user message).
std::string bigBody(int64_t size)
{
    std::string head = R"({"model":"claude-sonnet-4-5","max_tokens":1024,)"
                       R"("messages":[{"role":"user","content":")";
    std::string tail = R"("}]})";
    int64_t fill = std::max<int64_t>(0, size - int64_t(head.size() + tail.size()));
    std::string body;
    body.reserve(size_t(size));
    body += head;
    static const char words[] = "lorem ipsum dolor sit amet consectetur adipiscing elit ";
    for (int64_t i = 0; i < fill; ++i)
        body += words[i % (sizeof words - 1)];
    body += tail;
    return body;
}

Micros secondsToMicros(double s)
{
    return Micros(s * 1e6);
}

// ---------------------------------------------------------------------------------------
// Modes

struct SequentialResult
{
    Samples latency;
    Samples ttfb;
    Samples eventDelay;
    ErrorCounts errors;
    ErrorCounts warmupErrors;
    int measured = 0;
    Micros elapsed = 0;
};

// One connection, one request at a time: warm-up requests, then `count` measured ones.
SequentialResult runSequential(Engine &engine, const std::vector<std::string> &wires, bool stream,
                               int expectDeltas, int warmup, int count, Micros deadline)
{
    SequentialResult r;
    Connection &c = engine.newConnection();
    int total = warmup + count;
    int done = 0;
    Micros start = monotonicMicros();
    std::function<void()> next = [&] {
        if (engine.stopping() || done >= total)
            return;
        bool measured = done >= warmup;
        const std::string *wire = &wires[size_t(done) % wires.size()];
        engine.issue(c, wire, stream, expectDeltas, measured ? r.eventDelay.sink() : nullptr,
                     [&, measured](Connection &, const Outcome &result) {
                         ++done;
                         if (!measured) {
                             r.warmupErrors.add(result.failure);
                         } else if (result.failure == Failure::None) {
                             ++r.measured;
                             r.latency.add(result.done - result.issued);
                             r.ttfb.add(result.firstByte - result.issued);
                         } else {
                             r.errors.add(result.failure);
                         }
                         if (result.failure == Failure::None)
                             next();
                         else // brief pause so a dead subject does not turn into a busy loop
                             engine.at(monotonicMicros() + 10000, next);
                     });
    };
    next();
    engine.run(deadline, [&] { return done >= total; });
    // Requests never issued because the deadline came first count as timeouts.
    for (int i = done; i < total; ++i)
        (i >= warmup ? r.errors : r.warmupErrors).add(Failure::Timeout);
    r.elapsed = monotonicMicros() - start;
    return r;
}

void addLatency(JsonLine &j, const char *prefix, Samples &s)
{
    std::string p(prefix);
    j.add((p + "p50_us").c_str(), s.percentile(0.50));
    j.add((p + "p99_us").c_str(), s.percentile(0.99));
    j.add((p + "mean_us").c_str(), s.mean());
    j.add((p + "max_us").c_str(), s.max());
}

// An IPv4 host and port as a socket address; false when host is no IPv4 address.
bool addressOf(const std::string &host, int port, sockaddr_in &address)
{
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(port));
    return inet_pton(AF_INET, host.c_str(), &address.sin_addr) == 1;
}

// The bodies a big run sends: the files given, else one generated body.
bool loadBodies(const Options &o, bool big, std::vector<std::string> &bodies)
{
    int64_t bodyBytes = o.bodyBytes >= 0 ? o.bodyBytes : 1 << 20;
    if (big && !o.bodyFiles.empty()) {
        for (const std::string &path : o.bodyFiles) {
            std::FILE *file = std::fopen(path.c_str(), "rb");
            if (!file) {
                std::fprintf(stderr, "loadgen: cannot read %s\n", path.c_str());
                return false;
            }
            std::string &body = bodies.emplace_back();
            char buffer[65536];
            for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;)
                body.append(buffer, n);
            std::fclose(file);
        }
    } else {
        bodies.push_back(big ? bigBody(bodyBytes) : smallBody());
    }
    return true;
}

int modeLatency(Engine &engine, const Options &o, bool big)
{
    int warmup = o.warmup >= 0 ? o.warmup : (big ? 3 : 200);
    int count = o.requests >= 0 ? o.requests : (big ? 30 : 2000);
    std::vector<std::string> bodies;
    if (!loadBodies(o, big, bodies))
        return 2;
    std::vector<std::string> wires;
    int64_t bodyTotal = 0;
    for (const std::string &body : bodies) {
        wires.push_back(buildRequest(o, body));
        bodyTotal += int64_t(body.size());
    }
    double drain = o.drainSeconds >= 0 ? o.drainSeconds : 60;
    SequentialResult r = runSequential(engine, wires, false, 0, warmup, count,
                                       monotonicMicros() + secondsToMicros(drain));
    JsonLine j;
    j.add("mode", !o.label.empty() ? o.label : std::string(big ? "big" : "lat"))
        .add("subject", o.subject)
        .add("concurrency", 1);
    j.add("body_bytes", bodyTotal / int64_t(bodies.size()))
        .add("bodies", int64_t(bodies.size()))
        .add("warmup", warmup)
        .add("requests", count);
    j.add("ok", r.measured);
    addLatency(j, "", r.latency);
    j.add("ttfb_p50_us", r.ttfb.percentile(0.5));
    j.addErrors(r.errors).add("warmup_errors", r.warmupErrors.total());
    j.add("elapsed_s", double(r.elapsed) / 1e6);
    j.print();
    return 0;
}

// big, paired: the same bodies go to several subjects in turn, request by request, the
// order rotating each round, so that whatever else the host does meanwhile falls on all of
// them alike. The first subject is the floor (direct): another's added latency is the median,
// over rounds, of its latency minus the floor's in the same round. A round with a failure
// counts for no one.
int modePaired(const Options &o)
{
    const size_t n = o.ports.size();
    if (n < 2 || o.subjects.size() != n) {
        std::fprintf(stderr, "loadgen: paired needs --ports and --subjects, two or more each\n");
        return 2;
    }
    int warmup = o.warmup >= 0 ? o.warmup : 3;
    int count = o.requests >= 0 ? o.requests : 30;
    std::vector<std::string> bodies;
    if (!loadBodies(o, true, bodies))
        return 2;
    std::vector<std::unique_ptr<Engine>> engines;
    std::vector<Connection *> connections;
    std::vector<std::vector<std::string>> wires(n);
    for (size_t s = 0; s < n; ++s) {
        sockaddr_in target {};
        addressOf(o.host, o.ports[s], target); // the host was checked in main()
        engines.push_back(std::make_unique<Engine>(target));
        connections.push_back(&engines.back()->newConnection());
        Options own = o;
        own.port = o.ports[s];
        for (const std::string &body : bodies)
            wires[s].push_back(buildRequest(own, body));
    }
    std::vector<Samples> latency(n);
    std::vector<Samples> added(n);
    std::vector<ErrorCounts> errors(n);
    int failedRounds = 0;
    double drain = o.drainSeconds >= 0 ? o.drainSeconds : 60;
    const Micros deadline = monotonicMicros() + secondsToMicros(drain);
    const Micros start = monotonicMicros();
    int round = 0;
    for (; round < warmup + count && monotonicMicros() < deadline; ++round) {
        std::vector<int64_t> took(n, -1);
        for (size_t k = 0; k < n; ++k) {
            const size_t s = (size_t(round) + k) % n;
            bool done = false;
            Outcome outcome;
            engines[s]->issue(*connections[s], &wires[s][size_t(round) % bodies.size()], false, 0,
                              nullptr, [&](Connection &, const Outcome &result) {
                                  done = true;
                                  outcome = result;
                              });
            engines[s]->run(deadline, [&] { return done; });
            if (!done)
                outcome.failure = Failure::Timeout;
            if (outcome.failure == Failure::None)
                took[s] = outcome.done - outcome.issued;
            else if (round >= warmup)
                errors[s].add(outcome.failure);
        }
        if (round < warmup)
            continue;
        if (std::count(took.begin(), took.end(), -1) > 0) {
            ++failedRounds;
            continue;
        }
        for (size_t s = 0; s < n; ++s) {
            latency[s].add(took[s]);
            if (s > 0)
                added[s].add(took[s] - took[0]);
        }
    }
    for (; round < warmup + count; ++round, ++failedRounds) // never sent: the deadline came
        for (ErrorCounts &own : errors)
            own.add(Failure::Timeout);
    for (size_t s = 0; s < n; ++s) {
        JsonLine j;
        j.add("mode", "paired:" + (!o.label.empty() ? o.label : std::string("big")))
            .add("subject", o.subjects[s]);
        j.add("bodies", int64_t(bodies.size())).add("warmup", warmup).add("rounds", count);
        j.add("ok", int64_t(latency[s].count()));
        j.add("p50_us", latency[s].percentile(0.5));
        if (s > 0) { // medians of a difference can be below zero: written as they are
            j.add("added_p50_us", added[s].count() > 0 ? added[s].percentile(0.5) : int64_t(-1));
            // The spread of the per-round differences, to judge how settled the median is.
            j.add("added_p25_us", added[s].count() > 0 ? added[s].percentile(0.25) : int64_t(-1));
            j.add("added_p75_us", added[s].count() > 0 ? added[s].percentile(0.75) : int64_t(-1));
        }
        j.addErrors(errors[s]).add("failed_rounds", failedRounds);
        j.add("elapsed_s", double(monotonicMicros() - start) / 1e6);
        j.print();
    }
    return 0;
}

int modeStream(Engine &engine, const Options &o)
{
    int warmup = o.warmup >= 0 ? o.warmup : 2;
    int count = o.requests >= 0 ? o.requests : 30;
    int events = o.events >= 0 ? o.events : 100;
    int bytes = o.bytes >= 0 ? o.bytes : 200;
    int64_t delayUs = o.delayUs >= 0 ? o.delayUs : 2000;
    const std::vector<std::string> wires {buildRequest(o, streamBody(events, bytes, delayUs))};
    double expected = double(warmup + count) * double(events) * double(delayUs) / 1e6;
    double drain = o.drainSeconds >= 0 ? o.drainSeconds : 30;
    SequentialResult r = runSequential(engine, wires, true, events, warmup, count,
                                       monotonicMicros() + secondsToMicros(expected + drain));
    JsonLine j;
    j.add("mode", "stream").add("subject", o.subject).add("concurrency", 1);
    j.add("streams", count).add("events_per_stream", events).add("bytes_per_event", bytes);
    j.add("delay_us", delayUs).add("completed", r.measured);
    j.add("events", int64_t(r.eventDelay.count()));
    addLatency(j, "event_", r.eventDelay);
    j.add("ttfb_p50_us", r.ttfb.percentile(0.5)).add("ttfb_p99_us", r.ttfb.percentile(0.99));
    j.add("stream_p50_us", r.latency.percentile(0.5));
    j.addErrors(r.errors).add("warmup_errors", r.warmupErrors.total());
    j.print();
    return 0;
}

int modeThroughput(Engine &engine, const Options &o)
{
    int concurrency = o.concurrency > 0 ? o.concurrency : 32;
    double warmupSeconds = o.warmupSeconds >= 0 ? o.warmupSeconds : 2;
    double seconds = o.seconds > 0 ? o.seconds : 10;
    double drain = o.drainSeconds >= 0 ? o.drainSeconds : 10;
    std::string wire = buildRequest(o, smallBody());

    Micros start = monotonicMicros();
    Micros windowStart = start + secondsToMicros(warmupSeconds);
    Micros windowEnd = windowStart + secondsToMicros(seconds);
    Samples latency;
    ErrorCounts errors;
    uint64_t completed = 0;
    uint64_t total = 0;
    int active = concurrency;
    CpuWindow cpu;
    bool windowClosed = false;
    engine.at(windowStart, [&] { cpu.start(o.pid); });
    engine.at(windowEnd, [&] {
        cpu.end(o.pid);
        windowClosed = true;
    });

    // Closed loop: each connection sends its next request as soon as the last one ends.
    std::vector<std::function<void()>> loops(static_cast<size_t>(concurrency));
    for (int i = 0; i < concurrency; ++i) {
        Connection &c = engine.newConnection();
        std::function<void()> &loop = loops[size_t(i)];
        loop = [&] {
            if (engine.stopping() || monotonicMicros() >= windowEnd) {
                --active;
                return;
            }
            engine.issue(c, &wire, false, 0, nullptr, [&](Connection &, const Outcome &result) {
                ++total;
                bool inWindow = result.done >= windowStart && result.done < windowEnd;
                if (inWindow && result.failure == Failure::None) {
                    ++completed;
                    latency.add(result.done - result.issued);
                } else if (result.done >= windowStart) {
                    errors.add(result.failure); // failures during the drain count too
                }
                if (result.failure == Failure::None)
                    loop();
                else
                    engine.at(monotonicMicros() + 10000, loop);
            });
        };
    }
    for (auto &loop : loops)
        loop();
    // Wait for the window-end sample too: the last requests may finish before it fires.
    engine.run(windowEnd + secondsToMicros(drain), [&] { return active == 0 && windowClosed; });

    JsonLine j;
    j.add("mode", "tput").add("subject", o.subject).add("concurrency", concurrency);
    j.add("warmup_s", warmupSeconds).add("window_s", seconds);
    j.add("completed", completed).add("total_requests", total);
    j.add("rps", double(completed) / seconds);
    addLatency(j, "", latency);
    j.addErrors(errors);
    cpu.report(j, "cpu_per_req_us", completed);
    j.print();
    return 0;
}

int modeHold(Engine &engine, const Options &o)
{
    int streams = o.requests > 0 ? o.requests : 500;
    int events = o.events >= 0 ? o.events : 100;
    int bytes = o.bytes >= 0 ? o.bytes : 200;
    int64_t delayUs = o.delayUs >= 0 ? o.delayUs : 100000;
    double rampMs = o.rampMs >= 0 ? o.rampMs : 100;
    double drain = o.drainSeconds >= 0 ? o.drainSeconds : 20;
    std::string wire = buildRequest(o, streamBody(events, bytes, delayUs));

    Samples eventDelay;
    Samples ttfb;
    Samples duration;
    ErrorCounts errors;
    int finished = 0;
    int completed = 0;
    int maxOpen = 0;
    int open = 0;
    Micros start = monotonicMicros() + 1000;
    CpuWindow cpu;
    cpu.start(o.pid);
    // Streams are opened evenly over the ramp, each on its own connection.
    for (int i = 0; i < streams; ++i) {
        Micros when = start + Micros(double(i) * rampMs * 1000.0 / double(streams));
        engine.at(when, [&] {
            if (engine.stopping())
                return;
            Connection &c = engine.newConnection();
            maxOpen = std::max(maxOpen, ++open);
            engine.issue(c, &wire, true, events, eventDelay.sink(),
                         [&](Connection &conn, const Outcome &result) {
                             ++finished;
                             --open;
                             if (result.firstByte > 0)
                                 ttfb.add(result.firstByte - result.issued);
                             if (result.failure == Failure::None) {
                                 ++completed;
                                 duration.add(result.done - result.issued);
                             } else {
                                 errors.add(result.failure);
                             }
                             engine.closeConnection(conn);
                         });
        });
    }
    Micros expected = Micros(rampMs * 1000) + Micros(events) * delayUs;
    engine.run(start + expected + secondsToMicros(drain), [&] { return finished >= streams; });
    cpu.end(o.pid);
    errors.timeout += uint64_t(streams - finished); // streams the deadline kept from starting

    JsonLine j;
    j.add("mode", "hold").add("subject", o.subject).add("streams", streams);
    j.add("events_per_stream", events).add("bytes_per_event", bytes).add("delay_us", delayUs);
    j.add("ramp_ms", rampMs).add("completed", completed).add("max_open", maxOpen);
    j.add("events", int64_t(eventDelay.count()));
    addLatency(j, "event_", eventDelay);
    j.add("ttfb_p50_us", ttfb.percentile(0.5)).add("ttfb_p99_us", ttfb.percentile(0.99));
    j.add("ttfb_max_us", ttfb.max());
    j.add("stream_max_us", duration.max());
    j.addErrors(errors);
    cpu.report(j, "cpu_per_event_us", eventDelay.count());
    j.print();
    return 0;
}

// Sustained mixed load for a soak run: `streams` SSE streams kept open the whole time
// (each on a fresh connection, reopened as soon as one ends) beside `concurrency`
// keep-alive connections sending non-stream requests at `rate` per second in total.
// Counts every request issued and how each ended, so a script can compare them with the
// proxy's request log; a progress line goes to stderr every `--progress-seconds`.
int modeSoak(Engine &engine, const Options &o)
{
    int streams = o.requests > 0 ? o.requests : 500;
    int events = o.events >= 0 ? o.events : 100;
    int bytes = o.bytes >= 0 ? o.bytes : 200;
    int64_t delayUs = o.delayUs >= 0 ? o.delayUs : 100000;
    int concurrency = o.concurrency > 0 ? o.concurrency : 4;
    double rate = o.rate > 0 ? o.rate : 50;
    double seconds = o.seconds > 0 ? o.seconds : 600;
    double drain = o.drainSeconds >= 0 ? o.drainSeconds : 30;
    double rampMs = o.rampMs >= 0 ? o.rampMs : 1000;
    std::string streamWire = buildRequest(o, streamBody(events, bytes, delayUs));
    std::string plainWire = buildRequest(o, smallBody());

    Micros start = monotonicMicros() + 1000;
    Micros end = start + secondsToMicros(seconds);
    Samples eventDelay;
    Samples ttfb;
    Samples latency;
    ErrorCounts streamErrors;
    ErrorCounts plainErrors;
    uint64_t streamIssued = 0, streamCompleted = 0, plainIssued = 0, plainCompleted = 0;
    int openStreams = 0;
    int activePlain = concurrency;

    std::function<void()> openStream = [&] {
        if (engine.stopping() || monotonicMicros() >= end)
            return;
        Connection &c = engine.newConnection();
        ++openStreams;
        ++streamIssued;
        engine.issue(c, &streamWire, true, events, eventDelay.sink(),
                     [&](Connection &conn, const Outcome &result) {
                         --openStreams;
                         if (result.firstByte > 0)
                             ttfb.add(result.firstByte - result.issued);
                         if (result.failure == Failure::None)
                             ++streamCompleted;
                         else
                             streamErrors.add(result.failure);
                         engine.closeConnection(conn);
                         if (result.failure == Failure::None)
                             openStream();
                         else // a failing subject must not turn this into a busy loop
                             engine.at(monotonicMicros() + 100000, openStream);
                     });
    };
    for (int i = 0; i < streams; ++i)
        engine.at(start + Micros(double(i) * rampMs * 1000.0 / double(streams)), openStream);

    // Each plain connection sends one request every concurrency/rate seconds.
    Micros interval = Micros(double(concurrency) / rate * 1e6);
    std::vector<std::function<void()>> loops(static_cast<size_t>(concurrency));
    for (int i = 0; i < concurrency; ++i) {
        Connection &c = engine.newConnection();
        std::function<void()> &loop = loops[size_t(i)];
        loop = [&, i] {
            (void)i;
            if (engine.stopping() || monotonicMicros() >= end) {
                --activePlain;
                return;
            }
            Micros issued = monotonicMicros();
            ++plainIssued;
            engine.issue(c, &plainWire, false, 0, nullptr,
                         [&, issued](Connection &, const Outcome &result) {
                             if (result.failure == Failure::None) {
                                 ++plainCompleted;
                                 latency.add(result.done - result.issued);
                             } else {
                                 plainErrors.add(result.failure);
                             }
                             engine.at(std::max(issued + interval, monotonicMicros() + 1000), loop);
                         });
        };
        engine.at(start + interval * i / concurrency, loop);
    }

    Micros progressEvery = secondsToMicros(o.progressSeconds > 0 ? o.progressSeconds : 60);
    std::function<void()> progress = [&] {
        std::fprintf(stderr,
                     "soak: t=%.0fs streams open %d issued %llu ok %llu failed %llu; "
                     "requests issued %llu ok %llu failed %llu\n",
                     double(monotonicMicros() - start) / 1e6, openStreams,
                     (unsigned long long)streamIssued, (unsigned long long)streamCompleted,
                     (unsigned long long)streamErrors.total(), (unsigned long long)plainIssued,
                     (unsigned long long)plainCompleted, (unsigned long long)plainErrors.total());
        if (monotonicMicros() < end)
            engine.at(monotonicMicros() + progressEvery, progress);
    };
    engine.at(start + progressEvery, progress);

    CpuWindow cpu;
    cpu.start(o.pid);
    engine.run(end + secondsToMicros(drain),
               [&] { return monotonicMicros() >= end && openStreams == 0 && activePlain == 0; });
    cpu.end(o.pid);
    streamErrors.timeout += uint64_t(openStreams); // still open at the drain limit

    JsonLine j;
    j.add("mode", "soak").add("subject", o.subject).add("seconds", seconds);
    j.add("streams", streams).add("events_per_stream", events).add("delay_us", delayUs);
    j.add("concurrency", concurrency).add("rate", rate);
    j.add("stream_requests", streamIssued).add("stream_completed", streamCompleted);
    j.add("stream_failed", streamErrors.total());
    j.add("requests", plainIssued).add("completed", plainCompleted);
    j.add("failed", plainErrors.total());
    j.add("total_requests", streamIssued + plainIssued);
    j.add("events", int64_t(eventDelay.count()));
    addLatency(j, "event_", eventDelay);
    j.add("ttfb_p50_us", ttfb.percentile(0.5)).add("ttfb_p99_us", ttfb.percentile(0.99));
    addLatency(j, "", latency);
    ErrorCounts all = streamErrors;
    all.connect += plainErrors.connect;
    all.status += plainErrors.status;
    all.reset += plainErrors.reset;
    all.incomplete += plainErrors.incomplete;
    all.timeout += plainErrors.timeout;
    j.addErrors(all);
    cpu.report(j, "cpu_per_request_us", streamIssued + plainIssued);
    j.print();
    return 0;
}

// Polls `HEAD /` every millisecond until anything answers; prints CLOCK_REALTIME of the
// answer so a script can subtract the time it started the server (bash $EPOCHREALTIME).
int modeProbe(const Options &o, const sockaddr_in &target)
{
    Micros deadline = monotonicMicros() + secondsToMicros(o.timeoutSeconds);
    std::string request = "HEAD / HTTP/1.1\r\nHost: " + o.host + ":" + std::to_string(o.port)
        + "\r\nConnection: close\r\n\r\n";
    int attempts = 0;
    while (monotonicMicros() < deadline) {
        ++attempts;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, reinterpret_cast<const sockaddr *>(&target), sizeof target) == 0
            && send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
            pollfd p {fd, POLLIN, 0};
            char buf[64] = {};
            if (poll(&p, 1, 1000) == 1 && recv(fd, buf, sizeof buf - 1, 0) > 0) {
                Micros answered = clockMicros(CLOCK_REALTIME);
                close(fd);
                JsonLine j;
                j.add("mode", "probe")
                    .add("subject", o.subject)
                    .add("answered_realtime_us", answered);
                j.add("status", strncmp(buf, "HTTP/", 5) == 0 ? atoi(buf + 9) : 0);
                j.add("attempts", attempts);
                j.print();
                return 0;
            }
        }
        close(fd);
        timespec pause {0, 1000000}; // 1 ms between attempts
        nanosleep(&pause, nullptr);
    }
    JsonLine j;
    j.add("mode", "probe").add("subject", o.subject).add("answered_realtime_us", int64_t(-1));
    j.add("attempts", attempts);
    j.print();
    return 1;
}

void usage()
{
    fprintf(stderr,
            "usage: tollgate_bench_loadgen --mode MODE --port P [options]\n"
            "modes (defaults in brackets):\n"
            "  lat     c=1 non-stream; --warmup [200] --requests [2000]\n"
            "  tput    closed loop; --concurrency [32] --warmup-seconds [2] --seconds [10]\n"
            "  stream  c=1 SSE; --warmup [2] --requests [30] --events [100] --bytes [200]\n"
            "          --delay-us [2000]\n"
            "  hold    concurrent SSE, one connection each; --requests [500] streams opened\n"
            "          over --ramp-ms [100], --events [100] --bytes [200] --delay-us [100000]\n"
            "  big     c=1 non-stream with a large body; --warmup [3] --requests [30]\n"
            "          --body-bytes [1048576] or --body-file PATH (repeated: the files\n"
            "          are sent in turn, round and round); --label NAME\n"
            "  paired  big, to several subjects in turn: --ports P0,P1,.. --subjects\n"
            "          direct,NAME,.. (the first is the floor); added latency per round\n"
            "  soak    --streams [500] SSE streams kept open (--events [100] --delay-us\n"
            "          [100000], reopened as each ends) plus --concurrency [4] connections\n"
            "          sending --rate [50] non-stream requests/s, for --seconds [600];\n"
            "          --progress-seconds [60]\n"
            "  probe   HEAD / every 1 ms until answered; --timeout-seconds [10]\n"
            "common: --host [127.0.0.1] --key [tg-bench-0123456789abcdef] --path [/v1/messages]\n"
            "        --subject NAME (copied into the output) --pid PID (sample its CPU time)\n"
            "        --drain-seconds S (limit after the nominal end; lat/big: total limit)\n");
}

bool parseOptions(int argc, char **argv, Options &o)
{
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help")
            return false;
        if (i + 1 >= argc) {
            fprintf(stderr, "loadgen: %s needs a value\n", arg.c_str());
            return false;
        }
        const char *v = argv[++i];
        if (arg == "--mode")
            o.mode = v;
        else if (arg == "--subject")
            o.subject = v;
        else if (arg == "--host")
            o.host = v;
        else if (arg == "--port")
            o.port = atoi(v);
        else if (arg == "--key")
            o.key = v;
        else if (arg == "--path")
            o.path = v;
        else if (arg == "--pid")
            o.pid = pid_t(atoi(v));
        else if (arg == "--requests" || arg == "--streams")
            o.requests = atoi(v);
        else if (arg == "--warmup")
            o.warmup = atoi(v);
        else if (arg == "--concurrency")
            o.concurrency = atoi(v);
        else if (arg == "--seconds")
            o.seconds = atof(v);
        else if (arg == "--warmup-seconds")
            o.warmupSeconds = atof(v);
        else if (arg == "--events")
            o.events = atoi(v);
        else if (arg == "--bytes")
            o.bytes = atoi(v);
        else if (arg == "--delay-us")
            o.delayUs = atoll(v);
        else if (arg == "--ramp-ms")
            o.rampMs = atof(v);
        else if (arg == "--body-bytes")
            o.bodyBytes = atoll(v);
        else if (arg == "--body-file")
            o.bodyFiles.push_back(v);
        else if (arg == "--label")
            o.label = v;
        else if (arg == "--ports" || arg == "--subjects") {
            std::string list = v;
            for (size_t at = 0; at <= list.size();) {
                size_t comma = list.find(',', at);
                if (comma == std::string::npos)
                    comma = list.size();
                const std::string item = list.substr(at, comma - at);
                if (arg == "--ports")
                    o.ports.push_back(atoi(item.c_str()));
                else
                    o.subjects.push_back(item);
                at = comma + 1;
            }
            if (arg == "--ports" && o.port == 0 && !o.ports.empty())
                o.port = o.ports.front();
        } else if (arg == "--drain-seconds")
            o.drainSeconds = atof(v);
        else if (arg == "--rate")
            o.rate = std::atof(v);
        else if (arg == "--progress-seconds")
            o.progressSeconds = std::atof(v);
        else if (arg == "--timeout-seconds")
            o.timeoutSeconds = atof(v);
        else {
            fprintf(stderr, "loadgen: unknown option %s\n", arg.c_str());
            return false;
        }
    }
    return !o.mode.empty() && o.port > 0 && o.port < 65536;
}

} // namespace

int main(int argc, char **argv)
{
    Options options;
    if (!parseOptions(argc, argv, options)) {
        usage();
        return 2;
    }
    sockaddr_in target {};
    if (!addressOf(options.host, options.port, target)) {
        fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max; // 500 streams need more than the usual 1024
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); // precise ramp timers

    if (options.mode == "probe")
        return modeProbe(options, target);
    if (options.mode == "paired")
        return modePaired(options);
    Engine engine(target);
    if (options.mode == "lat")
        return modeLatency(engine, options, false);
    if (options.mode == "big")
        return modeLatency(engine, options, true);
    if (options.mode == "tput")
        return modeThroughput(engine, options);
    if (options.mode == "stream")
        return modeStream(engine, options);
    if (options.mode == "hold")
        return modeHold(engine, options);
    if (options.mode == "soak")
        return modeSoak(engine, options);
    fprintf(stderr, "loadgen: unknown mode %s\n", options.mode.c_str());
    usage();
    return 2;
}
