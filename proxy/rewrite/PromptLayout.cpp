#include "PromptLayout.h"

#include "BlockDigest.h"

#include "json/JsonReader.h"
#include <QRandomGenerator>
#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate {

using Section = PromptLayout::Section;
using Spot = PromptLayout::Spot;

namespace {

using Type = json::JsonReader::Type;

bool isJsonSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Whether the raw text of a JSON string (between its quotes, escapes as written; or a piece
// of it that cuts no escape) holds only whitespace, escaped or not. Returns at the first other
// character, so a long text costs nothing.
bool isBlankText(std::string_view text)
{
    for (size_t i = 0; i < text.size(); ++i) {
        if (isJsonSpace(text[i]))
            continue;
        if (text[i] != '\\' || i + 1 >= text.size())
            return false;
        const char escaped = text[i + 1];
        if (escaped == 'n' || escaped == 't' || escaped == 'r') {
            ++i;
            continue;
        }
        const std::string_view hex = text.substr(i + 2, 4);
        if (escaped == 'u'
            && (hex == "0020" || hex == "0009" || hex == "000a" || hex == "000A" || hex == "000d"
                || hex == "000D")) {
            i += 5;
            continue;
        }
        return false;
    }
    return true;
}

// The same for a string token ("..." with its quotes).
bool isBlankString(std::string_view token)
{
    if (token.size() < 2 || token.front() != '"' || token.back() != '"')
        return true;
    return isBlankText(token.substr(1, token.size() - 2));
}

// Block types that may carry cache_control (Anthropic's prompt-caching guide, "What can be
// cached": tool definitions, system blocks, text blocks in user and assistant turns, images
// and documents, tool_use and tool_result). Thinking and redacted_thinking blocks, citation
// sub-blocks and empty text blocks cannot; unknown types are left alone.
bool isCacheableType(std::string_view type, bool isBlankText)
{
    if (type == "text")
        return !isBlankText;
    return type == "image" || type == "document" || type == "tool_use" || type == "tool_result";
}

// Claude Code's attribution line, system[0]: the API recognises it only unchanged and first.
constexpr std::string_view kAttributionPrefix = "\"x-anthropic-billing-header:";

// What the scan learnt about one block object (a tool, a system block, a content block).
struct Block
{
    Spot spot;
    bool isObject = false;
    std::string_view type;
    std::string typeStorage; // the type's text when it was written with escapes
    bool hasText = false;
    bool isBlankText = true;
    bool isAttribution = false;
    bool hasCacheControlKey = false; // any cache_control, even null: the block is not touched
    bool hasMarker = false;
    bool isOneHour = false;
    bool isDeferred = false;
    bool isAmbiguous = false; // "type" or "text" twice
    bool isCacheable() const
    {
        return isObject && !isAmbiguous && isCacheableType(type, isBlankText);
    }
};

class Scanner
{
public:
    using Progress = PromptLayoutBuilder::Progress;
    using OpenMessage = PromptLayoutBuilder::OpenMessage;

    Scanner(const char *base, json::JsonReader &reader, Progress &progress, std::string &storage)
        : m_base(base)
        , m_reader(reader)
        , m_layout(progress.layout)
        , m_progress(progress)
        , m_storage(storage)
    {
    }

    // With the reader on the member's value.
    bool scanRootField(std::string_view key);
    // With the reader on the element.
    bool scanMessage(PromptLayout::Message &message);
    // A message a member at a time: with the reader on the member's value; then, after its
    // last member, what the members told.
    bool scanMessageMember(std::string_view key, OpenMessage &open);
    void endMessage(OpenMessage &open);
    // A string content, whole.
    void takeContentString(PromptLayout::Message &message, const Spot &spot, bool isBlank);
    void noteSection(std::string_view key);
    void setSection(Section section, qsizetype begin, qsizetype end);
    // The next block's position in prefix order.
    quint64 nextOrder(Section section)
    {
        return PromptLayout::orderOf(section, m_progress.next[int(section)]++);
    }

private:
    bool scanTools();
    bool scanSystem();
    bool scanContent(PromptLayout::Message &message);
    bool scanBlock(Section section, bool withNestedContent, Block &block);
    bool scanBlockField(std::string_view key, Section section, bool withNestedContent,
                        Block &block);
    bool scanCacheControl(Block &block);
    bool stringSpot(Section section, Spot &spot, bool &isBlank);
    template<typename Visit>
    bool scanSection(Section section, Visit &&visit);
    template<typename OnBlock>
    auto blockVisitor(Section section, bool withNestedContent, OnBlock onBlock);
    qsizetype offsetOf(const char *at) const { return qsizetype(at - m_base); }
    void noteCacheable(Section section, quint64 order);

    const char *m_base;
    json::JsonReader &m_reader;
    PromptLayout &m_layout;
    Progress &m_progress;
    std::string &m_storage; // a short string read in passing ("model", "role", "ttl"), unescaped
};

void Scanner::setSection(Section section, qsizetype begin, qsizetype end)
{
    m_layout.sectionBegin[int(section)] = begin;
    m_layout.sectionBytes[int(section)] = end - begin;
}

// Scans an array that is one section of the prompt (tools, system blocks or messages), calling
// visit() with the reader on each element, and records the array's byte span. A value of
// another type is passed over: not a section (the API will say so).
template<typename Visit>
bool Scanner::scanSection(Section section, Visit &&visit)
{
    const Type type = m_reader.peek();
    if (type == Type::Invalid)
        return false;
    if (type != Type::Array)
        return true;
    const qsizetype begin = m_reader.offset();
    qsizetype end = 0;
    if (!m_reader.forEachElement(visit, &end))
        return false;
    setSection(section, begin, end + 1);
    return true;
}

// An element visitor that scans a block and hands it to onBlock(block).
template<typename OnBlock>
auto Scanner::blockVisitor(Section section, bool withNestedContent, OnBlock onBlock)
{
    return [this, section, withNestedContent, onBlock]() mutable {
        Block block;
        if (!scanBlock(section, withNestedContent, block))
            return false;
        onBlock(block);
        return true;
    };
}

// Notes a top-level key that may be given only once.
void Scanner::noteSection(std::string_view key)
{
    static constexpr std::string_view kTracked[] = {"tools", "system", "messages", "cache_control"};
    const auto tracked = std::find(std::begin(kTracked), std::end(kTracked), key);
    if (tracked != std::end(kTracked)) {
        bool &seen = m_progress.seen[tracked - std::begin(kTracked)];
        m_progress.hasDuplicates = m_progress.hasDuplicates || seen;
        seen = true;
    }
}

void Scanner::noteCacheable(Section section, quint64 order)
{
    m_layout.lastCacheableIn[int(section)] = order;
    m_layout.hasCacheableIn[int(section)] = true;
}

// With the reader on the member's value. A value that is not read here is skipped (and
// validated) by the walk; a malformed one fails it.
bool Scanner::scanRootField(std::string_view key)
{
    noteSection(key);
    if (key == "tools")
        return scanTools();
    if (key == "system")
        return scanSystem();
    // "messages" comes here only when it is not an array (PromptLayoutBuilder walks an array
    // one element at a time): passed over, and reported as "no messages array".
    if (key == "max_tokens") {
        m_layout.hasMaxTokens = true;
        return true;
    }
    if (key == "model") {
        std::string_view model;
        if (m_reader.readString(model, m_storage))
            m_layout.model = QByteArray(model.data(), qsizetype(model.size()));
        return true;
    }
    if (key == "cache_control") {
        m_layout.hasTopLevelCacheControlKey = true;
        Block automatic;
        if (!scanCacheControl(automatic))
            return false;
        m_layout.hasTopLevelMarker = automatic.hasMarker;
        m_layout.isTopLevelOneHour = automatic.isOneHour;
    }
    return true;
}

bool Scanner::scanTools()
{
    return scanSection(Section::Tools,
                       blockVisitor(Section::Tools, false, [this](const Block &tool) {
                           // Any tool definition may carry cache_control, except a deferred
                           // one: the API rejects a tool with both defer_loading and
                           // cache_control.
                           if (!tool.isObject || tool.isDeferred)
                               return;
                           noteCacheable(Section::Tools, tool.spot.order);
                           if (!tool.hasCacheControlKey)
                               m_layout.lastTool = tool.spot;
                       }));
}

bool Scanner::scanSystem()
{
    const Type type = m_reader.peek();
    if (type == Type::Invalid)
        return false;
    if (type == Type::String) {
        Spot spot;
        bool isBlank = true;
        if (!stringSpot(Section::System, spot, isBlank))
            return false;
        setSection(Section::System, spot.offset, spot.stringEnd);
        if (!isBlank) {
            m_layout.lastSystemBlock = spot;
            noteCacheable(Section::System, spot.order);
        }
        return true;
    }
    return scanSection(Section::System,
                       blockVisitor(Section::System, false, [this](const Block &block) {
                           if (!block.isCacheable())
                               return;
                           noteCacheable(Section::System, block.spot.order);
                           // Never mark Claude Code's attribution block: it must stay
                           // byte-identical.
                           if (!block.hasCacheControlKey && !block.isAttribution)
                               m_layout.lastSystemBlock = block.spot;
                       }));
}

bool Scanner::scanMessage(PromptLayout::Message &message)
{
    const Type type = m_reader.peek();
    if (type == Type::Invalid)
        return false;
    if (type != Type::Object)
        return true;
    OpenMessage open;
    open.markersBefore = m_layout.blockMarkers.size();
    if (!m_reader.forEachMember([&](std::string_view key) { return scanMessageMember(key, open); }))
        return false;
    endMessage(open);
    message = open.message;
    return true;
}

bool Scanner::scanMessageMember(std::string_view key, OpenMessage &open)
{
    if (key == "role") {
        open.isAmbiguous = open.isAmbiguous || open.hasRole;
        open.hasRole = true;
        std::string_view role;
        if (m_reader.readString(role, m_storage))
            open.message.role = role == "user" ? PromptLayout::Message::Role::User
                : role == "assistant"          ? PromptLayout::Message::Role::Assistant
                                               : PromptLayout::Message::Role::Other;
        return true;
    }
    if (key == "content") {
        open.isAmbiguous = open.isAmbiguous || open.hasContent;
        open.hasContent = true;
        return scanContent(open.message);
    }
    if (key != "cache_control")
        return true;
    // Not where the API takes a marker, but count it: never risk a fifth.
    Block misplaced;
    if (!scanCacheControl(misplaced))
        return false;
    if (misplaced.hasMarker)
        m_layout.blockMarkers.append({nextOrder(Section::Messages), misplaced.isOneHour});
    return true;
}

void Scanner::endMessage(OpenMessage &open)
{
    PromptLayout::Message &message = open.message;
    message.hasMarker = m_layout.blockMarkers.size() > open.markersBefore;
    if (open.isAmbiguous) {
        message.role = PromptLayout::Message::Role::Other;
        message.lastEligible = Spot();
        message.isLongString = false;
    }
}

bool Scanner::scanContent(PromptLayout::Message &message)
{
    const Type type = m_reader.peek();
    if (type == Type::Invalid)
        return false;
    if (type == Type::String) {
        Spot spot;
        bool isBlank = true;
        if (!stringSpot(Section::Messages, spot, isBlank))
            return false;
        takeContentString(message, spot, isBlank);
        return true;
    }
    if (type != Type::Array)
        return true;
    return m_reader.forEachElement(blockVisitor(Section::Messages, true, [&](const Block &block) {
        if (!block.isCacheable())
            return;
        noteCacheable(Section::Messages, block.spot.order);
        if (!block.hasCacheControlKey) {
            message.lastEligible = block.spot;
            message.isLongString = false;
        }
    }));
}

void Scanner::takeContentString(PromptLayout::Message &message, const Spot &spot, bool isBlank)
{
    if (isBlank)
        return;
    noteCacheable(Section::Messages, spot.order);
    message.lastEligible = spot;
    message.isLongString = spot.stringEnd - spot.offset > PromptLayout::kLongestWrappedString;
}

// A string that may be wrapped into [{"type":"text","text":<the string>}]: its token's
// byte range, taken without decoding it.
bool Scanner::stringSpot(Section section, Spot &spot, bool &isBlank)
{
    std::string_view token;
    if (!m_reader.readStringToken(token))
        return false;
    spot.section = section;
    spot.offset = offsetOf(token.data());
    spot.stringEnd = spot.offset + qsizetype(token.size());
    spot.order = nextOrder(section);
    isBlank = isBlankString(token);
    return true;
}

bool Scanner::scanBlock(Section section, bool withNestedContent, Block &block)
{
    const Type type = m_reader.peek();
    if (type == Type::Invalid)
        return false;
    if (type != Type::Object)
        return true; // not a block; left alone
    block.isObject = true;
    bool hasMembers = false;
    const bool isScanned = m_reader.forEachMember(
        [&](std::string_view key) {
            hasMembers = true;
            return scanBlockField(key, section, withNestedContent, block);
        },
        &block.spot.offset);
    if (!isScanned)
        return false;
    block.spot.section = section;
    block.spot.isEmptyObject = !hasMembers;
    // Its order is taken at its end, after any blocks nested in it: a marker on it covers them.
    block.spot.order = nextOrder(section);
    if (block.hasMarker)
        m_layout.blockMarkers.append({block.spot.order, block.isOneHour});
    return true;
}

bool Scanner::scanBlockField(std::string_view key, Section section, bool withNestedContent,
                             Block &block)
{
    if (key == "type") {
        block.isAmbiguous = block.isAmbiguous || !block.type.empty();
        if (!m_reader.readString(block.type, block.typeStorage))
            block.type = {}; // not a string: no cacheable type
        return true;
    }
    if (key == "text") {
        block.isAmbiguous = block.isAmbiguous || block.hasText;
        block.hasText = true;
        // A text that is not a string counts as blank (and is no attribution line).
        std::string_view token;
        m_reader.readStringToken(token);
        block.isBlankText = isBlankString(token);
        block.isAttribution = token.substr(0, kAttributionPrefix.size()) == kAttributionPrefix;
        return true;
    }
    if (key == "cache_control")
        return scanCacheControl(block);
    if (key == "defer_loading") {
        bool isDeferred = false;
        if (m_reader.readBool(isDeferred))
            block.isDeferred = isDeferred;
        return true;
    }
    if (key != "content" || !withNestedContent || m_reader.peek() != Type::Array)
        return true;
    // Blocks inside a tool_result's content may carry markers of their own, and those count
    // toward the limit; they are never chosen as a spot.
    return m_reader.forEachElement(blockVisitor(section, false, [](const Block &) {}));
}

bool Scanner::scanCacheControl(Block &block)
{
    block.hasCacheControlKey = true;
    const Type type = m_reader.peek();
    if (type == Type::Invalid)
        return false;
    if (type == Type::Null)
        return true;
    // Anything else the API would read as a marker, or reject; count it either way.
    block.hasMarker = true;
    if (type != Type::Object)
        return true;
    return m_reader.forEachMember([&](std::string_view key) {
        std::string_view ttl;
        if (key == "ttl" && m_reader.readString(ttl, m_storage))
            block.isOneHour = ttl == "1h";
        return true;
    });
}

} // namespace

PromptLayout PromptLayout::scan(QByteArrayView body)
{
    return PromptLayoutBuilder().finish(body);
}

namespace {

// Top-level members the request log reads (UsageExtractor::requestFacts).
bool isFactMember(std::string_view key)
{
    return key == "model" || key == "stream" || key == "speed" || key == "metadata"
        || key == "system";
}

// A body's bytes past the last whole member or message are scanned again once there are
// twice as many: a message of megabytes costs about two scans of it however it arrives.
constexpr qsizetype kMinRetryBytes = 4096;

// A journal keeps the scan's state at the first message boundary this many bytes after the
// last one it kept: a later body that differs from that point on has at most these bytes
// scanned again before its new part.
constexpr qsizetype kSnapshotSpacing = 16 * 1024;

// A later body is compared with a journal by the digests of its blocks, which it takes as its
// bytes arrive: the bytes of the earlier body are not kept. The seed is drawn once per process,
// so that no client can know, and so make, two blocks of the same digest.
PromptLayoutBuilder::BlockDigest digestOf(const char *block)
{
    static const quint64 seed = QRandomGenerator::system()->generate64();
    const Xxh3Digest digest = xxh3Digest(block, PromptLayoutBuilder::kDigestBlock, seed);
    return {digest.low, digest.high};
}

// Digests the blocks of `body` after those `digests` has, up to `blocks` of them.
void appendDigests(QList<PromptLayoutBuilder::BlockDigest> &digests, QByteArrayView body,
                   qsizetype blocks)
{
    for (qsizetype block = digests.size(); block < blocks; ++block)
        digests.append(digestOf(body.data() + block * PromptLayoutBuilder::kDigestBlock));
}

} // namespace

PromptLayout::UserTurns PromptLayout::userTurns() const
{
    return userTurnsIn(messages, messages.size());
}

PromptLayout::UserTurns PromptLayout::userTurnsIn(const QList<Message> &messages, qsizetype count)
{
    using Role = Message::Role;
    UserTurns turns;
    qsizetype at = count - 1;
    while (at >= 0 && messages.at(at).role != Role::User)
        --at;
    turns.newest = at;
    while (at >= 0 && messages.at(at).role != Role::Assistant)
        --at;
    while (at >= 0 && messages.at(at).role != Role::User)
        --at;
    turns.previous = at;
    return turns;
}

PromptLayoutBuilder::PromptLayoutBuilder() = default;

void PromptLayoutBuilder::feed(QByteArrayView bodySoFar, qsizetype longestWait)
{
    // Compared as they arrive while journals are followed; else taken by journal(), after
    // the body has gone on.
    if (!m_following.isEmpty())
        takeDigests(bodySoFar);
    if (followJournal(false) || bodySoFar.size() < m_retryAt)
        return;
    run(bodySoFar, false, longestWait);
}

PromptLayout PromptLayoutBuilder::finish(QByteArrayView body)
{
    if (!m_following.isEmpty())
        takeDigests(body);
    followJournal(true);
    run(body, true, 0);
    PromptLayout &layout = m_progress.layout;
    if (m_phase == Phase::NotObject) {
        json::JsonReader reader(body);
        layout = PromptLayout();
        layout.status = reader.skipValue() && reader.isAtEnd() ? PromptLayout::Status::NotObject
                                                               : PromptLayout::Status::NotJson;
        return layout;
    }
    if (m_phase != Phase::Closed)
        return PromptLayout(); // not valid JSON: a body with no layout
    json::JsonReader reader(body);
    reader.resumeAt(m_checkpoint, 0);
    if (!reader.isAtEnd())
        return PromptLayout();
    if (m_progress.hasDuplicates)
        layout.status = PromptLayout::Status::DuplicateKeys;
    else if (layout.sectionBegin[int(Section::Messages)] < 0)
        layout.status = PromptLayout::Status::NoMessages;
    else
        layout.status = PromptLayout::Status::Ok;
    return layout;
}

qsizetype PromptLayoutBuilder::stableBytes() const
{
    if (m_pendingState) {
        const Snapshot &state = *m_pendingState;
        qsizetype checkpoint = state.checkpoint;
        // Bytes the same as the journal's before its string ended are inside the string here
        // too: no marker goes into that message.
        if (state.phase == Phase::InContent)
            checkpoint = std::max(checkpoint, std::min(m_pendingMatched, state.stringEnd - 1));
        return stableBytesOf(state.progress.layout, m_pendingJournal->messages, state.messageCount,
                             state.markerCount, checkpoint);
    }
    if (m_phase == Phase::Start)
        return 0;
    const PromptLayout &layout = m_progress.layout;
    // A top-level marker goes before the closing brace.
    const qsizetype checkpoint = m_phase == Phase::Closed ? layout.topLevelClose : m_checkpoint;
    return stableBytesOf(layout, layout.messages, layout.messages.size(),
                         layout.blockMarkers.size(), checkpoint);
}

// Of a layout taken up to `checkpoint`, with the first messageCount of messages and
// markerCount block markers.
qsizetype PromptLayoutBuilder::stableBytesOf(const PromptLayout &layout,
                                             const QList<PromptLayout::Message> &messages,
                                             qsizetype messageCount, qsizetype markerCount,
                                             qsizetype checkpoint)
{
    qsizetype stable = checkpoint;
    // The tools and the system prompt are whole once taken; they get markers only from a
    // client that placed none, and a marker once seen stays.
    if (markerCount == 0 && !layout.hasTopLevelMarker) {
        for (const PromptLayout::Spot &spot : {layout.lastTool, layout.lastSystemBlock}) {
            if (spot.isValid())
                stable = std::min(stable, spot.offset);
        }
    }
    // More messages move the newest user turn forward, and with it the assistant reply before
    // it and the user turn before that: no message before today's previous user turn can
    // become either. Of those from there on, the first unmarked user turn with a block that can
    // carry a marker is the first that may get one. Without a previous turn yet, any may.
    const qsizetype previous = PromptLayout::userTurnsIn(messages, messageCount).previous;
    for (qsizetype i = std::max<qsizetype>(previous, 0); i < messageCount; ++i) {
        const PromptLayout::Message &message = messages.at(i);
        if (message.role == PromptLayout::Message::Role::User && !message.hasMarker
            && message.hasMarkableBlock()) {
            stable = std::min(stable, message.lastEligible.offset);
            break;
        }
    }
    return stable;
}

std::optional<PromptLayout> PromptLayoutBuilder::provisionalLayout() const
{
    if (m_pendingState || !m_following.isEmpty() || m_progress.hasDuplicates
        || (m_phase != Phase::Members && m_phase != Phase::Closed)
        || m_progress.layout.sectionBegin[int(Section::Messages)] < 0)
        return std::nullopt;
    PromptLayout layout = m_progress.layout; // its lists shared, not copied
    layout.status = PromptLayout::Status::Ok;
    layout.hasMaxTokens = true;
    return layout;
}

qsizetype PromptLayoutBuilder::provisionalBytes() const
{
    return m_phase == Phase::Closed ? m_progress.layout.topLevelClose : m_checkpoint;
}

QByteArray PromptLayoutBuilder::factMembers(QByteArrayView body) const
{
    QByteArray out;
    qsizetype size = 2;
    for (const auto &member : m_factMembers)
        size += member.second - member.first + 1;
    out.reserve(size);
    out.append('{');
    for (const auto &member : m_factMembers) {
        if (out.size() > 1)
            out.append(',');
        out.append(body.sliced(member.first, member.second - member.first));
    }
    out.append('}');
    return out;
}

// Takes whole members of the top-level object, and whole elements of its messages array, as
// long as the bytes so far hold them. What one of them changed is undone when it turns out
// to be cut short (or broken: only the whole body tells which), and the next call starts
// from it again.
void PromptLayoutBuilder::run(QByteArrayView body, bool isComplete, qsizetype longestWait)
{
    json::JsonReader reader(body);
    for (;;) {
        if (m_phase == Phase::Closed || m_phase == Phase::NotObject || m_phase == Phase::Failed)
            return;
        // Undo needs the state before the step; the whole body needs none, as its failures
        // are final.
        std::optional<Progress> saved;
        qsizetype markerCount = 0;
        qsizetype messageCount = 0;
        const qsizetype factCount = m_factMembers.size();
        if (!isComplete) {
            // The lists are set aside so that the copy shares none of their storage.
            QList<PromptLayout::Message> messages = std::move(m_progress.layout.messages);
            QList<PromptLayout::Marker> markers = std::move(m_progress.layout.blockMarkers);
            saved = m_progress;
            messageCount = messages.size();
            markerCount = markers.size();
            m_progress.layout.messages = std::move(messages);
            m_progress.layout.blockMarkers = std::move(markers);
        }
        const Step result = step(reader, body, isComplete);
        if (result == Step::Taken) {
            takeSnapshot();
            continue;
        }
        if (result == Step::Partial) {
            m_retryAt = 0; // each new piece of the string is crossed as it comes
            return;
        }
        if (isComplete) {
            m_phase = Phase::Failed;
            return;
        }
        QList<PromptLayout::Message> messages = std::move(m_progress.layout.messages);
        QList<PromptLayout::Marker> markers = std::move(m_progress.layout.blockMarkers);
        messages.resize(messageCount);
        markers.resize(markerCount);
        m_progress = std::move(*saved);
        m_progress.layout.messages = std::move(messages);
        m_progress.layout.blockMarkers = std::move(markers);
        m_factMembers.resize(factCount);
        const qsizetype waiting = body.size() - m_checkpoint;
        m_retryAt = waiting > longestWait ? std::numeric_limits<qsizetype>::max()
                                          : m_checkpoint + std::max(2 * waiting, kMinRetryBytes);
        return;
    }
}

std::shared_ptr<const PromptLayoutBuilder::Journal>
PromptLayoutBuilder::journal(QByteArrayView body, qsizetype unchangedBytes) const
{
    if (m_phase != Phase::Closed || m_progress.layout.status != PromptLayout::Status::Ok)
        return nullptr;
    auto journal = std::make_shared<Journal>();
    // A state is of use when the byte at its checkpoint is unchanged as well.
    const qsizetype unchangedBlocks =
        std::max<qsizetype>(std::min(unchangedBytes, body.size()) / kDigestBlock, 0);
    const auto usable =
        std::partition_point(m_snapshots.cbegin(), m_snapshots.cend(),
                             [unchangedBlocks](const std::shared_ptr<const Snapshot> &snapshot) {
                                 return snapshot->checkpoint < unchangedBlocks * kDigestBlock;
                             });
    journal->snapshots = m_snapshots.first(usable - m_snapshots.cbegin());
    if (journal->snapshots.isEmpty())
        return nullptr;
    // A later body is followed only as long as a state lies ahead: the blocks after the last
    // state's are never compared. A body of one long message then keeps its digests up to
    // where the message began, not for its megabytes of text.
    const qsizetype blocks =
        std::min(unchangedBlocks, journal->snapshots.constLast()->checkpoint / kDigestBlock + 1);
    journal->digests = m_digests.first(std::min(blocks, m_digests.size()));
    journal->digests.reserve(blocks);
    appendDigests(journal->digests, body, blocks);
    journal->messages = m_progress.layout.messages;
    journal->blockMarkers = m_progress.layout.blockMarkers;
    journal->factMembers = m_factMembers;
    return journal;
}

void PromptLayoutBuilder::reuseFrom(QList<std::shared_ptr<const Journal>> journals)
{
    m_following = std::move(journals);
    m_following.removeAll(nullptr);
}

qsizetype PromptLayoutBuilder::bytesHeldBy(const Journal &journal)
{
    return qsizetype(sizeof(Journal)) + journal.digests.size() * qsizetype(sizeof(BlockDigest))
        + journal.snapshots.size() * qsizetype(sizeof(Snapshot))
        + journal.messages.size() * qsizetype(sizeof(PromptLayout::Message))
        + journal.blockMarkers.size() * qsizetype(sizeof(PromptLayout::Marker))
        + journal.factMembers.size() * qsizetype(sizeof(journal.factMembers.front()));
}

void PromptLayoutBuilder::takeDigests(QByteArrayView bodySoFar)
{
    appendDigests(m_digests, bodySoFar, bodySoFar.size() / kDigestBlock);
}

// Kept at a boundary between two messages: the state a later body that begins with the same
// bytes up to there would reach.
void PromptLayoutBuilder::takeSnapshot()
{
    const qsizetype last = m_snapshots.isEmpty() ? 0 : m_snapshots.constLast()->checkpoint;
    if (m_phase != Phase::Elements || m_isFirst || m_checkpoint - last < kSnapshotSpacing)
        return;
    m_snapshots.append(std::make_shared<const Snapshot>(stateNow()));
}

PromptLayoutBuilder::Snapshot PromptLayoutBuilder::stateNow()
{
    Snapshot snapshot;
    // The lists are set aside so that the copy shares none of their storage.
    QList<PromptLayout::Message> messages = std::move(m_progress.layout.messages);
    QList<PromptLayout::Marker> markers = std::move(m_progress.layout.blockMarkers);
    snapshot.progress = m_progress;
    snapshot.messageCount = messages.size();
    snapshot.markerCount = markers.size();
    m_progress.layout.messages = std::move(messages);
    m_progress.layout.blockMarkers = std::move(markers);
    snapshot.phase = m_phase;
    snapshot.isFirst = m_isFirst;
    snapshot.checkpoint = m_checkpoint;
    snapshot.messagesBegin = m_messagesBegin;
    snapshot.factCount = m_factMembers.size();
    snapshot.open = m_open;
    return snapshot;
}

bool PromptLayoutBuilder::followJournal(bool isComplete)
{
    if (m_following.isEmpty())
        return false;
    // Each journal still followed matches every byte before these; the one whose state lies
    // furthest into what matches now is taken. Conversations that began alike (a shared
    // first turn, an earlier request of this one) part at some byte: each is followed until
    // it differs.
    std::shared_ptr<const Journal> best;
    const Snapshot *bestState = nullptr;
    qsizetype bestMatched = 0;
    QList<std::shared_ptr<const Journal>> still;
    for (const std::shared_ptr<const Journal> &journal : std::as_const(m_following)) {
        const qsizetype limit = std::min(m_digests.size(), journal->digests.size());
        qsizetype blocks = m_matchedBlocks;
        while (blocks < limit && m_digests.at(blocks) == journal->digests.at(blocks))
            ++blocks;
        const qsizetype matched = blocks * kDigestBlock;
        if (journal == m_pendingJournal)
            m_pendingMatched = matched;
        // Its last state whose checkpoint, and the byte there, this body has too.
        const auto after =
            std::partition_point(journal->snapshots.cbegin(), journal->snapshots.cend(),
                                 [matched](const std::shared_ptr<const Snapshot> &snapshot) {
                                     return snapshot->checkpoint < matched;
                                 });
        if (after != journal->snapshots.cbegin()) {
            const Snapshot &state = **std::prev(after);
            if (!bestState || state.checkpoint > bestState->checkpoint) {
                best = journal;
                bestState = &state;
                bestMatched = matched;
            }
        }
        if (blocks == m_digests.size() && after != journal->snapshots.cend())
            still.append(journal); // matches so far, with states ahead
    }
    if (bestState && bestState->checkpoint > scannedBytes()) {
        m_pendingJournal = best;
        m_pendingState = bestState;
        m_pendingMatched = bestMatched;
    }
    m_matchedBlocks = m_digests.size();
    m_following = isComplete ? QList<std::shared_ptr<const Journal>>() : std::move(still);
    if (!m_following.isEmpty())
        return true;
    // Taken over once: copying the lists at each step of a long body would cost more than
    // the scan it saves.
    if (m_pendingState) {
        restore(m_pendingJournal, *m_pendingState);
        // A state inside a long string is kept again once this body's string has ended.
        const auto &kept = m_pendingJournal->snapshots;
        const qsizetype index = std::find_if(kept.cbegin(), kept.cend(),
                                             [this](const std::shared_ptr<const Snapshot> &state) {
                                                 return state.get() == m_pendingState;
                                             })
            - kept.cbegin();
        m_snapshots = kept.first(index + (m_pendingState->phase == Phase::InContent ? 0 : 1));
        m_pendingState = nullptr;
        m_pendingJournal.reset();
    }
    return false;
}

void PromptLayoutBuilder::restore(const std::shared_ptr<const Journal> &from,
                                  const Snapshot &snapshot)
{
    const Journal &journal = *from;
    m_reusedJournal = from;
    m_progress = snapshot.progress;
    m_progress.layout.messages = journal.messages.first(snapshot.messageCount);
    m_progress.layout.blockMarkers = journal.blockMarkers.first(snapshot.markerCount);
    m_factMembers = journal.factMembers.first(snapshot.factCount);
    m_phase = snapshot.phase;
    m_isFirst = snapshot.isFirst;
    m_checkpoint = snapshot.checkpoint;
    m_messagesBegin = snapshot.messagesBegin;
    m_open = snapshot.open;
    m_contentEntry.reset();
    if (m_phase == Phase::InContent) {
        m_contentEntry = snapshot;
        m_contentEntry->stringEnd = -1;
    }
    m_retryAt = 0;
    m_reusedBytes = snapshot.checkpoint;
}

PromptLayoutBuilder::Step PromptLayoutBuilder::step(json::JsonReader &reader, QByteArrayView body,
                                                    bool isComplete)
{
    Scanner scanner(body.data(), reader, m_progress, m_storage);
    const auto commit = [&](Phase phase, bool isFirst) {
        return commitStep(reader, phase, isFirst, isComplete);
    };
    const auto closeTop = [&](bool isEmpty) {
        if (!reader.close('}', isEmpty, &m_progress.layout.topLevelClose))
            return Step::Failed;
        m_phase = Phase::Closed;
        m_checkpoint = reader.offset();
        return Step::Taken;
    };

    switch (m_phase) {
    case Phase::Start: {
        reader.resumeAt(0, 0);
        const Type type = reader.peek();
        if (type == Type::Invalid)
            return Step::Failed;
        if (type != Type::Object) {
            m_phase = Phase::NotObject; // judged on the whole body
            return Step::Taken;
        }
        bool isEmpty = false;
        if (!reader.open('{', '}', isEmpty))
            return Step::Failed;
        if (isEmpty)
            return closeTop(true);
        return commit(Phase::Members, true);
    }
    case Phase::Members: {
        reader.resumeAt(m_checkpoint, 1);
        if (!m_isFirst && !reader.hasNext('}'))
            return reader.hasFailed() ? Step::Failed : closeTop(false);
        reader.skipWhitespace();
        const qsizetype keyBegin = reader.offset();
        std::string_view key;
        std::string keyStorage;
        if (!reader.readKey(key, keyStorage))
            return Step::Failed;
        const qsizetype valueBegin = reader.offset();
        if (key == "messages" && reader.peek() == Type::Array) {
            // Its elements are taken one at a time.
            scanner.noteSection(key);
            bool isEmpty = false;
            if (!reader.open('[', ']', isEmpty))
                return Step::Failed;
            if (!isEmpty) {
                m_messagesBegin = valueBegin;
                return commit(Phase::Elements, true);
            }
            qsizetype closing = 0;
            if (!reader.close(']', true, &closing))
                return Step::Failed;
            scanner.setSection(Section::Messages, valueBegin, closing + 1);
            return commit(Phase::Members, false);
        }
        if (!scanner.scanRootField(key) || reader.hasFailed())
            return Step::Failed;
        if (reader.offset() == valueBegin && !reader.skipValue())
            return Step::Failed;
        if (isFactMember(key))
            m_factMembers.append({keyBegin, reader.offset()});
        return commit(Phase::Members, false);
    }
    case Phase::Elements: {
        reader.resumeAt(m_checkpoint, 2);
        if (!m_isFirst && !reader.hasNext(']')) {
            qsizetype closing = 0;
            if (reader.hasFailed() || !reader.close(']', false, &closing))
                return Step::Failed;
            scanner.setSection(Section::Messages, m_messagesBegin, closing + 1);
            return commit(Phase::Members, false);
        }
        reader.skipWhitespace();
        const qsizetype elementBegin = reader.offset();
        if (!isComplete && body.size() - elementBegin > PromptLayout::kLongestWrappedString) {
            if (const Step entered = enterLongContent(reader, body); entered != Step::NeedMore)
                return entered;
            reader.resumeAt(elementBegin, 2);
        }
        PromptLayout::Message message;
        if (!scanner.scanMessage(message) || reader.hasFailed())
            return Step::Failed;
        if (reader.offset() == elementBegin && !reader.skipValue())
            return Step::Failed;
        m_progress.layout.messages.append(message);
        return commit(Phase::Elements, false);
    }
    case Phase::InContent:
        return crossContent(reader, body, isComplete);
    case Phase::AfterContent:
        return finishOpenMessage(reader, body, isComplete);
    case Phase::Closed:
    case Phase::NotObject:
    case Phase::Failed:
        break;
    }
    return Step::Failed;
}

// A step is kept only when a byte follows what it took: no number or literal was then cut short
// by the end of the bytes so far, and an opening bracket saw whether its container is empty.
PromptLayoutBuilder::Step PromptLayoutBuilder::commitStep(json::JsonReader &reader, Phase phase,
                                                          bool isFirst, bool isComplete)
{
    reader.skipWhitespace();
    if (!isComplete && reader.bytesLeft() == 0)
        return Step::NeedMore;
    m_phase = phase;
    m_isFirst = isFirst;
    m_checkpoint = reader.offset();
    return Step::Taken;
}

PromptLayoutBuilder::Step PromptLayoutBuilder::enterLongContent(json::JsonReader &reader,
                                                                QByteArrayView body)
{
    bool isEmpty = false;
    if (reader.peek() != Type::Object || !reader.open('{', '}', isEmpty) || isEmpty)
        return Step::NeedMore;
    Scanner scanner(body.data(), reader, m_progress, m_storage);
    OpenMessage open;
    open.markersBefore = m_progress.layout.blockMarkers.size();
    std::string keyStorage;
    std::string_view key;
    // Before the content, only members that leave the layout as it is: the role, and other
    // scalars. A message of another shape waits to be whole.
    for (bool isFirst = true;; isFirst = false) {
        if ((!isFirst && !reader.hasNext('}')) || !reader.readKey(key, keyStorage))
            return Step::NeedMore;
        const Type type = reader.peek();
        if (key == "content" && type == Type::String)
            break;
        if (key == "role" && type == Type::String) {
            if (!scanner.scanMessageMember(key, open) || reader.hasFailed())
                return Step::NeedMore;
            continue;
        }
        if (key == "content" || key == "cache_control"
            || (type != Type::String && type != Type::Number && type != Type::Boolean
                && type != Type::Null)
            || !reader.skipValue())
            return Step::NeedMore;
    }
    const qsizetype quote = reader.offset();
    reader.resumeAt(quote + 1, 3);
    bool isClosed = false;
    if (!reader.crossString(false, isClosed))
        return Step::NeedMore; // malformed: the scan of the whole body says so
    // A string short enough to wrap, or not yet known to be longer, waits to be whole.
    if (reader.offset() - quote <= PromptLayout::kLongestWrappedString)
        return Step::NeedMore;
    // Its closing quote, if it has come, is taken by crossContent().
    const qsizetype crossed = isClosed ? reader.offset() - 1 : reader.offset();
    open.hasContent = true;
    open.content.section = Section::Messages;
    open.content.offset = quote;
    open.content.order = scanner.nextOrder(Section::Messages);
    open.isBlank =
        isBlankText(std::string_view(body.data() + quote + 1, size_t(crossed - quote - 1)));
    m_open = std::move(open);
    m_phase = Phase::InContent;
    m_checkpoint = crossed;
    m_contentEntry = stateNow();
    return Step::Taken;
}

PromptLayoutBuilder::Step PromptLayoutBuilder::crossContent(json::JsonReader &reader,
                                                            QByteArrayView body, bool isComplete)
{
    reader.resumeAt(m_checkpoint, 3);
    bool isClosed = false;
    if (!reader.crossString(isComplete, isClosed))
        return Step::Failed;
    const qsizetype crossed = isClosed ? reader.offset() - 1 : reader.offset();
    const bool isBlank = m_open.isBlank
        && isBlankText(std::string_view(body.data() + m_checkpoint,
                                        size_t(crossed - m_checkpoint)));
    if (!isClosed) {
        m_open.isBlank = isBlank;
        m_checkpoint = crossed;
        return Step::Partial;
    }
    OpenMessage open = m_open;
    open.isBlank = isBlank;
    open.content.stringEnd = reader.offset();
    Scanner scanner(body.data(), reader, m_progress, m_storage);
    scanner.takeContentString(open.message, open.content, open.isBlank);
    if (commitStep(reader, Phase::AfterContent, false, isComplete) != Step::Taken)
        return Step::NeedMore;
    m_open = std::move(open);
    if (m_contentEntry) {
        m_contentEntry->stringEnd = m_open.content.stringEnd;
        m_snapshots.append(std::make_shared<const Snapshot>(std::move(*m_contentEntry)));
        m_contentEntry.reset();
    }
    return Step::Taken;
}

PromptLayoutBuilder::Step PromptLayoutBuilder::finishOpenMessage(json::JsonReader &reader,
                                                                 QByteArrayView body,
                                                                 bool isComplete)
{
    reader.resumeAt(m_checkpoint, 3);
    Scanner scanner(body.data(), reader, m_progress, m_storage);
    OpenMessage open = m_open;
    std::string keyStorage;
    while (reader.hasNext('}')) {
        std::string_view key;
        if (!reader.readKey(key, keyStorage))
            return Step::Failed;
        const qsizetype valueBegin = reader.offset();
        if (!scanner.scanMessageMember(key, open) || reader.hasFailed())
            return Step::Failed;
        if (reader.offset() == valueBegin && !reader.skipValue())
            return Step::Failed;
    }
    if (reader.hasFailed() || !reader.close('}', false, nullptr))
        return Step::Failed;
    scanner.endMessage(open);
    m_progress.layout.messages.append(open.message);
    if (commitStep(reader, Phase::Elements, false, isComplete) != Step::Taken)
        return Step::NeedMore;
    m_open = OpenMessage();
    return Step::Taken;
}

QList<PromptLayout::Marker> PromptLayout::markers() const
{
    QList<Marker> sorted = blockMarkers;
    std::sort(sorted.begin(), sorted.end(),
              [](const Marker &a, const Marker &b) { return a.order < b.order; });
    return sorted;
}

bool PromptLayout::hasAutomaticTarget() const
{
    return hasCacheableIn[0] || hasCacheableIn[1] || hasCacheableIn[2];
}

quint64 PromptLayout::automaticTarget() const
{
    for (int section = 2; section >= 0; --section) {
        if (hasCacheableIn[section])
            return lastCacheableIn[section];
    }
    return 0;
}

qsizetype PromptLayout::prefixBytes(const Spot &spot) const
{
    const int section = int(spot.section);
    qsizetype bytes = 0;
    for (int before = 0; before < section; ++before)
        bytes += sectionBytes[before];
    if (sectionBegin[section] >= 0)
        bytes += spot.end() - sectionBegin[section];
    return bytes;
}

qsizetype PromptLayout::promptBytes() const
{
    return sectionBytes[0] + sectionBytes[1] + sectionBytes[2];
}

} // namespace tollgate
