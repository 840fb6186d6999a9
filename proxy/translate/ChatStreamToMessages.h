#pragma once

#include "sse/SseParser.h"
#include "translate/ToolNameMap.h"
#include "translate/VendorReasoning.h"
#include "usage/Usage.h"

#include <QByteArray>
#include <QString>
#include <map>

class QJsonObject;

namespace tollgate {

// One streamed response of an OpenAI-compatible vendor (chat.completion.chunk events)
// rewritten, as it arrives, into the Anthropic event stream an Anthropic client expects
// (protocol.md 8c), in exactly the grammar of protocol.md section 3: message_start, then per
// block content_block_start / _delta / _stop, then message_delta and message_stop, each with
// its `event:` line.
//
// - Text deltas become a text block; tool-call deltas a tool_use block each, the arguments
//   sent as input_json_delta fragments. A vendor that interleaves the arguments of several
//   calls has the later calls held back until the open one is complete (its arguments form
//   a whole JSON object) or the choice finishes, so every block's deltas are contiguous: a
//   delta for a block already stopped makes Claude Code stop reading.
// - Reasoning deltas are dropped or become thinking blocks (see VendorReasoning).
// - message_delta waits for the usage chunk after finish_reason (the chunk with no choices,
//   sent because the request asked for stream_options.include_usage), for [DONE], or for
//   the end of the upstream, so it carries the real counts.
// - A vendor error chunk becomes an `event: error` and ends the stream.
//
// Owns the SSE parser and the translation state of the one stream; one instance per
// response, used from one thread.
class ChatStreamToMessages
{
public:
    // requestedModel is the message's `model` (the client's; empty takes the vendor's);
    // toolNames comes from MessagesToChat::translateRequest of the same exchange.
    explicit ChatStreamToMessages(const QString &requestedModel, const ToolNameMap &toolNames = {},
                                  VendorReasoning reasoning = VendorReasoning::Drop);
    Q_DISABLE_COPY_MOVE(ChatStreamToMessages)

    // The vendor's bytes, split anywhere; returns the Anthropic bytes to send now (often
    // empty).
    QByteArray feed(const char *data, qsizetype size);
    // The upstream body ended (completely or not): returns the closing events, or an
    // `event: error` when the vendor never finished the choice. Later calls return nothing.
    QByteArray finish();
    // An `event: ping` for the caller to send when the vendor has been silent for a while
    // (protocol.md 8c point 6). Before the first chunk it comes after a message_start, so
    // the stream starts the way Anthropic's do. Empty once the stream is over.
    QByteArray ping();

    // message_start has been sent: an HTTP error status can no longer be sent instead.
    bool hasStarted() const { return m_hasStarted; }
    // message_stop or an error event has been sent.
    bool isFinished() const { return m_state == State::Done; }
    // The usage as sent in message_delta (for the request log), with stopReason.
    const Usage &usage() const { return m_usage; }
    // The message of the error event sent, if any.
    const QString &error() const { return m_error; }

private:
    enum class State { Waiting, Streaming, Finishing, Done };
    enum class BlockKind { None, Text, Thinking, Tool };
    struct ToolCall
    {
        QString id;
        QString name;
        QString arguments; // everything received
        qsizetype sentSize = 0; // how much of it went out
        qsizetype checkedSize = -1; // arguments.size() when isComplete was last worked out
        int position = 0; // order of first appearance, for made-up ids
        bool isComplete = false; // the arguments form a whole JSON object
        bool isStarted = false;
    };

    void onEvent(const SseEvent &event);
    void onChunk(const QJsonObject &chunk);
    void onDelta(const QJsonObject &delta);
    void onToolCallDelta(const QJsonObject &call);
    void startWaitingTools();
    void onFinishReason(const QString &finishReason);
    void onDone();
    void start(const QJsonObject &chunk);
    void appendText(const QString &text);
    void appendThinking(const QString &text);
    int toolIndexOf(const QJsonObject &call);
    bool isComplete(ToolCall &tool);
    void startTool(int index);
    void sendArguments(ToolCall &tool);
    void openBlock(BlockKind kind, const QJsonObject &contentBlock);
    void closeOpenBlock();
    void close();
    void fail(const QString &type, const QString &message);
    void emitEvent(const QJsonObject &event);
    QByteArray takeOutput();

    SseParser m_parser;
    QByteArray m_out;
    QString m_model;
    ToolNameMap m_toolNames;
    VendorReasoning m_reasoning;
    State m_state = State::Waiting;
    bool m_hasStarted = false;
    QString m_messageId;
    BlockKind m_openKind = BlockKind::None;
    int m_openToolIndex = -1; // the vendor's index of the open tool_use block
    int m_lastToolIndex = 0; // of the latest tool-call delta, for deltas without an index
    int m_nextBlockIndex = 0;
    std::map<int, ToolCall> m_tools; // by the vendor's index
    QString m_stopReason;
    bool m_hasRefusal = false;
    Usage m_usage;
    QString m_error;
};

} // namespace tollgate
