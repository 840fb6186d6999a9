#include "JsonReader.h"

#include <algorithm>
#include <bit>
#include <cstring>

// SSE2 is part of x86-64 (and of MSVC's x64 target), so no CPU check is needed. For testing,
// TOLLGATE_JSON_PORTABLE builds the word-at-a-time code that other CPUs run, and
// TOLLGATE_JSON_NO_AVX2 leaves out the AVX2 version.
#if !defined(TOLLGATE_JSON_PORTABLE)                                                               \
    && (defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2))
#define TOLLGATE_JSON_SSE2 1
#include <emmintrin.h>
// With GCC and Clang, CPUs that have AVX2 (most x86-64 CPUs since 2013) also get a 32-byte
// version, chosen at run time; it is one function compiled for AVX2, so no AVX2 code can
// reach CPUs without it.
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)                                \
    && !defined(TOLLGATE_JSON_NO_AVX2)
#define TOLLGATE_JSON_AVX2 1
#include <immintrin.h>
#endif
#endif

namespace tollgate::json {

namespace {

// Exponents are only compared with 308; larger ones are kept at this to stay in range.
constexpr qint64 kExponentCap = 1'000'000'000;

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

// Bytes that end a run of plain string text: the closing quote, a backslash, a control
// character (not allowed raw) and the bytes of multi-byte UTF-8 sequences (validated apart).
bool isSpecial(uchar c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

// The first special byte in [at, end), or end.
const char *findSpecialPortable(const char *at, const char *end)
{
#if defined(TOLLGATE_JSON_SSE2)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    // Compared as signed bytes, controls (0x00-0x1f) and non-ASCII bytes (0x80-0xff) are the
    // ones below 0x20.
    const __m128i space = _mm_set1_epi8(0x20);
    const auto specials = [&](const char *p) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
        return _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
            _mm_cmplt_epi8(bytes, space));
    };
    while (end - at >= 64) {
        const __m128i a = specials(at);
        const __m128i b = specials(at + 16);
        const __m128i c = specials(at + 32);
        const __m128i d = specials(at + 48);
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0) {
            const quint64 mask = quint64(uint(_mm_movemask_epi8(a)))
                | quint64(uint(_mm_movemask_epi8(b))) << 16
                | quint64(uint(_mm_movemask_epi8(c))) << 32
                | quint64(uint(_mm_movemask_epi8(d))) << 48;
            return at + std::countr_zero(mask);
        }
        at += 64;
    }
    while (end - at >= 16) {
        const uint mask = uint(_mm_movemask_epi8(specials(at)));
        if (mask != 0)
            return at + std::countr_zero(mask);
        at += 16;
    }
#elif Q_BYTE_ORDER == Q_LITTLE_ENDIAN
    // Eight bytes at a time: a byte's high bit ends up set where it is a quote or a backslash
    // (zero after the xor), below 0x20, or non-ASCII. A borrow can only mark bytes after a
    // real match, so the lowest mark is exact.
    constexpr quint64 kOnes = 0x0101010101010101;
    constexpr quint64 kHighBits = 0x8080808080808080;
    while (end - at >= 8) {
        quint64 word = 0;
        std::memcpy(&word, at, sizeof(word));
        const quint64 quotes = word ^ (kOnes * '"');
        const quint64 backslashes = word ^ (kOnes * '\\');
        const quint64 marks = (((quotes - kOnes) & ~quotes) | ((backslashes - kOnes) & ~backslashes)
                               | ((word - kOnes * 0x20) & ~word) | word)
            & kHighBits;
        if (marks != 0)
            return at + std::countr_zero(marks) / 8;
        at += 8;
    }
#endif
    while (at < end && !isSpecial(uchar(*at)))
        ++at;
    return at;
}

