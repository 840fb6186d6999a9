#include "PromptLayout.h"

#include "json/JsonReader.h"
#include <algorithm>
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

// Whether a raw JSON string token ("..." with its quotes) holds only whitespace, escaped or
// not. Returns at the first other character, so a long text costs nothing.
bool isBlankString(std::string_view token)
{
    if (token.size() < 2 || token.front() != '"' || token.back() != '"')
        return true;
    const std::string_view text = token.substr(1, token.size() - 2);
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
    Scanner(const char *base, json::JsonReader &reader, PromptLayout &layout)
        : m_base(base)
        , m_reader(reader)
        , m_layout(layout)
    {
    }

    PromptLayout::Status scanRoot();

private:
    bool scanRootField(std::string_view key);
    bool scanTools();
    bool scanSystem();
    bool scanMessages();
    bool scanMessage(PromptLayout::Message &message);
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
    void setSection(Section section, qsizetype begin, qsizetype end);
    qsizetype offsetOf(const char *at) const { return qsizetype(at - m_base); }
    quint64 nextOrder(Section section)
    {
        return PromptLayout::orderOf(section, m_next[int(section)]++);
    }
    void noteCacheable(Section section, quint64 order);

    const char *m_base;
    json::JsonReader &m_reader;
    PromptLayout &m_layout;
    std::string m_storage; // a short string read in passing ("model", "role", "ttl"), unescaped
    quint64 m_next[3] = {0, 0, 0};
    bool m_seen[4] = {false, false, false, false}; // tools, system, messages, cache_control
    bool m_hasDuplicates = false;
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

void Scanner::noteCacheable(Section section, quint64 order)
{
    m_layout.lastCacheableIn[int(section)] = order;
    m_layout.hasCacheableIn[int(section)] = true;
}

PromptLayout::Status Scanner::scanRoot()
{
    if (m_reader.peek() != Type::Object) {
        return m_reader.skipValue() && m_reader.isAtEnd() ? PromptLayout::Status::NotObject
                                                          : PromptLayout::Status::NotJson;
    }
    if (!m_reader.forEachMember([this](std::string_view key) { return scanRootField(key); })
        || !m_reader.isAtEnd())
        return PromptLayout::Status::NotJson;
    if (m_hasDuplicates)
        return PromptLayout::Status::DuplicateKeys;
    if (m_layout.sectionBegin[int(Section::Messages)] < 0)
        return PromptLayout::Status::NoMessages;
    return PromptLayout::Status::Ok;
}

// With the reader on the member's value. A value that is not read here is skipped (and
// validated) by the walk; a malformed one fails it.
bool Scanner::scanRootField(std::string_view key)
{
    static constexpr std::string_view kTracked[] = {"tools", "system", "messages", "cache_control"};
    const auto tracked = std::find(std::begin(kTracked), std::end(kTracked), key);
    if (tracked != std::end(kTracked)) {
        bool &seen = m_seen[tracked - std::begin(kTracked)];
        m_hasDuplicates = m_hasDuplicates || seen;
        seen = true;
    }
    if (key == "tools")
        return scanTools();
    if (key == "system")
        return scanSystem();
    if (key == "messages")
        return scanMessages();
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

bool Scanner::scanMessages()
{
    // Anything but an array is reported as "no messages array".
    return scanSection(Section::Messages, [this]() {
        PromptLayout::Message message;
        if (!scanMessage(message))
            return false;
        m_layout.messages.append(message);
        return true;
    });
}

bool Scanner::scanMessage(PromptLayout::Message &message)
{
    const Type type = m_reader.peek();
    if (type == Type::Invalid)
        return false;
    if (type != Type::Object)
        return true;
    const qsizetype markersBefore = m_layout.blockMarkers.size();
    bool hasRole = false;
    bool hasContent = false;
    bool isAmbiguous = false;
    const bool isScanned = m_reader.forEachMember([&](std::string_view key) {
        if (key == "role") {
            isAmbiguous = isAmbiguous || hasRole;
            hasRole = true;
            std::string_view role;
            if (m_reader.readString(role, m_storage))
                message.role = role == "user" ? PromptLayout::Message::Role::User
                    : role == "assistant"     ? PromptLayout::Message::Role::Assistant
                                              : PromptLayout::Message::Role::Other;
            return true;
        }
        if (key == "content") {
            isAmbiguous = isAmbiguous || hasContent;
            hasContent = true;
            return scanContent(message);
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
    });
    if (!isScanned)
        return false;
    message.hasMarker = m_layout.blockMarkers.size() > markersBefore;
    if (isAmbiguous) {
        message.role = PromptLayout::Message::Role::Other;
        message.lastEligible = Spot();
    }
    return true;
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
        if (!isBlank) {
            message.lastEligible = spot;
            noteCacheable(Section::Messages, spot.order);
        }
        return true;
    }
    if (type != Type::Array)
        return true;
    return m_reader.forEachElement(blockVisitor(Section::Messages, true, [&](const Block &block) {
        if (!block.isCacheable())
            return;
        noteCacheable(Section::Messages, block.spot.order);
        if (!block.hasCacheControlKey)
            message.lastEligible = block.spot;
    }));
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
    PromptLayout layout;
    if (body.isEmpty())
        return layout;
    // One pass over the bytes validates the whole document and takes the layout: a body that
    // is not valid JSON must pass through untouched.
    json::JsonReader reader(body);
    Scanner scanner(body.data(), reader, layout);
    const Status status = scanner.scanRoot();
    if (status == Status::NotJson)
        return PromptLayout();
    layout.status = status;
    return layout;
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
