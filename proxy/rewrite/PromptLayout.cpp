#include "PromptLayout.h"

#include <algorithm>
#include <simdjson.h>
#include <string_view>

namespace tollgate {

namespace ondemand = simdjson::ondemand;
using Section = PromptLayout::Section;
using Spot = PromptLayout::Spot;

namespace {

// Documents up to this size reuse the thread's parsers and their buffers; a larger one gets
// parsers of its own, so one huge body does not keep its buffers alive for good.
constexpr size_t kReusedParserCapacity = 4 * 1024 * 1024;

bool isJsonSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trimmedToken(std::string_view token)
{
    while (!token.empty() && isJsonSpace(token.back()))
        token.remove_suffix(1);
    return token;
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

bool typeOf(ondemand::value &value, ondemand::json_type &type)
{
    return value.type().get(type) == simdjson::SUCCESS;
}

// Calls visit(element) for each element of an array value. False when the value is not an
// array, on a parse error, or when visit returns false.
template<typename Visit>
bool forEachElement(ondemand::value value, Visit &&visit)
{
    ondemand::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS)
        return false;
    for (auto element : array) {
        ondemand::value item;
        if (element.get(item) != simdjson::SUCCESS || !visit(item))
            return false;
    }
    return true;
}

// Calls visit(key, member) for each member of an object value, as forEachElement does.
template<typename Visit>
bool forEachField(ondemand::value value, Visit &&visit)
{
    ondemand::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS)
        return false;
    for (auto field : object) {
        std::string_view key;
        ondemand::value member;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS
            || field.value().get(member) != simdjson::SUCCESS || !visit(key, member))
            return false;
    }
    return true;
}

class Scanner
{
public:
    Scanner(const char *base, PromptLayout &layout)
        : m_base(base)
        , m_layout(layout)
    {
    }

    PromptLayout::Status scanRoot(ondemand::document &document);

private:
    bool scanRootField(std::string_view key, ondemand::value value);
    bool scanTools(ondemand::value value);
    bool scanSystem(ondemand::value value);
    bool scanMessages(ondemand::value value);
    bool scanMessage(ondemand::value value, PromptLayout::Message &message);
    bool scanContent(ondemand::value value, PromptLayout::Message &message);
    bool scanBlock(ondemand::value value, Section section, bool withNestedContent, Block &block);
    bool scanBlockField(std::string_view key, ondemand::value value, Section section,
                        bool withNestedContent, Block &block);
    bool scanCacheControl(ondemand::value value, Block &block);
    bool stringSpot(ondemand::value value, Section section, Spot &spot, bool &isBlank);
    template<typename Visit>
    bool scanSection(ondemand::value value, Section section, Visit &&visit);
    template<typename OnBlock>
    auto blockVisitor(Section section, bool withNestedContent, OnBlock onBlock);
    void setSection(Section section, qsizetype begin, qsizetype end);
    bool closingOffset(ondemand::value &value, char bracket, qsizetype &offset) const;
    qsizetype offsetOf(const char *at) const { return qsizetype(at - m_base); }
    quint64 nextOrder(Section section)
    {
        return PromptLayout::orderOf(section, m_next[int(section)]++);
    }
    void noteCacheable(Section section, quint64 order);

    const char *m_base;
    PromptLayout &m_layout;
    quint64 m_next[3] = {0, 0, 0};
    bool m_seen[4] = {false, false, false, false}; // tools, system, messages, cache_control
    bool m_hasDuplicates = false;
};

// After an object or array has been iterated to its end, the parser stands on the token that
// follows it; the closing bracket is the last non-space byte before that token.
bool Scanner::closingOffset(ondemand::value &value, char bracket, qsizetype &offset) const
{
    const char *next = nullptr;
    if (value.current_location().get(next) != simdjson::SUCCESS)
        return false;
    qsizetype at = offsetOf(next);
    while (at > 0 && isJsonSpace(m_base[at - 1]))
        --at;
    if (at == 0 || m_base[at - 1] != bracket)
        return false;
    offset = at - 1;
    return true;
}

void Scanner::setSection(Section section, qsizetype begin, qsizetype end)
{
    m_layout.sectionBegin[int(section)] = begin;
    m_layout.sectionBytes[int(section)] = end - begin;
}

// Scans an array that is one section of the prompt (tools, system blocks or messages), calling
// visit(element) for each element, and records the array's byte span. A value of another type
// is passed over: not a section (the API will say so).
template<typename Visit>
bool Scanner::scanSection(ondemand::value value, Section section, Visit &&visit)
{
    ondemand::json_type type;
    if (!typeOf(value, type))
        return false;
    if (type != ondemand::json_type::array)
        return true;
    const qsizetype begin = offsetOf(value.raw_json_token().data());
    qsizetype end = 0;
    if (!forEachElement(value, visit) || !closingOffset(value, ']', end))
        return false;
    setSection(section, begin, end + 1);
    return true;
}