#if defined(TOLLGATE_JSON_AVX2)
__attribute__((target("avx2"))) const char *findSpecialAvx2(const char *at, const char *end)
{
    const __m256i quote = _mm256_set1_epi8('"');
    const __m256i backslash = _mm256_set1_epi8('\\');
    const __m256i space = _mm256_set1_epi8(0x20);
    while (end - at >= 64) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(at));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(at + 32));
        const __m256i specialsA = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(a, quote), _mm256_cmpeq_epi8(a, backslash)),
            _mm256_cmpgt_epi8(space, a));
        const __m256i specialsB = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(b, quote), _mm256_cmpeq_epi8(b, backslash)),
            _mm256_cmpgt_epi8(space, b));
        const quint64 mask = quint64(uint(_mm256_movemask_epi8(specialsA)))
            | quint64(uint(_mm256_movemask_epi8(specialsB))) << 32;
        if (mask != 0)
            return at + std::countr_zero(mask);
        at += 64;
    }
    return findSpecialPortable(at, end);
}

const char *findSpecial(const char *at, const char *end)
{
    static const bool hasAvx2 = __builtin_cpu_supports("avx2");
    return hasAvx2 ? findSpecialAvx2(at, end) : findSpecialPortable(at, end);
}
#else
const char *findSpecial(const char *at, const char *end)
{
    return findSpecialPortable(at, end);
}
#endif

// Length of the well-formed UTF-8 sequence at `at` (whose first byte is non-ASCII), or 0:
// no overlong forms, no surrogates, nothing above U+10FFFF.
int utf8SequenceLength(const uchar *at, const uchar *end)
{
    const uchar lead = at[0];
    int length = 0;
    uchar low = 0x80;
    uchar high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        low = lead == 0xe0 ? 0xa0 : low;
        high = lead == 0xed ? 0x9f : high;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        low = lead == 0xf0 ? 0x90 : low;
        high = lead == 0xf4 ? 0x8f : high;
    } else {
        return 0;
    }
    if (end - at < length || at[1] < low || at[1] > high)
        return 0;
    for (int i = 2; i < length; ++i) {
        if ((at[i] & 0xc0) != 0x80)
            return 0;
    }
    return length;
}

bool readHex4(const char *at, uint &value)
{
    value = 0;
    for (int i = 0; i < 4; ++i) {
        const char c = at[i];
        const int digit = c >= '0' && c <= '9' ? c - '0'
            : c >= 'a' && c <= 'f'             ? c - 'a' + 10
            : c >= 'A' && c <= 'F'             ? c - 'A' + 10
                                               : -1;
        if (digit < 0)
            return false;
        value = value * 16 + uint(digit);
    }
    return true;
}

void appendUtf8(std::string &out, uint codePoint)
{
    if (codePoint < 0x80) {
        out += char(codePoint);
    } else if (codePoint < 0x800) {
        out += char(0xc0 | (codePoint >> 6));
        out += char(0x80 | (codePoint & 0x3f));
    } else if (codePoint < 0x10000) {
        out += char(0xe0 | (codePoint >> 12));
        out += char(0x80 | ((codePoint >> 6) & 0x3f));
        out += char(0x80 | (codePoint & 0x3f));
    } else {
        out += char(0xf0 | (codePoint >> 18));
        out += char(0x80 | ((codePoint >> 12) & 0x3f));
        out += char(0x80 | ((codePoint >> 6) & 0x3f));
        out += char(0x80 | (codePoint & 0x3f));
    }
}

// The text of a string that was validated, without its quotes, with its escapes decoded.
void unescape(std::string_view text, std::string &out)
{
    out.clear();
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        const char escaped = text[++i];
        switch (escaped) {
        case 'b':
            out += '\b';
            break;
        case 'f':
            out += '\f';
            break;
        case 'n':
            out += '\n';
            break;
        case 'r':
            out += '\r';
            break;
        case 't':
            out += '\t';
            break;
        case 'u': {
            uint codePoint = 0;
            readHex4(text.data() + i + 1, codePoint);
            i += 4;
            if (codePoint >= 0xd800 && codePoint < 0xdc00) {
                uint low = 0;
                readHex4(text.data() + i + 3, low); // after the "\u" of the low half
                i += 6;
                codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (low - 0xdc00);
            }
            appendUtf8(out, codePoint);
            break;
        }
        default: // '"', '\\' and '/'
            out += escaped;
            break;
        }
    }
}

