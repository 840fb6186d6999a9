#pragma once

#include <QByteArray>
#include <QString>

namespace tollgate {

// What ResponseObserver kept of a response body while it was forwarded: just enough to
// extract usage later, off the forwarding thread. Raw JSON texts, not yet parsed.
struct ResponseObservation
{
    bool isSse = false;
    // The provider spoke OpenAI's chat completions and the client got its answer untouched
    // (an OpenAI client routed to an OpenAI-compatible provider). For a stream, messageStart
    // then holds the first chunk (the model), lastMessageDelta the last chunk that carried
    // usage, and sawMessageStop says that `data: [DONE]` came.
    bool isOpenAiDialect = false;

    // SSE: the `data` of the events that carry usage and outcome.
    QByteArray messageStart; // message_start (model, usage with the 5m/1h split)
    QByteArray lastMessageDelta; // the last message_delta (cumulative usage, stop_reason)
    QByteArray errorEvent; // an `error` event, when the stream carried one
    bool sawMessageStop = false;
    int openBlocks = 0; // content_block_start minus content_block_stop
    qint64 eventCount = 0;

    // Not SSE: the decoded body (JSON, or JSONL for batch results), up to a cap.
    QByteArray body;
    bool isBodyTruncated = false;

    // The body could not be decoded (unknown content-encoding, corrupt stream).
    QString decodeError;
};

} // namespace tollgate
