#pragma once

#include <QByteArrayView>
#include <QtGlobal>
#include <bitset>
#include <string>
#include <string_view>

namespace tollgate::json {

// A forward-only reader over one JSON document in memory. Every byte it passes is validated,
// whether the caller reads the value there or skips it, so a single pass both checks a
// document and finds what the caller wants in it; nothing the caller does not ask for is
// decoded, copied or built. It gives byte offsets, for callers that splice the original bytes
// instead of re-serialising them. Strings, most of the bytes of a Messages request body, are
// crossed many bytes at a time (AVX2 where the CPU has it, else SSE2, which every x86-64 CPU
// has, or 8-byte words on other CPUs), so a conversation of megabytes costs about one pass of
// memory bandwidth.
//
// What it accepts is what simdjson's DOM parser accepts: RFC 8259 JSON in UTF-8, escaped
// surrogates only in pairs, containers nested less than 1024 deep (empty ones do not count),
// no integer beyond 64 bits and no number that overflows a double.
class JsonReader
{
public:
    enum class Type { Object, Array, String, Number, Boolean, Null, Invalid };

    explicit JsonReader(QByteArrayView json);

    // The type of the value at the cursor, from its first byte (whitespace before it is
    // passed); Invalid at the end of the input or on a byte that starts no value.
    Type peek();
    // Where the cursor stands: on the first byte of the next value once peek() was called.
    qsizetype offset() const { return qsizetype(m_at - m_begin); }
    bool hasFailed() const { return m_hasFailed; }

    // Consumes the value at the cursor, validating all of it. False on malformed input, and
    // the reader then stays failed: every later call returns false.
    bool skipValue();
    // These consume a value of their type. False without consuming anything when the value is
    // of another type, or when it is malformed (hasFailed() tells which).
    // The string as written, quotes included.
    bool readStringToken(std::string_view &token);
    // The string's unescaped UTF-8 text: a view of the document when the string has no
    // escapes, else of storage.
    bool readString(std::string_view &text, std::string &storage);
    bool readBool(bool &value);

    // Walks the object at the cursor: visit(key) for each member, with the cursor on the
    // member's value. The visitor reads the value or leaves it to be skipped; it returns false
    // to fail the walk. closingOffset, when given, receives the offset of the closing brace.
    template<typename Visit>
    bool forEachMember(Visit &&visit, qsizetype *closingOffset = nullptr);
    // The same for the elements of an array, with the cursor on each element in turn.
    template<typename Visit>
    bool forEachElement(Visit &&visit, qsizetype *closingOffset = nullptr);

    // After the top-level value: whether nothing but whitespace is left.
    bool isAtEnd();

    // A walk taken one member or element at a time, for a document that arrives in pieces:
    // the caller opens and closes the containers it walks itself and may stop between two
    // members or elements, then carry on in a new reader over more of the document.
    //
    // Goes on from `offset`, inside `depth` open non-empty containers (which count toward the
    // nesting limit), with no failure.
    void resumeAt(qsizetype offset, int depth)
    {
        m_at = m_begin + offset;
        m_depth = depth;
        m_hasFailed = false;
    }
    // Opens a container at the cursor; isEmpty tells whether it closes at once. close() takes
    // the closing bracket, after the members or elements.
    bool open(char opening, char closing, bool &isEmpty);
    bool close(char closing, bool isEmpty, qsizetype *closingOffset);
    // After a member or element: true on a comma (consumed), false on the closing bracket
    // (left for close()) or on anything else (the reader fails).
    bool hasNext(char closing);
    // A member's key and its colon, with the cursor then on the value.
    bool readKey(std::string_view &key, std::string &storage);
    void skipWhitespace()
    {
        // Compact JSON has none: one comparison in the common case.
        while (m_at < m_end && uchar(*m_at) <= ' '
               && (*m_at == ' ' || *m_at == '\n' || *m_at == '\r' || *m_at == '\t'))
            ++m_at;
    }
    // Bytes of the document after the cursor.
    qsizetype bytesLeft() const { return qsizetype(m_end - m_at); }
    // A string taken a piece at a time, for one too long to wait for. With the cursor just past
    // its opening quote, or where an earlier call over less of the document stopped: validates
    // its text up to the closing quote (isClosed, the cursor past the quote) or up to the end
    // of the input. When the input is not the whole document (isWhole false), a character
    // the end may have cut (an escape or a multi-byte sequence in the last 12 bytes) is left
    // with the cursor on it for a call over more bytes. False on malformed text.
    bool crossString(bool isWhole, bool &isClosed);

private:
    bool scanKey();
    bool scanString(bool &hasEscapes);
    // The string at m_at (its opening quote), unescaped into storage only when it has escapes.
    bool takeString(std::string_view &text, std::string &storage);
    bool scanEscape();
    bool scanMultibyte(const char *stop);
    bool scanNumber();
    bool scanLiteral(std::string_view literal);
    bool fail();

    static constexpr int kMaxDepth = 1024;

    const char *m_begin;
    const char *m_at;
    const char *m_end;
    int m_depth = 0; // open non-empty containers
    bool m_hasFailed = false;
    // Whether each open level inside a value being skipped is an object (else an array).
    std::bitset<kMaxDepth> m_isObjectAt;
};

template<typename Visit>
bool JsonReader::forEachMember(Visit &&visit, qsizetype *closingOffset)
{
    bool isEmpty = false;
    if (!open('{', '}', isEmpty))
        return false;
    if (!isEmpty) {
        std::string storage;
        do {
            std::string_view key;
            if (!readKey(key, storage))
                return false;
            const char *value = m_at;
            if (!visit(key) || m_hasFailed)
                return fail();
            if (m_at == value && !skipValue())
                return false;
        } while (hasNext('}'));
    }
    return close('}', isEmpty, closingOffset);
}

template<typename Visit>
bool JsonReader::forEachElement(Visit &&visit, qsizetype *closingOffset)
{
    bool isEmpty = false;
    if (!open('[', ']', isEmpty))
        return false;
    if (!isEmpty) {
        do {
            skipWhitespace();
            const char *value = m_at;
            if (!visit() || m_hasFailed)
                return fail();
            if (m_at == value && !skipValue())
                return false;
        } while (hasNext(']'));
    }
    return close(']', isEmpty, closingOffset);
}

} // namespace tollgate::json