// Whether an integer fits where simdjson keeps it: a signed or unsigned 64-bit value.
bool fitsInteger(std::string_view digits, bool isNegative)
{
    const std::string_view limit = isNegative ? "9223372036854775808" : "18446744073709551615";
    return digits.size() < limit.size() || (digits.size() == limit.size() && digits <= limit);
}

} // namespace

JsonReader::JsonReader(QByteArrayView json)
    : m_begin(json.data())
    , m_at(json.data())
    , m_end(json.data() + json.size())
{
}

JsonReader::Type JsonReader::peek()
{
    if (m_hasFailed)
        return Type::Invalid;
    skipWhitespace();
    if (m_at >= m_end)
        return Type::Invalid;
    switch (*m_at) {
    case '{':
        return Type::Object;
    case '[':
        return Type::Array;
    case '"':
        return Type::String;
    case 't':
    case 'f':
        return Type::Boolean;
    case 'n':
        return Type::Null;
    default:
        return *m_at == '-' || isDigit(*m_at) ? Type::Number : Type::Invalid;
    }
}

bool JsonReader::skipValue()
{
    if (m_hasFailed)
        return false;
    skipWhitespace();
    if (m_at < m_end && *m_at == '"') {
        bool hasEscapes = false;
        return scanString(hasEscapes);
    }
    // Containers inside the value are walked with a bit per level (object or array) instead
    // of recursion, so no input can exhaust the stack.
    const int outer = m_depth;
    for (;;) {
        skipWhitespace();
        if (m_at >= m_end)
            return fail();
        bool hasEscapes = false;
        switch (*m_at) {
        case '"':
            if (!scanString(hasEscapes))
                return false;
            break;
        case '{':
        case '[': {
            const bool isObject = *m_at == '{';
            bool isEmpty = false;
            if (!open(*m_at, isObject ? '}' : ']', isEmpty))
                return false;
            if (isEmpty) {
                ++m_at;
                break;
            }
            m_isObjectAt[size_t(m_depth)] = isObject;
            if (isObject && !scanKey())
                return false;
            continue;
        }
        case 't':
            if (!scanLiteral("true"))
                return false;
            break;
        case 'f':
            if (!scanLiteral("false"))
                return false;
            break;
        case 'n':
            if (!scanLiteral("null"))
                return false;
            break;
        default:
            if (!scanNumber())
                return false;
            break;
        }
        // After a value: close the containers it ends, then go on with the next member or
        // element of the innermost one left open.
        for (;;) {
            if (m_depth == outer)
                return true;
            const bool isObject = m_isObjectAt[size_t(m_depth)];
            if (hasNext(isObject ? '}' : ']')) {
                if (isObject && !scanKey())
                    return false;
                break;
            }
            if (m_hasFailed)
                return false;
            ++m_at; // the closing bracket
            --m_depth;
        }
    }
}

bool JsonReader::readStringToken(std::string_view &token)
{
    if (peek() != Type::String)
        return false;
    const char *start = m_at;
    bool hasEscapes = false;
    if (!scanString(hasEscapes))
        return false;
    token = std::string_view(start, size_t(m_at - start));
    return true;
}

bool JsonReader::readString(std::string_view &text, std::string &storage)
{
    if (peek() != Type::String)
        return false;
    return takeString(text, storage);
}

bool JsonReader::takeString(std::string_view &text, std::string &storage)
{
    const char *start = m_at;
    bool hasEscapes = false;
    if (!scanString(hasEscapes))
        return false;
    text = std::string_view(start + 1, size_t(m_at - start - 2));
    if (hasEscapes) {
        unescape(text, storage);
        text = storage;
    }
    return true;
}

