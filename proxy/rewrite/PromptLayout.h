#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QtGlobal>

namespace tollgate {

// The cache-relevant shape of a Messages request body, read from its original bytes: where
// the client's cache_control markers sit and with which ttl, and the byte offsets where a
// marker could be inserted (the last tool, the end of the system prompt, the last cacheable
// block of each message). One pass of json::JsonReader validates the whole document and takes
// the layout on the way, crossing the text of the conversation without decoding it and
// without building a tree. Nothing here changes the body.
struct PromptLayout
{
    enum class Status {
        Ok,
        NotJson, // not one valid JSON document (by simdjson's rules; see json::JsonReader)
        NotObject, // valid JSON, but the top level is not an object
        NoMessages, // no "messages" array
        DuplicateKeys, // "tools", "system", "messages" or "cache_control" given twice
    };
    // Prefix order is tools -> system -> messages whatever order the keys come in.
    enum class Section { Tools = 0, System = 1, Messages = 2 };

    // A place a marker may go: inside a block object, just before its closing brace; or a
    // string system prompt or message content, to be wrapped in a one-block text array.
    struct Spot
    {
        Section section = Section::Messages;
        qsizetype offset = -1; // the object's '}', or the string token's opening quote
        qsizetype stringEnd = -1; // one past the string's closing quote; -1 for an object
        bool isEmptyObject = false;
        quint64 order = 0; // position in prefix order; comparable across sections
        bool isValid() const { return offset >= 0; }
        bool wrapsString() const { return stringEnd >= 0; }
        qsizetype end() const { return wrapsString() ? stringEnd : offset + 1; }
    };

    struct Marker
    {
        quint64 order = 0;
        bool isOneHour = false;
    };

    struct Message
    {
        enum class Role { User, Assistant, Other };
        Role role = Role::Other;
        Spot lastEligible; // its last block that may carry a marker and has none yet
        bool hasMarker = false; // a client marker on it or on any of its blocks
    };

    static PromptLayout scan(QByteArrayView body);

    // The client's markers, in prefix order; the top-level ("automatic") one is separate.
    QList<Marker> markers() const;
    bool hasTopLevelMarker = false;
    bool isTopLevelOneHour = false;
    // Where automatic caching would put the top-level marker: the last block of a cacheable
    // type in prefix order. Valid only when hasAutomaticTarget.
    quint64 automaticTarget() const;
    bool hasAutomaticTarget() const;

    // Bytes of the prompt (tools, system and messages values) before and including a spot,
    // for the minimum-length estimate.
    qsizetype prefixBytes(const Spot &spot) const;
    qsizetype promptBytes() const;

    Status status = Status::NotJson;
    QByteArray model;
    bool hasMaxTokens = false;
    Spot lastTool;
    Spot lastSystemBlock;
    QList<Message> messages;

    // Filled by the scan; see markers() and automaticTarget().
    QList<Marker> blockMarkers;
    qsizetype sectionBegin[3] = {-1, -1, -1};
    qsizetype sectionBytes[3] = {0, 0, 0};
    quint64 lastCacheableIn[3] = {0, 0, 0};
    bool hasCacheableIn[3] = {false, false, false};

    static quint64 orderOf(Section section, quint64 index)
    {
        return (quint64(section) << 56) | index;
    }
};

} // namespace tollgate
