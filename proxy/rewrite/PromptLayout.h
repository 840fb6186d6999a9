#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QtGlobal>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace tollgate::json {
class JsonReader;
}

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
    enum class Section : quint8 { Tools = 0, System = 1, Messages = 2 };

    // A place a marker may go: inside a block object, just before its closing brace; or a
    // string system prompt or message content, to be wrapped in a one-block text array.
    struct Spot
    {
        qsizetype offset = -1; // the object's '}', or the string token's opening quote
        qsizetype stringEnd = -1; // one past the string's closing quote; -1 for an object
        quint64 order = 0; // position in prefix order; comparable across sections
        Section section = Section::Messages;
        bool isEmptyObject = false;
        bool isValid() const { return offset >= 0; }
        bool wrapsString() const { return stringEnd >= 0; }
        qsizetype end() const { return wrapsString() ? stringEnd : offset + 1; }
    };

    struct Marker
    {
        quint64 order = 0;
        bool isOneHour = false;
    };

    // A conversation is thousands of these, copied when a journal is taken up: kept small.
    struct Message
    {
        enum class Role : quint8 { User, Assistant, Other };
        // Its last block that may carry a marker and has none yet. When isLongString, that is
        // its content, a string longer than kLongestWrappedString: not wrapped, so only a
        // top-level marker, which automatic caching puts on the prompt's last block, can
        // reach it.
        Spot lastEligible;
        Role role = Role::Other;
        bool isLongString = false;
        bool hasMarker = false; // a client marker on it or on any of its blocks
        // A block that may be given a marker of its own.
        bool hasMarkableBlock() const { return lastEligible.isValid() && !isLongString; }
    };

    // The longest string content (its token, quotes included) that may be wrapped into a
    // text block to carry a marker. A wrapper goes in before the string's first byte, so
    // none of the string could go upstream before the body's last byte had come and the
    // whole had been scanned; a longer string is left as it is, and crossed as it arrives.
    static constexpr qsizetype kLongestWrappedString = 64 * 1024;

    static PromptLayout scan(QByteArrayView body);

    // Index of the newest user message, and of the user turn before the assistant reply that
    // precedes it (the turn whose end carried the last request's moving breakpoint); -1 when
    // none.
    struct UserTurns
    {
        qsizetype newest = -1;
        qsizetype previous = -1;
    };
    UserTurns userTurns() const;
    // The same among the first `count` of messages.
    static UserTurns userTurnsIn(const QList<Message> &messages, qsizetype count);

    // The client's markers, in prefix order; the top-level ("automatic") one is separate.
    QList<Marker> markers() const;
    bool hasTopLevelMarker = false;
    bool isTopLevelOneHour = false;
    bool hasTopLevelCacheControlKey = false; // a marker, or anything else such as null
    qsizetype topLevelClose = -1; // the top-level object's closing brace
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

// A PromptLayout taken while the body arrives, one top-level member or one message at a time,
// so that once the last byte is in only what follows the last whole message is left to scan
// (a long conversation is thousands of messages). What feed() has taken is the same
// whichever pieces the body came in; finish() gives what PromptLayout::scan() gives.
class PromptLayoutBuilder
{
public:
    // What a scan carries from one piece of the body to the next.
    struct Progress
    {
        PromptLayout layout;
        quint64 next[3] = {0, 0, 0}; // blocks seen in each section: the next one's order
        bool seen[4] = {false, false, false, false}; // tools, system, messages, cache_control
        bool hasDuplicates = false;
    };

    // A message whose content is a long string (PromptLayout::kLongestWrappedString), taken
    // while the string arrives: what its members so far have told.
    struct OpenMessage
    {
        PromptLayout::Message message;
        qsizetype markersBefore = 0; // the layout's block markers before the message's
        bool hasRole = false;
        bool hasContent = false;
        bool isAmbiguous = false; // "role" or "content" twice
        PromptLayout::Spot content; // the string's opening quote and order
        bool isBlank = true; // its text so far holds only whitespace
    };

    PromptLayoutBuilder();