// An element visitor that scans a block and hands it to onBlock(block).
template<typename OnBlock>
auto Scanner::blockVisitor(Section section, bool withNestedContent, OnBlock onBlock)
{
    return [this, section, withNestedContent, onBlock](ondemand::value item) mutable {
        Block block;
        if (!scanBlock(item, section, withNestedContent, block))
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

PromptLayout::Status Scanner::scanRoot(ondemand::document &document)
{
    ondemand::value root;
    ondemand::json_type type;
    if (document.get_value().get(root) != simdjson::SUCCESS || !typeOf(root, type)
        || type != ondemand::json_type::object)
        return PromptLayout::Status::NotObject;
    if (!forEachField(root, [this](std::string_view key, ondemand::value value) {
            return scanRootField(key, value);
        }))
        return PromptLayout::Status::NotJson;
    if (m_hasDuplicates)
        return PromptLayout::Status::DuplicateKeys;
    if (m_layout.sectionBegin[int(Section::Messages)] < 0)
        return PromptLayout::Status::NoMessages;
    return PromptLayout::Status::Ok;
}

bool Scanner::scanRootField(std::string_view key, ondemand::value value)
{
    static constexpr std::string_view kTracked[] = {"tools", "system", "messages", "cache_control"};
    const auto tracked = std::find(std::begin(kTracked), std::end(kTracked), key);
    if (tracked != std::end(kTracked)) {
        bool &seen = m_seen[tracked - std::begin(kTracked)];
        m_hasDuplicates = m_hasDuplicates || seen;
        seen = true;
    }
    if (key == "tools")
        return scanTools(value);
    if (key == "system")
        return scanSystem(value);
    if (key == "messages")
        return scanMessages(value);
    if (key == "max_tokens") {
        m_layout.hasMaxTokens = true;
        return true;
    }
    if (key == "model") {
        std::string_view model;
        if (value.get_string().get(model) == simdjson::SUCCESS)
            m_layout.model = QByteArray(model.data(), qsizetype(model.size()));
        return true;
    }
    if (key == "cache_control") {
        Block automatic;
        if (!scanCacheControl(value, automatic))
            return false;
        m_layout.hasTopLevelMarker = automatic.hasMarker;
        m_layout.isTopLevelOneHour = automatic.isOneHour;
    }
    return true;
}

bool Scanner::scanTools(ondemand::value value)
{
    return scanSection(value, Section::Tools,
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

bool Scanner::scanSystem(ondemand::value value)
{
    ondemand::json_type type;
    if (!typeOf(value, type))
        return false;
    if (type == ondemand::json_type::string) {
        Spot spot;
        bool isBlank = true;
        if (!stringSpot(value, Section::System, spot, isBlank))
            return false;
        setSection(Section::System, spot.offset, spot.stringEnd);
        if (!isBlank) {
            m_layout.lastSystemBlock = spot;
            noteCacheable(Section::System, spot.order);
        }
        return true;
    }
    return scanSection(value, Section::System,
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

bool Scanner::scanMessages(ondemand::value value)
{
    // Anything but an array is reported as "no messages array".
    return scanSection(value, Section::Messages, [this](ondemand::value item) {
        PromptLayout::Message message;
        if (!scanMessage(item, message))
            return false;
        m_layout.messages.append(message);
        return true;
    });
}

bool Scanner::scanMessage(ondemand::value value, PromptLayout::Message &message)
{
    ondemand::json_type type;
    if (!typeOf(value, type))
        return false;
    if (type != ondemand::json_type::object)
        return true;
    const qsizetype markersBefore = m_layout.blockMarkers.size();
    bool hasRole = false;
    bool hasContent = false;
    bool isAmbiguous = false;
    const bool isScanned = forEachField(value, [&](std::string_view key, ondemand::value member) {
        if (key == "role") {
            isAmbiguous = isAmbiguous || hasRole;
            hasRole = true;
            std::string_view role;
            if (member.get_string().get(role) == simdjson::SUCCESS)
                message.role = role == "user" ? PromptLayout::Message::Role::User
                    : role == "assistant"     ? PromptLayout::Message::Role::Assistant
                                              : PromptLayout::Message::Role::Other;
            return true;
        }
        if (key == "content") {
            isAmbiguous = isAmbiguous || hasContent;
            hasContent = true;
            return scanContent(member, message);
        }
        if (key != "cache_control")
            return true;
        // Not where the API takes a marker, but count it: never risk a fifth.
        Block misplaced;
        if (!scanCacheControl(member, misplaced))
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

bool Scanner::scanContent(ondemand::value value, PromptLayout::Message &message)
{
    ondemand::json_type type;
    if (!typeOf(value, type))
        return false;
    if (type == ondemand::json_type::string) {
        Spot spot;
        bool isBlank = true;
        if (!stringSpot(value, Section::Messages, spot, isBlank))
            return false;
        if (!isBlank) {
            message.lastEligible = spot;
            noteCacheable(Section::Messages, spot.order);
        }
        return true;
    }
    if (type != ondemand::json_type::array)
        return true;
    return forEachElement(value, blockVisitor(Section::Messages, true, [&](const Block &block) {
                              if (!block.isCacheable())
                                  return;
                              noteCacheable(Section::Messages, block.spot.order);
                              if (!block.hasCacheControlKey)
                                  message.lastEligible = block.spot;
                          }));
}

// A string that may be wrapped into [{"type":"text","text":<the string>}]: its token's
// byte range, taken without decoding it.
bool Scanner::stringSpot(ondemand::value value, Section section, Spot &spot, bool &isBlank)
{
    const std::string_view token = trimmedToken(value.raw_json_token());
    if (token.size() < 2 || token.front() != '"' || token.back() != '"')
        return false;
    spot.section = section;
    spot.offset = offsetOf(token.data());
    spot.stringEnd = spot.offset + qsizetype(token.size());
    spot.order = nextOrder(section);
    isBlank = isBlankString(token);
    return true;
}

bool Scanner::scanBlock(ondemand::value value, Section section, bool withNestedContent,
                        Block &block)
{
    ondemand::json_type type;
    if (!typeOf(value, type))
        return false;
    if (type != ondemand::json_type::object)
        return true; // not a block; left alone
    block.isObject = true;
    bool hasMembers = false;
    const bool isScanned = forEachField(value, [&](std::string_view key, ondemand::value member) {
        hasMembers = true;
        return scanBlockField(key, member, section, withNestedContent, block);
    });
    if (!isScanned || !closingOffset(value, '}', block.spot.offset))
        return false;
    block.spot.section = section;
    block.spot.isEmptyObject = !hasMembers;
    // Its order is taken at its end, after any blocks nested in it: a marker on it covers them.
    block.spot.order = nextOrder(section);
    if (block.hasMarker)
        m_layout.blockMarkers.append({block.spot.order, block.isOneHour});
    return true;
}

bool Scanner::scanBlockField(std::string_view key, ondemand::value value, Section section,
                             bool withNestedContent, Block &block)
{
    if (key == "type") {
        block.isAmbiguous = block.isAmbiguous || !block.type.empty();
        if (value.get_string().get(block.type) != simdjson::SUCCESS)
            block.type = {}; // not a string: no cacheable type
        return true;
    }
    if (key == "text") {
        block.isAmbiguous = block.isAmbiguous || block.hasText;
        block.hasText = true;
        const std::string_view token = trimmedToken(value.raw_json_token());
        block.isBlankText = isBlankString(token);
        block.isAttribution = token.substr(0, kAttributionPrefix.size()) == kAttributionPrefix;
        return true;
    }
    if (key == "cache_control")
        return scanCacheControl(value, block);
    if (key == "defer_loading") {
        bool isDeferred = false;
        if (value.get_bool().get(isDeferred) == simdjson::SUCCESS)
            block.isDeferred = isDeferred;
        return true;
    }
    ondemand::json_type type;
    if (key != "content" || !withNestedContent || !typeOf(value, type)
        || type != ondemand::json_type::array)
        return true;
    // Blocks inside a tool_result's content may carry markers of their own, and those count
    // toward the limit; they are never chosen as a spot.
    return forEachElement(value, blockVisitor(section, false, [](const Block &) {}));
}

bool Scanner::scanCacheControl(ondemand::value value, Block &block)
{
    block.hasCacheControlKey = true;
    ondemand::json_type type;
    if (!typeOf(value, type))
        return false;
    if (type == ondemand::json_type::null)
        return true;
    // Anything else the API would read as a marker, or reject; count it either way.
    block.hasMarker = true;
    if (type != ondemand::json_type::object)
        return true;
    return forEachField(value, [&](std::string_view key, ondemand::value member) {
        std::string_view ttl;
        if (key == "ttl" && member.get_string().get(ttl) == simdjson::SUCCESS)
            block.isOneHour = ttl == "1h";
        return true;
    });
}

bool isValidJson(const simdjson::padded_string &padded)
{
    simdjson::dom::element root;
    if (padded.size() > kReusedParserCapacity) {
        simdjson::dom::parser parser;
        return parser.parse(padded).get(root) == simdjson::SUCCESS;
    }
    thread_local simdjson::dom::parser parser;
    return parser.parse(padded).get(root) == simdjson::SUCCESS;
}

PromptLayout::Status scanLayout(ondemand::parser &parser, const simdjson::padded_string &padded,
                                PromptLayout &layout)
{
    ondemand::document document;
    if (parser.iterate(padded).get(document) != simdjson::SUCCESS)
        return PromptLayout::Status::NotJson;
    Scanner scanner(padded.data(), layout);
    return scanner.scanRoot(document);
}

} // namespace

PromptLayout PromptLayout::scan(QByteArrayView body)
{
    PromptLayout layout;
    if (body.isEmpty())
        return layout;
    // simdjson reads in blocks and needs SIMDJSON_PADDING readable bytes past the end.
    const simdjson::padded_string padded(body.data(), size_t(body.size()));
    // Validate the whole document first: On-Demand checks only what it visits, and a body
    // that is not valid JSON must pass through untouched.
    if (!isValidJson(padded))
        return layout;
    if (padded.size() > kReusedParserCapacity) {
        ondemand::parser parser;
        layout.status = scanLayout(parser, padded, layout);
    } else {
        thread_local ondemand::parser parser;
        layout.status = scanLayout(parser, padded, layout);
    }
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
