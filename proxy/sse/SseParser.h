#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <array>
#include <functional>

namespace tollgate {

// One dispatched Server-Sent Event. The views point into the parser's buffers: they are
// valid only during the callback.
struct SseEvent
{
    QByteArrayView name; // the `event:` field; "message" when the event named none
    QByteArrayView data; // the `data:` lines joined with '\n'; empty when the filter declined it
    bool isDataLost = false; // the data was wanted but not kept whole (larger than the cap)
};

// Incremental parser of a text/event-stream body (the WHATWG "server-sent events" grammar),
// used as a tee on the forwarding thread: it reads the bytes already sent to the client and
// never changes or holds them back. Feeds may split the stream at any byte, inside a line,
// a UTF-8 sequence or a "\r\n". It owns only the current partial line and the data of the
// current event; the data of events the filter declines is never copied. Wanted data over
// maxEventBytes is dropped (the event is still reported, flagged and counted) and an event
// name over it is ignored, so no buffer grows past the cap whatever the stream holds.
class SseParser
{
public:
    // Called with the effective event name once it is known (the `event:` line comes first
    // in Anthropic's streams): false means the data of this event is not needed.
    using DataFilter = std::function<bool(QByteArrayView eventName)>;
    using EventHandler = std::function<void(const SseEvent &event)>;

    static constexpr qsizetype kDefaultMaxEventBytes = 16 * 1024 * 1024;

    explicit SseParser(EventHandler onEvent = {}, DataFilter wantsData = {});

    void setEventHandler(EventHandler onEvent) { m_onEvent = std::move(onEvent); }
    void setDataFilter(DataFilter wantsData) { m_wantsData = std::move(wantsData); }
    // Bounds a single line and the kept data of a single event.
    void setMaxEventBytes(qsizetype maxBytes) { m_maxEventBytes = maxBytes; }
    qsizetype maxEventBytes() const { return m_maxEventBytes; }

    // Parses the next bytes of the stream, calling the event handler for every complete
    // event. An event still open when the stream ends is never dispatched, as the standard
    // and the Anthropic SDKs do.
    void feed(const char *data, qsizetype size);
    // Starts over for a new stream.
    void reset();

    // Events whose data was wanted but dropped for exceeding the cap.
    qint64 droppedEventCount() const { return m_droppedEventCount; }

private:
    enum class LineState : quint8 {
        Idle, // no partial line
        Pending, // a partial line too short to know its field yet
        Keeping, // a partial `event:` line or a wanted `data:` line, kept in m_line
        Skipping, // a partial line whose value is not needed
    };
    enum class Field : quint8 { Other, Data, Event };

    const char *skipByteOrderMark(const char *p, const char *end);
    void consume(const char *p, const char *end);
    void appendPartialLine(const char *p, const char *end);
    qsizetype partialValueSize(const char *p, qsizetype size) const;
    void endLine(const char *p, const char *eol);
    void processLine(const char *line, qsizetype size);
    void onData(const char *value, qsizetype size);
    void onEventName(const char *value, qsizetype size);
    void dispatch();
    void resetEvent();
    void loseData();
    QByteArrayView effectiveName() const;

    EventHandler m_onEvent;
    DataFilter m_wantsData;
    qsizetype m_maxEventBytes = kDefaultMaxEventBytes;

    QByteArray m_line; // the start of a line split across feeds
    std::array<char, 32> m_shortName {}; // the event name, when it fits
    qsizetype m_shortNameSize = 0;
    QByteArray m_longName; // a longer event name
    QByteArray m_data;
    LineState m_lineState = LineState::Idle;
    Field m_lineField = Field::Other; // the field of a Keeping or Skipping line
    bool m_isAfterCr = false; // the last feed ended in '\r': a leading '\n' belongs to it
    bool m_isAtStreamStart = true; // a UTF-8 byte order mark may still come
    quint8 m_byteOrderMarkMatched = 0;

    bool m_hasData = false; // the current event has a data field (it will be dispatched)
    bool m_hasKeptDataLine = false;
    bool m_hasSkippedData = false;
    bool m_isKeepingData = true; // until the name is known, data is kept
    bool m_isDataLost = false;
    qint64 m_droppedEventCount = 0;
};

} // namespace tollgate