bool JsonReader::readBool(bool &value)
{
    if (peek() != Type::Boolean)
        return false;
    value = *m_at == 't';
    return scanLiteral(value ? "true" : "false");
}

bool JsonReader::isAtEnd()
{
    if (m_hasFailed)
        return false;
    skipWhitespace();
    return m_at == m_end;
}

bool JsonReader::open(char opening, char closing, bool &isEmpty)
{
    if (peek() == Type::Invalid || *m_at != opening)
        return false;
    ++m_at;
    skipWhitespace();
    isEmpty = m_at < m_end && *m_at == closing;
    if (!isEmpty && ++m_depth >= kMaxDepth)
        return fail();
    return true;
}

bool JsonReader::close(char closing, bool isEmpty, qsizetype *closingOffset)
{
    if (m_hasFailed)
        return false;
    skipWhitespace();
    if (m_at >= m_end || *m_at != closing)
        return fail();
    if (closingOffset)
        *closingOffset = offset();
    ++m_at;
    if (!isEmpty)
        --m_depth;
    return true;
}

bool JsonReader::hasNext(char closing)
{
    skipWhitespace();
    if (m_at < m_end && *m_at == ',') {
        ++m_at;
        return true;
    }
    if (m_at >= m_end || *m_at != closing)
        fail();
    return false;
}

bool JsonReader::readKey(std::string_view &key, std::string &storage)
{
    skipWhitespace();
    if (m_at >= m_end || *m_at != '"')
        return fail();
    if (!takeString(key, storage))
        return false;
    skipWhitespace();
    if (m_at >= m_end || *m_at != ':')
        return fail();
    ++m_at;
    skipWhitespace();
    return true;
}

bool JsonReader::scanKey()
{
    skipWhitespace();
    bool hasEscapes = false;
    if (m_at >= m_end || *m_at != '"' || !scanString(hasEscapes))
        return fail();
    skipWhitespace();
    if (m_at >= m_end || *m_at != ':')
        return fail();
    ++m_at;
    return true;
}

// From the opening quote to just past the closing one.
bool JsonReader::scanString(bool &hasEscapes)
{
    ++m_at;
    for (;;) {
        m_at = findSpecial(m_at, m_end);
        if (m_at >= m_end)
            return fail();
        const uchar c = uchar(*m_at);
        if (c == '"') {
            ++m_at;
            return true;
        }
        if (c == '\\') {
            hasEscapes = true;
            if (!scanEscape())
                return false;
        } else if (c < 0x20 || !scanMultibyte(m_end)) {
            return fail();
        }
    }
}

bool JsonReader::crossString(bool isWhole, bool &isClosed)
{
    isClosed = false;
    // Enough for any escape (a surrogate pair is 12 bytes) or UTF-8 sequence (4).
    constexpr qsizetype kLongestCharacter = 12;
    for (;;) {
        m_at = findSpecial(m_at, m_end);
        if (m_at >= m_end)
            return isWhole ? fail() : true;
        const uchar c = uchar(*m_at);
        if (c == '"') {
            ++m_at;
            isClosed = true;
            return true;
        }
        if (c < 0x20)
            return fail();
        if (!isWhole && m_end - m_at < kLongestCharacter)
            return true;
        if (c == '\\') {
            if (!scanEscape())
                return false;
        } else if (!scanMultibyte(isWhole ? m_end : m_end - kLongestCharacter)) {
            return fail();
        }
    }
}