    // What a scan that ended in a valid layout leaves for later bodies. A conversation is
    // sent again with each turn, as it was plus the new messages (Claude Code moves its own
    // markers forward, near the end): the bytes a later body shares with an earlier one from
    // its first byte on need no second scan. It holds a digest of each 4 KiB block of the
    // earlier body up to its last state (not the body: 16 bytes for 4 KiB) and the scan's
    // state every few KiB of its messages.
    struct Journal;
    // A block's digest: 128 bits of XXH3, seeded afresh in each process.
    struct BlockDigest
    {
        quint64 low = 0;
        quint64 high = 0;
        bool operator==(const BlockDigest &other) const = default;
    };
    static constexpr qsizetype kDigestBlock = 4096;
    // After finish() found the layout Ok: its journal, of which the first `unchangedBytes`
    // bytes of `body` are still the bytes scanned (markers may have gone in after them).
    // Null when there is nothing to keep. The blocks compared with earlier journals were
    // digested as they arrived; those the journal needs beyond them are digested here, once
    // the body has gone on.
    std::shared_ptr<const Journal> journal(QByteArrayView body, qsizetype unchangedBytes) const;
    // Before the first feed(): journals of earlier bodies. As long as the bytes that arrive
    // go on matching one of them, its scan's state is taken instead of scanning them again;
    // once they differ from all, or none has more, the scan goes on from the last state
    // before that point. What feed() and finish() give is the same as without them.
    void reuseFrom(QList<std::shared_ptr<const Journal>> journals);
    // Bytes of this body whose scan was taken from an earlier one, and that one's journal.
    qsizetype reusedBytes() const { return m_reusedBytes; }
    const std::shared_ptr<const Journal> &reusedJournal() const { return m_reusedJournal; }
    // A journal's size in memory: its digests, states and lists.
    static qsizetype bytesHeldBy(const Journal &journal);

    // The body so far: the first bytes of the whole, more of them each time. A message whose
    // content is a string longer than PromptLayout::kLongestWrappedString is crossed as it
    // comes. Any other member or message still incomplete at longestWait bytes is left,
    // with the rest of the body, to finish(): scanned again as it grows, it would cost more
    // than one scan of the whole.
    void feed(QByteArrayView bodySoFar, qsizetype longestWait = kDefaultLongestWait);
    static constexpr qsizetype kDefaultLongestWait = 256 * 1024;
    // The whole body; the builder is done with then.
    PromptLayout finish(QByteArrayView body);
    // How much of the body is taken: the rest is scanned by the next feed() or finish().
    qsizetype scannedBytes() const
    {
        return m_pendingState ? m_pendingState->checkpoint : m_checkpoint;
    }
    // How many of the first bytes of the body no cache marker can go into, whatever follows:
    // they may be sent on before the rest has arrived. Markers go only to the last tool and
    // the end of the system prompt (while the client has placed none), to the newest and
    // the previous user turn, which only move forward as messages arrive, and before the
    // top-level object's closing brace. Inside a long string that the bytes so far share
    // with an earlier body's (reuseFrom()), this may be more than scannedBytes().
    qsizetype stableBytes() const;
    // Once the messages array has closed: the layout so far, as the whole body's would be if
    // the rest of it added no client marker and had max_tokens (Claude Code sends its system
    // prompt, its tools and max_tokens after the messages). The markers a plan of it puts
    // within provisionalBytes() are then the whole body's: they may go upstream ahead, with
    // the bytes around them, on the understanding that the body is sent again should the
    // whole body be planned otherwise. Empty before then, while a journal is followed, and
    // once the body is known to be refused.
    std::optional<PromptLayout> provisionalLayout() const;
    // The bytes a provisional plan covers: those scanned, short of the top-level closing
    // brace, where a top-level marker goes.
    qsizetype provisionalBytes() const;
    // The top-level members the request log reads (model, stream, speed, metadata, system),
    // as a JSON object of their own bytes, in the body's order. Valid after finish() found
    // the body a JSON object.
    QByteArray factMembers(QByteArrayView body) const;

private:
    enum class Phase {
        Start, // before the top-level value
        Members, // in the top-level object, between members
        Elements, // in its messages array, between elements
        InContent, // inside the long string content of a message (m_open)
        AfterContent, // in that message, after the string
        Closed, // after the top-level object
        NotObject, // the top-level value is not an object
        Failed, // not JSON
    };
    // Partial: progress inside a long string is kept, and more bytes are needed.
    enum class Step { Taken, Partial, NeedMore, Failed };

