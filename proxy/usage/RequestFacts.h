#pragma once

#include <QByteArray>
#include <QString>
#include <future>

class QThreadPool;

namespace tollgate {

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
    static std::shared_future<RequestFacts> read(const QByteArray &body, QThreadPool *workers);
    // Facts already read (by a worker that scanned the body for another reason anyway).
    static std::shared_future<RequestFacts> ready(RequestFacts facts);
};

} // namespace tollgate