// One escape sequence; a \u escape of a high surrogate must be followed by one of a low one.
bool JsonReader::scanEscape()
{
    if (m_end - m_at < 2)
        return fail();
    switch (m_at[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        m_at += 2;
        return true;
    case 'u':
        break;
    default:
        return fail();
    }
    uint codePoint = 0;
    if (m_end - m_at < 6 || !readHex4(m_at + 2, codePoint))
        return fail();
    m_at += 6;
    if (codePoint >= 0xdc00 && codePoint <= 0xdfff)
        return fail();
    if (codePoint < 0xd800 || codePoint > 0xdbff)
        return true;
    uint low = 0;
    if (m_end - m_at < 6 || m_at[0] != '\\' || m_at[1] != 'u' || !readHex4(m_at + 2, low)
        || low < 0xdc00 || low > 0xdfff)
        return fail();
    m_at += 6;
    return true;
}

// A run of multi-byte UTF-8 sequences (text in most scripts other than Latin is one long run);
// no sequence after the first starts at or past `stop`.
bool JsonReader::scanMultibyte(const char *stop)
{
    const auto *at = reinterpret_cast<const uchar *>(m_at);
    const auto *end = reinterpret_cast<const uchar *>(m_end);
    const auto *last = reinterpret_cast<const uchar *>(stop);
    do {
        const int length = utf8SequenceLength(at, end);
        if (length == 0)
            return false;
        at += length;
    } while (at < last && *at >= 0x80);
    m_at = reinterpret_cast<const char *>(at);
    return true;
}

bool JsonReader::scanNumber()
{
    const char *start = m_at;
    const bool isNegative = *m_at == '-';
    if (isNegative)
        ++m_at;
    const char *digits = m_at;
    if (m_at >= m_end || !isDigit(*m_at))
        return fail();
    if (*m_at == '0') {
        ++m_at;
    } else {
        while (m_at < m_end && isDigit(*m_at))
            ++m_at;
    }
    const qsizetype integerDigits = m_at - digits;
    bool isFloat = false;
    if (m_at < m_end && *m_at == '.') {
        isFloat = true;
        const char *fraction = ++m_at;
        while (m_at < m_end && isDigit(*m_at))
            ++m_at;
        if (m_at == fraction)
            return fail();
    }
    qint64 exponent = 0;
    if (m_at < m_end && (*m_at == 'e' || *m_at == 'E')) {
        isFloat = true;
        ++m_at;
        const bool isNegativeExponent = m_at < m_end && *m_at == '-';
        if (m_at < m_end && (*m_at == '-' || *m_at == '+'))
            ++m_at;
        const char *exponentDigits = m_at;
        for (; m_at < m_end && isDigit(*m_at); ++m_at)
            exponent = std::min(exponent * 10 + (*m_at - '0'), kExponentCap);
        if (m_at == exponentDigits)
            return fail();
        if (isNegativeExponent)
            exponent = -exponent;
    }
    if (!isFloat)
        return fitsInteger(std::string_view(digits, size_t(integerDigits)), isNegative) || fail();
    // simdjson refuses a number that overflows a double (it accepts one that underflows). The
    // decimal exponent of the first non-zero digit tells, except at 308, where it takes the
    // conversion: DBL_MAX is about 1.8e308.
    qint64 magnitude = 0;
    if (*digits != '0') {
        magnitude = integerDigits - 1 + exponent;
    } else {
        if (exponent <= 308)
            return true; // 0.x times 10^exponent
        const char *first = digits + 1;
        while (first < m_at && (*first == '0' || *first == '.'))
            ++first;
        if (first == m_at || !isDigit(*first))
            return true; // zero
        magnitude = exponent - (first - digits - 1);
    }
    if (magnitude < 308)
        return true;
    if (magnitude > 308)
        return fail();
    // Qt's conversion fails on overflow (which is all that can go wrong at this magnitude).
    bool isFinite = false;
    Q_UNUSED(QByteArrayView(start, m_at - start).toDouble(&isFinite));
    return isFinite || fail();
}

bool JsonReader::scanLiteral(std::string_view literal)
{
    if (size_t(m_end - m_at) < literal.size()
        || std::memcmp(m_at, literal.data(), literal.size()) != 0)
        return fail();
    m_at += literal.size();
    return true;
}

bool JsonReader::fail()
{
    m_hasFailed = true;
    m_at = m_end;
    return false;
}

} // namespace tollgate::json
