#pragma once

#include <QByteArray>
#include <QString>
#include <chrono>
#include <future>
#include <optional>

class QThreadPool;

namespace tollgate {

class PendingFacts;

// What the request body says about who asked and how.
struct RequestFacts
{
    QString model; // "model" of the request body
    QByteArray sessionId; // from metadata.user_id, empty if none
    QString project; // working directory stated in the system prompt, empty if none
    bool isStream = false; // "stream": true
    QString speed; // "speed" request field, e.g. "fast"

    // Reads them as the exchange ends, so that a row waiting for the request log never
    // holds its request body: the log's thread runs at idle priority and falls behind on a
    // busy machine, and Claude Code's bodies run to megabytes. A small body is read at
    // once; a larger one on a worker of the pool, away from the forwarding thread. The
    // future is always fulfilled: a pool runs every task it was given before it goes.
    static constexpr qsizetype kInlineReadBytes = 64 * 1024;
    static PendingFacts read(const QByteArray &body, QThreadPool *workers);
    // Facts already read (by a worker that scanned the body for another reason anyway).
    static PendingFacts ready(RequestFacts facts);
};

// Request facts known already, or still being read on a worker. Known facts are held as
// they are: a std::promise fulfilled on the spot would cost the forwarding thread a futex
// system call per request (the once-flag inside set_value wakes any waiters).
class PendingFacts
{
public:
    PendingFacts() = default;

    bool isValid() const { return m_facts.has_value() || m_later.valid(); }
    // Whether get() would return at once, after waiting at most `timeout`.
    bool waitFor(std::chrono::milliseconds timeout) const;
    // Waits for a worker still reading them. Only when isValid().
    const RequestFacts &get() const { return m_facts ? *m_facts : m_later.get(); }

private:
    friend struct RequestFacts;
    std::optional<RequestFacts> m_facts;
    std::shared_future<RequestFacts> m_later;
};

} // namespace tollgate