    // The state between two steps, without the lists (which only grow: their lengths then).
    struct Snapshot
    {
        Progress progress; // its layout's lists empty
        Phase phase = Phase::Start;
        bool isFirst = true;
        qsizetype checkpoint = 0;
        qsizetype messagesBegin = -1;
        qsizetype messageCount = 0;
        qsizetype markerCount = 0;
        qsizetype factCount = 0;
        OpenMessage open; // in InContent
        // In InContent: one past the closing quote of the string, in the body it was taken
        // from. A later body whose bytes are the same up to a point before it is inside the
        // string up to that point as well.
        qsizetype stringEnd = -1;
    };

    void run(QByteArrayView body, bool isComplete, qsizetype longestWait);
    Step step(json::JsonReader &reader, QByteArrayView body, bool isComplete);
    // At a message that may have a long string content: crosses the members before it and
    // what has come of the string. NeedMore (nothing changed) when the message is not of that
    // shape or the string is not yet known to be long.
    Step enterLongContent(json::JsonReader &reader, QByteArrayView body);
    // Takes the step that ended at the reader: the walk goes on from there, in `phase`.
    Step commitStep(json::JsonReader &reader, Phase phase, bool isFirst, bool isComplete);
    Step crossContent(json::JsonReader &reader, QByteArrayView body, bool isComplete);
    Step finishOpenMessage(json::JsonReader &reader, QByteArrayView body, bool isComplete);
    Snapshot stateNow();
    void takeSnapshot();
    // Digests the blocks of the body so far that are whole and not yet digested.
    void takeDigests(QByteArrayView bodySoFar);
    // Follows the journals over the blocks digested so far; true while one still is (nothing
    // to scan yet).
    bool followJournal(bool isComplete);
    void restore(const std::shared_ptr<const Journal> &journal, const Snapshot &snapshot);
    static qsizetype stableBytesOf(const PromptLayout &layout,
                                   const QList<PromptLayout::Message> &messages,
                                   qsizetype messageCount, qsizetype markerCount,
                                   qsizetype checkpoint);

    Progress m_progress;
    Phase m_phase = Phase::Start;
    bool m_isFirst = true; // no member or element yet in the container being walked
    qsizetype m_checkpoint = 0; // where the next step starts
    qsizetype m_messagesBegin = -1; // the messages array's opening bracket
    qsizetype m_retryAt = 0; // feed() waits for this many bytes before it tries again
    OpenMessage m_open; // in InContent and AfterContent
    // The state where the long string being crossed was entered, kept as a snapshot (with its
    // stringEnd) once the string ends.
    std::optional<Snapshot> m_contentEntry;
    QList<std::pair<qsizetype, qsizetype>> m_factMembers; // key's quote to value's end
    std::string m_storage;
    // For this body's journal, every kSnapshotSpacing bytes. Shared with the journals they
    // came from and go to: a journal taken up or kept copies pointers, not states.
    QList<std::shared_ptr<const Snapshot>> m_snapshots;
    QList<BlockDigest> m_digests; // of the whole blocks so far, while journals are followed
    QList<std::shared_ptr<const Journal>> m_following; // each matches the body so far
    qsizetype m_matchedBlocks = 0; // the whole blocks so far, when journals are followed
    qsizetype m_reusedBytes = 0;
    std::shared_ptr<const Journal> m_reusedJournal;
    // The furthest state of a followed journal that the body so far has reached, taken over
    // (restore()) once the journals are no longer followed.
    std::shared_ptr<const Journal> m_pendingJournal;
    const Snapshot *m_pendingState = nullptr;
    qsizetype m_pendingMatched = 0; // bytes of the body the same as that journal's
};

struct PromptLayoutBuilder::Journal
{
    // Of the whole blocks within the unchanged bytes, up to the one of the last state's
    // checkpoint: a later body is compared only while a state lies ahead.
    QList<BlockDigest> digests;
    // In the order of their checkpoints, all within those blocks.
    QList<std::shared_ptr<const Snapshot>> snapshots;
    // The lists as the scan left them: a snapshot's are their first elements.
    QList<PromptLayout::Message> messages;
    QList<PromptLayout::Marker> blockMarkers;
    QList<std::pair<qsizetype, qsizetype>> factMembers;
};

} // namespace tollgate
