#include "SseParser.h"

#include <algorithm>
#include <cstring>

namespace tollgate {

namespace {

// "event" plus its colon: a line with no colon in its first kFieldProbe bytes names a field
// whose value the parser never uses, so a partial line is classified from that many bytes.
constexpr qsizetype kFieldProbe = 6;
// A buffer that grew for one big event is released instead of being kept for the next one.
constexpr qsizetype kRetainedCapacity = 64 * 1024;
// The standard strips one UTF-8 byte order mark at the start of the stream.
constexpr char kByteOrderMark[] = {'\xEF', '\xBB', '\xBF'};
constexpr quint8 kByteOrderMarkSize = sizeof(kByteOrderMark);

const char *find(const char *p, const char *end, char c)
{
    const void *hit = std::memchr(p, c, size_t(end - p));
    return hit ? static_cast<const char *>(hit) : end;
}

struct FieldHead
{
    enum Kind { Undecided, Ignored, Data, Event };
    Kind kind = Ignored;
    qsizetype valueOffset = 0;
};

// Which field a (non-empty) line holds and where its value starts. A line without a colon is
// a field name with an empty value; one space after the colon is not part of the value.
FieldHead headOf(const char *line, qsizetype size, bool isComplete)
{
    // The two lines of every Anthropic event, checked without a search.
    if (size >= 5 && std::memcmp(line, "data:", 5) == 0)
        return {FieldHead::Data, size > 5 && line[5] == ' ' ? 6 : 5};
    if (size >= 6 && std::memcmp(line, "event:", 6) == 0)
        return {FieldHead::Event, size > 6 && line[6] == ' ' ? 7 : 6};
    if (line[0] == ':')
        return {}; // a comment
    const void *colon = std::memchr(line, ':', size_t(std::min(size, kFieldProbe)));
    qsizetype nameSize = size;
    qsizetype valueOffset = size;
    if (colon) {
        nameSize = static_cast<const char *>(colon) - line;
        valueOffset = nameSize + 1;
        if (valueOffset < size && line[valueOffset] == ' ')
            ++valueOffset;
    } else if (size >= kFieldProbe) {
        return {}; // `id`, `retry` and unknown fields are ignored
    } else if (!isComplete) {
        return {FieldHead::Undecided, 0};
    }
    if (nameSize == 4 && std::memcmp(line, "data", 4) == 0)
        return {FieldHead::Data, valueOffset};
    if (nameSize == 5 && std::memcmp(line, "event", 5) == 0)
        return {FieldHead::Event, valueOffset};
    return {};
}

void shrinkToEmpty(QByteArray &buffer)
{
    if (buffer.isEmpty())
        return;
    if (buffer.capacity() > kRetainedCapacity)
        buffer.clear();
    else
        buffer.resize(0); // keeps the allocation for the next event
}

} // namespace

SseParser::SseParser(EventHandler onEvent, DataFilter wantsData)
    : m_onEvent(std::move(onEvent))
    , m_wantsData(std::move(wantsData))
{
}

void SseParser::reset()
{
    m_line.clear();
    m_data.clear();
    m_lineState = LineState::Idle;
    m_lineField = Field::Other;
    m_isAfterCr = false;
    m_isAtStreamStart = true;
    m_byteOrderMarkMatched = 0;
    m_droppedEventCount = 0;
    resetEvent();
}

void SseParser::feed(const char *data, qsizetype size)
{
    if (size <= 0)
        return;
    const char *p = data;
    const char *end = data + size;
    if (m_isAtStreamStart)
        p = skipByteOrderMark(p, end);
    if (p < end)
        consume(p, end);
}

const char *SseParser::skipByteOrderMark(const char *p, const char *end)
{
    while (p < end && m_byteOrderMarkMatched < kByteOrderMarkSize) {
        if (*p != kByteOrderMark[m_byteOrderMarkMatched]) {
            // Not a byte order mark after all: the bytes that matched are content.
            const quint8 matched = m_byteOrderMarkMatched;
            m_isAtStreamStart = false;
            m_byteOrderMarkMatched = 0;
            if (matched > 0)
                consume(kByteOrderMark, kByteOrderMark + matched);
            return p;
        }
        ++m_byteOrderMarkMatched;
        ++p;
    }
    if (m_byteOrderMarkMatched == kByteOrderMarkSize) {
        m_isAtStreamStart = false;
        m_byteOrderMarkMatched = 0;
    }
    return p;
}

void SseParser::consume(const char *p, const char *end)
{
    if (m_isAfterCr) {
        m_isAfterCr = false;
        if (*p == '\n')
            ++p; // the second half of a "\r\n" split across feeds
    }
    // Lines end in "\r\n", "\n" or "\r". Each terminator is searched for once per feed (the
    // hits are remembered), so the scan stays linear whichever of them the stream uses.
    const char *lf = nullptr;
    const char *cr = nullptr;
    while (p < end) {
        if (!lf || lf < p)
            lf = *p == '\n' ? p : find(p, end, '\n'); // a blank line ends every event
        if (!cr || cr < p)
            cr = find(p, end, '\r');
        const char *eol = std::min(lf, cr);
        if (eol == end) {
            appendPartialLine(p, end);
            return;
        }
        endLine(p, eol);
        p = eol + 1;
        if (*eol == '\r') {
            if (p == end)
                m_isAfterCr = true;
            else if (*p == '\n')
                ++p;
        }
    }
}

void SseParser::appendPartialLine(const char *p, const char *end)
{
    const qsizetype size = end - p;
    if (m_lineState == LineState::Skipping)
        return;
    if (m_lineState != LineState::Keeping) {
        // Classify from the first bytes; a Pending line holds fewer than kFieldProbe of them.
        char head[kFieldProbe];
        const qsizetype had = m_line.size();
        const qsizetype taken = std::min(size, kFieldProbe - had);
        std::memcpy(head, m_line.constData(), size_t(had));
        std::memcpy(head + had, p, size_t(taken));
        switch (headOf(head, had + taken, false).kind) {
        case FieldHead::Undecided:
            m_line.append(p, size);
            m_lineState = LineState::Pending;
            return;
        case FieldHead::Ignored:
            shrinkToEmpty(m_line);
            m_lineState = LineState::Skipping;
            m_lineField = Field::Other;
            return;
        case FieldHead::Data:
            if (!m_isKeepingData) {
                // The event's data is not wanted: the rest of the line is never copied.
                shrinkToEmpty(m_line);
                m_lineState = LineState::Skipping;
                m_lineField = Field::Data;
                return;
            }
            m_lineField = Field::Data;
            break;
        case FieldHead::Event:
            m_lineField = Field::Event;
            break;
        }
        m_lineState = LineState::Keeping;
    }
    // Bounded memory, with the same limits as for a line that arrives whole: a data line
    // that would take the event's data over the cap loses it; an over-long name is ignored.
    const qsizetype valueSize = partialValueSize(p, size);
    const bool isOverCap = m_lineField == Field::Data
        ? m_data.size() + (m_hasKeptDataLine ? 1 : 0) + valueSize > m_maxEventBytes
        : valueSize > m_maxEventBytes;
    if (isOverCap) {
        if (m_lineField == Field::Data)
            loseData();
        shrinkToEmpty(m_line);
        m_lineState = LineState::Skipping;
        return;
    }
    m_line.append(p, size);
}

qsizetype SseParser::partialValueSize(const char *p, qsizetype size) const
{
    // A Keeping line starts with "data:" or "event:"; one space after the colon is syntax.
    const qsizetype lineSize = m_line.size() + size;
    const qsizetype colonEnd = m_lineField == Field::Data ? 5 : 6;
    if (lineSize <= colonEnd)
        return 0;
    const char afterColon =
        colonEnd < m_line.size() ? m_line.at(colonEnd) : p[colonEnd - m_line.size()];
    return lineSize - colonEnd - (afterColon == ' ' ? 1 : 0);
}

void SseParser::endLine(const char *p, const char *eol)
{
    if (m_lineState == LineState::Idle) {
        processLine(p, eol - p); // the common case: the whole line is in this feed
        return;
    }
    appendPartialLine(p, eol);
    if (m_lineState == LineState::Skipping) {
        if (m_lineField == Field::Data) {
            m_hasData = true;
            m_hasSkippedData = true;
        }
    } else {
        processLine(m_line.constData(), m_line.size());
    }
    shrinkToEmpty(m_line);
    m_lineState = LineState::Idle;
    m_lineField = Field::Other;
}

void SseParser::processLine(const char *line, qsizetype size)
{
    if (size == 0) {
        dispatch();
        return;
    }
    const FieldHead head = headOf(line, size, true);
    if (head.kind == FieldHead::Data)
        onData(line + head.valueOffset, size - head.valueOffset);
    else if (head.kind == FieldHead::Event)
        onEventName(line + head.valueOffset, size - head.valueOffset);
}

void SseParser::onData(const char *value, qsizetype size)
{
    m_hasData = true;
    if (!m_isKeepingData) {
        m_hasSkippedData = true;
        return;
    }
    const qsizetype separator = m_hasKeptDataLine ? 1 : 0;
    if (m_data.size() + separator + size > m_maxEventBytes) {
        loseData();
        return;
    }
    if (separator)
        m_data.append('\n'); // multi-line data is joined with '\n'
    m_data.append(value, size);
    m_hasKeptDataLine = true;
}

void SseParser::onEventName(const char *value, qsizetype size)
{
    if (size > m_maxEventBytes)
        return; // bounded like data: an over-long name is ignored
    // Event names are short: they are kept inline, without touching the heap.
    if (size <= qsizetype(m_shortName.size())) {
        std::memcpy(m_shortName.data(), value, size_t(size));
        m_shortNameSize = size;
        if (!m_longName.isNull())
            m_longName.clear();
    } else {
        m_longName = QByteArray(value, size);
        m_shortNameSize = 0;
    }
    if (m_isDataLost)
        return;
    if (!m_wantsData || m_wantsData(effectiveName())) {
        // Data lines that came before the name and were skipped under an earlier name
        // cannot be recovered.
        if (m_hasSkippedData)
            loseData();
        else
            m_isKeepingData = true;
        return;
    }
    m_isKeepingData = false;
    if (m_hasKeptDataLine) {
        shrinkToEmpty(m_data);
        m_hasKeptDataLine = false;
        m_hasSkippedData = true;
    }
}

void SseParser::dispatch()
{
    // The standard dispatches only events that had a data field.
    if (m_hasData) {
        if (m_isDataLost)
            ++m_droppedEventCount;
        if (m_onEvent) {
            const SseEvent event {effectiveName(),
                                  m_isKeepingData ? QByteArrayView(m_data) : QByteArrayView(),
                                  m_isDataLost};
            m_onEvent(event);
        }
    }
    resetEvent();
}

void SseParser::resetEvent()
{
    m_shortNameSize = 0;
    if (!m_longName.isNull())
        m_longName.clear();
    shrinkToEmpty(m_data);
    m_hasData = false;
    m_hasKeptDataLine = false;
    m_hasSkippedData = false;
    m_isKeepingData = true;
    m_isDataLost = false;
}

void SseParser::loseData()
{
    m_isDataLost = true;
    m_isKeepingData = false;
    m_hasKeptDataLine = false;
    m_data.clear(); // frees it: it may be near the cap
}

QByteArrayView SseParser::effectiveName() const
{
    // An event without an `event:` field, or with an empty one, is a "message".
    if (m_shortNameSize > 0)
        return QByteArrayView(m_shortName.data(), m_shortNameSize);
    return m_longName.isEmpty() ? QByteArrayView("message") : QByteArrayView(m_longName);
}

} // namespace tollgate
